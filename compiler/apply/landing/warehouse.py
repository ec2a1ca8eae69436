"""Writing landing tables into an environment's warehouse: DuckDB (the embedded default) and PostgreSQL.

Everything arrives as a CSV file of text values (a DVC file as it is, or a Kafka batch written by the landing
job) and is cast to the declared column types by the warehouse, in one transaction: a DVC version replaces the
table; a Kafka batch is appended together with the partitions' next offsets, so a batch is landed exactly once
(a run that fails lands nothing and the next run reads the same messages again).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.apply.context import StepFailed
from compiler.spec.ir import Dataset, Environment
from compiler.spec.landing import LANDING_WAREHOUSES, OFFSETS_TABLE
from compiler.spec.warehouse_types import sql_type

NULL = "\\N"  # how a staged CSV of a Kafka batch writes NULL (as PostgreSQL's text format does)


def q(name: str) -> str:
    """A quoted identifier (names come from the schema's lower snake case patterns)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Table:
    schema: str
    table: str
    columns: tuple[tuple[str, str], ...]  # (name, SQL type)

    @classmethod
    def of(cls, ds: Dataset) -> Table:
        assert ds.source is not None and ds.source.landing is not None
        return cls(ds.source.landing.schema, ds.source.landing.table,
                   tuple((c.name, sql_type(c.type)) for c in ds.columns))

    @property
    def name(self) -> str:
        return f"{q(self.schema)}.{q(self.table)}"

    @property
    def shown(self) -> str:
        return f"{self.schema}.{self.table}"

    def select_cast(self, source: str) -> str:
        """SELECT of the declared columns from `source` (text columns of the same names), cast to their types."""
        casts = ", ".join(f"cast({q(n)} as {t}) as {q(n)}" for n, t in self.columns)
        return f"select {casts} from {source}"


class Warehouse:
    """One connection, one transaction (`transaction()`); subclasses speak each database's dialect."""

    placeholder = "?"

    def __init__(self, conn: Any):
        self.conn = conn

    # --- what subclasses provide ------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def stage_csv(self, path: Path, delimiter: str, null: str | None) -> tuple[str, list[str]]:
        """A relation of text columns holding the CSV file (its header names them), and those names."""
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        raise NotImplementedError

    def close(self) -> None:
        self.conn.close()

    # --- landing ----------------------------------------------------------------------------------------

    def create(self, t: Table) -> None:
        """The schema and the table (with every declared column: missing ones are added, all nullable)."""
        self.execute(f"create schema if not exists {q(t.schema)}")
        cols = ", ".join(f"{q(n)} {ty}" for n, ty in t.columns)
        self.execute(f"create table if not exists {t.name} ({cols})")
        have = {r[0] for r in self.execute(
            "select column_name from information_schema.columns where table_schema = "
            f"{self.placeholder} and table_name = {self.placeholder}", (t.schema, t.table))}
        for name, ty in t.columns:
            if name not in have:
                self.execute(f"alter table {t.name} add column {q(name)} {ty}")

    def replace_from_csv(self, t: Table, path: Path, delimiter: str) -> int:
        """The table's rows replaced by the file's (a DVC version); how many rows it holds now."""
        staged, header = self.stage_csv(path, delimiter, None)
        missing = [n for n, _ in t.columns if n not in header]
        if missing:
            raise StepFailed(f"the CSV file has no column {', '.join(missing)} (its header: {', '.join(header)})")
        self.execute(f"drop table if exists {t.name}")
        self.create(t)
        self.execute(f"insert into {t.name} {t.select_cast(staged)}")
        return int(self.execute(f"select count(*) from {t.name}")[0][0])

    def append_csv(self, t: Table, path: Path) -> None:
        """Append a staged Kafka batch (header = the declared columns, NULL written as NULL)."""
        staged, _ = self.stage_csv(path, ",", NULL)
        names = ", ".join(q(n) for n, _ in t.columns)
        self.execute(f"insert into {t.name} ({names}) {t.select_cast(staged)}")

    def offsets_table(self, schema: str) -> str:
        return f"{q(schema)}.{q(OFFSETS_TABLE)}"

    def ensure_offsets(self, schema: str) -> None:
        self.execute(f"create schema if not exists {q(schema)}")
        self.execute(f"create table if not exists {self.offsets_table(schema)} (landing_table varchar not null, "
                     "topic varchar not null, kafka_partition integer not null, next_offset bigint not null, "
                     "landed_at timestamp, primary key (landing_table, topic, kafka_partition))")

    def offsets(self, t: Table, topic: str) -> dict[int, int]:
        """The next offset to land of each partition of `topic` into `t`."""
        p = self.placeholder
        rows = self.execute(f"select kafka_partition, next_offset from {self.offsets_table(t.schema)} "
                            f"where landing_table = {p} and topic = {p}", (t.table, topic))
        return {int(part): int(offset) for part, offset in rows}

    def save_offsets(self, t: Table, topic: str, offsets: dict[int, int], landed_at: str) -> None:
        p = self.placeholder
        for part, offset in sorted(offsets.items()):
            self.execute(
                f"insert into {self.offsets_table(t.schema)} (landing_table, topic, kafka_partition, next_offset, "
                f"landed_at) values ({p}, {p}, {p}, {p}, cast({p} as timestamp)) on conflict (landing_table, topic, "
                "kafka_partition) do update set next_offset = excluded.next_offset, landed_at = excluded.landed_at",
                (t.table, topic, part, offset, landed_at))

    def reset(self, t: Table) -> None:
        """Start the table over: no rows, no landed offsets."""
        self.execute(f"drop table if exists {t.name}")
        self.execute(f"delete from {self.offsets_table(t.schema)} where landing_table = {self.placeholder}",
                     (t.table,))

    def lock_offsets(self, schema: str) -> None:
        """Serialise landing runs (two at once would land the same messages twice); DuckDB has one writer."""


class DuckDB(Warehouse):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        import duckdb

        try:
            return self.conn.execute(sql, list(params)).fetchall()
        except duckdb.Error as exc:
            raise StepFailed(f"duckdb: {str(exc).splitlines()[0]}") from None

    def stage_csv(self, path: Path, delimiter: str, null: str | None) -> tuple[str, list[str]]:
        header = _header(path, delimiter)
        options = f"header = true, all_varchar = true, delim = {_lit(delimiter)}, quote = '\"', escape = '\"'"
        if null is not None:
            options += f", nullstr = {_lit(null)}"
        columns = ", ".join(f"{_lit(h)}: 'VARCHAR'" for h in header)
        return f"read_csv({_lit(str(path))}, {options}, columns = {{{columns}}}, auto_detect = false)", header

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.conn.execute("rollback")
            raise
        self.execute("commit")


class Postgres(Warehouse):
    placeholder = "%s"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        import psycopg2

        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, tuple(params))
                return cur.fetchall() if cur.description else []
        except psycopg2.Error as exc:
            raise StepFailed(f"postgres: {str(exc).strip().splitlines()[0]}") from None

    def stage_csv(self, path: Path, delimiter: str, null: str | None) -> tuple[str, list[str]]:
        import psycopg2

        header = _header(path, delimiter)
        staged = "specops_staged"
        self.execute(f"create temporary table {staged} ({', '.join(q(h) + ' text' for h in header)}) "
                     "on commit drop")
        options = f"format csv, header true, delimiter {_lit(delimiter)}"
        if null is not None:
            options += f", null {_lit(null)}"
        try:
            with self.conn.cursor() as cur, path.open(encoding="utf-8", newline="") as f:
                cur.copy_expert(f"copy {staged} from stdin with ({options})", f)
        except psycopg2.Error as exc:
            raise StepFailed(f"postgres: {str(exc).strip().splitlines()[0]}") from None
        return staged, header

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()

    def lock_offsets(self, schema: str) -> None:
        self.execute(f"lock table {self.offsets_table(schema)} in share row exclusive mode")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _header(path: Path, delimiter: str) -> list[str]:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            header = next(csv.reader(f, delimiter=delimiter), None)
    except (OSError, UnicodeDecodeError) as exc:
        raise StepFailed(f"cannot read {path.name}: {exc}") from None
    if not header:
        raise StepFailed(f"{path.name} is empty: a CSV file with a header row was expected")
    return [h.strip() for h in header]


