"""The columns a quality check's `expression` names, with their offsets in it."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError


def expression_columns(text: str, dialect: str) -> tuple[list[tuple[str, int]], str | None]:
    """([(column, offset)], None), or ([], the parse error) for a boolean SQL expression."""
    try:
        tree = sqlglot.parse_one(text, read=dialect)
    except (SqlglotError, RecursionError, ValueError) as exc:
        return [], str(exc).split("\n")[0]
    if tree is None:
        return [], "empty expression"
    out = []
    for col in tree.find_all(exp.Column):
        if isinstance(col.this, exp.Star) or col.find_ancestor(exp.Lambda) is not None or col.table:
            continue
        if col.find_ancestor(exp.Query) is not None:
            continue  # a subquery's columns are its own tables'
        meta = col.this.meta if isinstance(col.this, exp.Identifier) else {}
        name = col.name if col.this.args.get("quoted") else col.name.lower()
        out.append((name, int(meta.get("start", 0))))
    return out, None
