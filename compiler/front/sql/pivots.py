"""DuckDB's PIVOT and UNPIVOT statements (`pivot t on k in ('a', 'b') using sum(x) group by g`, `unpivot t on a, b
into name n value v`), as a subquery, a CTE or the whole query, rewritten into the SELECT they stand for, so that
compiler.front.sql.analyze follows them like any other query (sqlglot's scopes do not walk them).

PIVOT makes the GROUP BY columns (without one: every column of its source that neither ON nor USING reads), then one
column per IN value (per combination, with several ON columns; `value_alias` with several or aliased USING
expressions), each the USING aggregate over the rows of that value: `sum(x) filter (where k = 'a') as a`. UNPIVOT
makes the columns it does not unpivot, then the name and the value: `unnest(['a', 'b']) as n, unnest([a, b]) as v`.

Where the names are not known (no IN list: they are the data's values; an ON or USING the names cannot be told
from), the SELECT makes the columns that are known and one more, named OPEN_REST's value in the SELECT's meta, that
reads what every unknown column may derive from: the analysis makes the query's columns open (a `*` over it is
unknown, a name it does not know is no error) and any other name derives from that.
"""

from __future__ import annotations

import itertools

from sqlglot import exp

OPEN_REST = "specops_open_rest"  # meta key of a rewritten SELECT: the name of its projection standing for the rest
SYNTHETIC = "specops_synthetic"  # meta key of a `*` the rewrite made (its EXCLUDE names are checked elsewhere)
_REST = "*rest*"  # no column can be named so unquoted


def rewrite_pivots(tree: exp.Expression) -> exp.Expression:
    """The tree with every PIVOT/UNPIVOT statement replaced by its SELECT (the new root when it is one); the
    PIVOT clause of a FROM item (`from t pivot (sum(x) for k in (...))`) stays."""
    for node in reversed(list(tree.find_all(exp.Pivot))):  # the innermost first
        if node.arg_key == "pivots" or not isinstance(node.this, exp.Expression):
            continue
        select = _unpivot(node) if node.args.get("unpivot") else _pivot(node)
        if node is tree:
            tree = select
        else:
            node.replace(select)
    return tree


def _pivot(pivot: exp.Pivot) -> exp.Select:
    ons = list(pivot.expressions)
    using = list(pivot.args.get("using") or [])
    group = pivot.args.get("group")
    keys = list(group.expressions) if isinstance(group, exp.Group) else None
    aggs = [u.this if isinstance(u, exp.Alias) else u for u in using] or [exp.Count(this=exp.Star())]
    values = [_in_values(on) for on in ons]
    suffixes = _suffixes(using)
    projections: list[exp.Expression] = [k.copy() for k in keys] if keys is not None else [
        _star_except(pivot, [*ons, *using])]
    known = bool(ons) and suffixes is not None and all(v is not None for v in values) and (
        keys is None or all(isinstance(k, exp.Column) for k in keys))
    if known:
        for combo in itertools.product(*(v or () for v in values)):
            conditions = [exp.EQ(this=on.this.copy(), expression=lit.copy())
                          for on, (_, lit) in zip(ons, combo, strict=True)]
            prefix = "_".join(name for name, _ in combo)
            for agg, suffix in zip(aggs, suffixes or (), strict=True):
                where = exp.Where(this=exp.and_(*conditions, copy=False))
                projections.append(exp.alias_(_filtered(agg.copy(), where), f"{prefix}_{suffix}" if suffix else prefix,
                                              quoted=False, copy=False))
    else:
        projections.append(_rest([*(a.copy() for a in aggs), *(on.copy() for on in ons)]))
    select = exp.Select(expressions=projections)
    select.set("from_", exp.From(this=pivot.this))
    select.set("group", exp.Group(expressions=[k.copy() for k in keys]) if keys else exp.Group(all=True))
    if not known:
        select.meta[OPEN_REST] = _REST
    return select


def _unpivot(pivot: exp.Pivot) -> exp.Select:
    ons = list(pivot.expressions)
    into = pivot.args.get("into")
    name = into.this.name if isinstance(into, exp.UnpivotColumns) else "name"
    values = [v.name for v in into.expressions] if isinstance(into, exp.UnpivotColumns) else ["value"]
    source = pivot.this
    select = exp.Select()
    if ons and all(isinstance(on, exp.Column) for on in ons) and len(values) == 1:
        names = exp.Array(expressions=[exp.Literal.string(on.name) for on in ons])
        select.set("expressions", [
            _star_except(pivot, ons),
            exp.alias_(exp.Explode(this=names), name, quoted=False, copy=False),
            exp.alias_(exp.Explode(this=exp.Array(expressions=[on.copy() for on in ons])), values[0], quoted=False,
                       copy=False)])
    else:  # `on columns(...)`, `on (a, b) as x, ...`: any column may be any of the source's
        if not source.alias:
            source.set("alias", exp.TableAlias(this=exp.to_identifier("specops_unpivoted")))
        select.set("expressions", [_rest([exp.column(source.alias_or_name)])])  # its whole row: every column
        select.meta[OPEN_REST] = _REST
    select.set("from_", exp.From(this=source))
    return select


def _in_values(on: exp.Expression) -> list[tuple[str, exp.Literal]] | None:
    """(the column name it makes, the value) of each value of `on`'s IN list; None when the names are not known."""
    if not isinstance(on, exp.In) or any(on.args.get(k) for k in ("query", "unnest", "field")):
        return None
    found = []
    for value in on.expressions:
        if not isinstance(value, exp.Literal):
            return None
        found.append((str(value.this), value))
    return found


def _suffixes(using: list[exp.Expression]) -> list[str] | None:
    """What each USING expression adds to a column's name: nothing with one unaliased, `_alias` with aliases; None
    with several unaliased (DuckDB names them after the expression's text)."""
    if len(using) <= 1:
        return [using[0].alias if using and isinstance(using[0], exp.Alias) else ""]
    if all(isinstance(u, exp.Alias) for u in using):
        return [u.alias for u in using]
    return None


def _filtered(agg: exp.Expression, where: exp.Where) -> exp.Expression:
    """`agg` (an aggregate, or an expression of aggregates) over the rows `where` says."""
    if isinstance(agg, exp.AggFunc):
        return exp.Filter(this=agg, expression=where)
    for inner in list(agg.find_all(exp.AggFunc)):
        if inner.find_ancestor(exp.AggFunc) is None:
            inner.replace(exp.Filter(this=inner.copy(), expression=where.copy()))
    return agg


def _star_except(pivot: exp.Pivot, read: list[exp.Expression]) -> exp.Star:
    """`* exclude (...)` of every column `read` names: the source's columns that PIVOT groups by (or that UNPIVOT
    keeps) when it has no GROUP BY."""
    names = dict.fromkeys(c.name for node in read for c in node.find_all(exp.Column))
    star = exp.Star(except_=[exp.column(n) for n in names] or None)
    star.meta[SYNTHETIC] = True
    first = next((c for c in pivot.this.find_all(exp.Identifier) if "start" in c.meta), None)
    if first is not None:  # where the columns it makes are reported
        star.meta["start"] = first.meta["start"]
    return star


def _rest(read: list[exp.Expression]) -> exp.Expression:
    return exp.alias_(exp.Tuple(expressions=read), exp.to_identifier(_REST, quoted=True), copy=False)
