"""PostgreSQL through psycopg2 (which dbt-postgres installs): one connection, rows read with a cursor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compiler.apply.warehouse.base import Dialect, TableRef, WarehouseError, Window, frame_from_rows, select_sql

DIALECT = Dialect("postgres", '"')
CONNECT_TIMEOUT = 15  # seconds


def connect(settings: Mapping[str, Any], password: str | None, application_name: str = "specops",
            options: str | None = None) -> Any:
    """A psycopg2 connection from an Environment's postgres settings (host, port, database, user)."""
    try:
        import psycopg2
    except ImportError:
        raise WarehouseError("reading a postgres warehouse needs psycopg2: pip install 'specops[run]' "
                             "(dbt-postgres brings psycopg2-binary)") from None
    where = f"{settings.get('user')}@{settings.get('host')}:{settings.get('port', 5432)}/{settings.get('database')}"
    kwargs: dict[str, Any] = {"host": settings.get("host"), "port": int(settings.get("port", 5432)),
                              "dbname": settings.get("database"), "user": settings.get("user"),
                              "connect_timeout": CONNECT_TIMEOUT, "application_name": application_name}
    if password is not None:
        kwargs["password"] = password
    if options:
        kwargs["options"] = options
    try:
        return psycopg2.connect(**kwargs)
    except psycopg2.Error as exc:
        raise WarehouseError(f"cannot connect to postgres {where}: {str(exc).strip()}") from None


class PostgresReader:
    dialect = DIALECT

    def __init__(self, settings: Mapping[str, Any], password: str | None):
        self._con = connect(settings, password, "specops read")
        self._con.set_session(readonly=True, autocommit=True)

    def read(self, ref: TableRef, columns: Sequence[str], order_by: Sequence[str] = (),
             window: Window | None = None) -> Any:
        import psycopg2

        sql, params = select_sql(self.dialect, ref, columns, order_by, window)
        try:
            with self._con.cursor() as cur:
                cur.execute(sql, params)
                rows = cur.fetchall()
        except psycopg2.Error as exc:
            raise WarehouseError(f"cannot read {self.dialect.table(ref)}: {str(exc).strip()}") from None
        return frame_from_rows(rows, columns)

    def close(self) -> None:
        self._con.close()
