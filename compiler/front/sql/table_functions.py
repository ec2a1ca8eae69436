"""The columns a table function in FROM makes (`unnest(o.tags) as u (tag)`, `(values (1, 'a')) as t (id, name)`,
`lateral flatten(...) f`, Snowflake's `table(flatten(...)) f`), read from the syntax alone: each column's name and
the expressions its values come from. A LATERAL subquery is a query of its own (compiler.front.sql.analyze reads it
as one)."""

from __future__ import annotations

from sqlglot import exp

Made = list[tuple[str, list[exp.Expression]]]  # (column name, the expressions its values come from), in order
FLATTEN_COLUMNS = ("seq", "key", "path", "index", "value", "this")  # Snowflake's FLATTEN makes these


def flatten_table(node: exp.Expression, dialect: str) -> bool:
    """Whether a FROM item is Snowflake's `table(flatten(...))`: the table function `lateral flatten(...)` is (sqlglot
    reads it as a TableFromRows, which is no query)."""
    return dialect == "snowflake" and isinstance(node, exp.TableFromRows) and type(node.this) is exp.Explode


def function_columns(node: exp.Expression, dialect: str) -> Made | None:
    """The columns of a table function (`node`: a LATERAL, UNNEST or VALUES in FROM); None when they are not known:
    no column alias list names them (`unnest(x) as u` is `u` or `u.unnest`, as the warehouse has it) or a function
    specops does not know."""
    alias = node.args.get("alias")
    names = [i.name for i in alias.args.get("columns") or ()] if isinstance(alias, exp.TableAlias) else []
    if isinstance(node, exp.TableFromRows):  # Snowflake's `table(flatten(...)) f` (flatten_table): FLATTEN's columns
        return [(name, [node.this]) for name in [*names[:len(FLATTEN_COLUMNS)], *FLATTEN_COLUMNS[len(names):]]]
    inner = node.this if isinstance(node, exp.Lateral) else node
    if isinstance(inner, exp.Values):
        rows = [row.expressions for row in inner.expressions if isinstance(row, exp.Tuple)]
        width = len(rows[0]) if rows else 0
        defaults = [f"col{i}" if dialect == "duckdb" else f"column{i + 1}" for i in range(width)]
        return [(name, [row[i] for row in rows if i < len(row)])
                for i, name in enumerate([*names[:width], *defaults[len(names):]])]
    offset = inner.args.get("offset") if isinstance(inner, exp.Unnest) else None  # WITH ORDINALITY / WITH OFFSET
    if not names or (offset and not isinstance(offset, exp.Identifier)):
        return None
    made: Made = []
    args = inner.expressions if isinstance(inner, exp.Unnest) else []
    for i, name in enumerate(names):
        # unnest(a, b) as u (x, y): x from a, y from b; else each column from the whole function
        made.append((name, [args[i]] if len(args) == len(names) else [inner]))
    if isinstance(offset, exp.Identifier):
        made.append((offset.name, []))  # the position of the element: from no column
    return made
