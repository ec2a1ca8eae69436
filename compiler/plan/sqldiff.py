"""Comparing two versions of a transform's SQL by what they do, not how they are written.

Categories follow SQLMesh's categorizer and dbt contracts: the same query written differently (formatting,
comments, keyword case, equivalent spellings) is no change to the data (metadata); only added output
columns over the same rows is non-breaking; a change to which rows come out (filters, joins, grouping,
distinct, limits, unions) or to an existing column's values, or a dropped column, is breaking; SQL that
cannot be analysed is breaking (unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compiler.spec.lineage import SqlAnalysis


@dataclass(frozen=True)
class SqlChange:
    kind: str  # format | additive | logic | columns | rows | unknown
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # existing columns whose values change
    clauses: tuple[str, ...] = field(default=())  # row-changing constructs added or removed

    @property
    def rows(self) -> bool:
        return self.kind in ("rows", "unknown")

    @property
    def category(self) -> str:
        return {"format": "metadata", "additive": "non-breaking", "logic": "non-breaking"}.get(self.kind, "breaking")

    def reason(self) -> str:
        if self.kind == "format":
            return "formatting or comments only: the query is the same"
        if self.kind == "unknown":
            return "the SQL cannot be analysed: treated as breaking"
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


def compare(old: SqlAnalysis, new: SqlAnalysis) -> SqlChange:
    """What changes from `old` to `new` (analysed with the same dialect and input columns)."""
    if not (old.ok and new.ok):
        return SqlChange("unknown")
    if old.normal == new.normal:
        return SqlChange("format")
    before = {c.name: c for c in old.columns}
    after = {c.name: c for c in new.columns}
    added = tuple(n for n in after if n not in before)
    removed = tuple(n for n in before if n not in after)
    changed = tuple(n for n in after if n in before and before[n].fingerprint != after[n].fingerprint)
    if old.rows != new.rows:
        clauses = tuple(sorted(set(old.clause_digests) ^ set(new.clause_digests)))
        clauses = tuple(sorted({c for c, _ in clauses})) or tuple(new.row_clauses)
        return SqlChange("rows", added, removed, changed, clauses)
    if removed or changed:
        return SqlChange("columns", added, removed, changed)
    if added:
        return SqlChange("additive", added)
    return SqlChange("logic")
