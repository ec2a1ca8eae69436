"""What every warehouse reader shares: the request (a table, columns, an order, an optional time window),
the SQL it becomes in a dialect, and the frame it returns.

Identifiers come from validated specs (lower snake case), and are still quoted per dialect, never pasted;
the window's lower bound is always a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol


class WarehouseError(Exception):
    """A read that cannot be done: the message says why and, where it can, what to do."""


@dataclass(frozen=True, slots=True)
class TableRef:
    """Where a dataset's rows are: `database` (Snowflake database, BigQuery project) and `schema` (BigQuery
    dataset) may be None for the connection's own."""

    table: str
    schema: str | None = None
    database: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """Only rows whose `column` is at least `since` (a date, timestamp or number) and, given, before `until`."""

    column: str
    since: Any
    until: Any = None


@dataclass(frozen=True, slots=True)
class Dialect:
    """How a warehouse quotes identifiers and spells a bound parameter."""

    name: str
    quote_char: str  # '"' or '`'
    upper: bool = False  # Snowflake stores unquoted (dbt-created) names in upper case
    param: str = "%s"

    def quote(self, name: str) -> str:
        text = name.upper() if self.upper else name
        return f"{self.quote_char}{text.replace(self.quote_char, self.quote_char * 2)}{self.quote_char}"

    def table(self, ref: TableRef) -> str:
        return ".".join(self.quote(p) for p in (ref.database, ref.schema, ref.table) if p)


def select_sql(dialect: Dialect, ref: TableRef, columns: Sequence[str], order_by: Sequence[str] = (),
               window: Window | None = None) -> tuple[str, list[Any]]:
    """`select <columns> from <table> [where <column> >= ? [and <column> < ?]] [order by <keys>]` and its
    parameters (named `@since` and `@until` where the dialect names them)."""
    if not columns:
        raise ValueError("a read needs at least one column")
    sql = f"select {', '.join(dialect.quote(c) for c in columns)} from {dialect.table(ref)}"
    params: list[Any] = []

    def slot(name: str) -> str:
        return f"@{name}" if dialect.param.startswith("@") else dialect.param

    if window is not None:
        sql += f" where {dialect.quote(window.column)} >= {slot('since')}"
        params.append(window.since)
        if window.until is not None:
            sql += f" and {dialect.quote(window.column)} < {slot('until')}"
            params.append(window.until)
    if order_by:
        sql += f" order by {', '.join(dialect.quote(c) for c in order_by)}"
    return sql, params


def frame_from_rows(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> Any:
    """A pandas DataFrame with the requested column names; exact decimals become floats (models want floats:
    PostgreSQL's numeric comes back as Decimal, DuckDB's decimal as float already)."""
    import pandas as pd

    frame = pd.DataFrame.from_records(list(rows), columns=list(columns))
    return decimals_to_float(frame)


def decimals_to_float(frame: Any) -> Any:
    for name in frame.columns:
        if frame[name].dtype == object:
            first = frame[name].dropna()
            if len(first) and isinstance(first.iloc[0], Decimal):
                frame[name] = frame[name].astype(float)
    return frame


class Reader(Protocol):
    """One open connection to an environment's warehouse."""

    dialect: Dialect

    def read(self, ref: TableRef, columns: Sequence[str], order_by: Sequence[str] = (),
             window: Window | None = None) -> Any:
        """The columns' rows as a pandas DataFrame (columns named as requested), in `order_by` order."""
        ...

    def close(self) -> None: ...
