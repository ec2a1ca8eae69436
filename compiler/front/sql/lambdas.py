"""JSON arrows that sqlglot reads as lambdas: in a function's arguments it takes `payload->'items'` for the lambda
`payload -> 'items'` (DuckDB's lambda arrow is the JSON one), so the column `payload` would be a lambda's parameter:
not followed, and a misspelled one not reported. Put back as the JSON arrow (`payload -> 'items'`: the column, then
the path) where it cannot be a lambda (compiler.front.sql.analyze calls json_arrows before the analysis):

- on Postgres, which has no lambdas;
- on DuckDB, as an argument of a function that takes no lambda (not one of the list functions below, whatever
  sqlglot calls them), when its one parameter is a column of the inputs or its body a literal (a JSON key, path or
  index: a lambda making a constant is no lambda anyone writes). Any other lambda stays one (unknown, not followed).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlglot import exp

# DuckDB's functions taking a lambda (and their aliases), as sqlglot names them when it does not know them
_LAMBDA_NAMES = frozenset({
    "list_transform", "array_transform", "apply", "list_apply", "array_apply", "list_filter", "array_filter",
    "filter", "list_reduce", "array_reduce", "reduce", "list_sort", "array_sort", "list_reverse_sort",
    "array_reverse_sort", "list_any", "list_all", "map_filter", "map_transform", "transform", "list_has_any",
    "list_has_all", "array_has_any", "array_has_all"})
_LAMBDA_TYPES = tuple(getattr(exp, n) for n in ("Transform", "ArrayFilter", "Reduce", "ArraySort", "ArrayAll",
                                               "ArrayAny", "ArrayOverlaps", "MapFilter", "TransformKeys",
                                               "TransformValues") if hasattr(exp, n))


def json_arrows(tree: exp.Expression, dialect: str, columns: Collection[str]) -> None:
    """Make each lambda of `tree` that is a JSON arrow (above) one; `columns`: the inputs' column names."""
    if dialect not in ("duckdb", "postgres"):
        return
    for node in list(tree.find_all(exp.Lambda)):
        params = node.expressions
        if len(params) != 1 or not isinstance(params[0], exp.Identifier) or not isinstance(node.parent, exp.Func):
            continue
        param, body = params[0], node.this
        if dialect == "duckdb" and not (_no_lambdas(node.parent) and (
                isinstance(body, exp.Literal) or param.name.lower() in columns)):
            continue
        for ident in list(body.find_all(exp.Identifier)) if not isinstance(body, exp.Literal) else ():
            if ident.name == param.name and _was_column(ident):  # sqlglot made the parameter's columns names
                ident.replace(exp.Column(this=ident.copy()))
        node.replace(exp.JSONExtract(this=exp.Column(this=param), expression=body, only_json_types=False))


def _no_lambdas(func: exp.Expression) -> bool:
    if isinstance(func, exp.Anonymous):
        return str(func.this).lower() not in _LAMBDA_NAMES
    return not isinstance(func, _LAMBDA_TYPES) and func.sql_name().lower() not in _LAMBDA_NAMES


def _was_column(ident: exp.Identifier) -> bool:
    """Whether a name in a lambda's body stands where sqlglot put its parameter for a column (not a column's,
    table's or alias's own name, nor a struct field after a dot)."""
    parent = ident.parent
    if isinstance(parent, (exp.Column, exp.Table, exp.TableAlias, exp.Alias, exp.Lambda)):
        return False
    return not (isinstance(parent, exp.Dot) and ident.arg_key == "expression")
