"""Snowflake through snowflake-connector-python (the `snowflake` extra).

dbt-snowflake creates tables and columns unquoted, which Snowflake stores in upper case, so names are
upper-cased and quoted here; the frame's columns are named as the spec writes them. Primary keys are not
enforced in Snowflake: the order always comes from the spec.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compiler.apply.warehouse.base import Dialect, TableRef, WarehouseError, Window, frame_from_rows, select_sql

DIALECT = Dialect("snowflake", '"', upper=True)


def _connector() -> Any:
    try:
        import snowflake.connector as connector
    except ImportError:
        raise WarehouseError("reading a snowflake warehouse needs its connector: pip install "
                             "'specops[run,snowflake]'") from None
    return connector


class SnowflakeReader:
    dialect = DIALECT

    def __init__(self, settings: Mapping[str, Any], password: str | None, connector: Any = None):
        self._connector = connector or _connector()
        kwargs = {"account": settings.get("account"), "user": settings.get("user"),
                  "warehouse": settings.get("warehouse"), "database": settings.get("database"),
                  "schema": settings.get("schema", "PUBLIC"), "application": "specops",
                  "login_timeout": 60}
        if settings.get("role"):
            kwargs["role"] = settings.get("role")
        if password is not None:
            kwargs["password"] = password
        try:
            self._con = self._connector.connect(**kwargs)
        except self._connector.Error as exc:
            raise WarehouseError(f"cannot connect to snowflake account {settings.get('account')}: {exc}") from None

    def read(self, ref: TableRef, columns: Sequence[str], order_by: Sequence[str] = (),
             window: Window | None = None) -> Any:
        sql, params = select_sql(self.dialect, ref, columns, order_by, window)
        cur = self._con.cursor()
        try:
            cur.execute(sql, params)
            if hasattr(cur, "fetch_pandas_all"):
                try:
                    frame = cur.fetch_pandas_all()
                except self._connector.NotSupportedError:  # results not in Arrow format
                    frame = None
                if frame is not None:
                    frame.columns = list(columns)
                    return frame
            return frame_from_rows(cur.fetchall(), columns)
        except self._connector.Error as exc:
            raise WarehouseError(f"cannot read {self.dialect.table(ref)}: {exc}") from None
        finally:
            cur.close()

    def close(self) -> None:
        self._con.close()
