"""Comparing two versions of a transform's SQL by what they do, not how they are written.

Categories follow SQLMesh's categorizer and dbt contracts: the same query written differently (formatting,
comments, keyword case, equivalent spellings, other names for its own tables, subqueries, CTEs and their inner
columns) is no change to the data (metadata); only added output
columns over the same rows is non-breaking; a change to which rows come out (filters, joins, grouping,
distinct, limits, unions) or to an existing column's values, or a dropped column, is breaking; SQL that
cannot be analysed is breaking (unknown).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from compiler.front.sql import SqlJob
from compiler.spec.lineage import SqlAnalysis


@dataclass(frozen=True)
class SqlChange:
    kind: str  # format | additive | logic | columns | rows | unknown | unfollowed
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # existing columns whose values change
    clauses: tuple[str, ...] = field(default=())  # row-changing constructs added or removed
    renamed: bool = False  # (format) the same once its aliases are canonicalised: only its own names differ

    @property
    def rows(self) -> bool:
        return self.kind in ("rows", "unknown", "unfollowed")

    @property
    def category(self) -> str:
        return {"format": "metadata", "additive": "non-breaking", "logic": "non-breaking"}.get(self.kind, "breaking")

    def reason(self) -> str:
        if self.kind == "format" and self.renamed:
            return "aliases renamed (tables, subqueries, CTEs or their columns): the query is the same"
        if self.kind == "format":
            return "formatting, comments or equivalent spellings only: the query is the same"
        if self.kind == "unknown":
            return "the SQL cannot be analysed: treated as breaking"
        if self.kind == "unfollowed":
            return ("the query changes where specops does not follow its columns and rows (e.g. a sample, a named "
                    "window, a table function's arguments): treated as breaking")
        parts = []
        if self.rows:
            detail = f" ({', '.join(self.clauses)})" if self.clauses else ""
            parts.append(f"changes which rows come out{detail}")
        if self.removed:
            parts.append("drops " + ", ".join(self.removed))
        if self.changed:
            parts.append("changes the values of " + ", ".join(self.changed))
        if self.added:
            parts.append("adds " + ", ".join(self.added))
        return "; ".join(parts) or "the same rows and columns (e.g. another ordering)"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "rows_change": self.rows, "added": list(self.added), "removed": list(self.removed),
                "changed": list(self.changed), "clauses": list(self.clauses)}


def compare(old: SqlAnalysis, new: SqlAnalysis, canonical: tuple[SqlAnalysis, SqlAnalysis] | None = None,
            same_query: Callable[[], bool | None] | None = None) -> SqlChange:
    """What changes from `old` to `new` (analysed with the same dialect and input columns).

    `canonical` is the two analysed again with their own names canonicalised (compiler.front.sql.canonical: table,
    subquery and CTE aliases, the columns of CTEs and subqueries): where both can be, that comparison decides, so
    a renamed alias changes nothing and an alias that now names another source changes what reads it.
    `same_query` (asked only then: it parses both again) says whether the whole queries are the same
    (compiler.front.sql.canonical.query_shape): an edit no analysis tells apart is metadata only if they are; else
    it changed what the analysis does not follow.
    """
    found = _compare(old, new)
    other = _compare(*canonical) if canonical is not None and found.kind != "format" else None
    if other is not None and other.kind != "unknown":
        found = SqlChange("format", renamed=True) if other.kind == "format" else _change(
            other.rows, found.added, found.removed, other.changed, other.clauses or found.clauses)
    if found.kind == "format" and same_query is not None and same_query() is False:
        return SqlChange("unfollowed")
    return found


def same_query(old: SqlJob, new: SqlJob) -> bool | None:
    """Whether two versions of a SQL are the same query as a whole (None when either does not parse)."""
    from compiler.front.sql.canonical import query_shape  # sqlglot is imported when SQL is compared

    shapes = [query_shape(sql, dialect, dict(schema or ())) for sql, dialect, schema in (old, new)]
    return None if None in shapes else shapes[0] == shapes[1]


def canonical_jobs(old: SqlJob, new: SqlJob) -> tuple[SqlJob, SqlJob] | None:
    """The analyses of two versions of a SQL with their own names canonicalised (None when either cannot be)."""
    from compiler.front.sql.canonical import canonical_sql  # sqlglot is imported when SQL is compared

    out = []
    for sql, dialect, schema in (old, new):
        text = canonical_sql(sql, dialect, dict(schema or ()))
        if text is None:
            return None
        out.append((text, dialect, schema))
    return out[0], out[1]


def _compare(old: SqlAnalysis, new: SqlAnalysis) -> SqlChange:
    if not (old.ok and new.ok):
        return SqlChange("unknown")
    if old.normal == new.normal:
        return SqlChange("format")
    before = {c.name: c for c in old.columns}
    after = {c.name: c for c in new.columns}
    added = tuple(n for n in after if n not in before)
    removed = tuple(n for n in before if n not in after)
    changed = tuple(n for n in after if n in before and before[n].fingerprint != after[n].fingerprint)
    clauses: tuple[str, ...] = ()
    if old.rows != new.rows:
        digests = set(old.clause_digests) ^ set(new.clause_digests)
        clauses = tuple(sorted({c for c, _ in digests})) or tuple(new.row_clauses)
    return _change(old.rows != new.rows, added, removed, changed, clauses)


def _change(rows: bool, added: tuple[str, ...], removed: tuple[str, ...], changed: tuple[str, ...],
            clauses: tuple[str, ...]) -> SqlChange:
    if rows:
        return SqlChange("rows", added, removed, changed, clauses)
    if removed or changed:
        return SqlChange("columns", added, removed, changed)
    if added:
        return SqlChange("additive", added)
    return SqlChange("logic")
