"""SQL understanding, on sqlglot: parse a transform's SQL, follow its columns, compare two versions.

Pure functions, no cache: the front end calls `analyze_sql` through a `SqlWork` it is given (compiler.front.check),
and compiler.speed passes one that remembers analyses by digest and uses every core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from compiler.front.sql.placeholders import PREFIX, restore
from compiler.spec.lineage import OutputColumn, SqlAnalysis

__all__ = ["SqlJob", "SqlWork", "analyze_each", "analyze_job", "analyze_sql", "dialect_for"]

# (sql, dialect, ((input dataset, its column names), ...)): everything an analysis depends on. With schema None,
# the text is a check's boolean expression: its analysis lists the columns it names (name and offset) only.
SqlJob = tuple[str, str, "tuple[tuple[str, tuple[str, ...]], ...] | None"]
SqlWork = Callable[[Sequence[SqlJob]], list[SqlAnalysis]]

DIALECTS = {"duckdb": "duckdb", "postgres": "postgres", "snowflake": "snowflake", "bigquery": "bigquery"}


def dialect_for(warehouse_type: str | None) -> str:
    """sqlglot's dialect for a warehouse type (DuckDB, the embedded default, when there is none)."""
    return DIALECTS.get(warehouse_type or "duckdb", "duckdb")


def analyze_sql(sql: str, dialect: str, schema: Iterable[tuple[str, tuple[str, ...]]]) -> SqlAnalysis:
    """compiler.front.sql.analyze.analyze_sql (sqlglot is imported when SQL is analysed, not before); its error
    names the inputs as the SQL does (`{{ input('x') }}`), never the tables they are read as."""
    from compiler.front.sql.analyze import analyze_sql as analyze

    analysis = analyze(sql, dialect, schema)
    if analysis.error and PREFIX in analysis.error:  # sqlglot's words about the substituted text
        return replace(analysis, error=restore(analysis.error, sql))
    return analysis


def analyze_job(job: SqlJob) -> SqlAnalysis:
    sql, dialect, schema = job
    if schema is None:
        from compiler.front.sql.expressions import expression_columns

        cols, error = expression_columns(sql, dialect)
        return SqlAnalysis(error is None, columns=tuple(OutputColumn(n, (), "", o) for n, o in cols), error=error)
    return analyze_sql(sql, dialect, schema)


def analyze_each(jobs: Sequence[SqlJob]) -> list[SqlAnalysis]:
    """Every job's analysis, in order, one after the other (compiler.speed has a faster equivalent)."""
    return [analyze_job(j) for j in jobs]
