"""CTEs that read a CTE defined after them (`with a as (select * from b), b as (...)`): the name is no relation
there, and DuckDB and Postgres reject it (Postgres accepts it under WITH RECURSIVE); sqlglot reads it as a table
of the warehouse."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

CHECKED = frozenset({"duckdb", "postgres"})  # dialects whose answer is known (run on DuckDB 2.0.1, PostgreSQL 15)


def forward_references(tree: exp.Expression, dialect: str) -> Iterator[tuple[str, str, exp.Table]]:
    """(the CTE read, the CTE reading it, where) for each CTE read before its definition."""
    if dialect not in CHECKED:
        return
    for with_ in tree.find_all(exp.With):
        if with_.args.get("recursive") and dialect == "postgres":
            continue
        ctes = [c for c in with_.expressions if isinstance(c, exp.CTE)]
        for i, cte in enumerate(ctes):
            later = {c.alias_or_name for c in ctes[i + 1:]} - {c.alias_or_name for c in ctes[:i + 1]}
            if not later:
                continue
            for table in cte.this.find_all(exp.Table):
                if table.name in later and not table.args.get("db") and not _defined_inside(table, cte):
                    yield table.name, cte.alias_or_name, table


def _defined_inside(table: exp.Table, cte: exp.CTE) -> bool:
    """Whether a WITH inside the CTE defines the name (`with b as (...) select * from b` in its body)."""
    node = table.parent
    while node is not None and node is not cte:
        inner = node.args.get("with") or node.args.get("with_") if isinstance(node, exp.Query) else None
        if isinstance(inner, exp.With) and any(c.alias_or_name == table.name for c in inner.expressions):
            return True
        node = node.parent
    return False
