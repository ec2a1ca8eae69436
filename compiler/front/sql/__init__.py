"""SQL understanding, on sqlglot: parse a transform's SQL, follow its columns, compare two versions.

Pure functions, no cache: the front end calls `analyze_sql` through a `SqlWork` it is given (compiler.front.check),
and compiler.speed passes one that remembers analyses by digest and uses every core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from compiler.front.sql.analyze import analyze_sql
from compiler.spec.lineage import SqlAnalysis

__all__ = ["SqlJob", "SqlWork", "analyze_each", "analyze_job", "analyze_sql", "dialect_for"]

# (sql, dialect, ((input dataset, its column names), ...)): everything an analysis depends on
SqlJob = tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...]]
SqlWork = Callable[[Sequence[SqlJob]], list[SqlAnalysis]]

DIALECTS = {"duckdb": "duckdb", "postgres": "postgres", "snowflake": "snowflake", "bigquery": "bigquery"}


def dialect_for(warehouse_type: str | None) -> str:
    """sqlglot's dialect for a warehouse type (DuckDB, the embedded default, when there is none)."""
    return DIALECTS.get(warehouse_type or "duckdb", "duckdb")


def analyze_job(job: SqlJob) -> SqlAnalysis:
    sql, dialect, schema = job
    return analyze_sql(sql, dialect, schema)


def analyze_each(jobs: Sequence[SqlJob]) -> list[SqlAnalysis]:
    """Every job's analysis, in order, one after the other (compiler.speed has a faster equivalent)."""
    return [analyze_job(j) for j in jobs]
