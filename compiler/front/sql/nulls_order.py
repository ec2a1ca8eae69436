"""Which ORDER BY items have their NULLS FIRST / LAST written. sqlglot fills in the dialect's default when it is
not (DuckDB sorts NULLs last; Postgres last ascending, first descending; ...), so `order by x desc` and `order by x
desc nulls last` parse alike in DuckDB. But specops reads the SQL in one dialect (the default environment's) while
every environment's warehouse runs it, and on Postgres those two differ: a plan must not call that edit the same
query. So an item whose null ordering is written is marked (`WRITTEN` in its meta), and the query's shape
(compiler.front.sql.analyze.shape) tells a written ordering from a default one."""

from __future__ import annotations

import re

from sqlglot import exp

WRITTEN = "specops_nulls_written"
_KEYWORDS = re.compile(r"\bnulls\s+(?:first|last)\b", re.IGNORECASE)
_BETWEEN = re.compile(r"""[\s)\]"'`]*(?:(?:asc|desc)\s*)?""", re.IGNORECASE)  # from an item's last name to NULLS


def mark_written_nulls(tree: exp.Expression, text: str) -> None:
    """Mark each exp.Ordered of `tree` (parsed from `text`) that NULLS FIRST / LAST follows in the text."""
    found = [m.start() for m in _KEYWORDS.finditer(text)]
    if not found:
        return
    ends: list[tuple[int, exp.Ordered]] = []
    for ordered in tree.find_all(exp.Ordered):
        last = max((n.meta["end"] for n in ordered.this.walk() if isinstance(n.meta.get("end"), int)), default=None)
        if last is not None:
            ends.append((last, ordered))
    for at in found:
        before = [(end, o) for end, o in ends if end < at]
        if not before:
            continue
        end, ordered = max(before, key=lambda pair: pair[0])
        if _BETWEEN.fullmatch(text, end + 1, at):
            ordered.meta[WRITTEN] = True


def written(ordered: exp.Ordered) -> bool:
    return bool(ordered.meta.get(WRITTEN))
