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
    withs: list[exp.With] = []
    tables: list[exp.Table] = []
    for node in tree.find_all(exp.With, exp.Table):  # one walk of the tree
        if isinstance(node, exp.With):
            withs.append(node)
        elif not node.args.get("db"):
            tables.append(node)
    for with_ in withs:
        ctes = [c for c in with_.expressions if isinstance(c, exp.CTE)]
        if len(ctes) < 2 or (with_.args.get("recursive") and dialect == "postgres"):
            continue
        defined: dict[str, int] = {}
        for i, cte in enumerate(ctes):
            defined.setdefault(cte.alias_or_name, i)
        for table in tables:
            at = defined.get(table.name)
            reader = _reader(table, with_, ctes) if at is not None else None
            if reader is not None and at is not None and reader < at and not _defined_inside(table, ctes[reader]):
                yield table.name, ctes[reader].alias_or_name, table


def _reader(table: exp.Table, with_: exp.With, ctes: list[exp.CTE]) -> int | None:
    """The position of the CTE of `with_` whose query holds `table`; None when it is outside them."""
    node: exp.Expression = table
    while node.parent is not None:
        if node.parent is with_:
            return next((i for i, c in enumerate(ctes) if c is node), None)
        node = node.parent
    return None


def _defined_inside(table: exp.Table, cte: exp.CTE) -> bool:
    """Whether a WITH inside the CTE defines the name (`with b as (...) select * from b` in its body)."""
    node = table.parent
    while node is not None and node is not cte:
        inner = node.args.get("with") or node.args.get("with_") if isinstance(node, exp.Query) else None
        if isinstance(inner, exp.With) and any(c.alias_or_name == table.name for c in inner.expressions):
            return True
        node = node.parent
    return False
