"""The embedded default: a DuckDB file, opened read-only (dbt may hold it for writing at the same time)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from compiler.apply.warehouse.base import Dialect, TableRef, WarehouseError, Window, decimals_to_float, select_sql

DIALECT = Dialect("duckdb", '"', param="?")


class DuckDBReader:
    dialect = DIALECT

    def __init__(self, path: Path):
        import duckdb

        if not path.exists():
            raise WarehouseError(f"the warehouse {path} does not exist yet: build the datasets first (specops apply)")
        try:
            self._con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open the warehouse {path}: {exc}") from None
        self.path = path

    def read(self, ref: TableRef, columns: Sequence[str], order_by: Sequence[str] = (),
             window: Window | None = None) -> Any:
        import duckdb

        sql, params = select_sql(self.dialect, ref, columns, order_by, window)
        try:
            frame = self._con.execute(sql, params).df()
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot read {self.dialect.table(ref)} from {self.path}: {exc}") from None
        frame.columns = list(columns)
        return decimals_to_float(frame)

    def close(self) -> None:
        self._con.close()