def connect(root: Path, env: Environment) -> Warehouse:
    """A connection to the environment's warehouse, for landing."""
    wh = env.warehouse
    if wh.type == "duckdb":
        import duckdb

        path = root / str(wh.get("path"))
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return DuckDB(duckdb.connect(str(path)))
        except duckdb.Error as exc:
            raise StepFailed(f"cannot open the warehouse {path}: {str(exc).splitlines()[0]}") from None
    if wh.type == "postgres":
        import psycopg2

        password = None
        if wh.get("password_env"):
            password = os.environ.get(str(wh.get("password_env")))
            if password is None:
                raise StepFailed(f"environment variable {wh.get('password_env')} (the warehouse's password_env) is "
                                 "not set")
        try:
            conn = psycopg2.connect(host=wh.get("host"), port=int(wh.get("port", 5432)), dbname=wh.get("database"),
                                    user=wh.get("user"), password=password, connect_timeout=15)
        except psycopg2.Error as exc:
            raise StepFailed(f"cannot connect to the warehouse: {str(exc).strip().splitlines()[0]}") from None
        return Postgres(conn)
    raise StepFailed(f"specops lands into {' and '.join(LANDING_WAREHOUSES)} warehouses; environment '{env.name}' "
                     f"uses {wh.type} (load the landing tables with your own loader, or Kafka Connect)")
