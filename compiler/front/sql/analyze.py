"""One transform's SQL -> SqlAnalysis (compiler.spec.lineage), with sqlglot. Pure: the same text, dialect
and input columns give the same analysis; compiler.speed remembers them by digest.

The query is walked scope by scope (CTEs and subqueries first, sqlglot.optimizer.scope): for each scope,
each output column's input columns and a fingerprint of its derivation, and the columns and a
fingerprint of everything that decides its rows (joins, filters, grouping, distinct, limits, unions).
Fingerprints hash the normalised SQL of an expression (sqlglot's generator: formatting, comments and
keyword case are gone) together with the fingerprints of what its columns resolve to, so an edit shows
up exactly in the columns (or the rows) it changes.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.optimizer.scope import Scope, traverse_scope

from compiler.front.sql.cte_order import forward_references
from compiler.front.sql.lambdas import json_arrows
from compiler.front.sql.nulls_order import mark_written_nulls
from compiler.front.sql.nulls_order import written as written_nulls
from compiler.front.sql.pivots import OPEN_REST, SYNTHETIC, rewrite_pivots
from compiler.front.sql.placeholders import input_of, substitute
from compiler.front.sql.table_functions import flatten_table, function_columns
from compiler.front.sql.unclosed import token_error
from compiler.spec.lineage import (
    ALIAS,
    AMBIGUOUS,
    FORWARD,
    LATERAL,
    OPEN_OUTPUTS,
    RESULT,
    USING,
    OutputColumn,
    Ref,
    RowRef,
    SqlAnalysis,
    UnknownColumn,
)

Schema = Mapping[str, tuple[str, ...]]  # input dataset -> its declared columns, in order


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=10).hexdigest()


@dataclass
class _Out:
    name: str
    refs: frozenset[Ref]
    fp: str
    node: exp.Expression | None
    passthrough: Ref | None = None
    uses: frozenset[RowRef] = frozenset()  # how it uses each of refs (compiler.spec.lineage.OutputColumn.uses)
    whole: frozenset[str] = frozenset()  # inputs whose whole rows its values hold (their new columns change them)
    offset: int | None = None  # where it is in the SQL when no node says so: the `*` (or `t.*`) it comes from
    cast: str | None = None  # the type of the cast that made it, also in a query it is copied from (`select n from
    # (select cast(x as int) as n ...)`): its type, not x's


@dataclass
class _ScopeInfo:
    outputs: list[_Out] = field(default_factory=list)
    rows: str = ""
    row_refs: set[RowRef] = field(default_factory=set)
    clauses: set[str] = field(default_factory=set)
    stars: set[str] = field(default_factory=set)  # inputs whose columns flow out through `*`
    sorted_by: frozenset[Ref] = frozenset()  # the columns its ORDER BY reads
    open_star: bool = False  # a `*` over something whose columns are unknown
    parts: dict[str, list[str]] = field(default_factory=dict)  # row clause -> what decides it, nested scopes too
    rest: _Out | None = None  # with open_star: what a column it makes that is not among outputs reads (a pivot's)

    def add_parts(self, other: _ScopeInfo) -> None:
        for clause, fps in other.parts.items():
            self.parts.setdefault(clause, []).extend(fps)

    def output(self, name: str) -> _Out | None:
        for out in self.outputs:
            if out.name == name:
                return out
        return None


@dataclass(frozen=True)
class _Pivot:
    """A source read through PIVOT or UNPIVOT (`... pivot (sum(x) for k in ('a')) as p`): its columns are unknown (they
    are named after the IN values, quoted as each warehouse does); each derives from all the columns of `source`."""

    pivot: exp.Pivot
    source: object  # what is pivoted: an input (exp.Table) or a query (Scope)


class _Analyzer:
    def __init__(self, dialect: str, schema: Schema):
        self.dialect = dialect
        self.schema = schema
        self.info: dict[int, _ScopeInfo] = {}
        self.unknown: list[UnknownColumn] = []
        self.notes: set[str] = set()
        self._scope_of: dict[int, Scope] = {}
        self.one_select = False  # the text has one SELECT: no subquery (the flat case, no sqlglot scopes)
        self.lambdas = False  # whether the query has lambdas or list comprehensions (their variables are no columns)
        self.nested = False  # whether it has more than one scope (subqueries)
        self.last_shape = ""  # the shape of the last expression() (select() looks for aggregates in it)
        self.last_uses: frozenset[RowRef] = frozenset()  # how the last expression() uses its columns
        self.last_whole: frozenset[str] = frozenset()  # the inputs whose whole rows the last expression() reads
        self.last_cast: str | None = None  # the type the last expression() is cast to, on the way too (_Out.cast)
        self.outs: dict[str, _Out] = {}  # fingerprint -> an output of a scope (what a column resolved to uses)
        self._table_columns: dict[int, tuple[str, ...] | None] = {}  # id of a FROM table -> columns_of it
        self.name_picks = True  # whether the text may pick columns by name (_picks_by_name): most cannot
        # BigQuery: id of an UNNEST scope whose alias names its element (`unnest(e.params) as p`: p.key is a field of
        # the element) -> (the element's name, its fields where an array of struct literals tells them, else None)
        self.elements: dict[int, tuple[str, tuple[str, ...] | None]] = {}

    # --- helpers ---------------------------------------------------------------------------------

    def text(self, node: exp.Expression) -> str:
        """The node's normalised shape (sqlglot's generator is several times slower and copies the tree)."""
        return shape(node)

    def source_having(self, scope: Scope, name: str) -> str:
        """The alias of the source of `scope` that has the column `name` (one whose columns are unknown may)."""
        return next((alias for alias, (_, src) in scope.selected_sources.items()
                     if (cols := self.columns_of(src)) is None or name in cols), "")

    def columns_of(self, source: object) -> tuple[str, ...] | None:
        """The column names a FROM source has, None when unknown."""
        if isinstance(source, Scope):
            info = self.info_of(source)
            if info is None or info.open_star:
                return None
            return tuple(o.name for o in info.outputs)
        if isinstance(source, exp.Table):
            key = id(source)  # a table's columns do not change while the query is read: found once
            if key not in self._table_columns:
                name = input_of(source.name)
                cols = self.schema.get(name) if name is not None else None
                self._table_columns[key] = _table_names(source, cols) if cols is not None else None
            return self._table_columns[key]
        return None

    def info_of(self, source: Scope) -> _ScopeInfo | None:
        """What a source scope produces. A recursive CTE read inside itself is a scope sqlglot makes over its first
        (anchor) branch and never walks: that branch's own scope, walked before the recursive one, tells."""
        info = self.info.get(id(source))
        if info is None and (walked := self._scope_of.get(id(source.expression))) is not None:
            info = self.info.get(id(walked))
        return info

    def own_columns(self, node: exp.Expression | None, scope: Scope) -> Iterator[exp.Column]:
        """Columns under `node` that belong to `scope` (not to a nested query, which is its own scope)."""
        if node is None:
            return
        if isinstance(node, exp.Column):
            if not isinstance(node.this, exp.Star):
                yield node
            return
        top = scope.expression
        for n in node.walk(prune=lambda x: isinstance(x, exp.Query) and x is not top and x is not node):
            if isinstance(n, exp.Column) and not isinstance(n.this, exp.Star) and (not self.lambdas or not _bound(n)):
                yield n

    @staticmethod
    def offset(col: exp.Expression) -> int:
        for part in (col.args.get("table"), col.this if isinstance(col, exp.Column) else col):
            meta = getattr(part, "meta", None) or {}
            if "start" in meta:
                return int(meta["start"])
        return 0

    # --- resolving one column reference ------------------------------------------------------------

    def resolve(self, scope: Scope, col: exp.Column, aliases: Mapping[str, _Out] | None = None
                ) -> tuple[frozenset[Ref], str, Ref | None]:
        """(input columns, fingerprint token, the input column it is as-is) of a column named in `scope`."""
        name, table = col.name, col.table  # both in the case they are compared in (_fold_names)
        if table and self.elements and (element := self.element(scope, table)) is not None:
            return self.element_field(element, table, name, col)  # BigQuery's `unnest(x) as p`: p.key
        if table and not any(table in s.sources for s in _chain(scope)):
            table = _implicit_alias(scope, table) or table  # `events.x` over an unaliased {{ input('events') }}
        for look in _visible(scope):  # the query itself, then enclosing ones (a correlated reference)
            found = self._resolve_in(look, name, table, aliases if look is scope else None, col)
            if found is not None:
                if self.dialect == "postgres" and look is not scope and _in_from_of(scope, look):
                    self.unknown.append(UnknownColumn(name, table or self.source_having(look, name), self.offset(col),
                                                      kind=LATERAL))
                return found
        if not table and (row := self.whole_row(scope, name)) is not None:
            return row  # `row_to_json(e)`: no column is called `e`, a source is
        if not table and self.dialect in _LATERAL_ALIASES and (outer := self.outer_alias(scope, name)) is not None:
            return outer
        candidates: tuple[str, ...] = ()
        label = table
        if table:
            src = next((s.sources[table] for s in _chain(scope) if table in s.sources), None)
            qualifier = col.args.get("table")
            # a quoted name's case matters: judged on Postgres only, where it is kept (_fold_names)
            quoted = isinstance(qualifier, exp.Identifier) and qualifier.quoted and self.dialect != "postgres"
            if src is None and not col.args.get("db") and not quoted and self._no_such_qualifier(scope, table):
                aliases = tuple(sorted({input_of(a) or a for s in _chain(scope) for a in s.sources}))
                self.unknown.append(UnknownColumn(name, table, self.offset(col), aliases, qualifier=True))
                return frozenset(), f"?{table}.{name}", None
            if src is None or col.args.get("db"):  # not a source: e.g. a struct's field
                return self.struct_field(scope, col, aliases) or (frozenset(), f"?{table}.{name}", None)
            candidates = self.columns_of(src) or ()
            if isinstance(src, exp.Table) and input_of(src.name):
                label = input_of(src.name) or table
        else:
            for _, (_, src) in scope.selected_sources.items():
                candidates += self.columns_of(src) or ()
        kind = ALIAS if not table and aliases and name in aliases else ""  # one it does not read here (alias_read)
        self.unknown.append(UnknownColumn(name, label, self.offset(col), tuple(dict.fromkeys(candidates)), kind=kind))
        return frozenset(), f"?{table}.{name}", None

    def struct_field(self, scope: Scope, col: exp.Column, aliases: Mapping[str, _Out] | None
                     ) -> tuple[frozenset[Ref], str, Ref | None] | None:
        """`info.e`, `s.info.e`, `info.e.f`: a field of the struct column info (of the source s): what the field's
        expression reads where the query makes the struct (_StructFields), else what the whole column reads; None when
        no source has such a column."""
        parts = [p.name for p in (col.args.get("catalog"), col.args.get("db"), col.args.get("table"))
                 if isinstance(p, exp.Identifier)] + [col.name]
        if self.elements and len(parts) > 2 and (element := self.element(scope, parts[0])) is not None:
            return self.element_field(element, parts[0], parts[1], col)  # `p.value.string_value`: p's field value
        tries = [(parts[0], parts[1], parts[2])] if len(parts) > 2 else []  # source.column.field first
        tries.append(("", parts[0], parts[1]))
        for qualifier, column, key in tries:
            found = self.struct_column(scope, column, qualifier, aliases, col)
            if found is not None:
                return _StructFields(self, found[1]).field(key) or (found[0], found[1], None)
        return None

    def element(self, scope: Scope, alias: str) -> Scope | None:
        """The BigQuery UNNEST whose element `alias` names (`unnest(e.params) as p`), where the query (or an enclosing
        one it sees) has it; None when `alias` is something else."""
        for look in _visible(scope):
            if alias in look.sources:
                src = look.sources[alias]
                return src if isinstance(src, Scope) and id(src) in self.elements else None
        return None

    def element_field(self, unnest: Scope, alias: str, name: str, col: exp.Column
                      ) -> tuple[frozenset[Ref], str, Ref | None]:
        """The field `name` of a BigQuery UNNEST's element (`p.key` over `unnest(e.params) as p`: in BigQuery the alias
        is the element, a value, not a row of columns): what the element reads. A name the element's known fields (an
        array of struct literals) do not have is reported."""
        element, fields = self.elements[id(unnest)]
        info = self.info_of(unnest)
        out = info.output(element) if info is not None else None
        if out is None or (fields is not None and name not in fields):
            if fields is not None:
                self.unknown.append(UnknownColumn(name, alias, self.offset(col), fields))
            return frozenset(), f"?{alias}.{name}", None
        return out.refs, out.fp, None

    def struct_column(self, scope: Scope, name: str, table: str, aliases: Mapping[str, _Out] | None,
                      col: exp.Column) -> tuple[frozenset[Ref], str, Ref | None] | None:
        """What the column `name` (of the source `table`, or of any) that a struct field or star reads is; None when
        there is none."""
        for look in _visible(scope):
            if table and table not in look.sources:
                continue
            found = self._resolve_in(look, name, table, aliases if look is scope else None, col)
            if found is not None:
                return found
        return None

    def struct_star(self, scope: Scope, proj: exp.Column, info: _ScopeInfo) -> bool:
        """`s.*` where s is a struct column, not a source: a column for each field (_StructFields), or, where they are
        not known, open columns, each reading what s reads. False when no source has a column s."""
        found = self.struct_column(scope, proj.table, "", None, proj)
        if found is None:
            return False
        fields = _StructFields(self, found[1])
        names = fields.names()
        if names is None:
            self.notes.add(f"the fields of struct '{proj.table}' are not known")
            info.open_star = True
            info.rest = _Out(proj.table, found[0], found[1], None)
            return True
        for name in names:
            refs, fp, _ = fields.field(name) or (found[0], found[1], None)
            info.outputs.append(_Out(name, refs, fp, None, offset=self.offset(proj)))
        return True

    def outer_alias(self, scope: Scope, name: str) -> tuple[frozenset[Ref], str, Ref | None] | None:
        """A select-list alias of an enclosing query that a subquery names (DuckDB: `select kind as k ... where exists
        (select 1 ... where u.country = k)`, `select a * 2 as d, (select d) as e`): what its expression reads; None
        when no enclosing query has one of that name."""
        looks = iter(_visible(scope))
        next(looks)  # the subquery itself: its own aliases are no columns of its sources
        for look in looks:
            select = look.expression
            for proj in select.expressions if isinstance(select, exp.Select) else ():
                if isinstance(proj, exp.Alias) and _low(proj.alias) == name:
                    refs, fp, _ = self.expression(look, proj.this)
                    return refs, fp, None
        return None

    def ambiguous(self, scope: Scope, col: exp.Column, name: str, read: str, having: list[str]) -> None:
        """Report an unqualified column that several sources of `scope` have (`having`, their aliases: every
        warehouse rejects it), unless USING or a natural join makes it one column, or a select-list alias of that name
        is read there first (`read`, alias_read: a whole ORDER BY item; on Snowflake and BigQuery, not checked
        against the warehouse, wherever one may be read)."""
        if read == "first" or (read == "fallback" and self.dialect not in _ALIAS_RULES):
            return
        if not self.merged(scope, name):
            shown = tuple(input_of(a) or a for a in having)  # an unaliased input is named by its dataset
            self.unknown.append(UnknownColumn(name, "", self.offset(col), shown, kind=AMBIGUOUS))

    def alias_read(self, col: exp.Column) -> str:
        """How the warehouse reads a select-list alias named like the unqualified `col`, where `col` is: `first` (a
        whole ORDER BY or DISTINCT ON item: before the inputs' columns), `fallback` (when no input has the column)
        or `no` (Postgres: in HAVING, and inside an expression in ORDER BY or GROUP BY, `order by a + 1`; DuckDB:
        inside an expression in GROUP BY). Only where the caller passes the aliases (the dialect reads them there)."""
        clause, whole = _place(col)
        if whole and clause in ("order", "distinct"):
            return "first"
        if self.dialect == "postgres" and (clause == "having" or (clause in ("order", "group") and not whole)):
            return "no"
        if self.dialect == "duckdb" and clause == "group" and not whole:
            return "no"
        return "fallback"

    def merged(self, scope: Scope, name: str) -> bool:
        """Whether USING or a natural join makes the columns called `name` of `scope`'s sources one. On Postgres only
        when no other source has one too (`e join u using (c) join p on ...`: p's c is another c); DuckDB takes the
        merged one."""
        if self.dialect == "postgres" and (layout := self.join_layout(scope)) is not None:
            return sum(n == name for n, _ in layout) == 1
        return _merged(scope.expression, name)

    def whole_row(self, scope: Scope, name: str) -> tuple[frozenset[Ref], str, Ref | None] | None:
        """A bare name that is a source of the query, not a column: its whole row (`row_to_json(e)`, `to_json(e)`,
        `select e`), which reads every column of it, as `e.*` does; None when no source is called so."""
        found = _row_source(scope, name)
        if found is None:
            return None
        alias, src = found
        cols = self.columns_of(src)
        if cols is None:
            self.notes.add(f"the whole row of '{name}', whose columns are not known, is not followed")
            return frozenset(), f"?{name}.*", None
        parts = [p for c in cols if (p := self._from_source(src, c, alias)) is not None]
        refs: frozenset[Ref] = frozenset().union(*(p[0] for p in parts))
        token = _digest("row", *(p[1] for p in parts))
        uses: frozenset[RowRef] = frozenset().union(*(self.uses_of(p[0], p[1], None, False, False) for p in parts))
        whole = self.row_inputs(src).union(*(self.whole_of(p[1]) for p in parts))
        self.outs.setdefault(token, _Out(name, refs, token, None, uses=uses, whole=whole))  # what uses_of reads
        return refs, token, None

    def names_a_row(self, scope: Scope, name: str) -> bool:
        """Whether `name` is a source of `scope` itself whose columns are known."""
        found = _source_named(scope, name)
        return found is not None and self.columns_of(found[1]) is not None

    def row_inputs(self, src: object) -> frozenset[str]:
        """The inputs whose new columns would appear in a whole row of `src` (the input itself, or through `*`)."""
        if isinstance(src, exp.Table):
            dataset = input_of(src.name)
            return frozenset({dataset}) if dataset is not None else frozenset()
        info = self.info.get(id(src)) if isinstance(src, Scope) else None
        return frozenset(info.stars) if info is not None else frozenset()

    def cast_of(self, token: str) -> str | None:
        """The type a column reference that resolved to `token` was cast to on the way (_Out.cast)."""
        out = self.outs.get(token)
        return out.cast if out is not None else None

    def whole_of(self, token: str) -> frozenset[str]:
        """The inputs whose whole rows a column reference that resolved to `token` holds."""
        out = self.outs.get(token)
        return out.whole if out is not None else frozenset()

    def _no_such_qualifier(self, scope: Scope, table: str) -> bool:
        """Whether `table` in `table.column` can only be a typo: no source of the query (or an enclosing one) is
        called so, and every source's columns are known and none is called so (`s.field` reads a struct column's
        field)."""
        for look in _chain(scope):
            for _, src in look.selected_sources.values():
                cols = self.columns_of(src)
                if cols is None or table in cols:
                    return False
        return True

    def _resolve_in(self, scope: Scope, name: str, table: str, aliases: Mapping[str, _Out] | None,
                    col: exp.Column) -> tuple[frozenset[Ref], str, Ref | None] | None:
        """What `name` (qualified by `table`, or not) is among the sources of `scope`; None when none has it. An
        unqualified name several sources have is reported as ambiguous (`col`: where it is written)."""
        if table:
            if table not in scope.sources:
                return None
            return self._from_source(scope.sources[table], name, table)
        alias = aliases.get(name) if aliases else None
        read = self.alias_read(col) if alias is not None else "no"
        if alias is not None and read == "first":  # `order by x`: the select list's x before the inputs' one
            return alias.refs, alias.fp, alias.passthrough
        sources = [(alias, src, self.columns_of(src)) for alias, (_, src) in scope.selected_sources.items()]
        having = [(a, s) for a, s, cols in sources if cols is None or name in cols]
        known = [(a, s) for a, s, cols in sources if cols is not None and name in cols]
        if not known and having and self.names_a_row(scope, name):
            return None  # `row_to_json(e)` beside a table whose columns are unknown: e's whole row (see resolve)
        if len(known) == 1 or (len(having) == 1 and not known):
            alias, src = (known or having)[0]
            return self._from_source(src, name, alias)
        if len(known) > 1:  # ambiguous in SQL: reported, and both candidates are kept
            self.ambiguous(scope, col, name, read, [a for a, _ in known])
            parts = [self._from_source(s, name, a) for a, s in known]
            refs = frozenset().union(*(p[0] for p in parts))
            return refs, _digest(*sorted(p[1] for p in parts)), None
        if alias is not None and read == "fallback":  # a projection alias, e.g. in GROUP BY or HAVING
            return alias.refs, alias.fp, alias.passthrough
        if len(having) > 1:
            parts = [p for a, s in having if (p := self._from_source(s, name, a)) is not None]
            if parts:
                return frozenset().union(*(p[0] for p in parts)), _digest(*sorted(p[1] for p in parts)), None
        return None

    def _from_source(self, src: object, name: str, alias: str) -> tuple[frozenset[Ref], str, Ref | None] | None:
        if isinstance(src, Scope):
            info = self.info_of(src)
            out = info.output(name) if info is not None else None
            if out is None:
                if info is not None and info.open_star:
                    if info.rest is not None:  # a PIVOT's column named after a value (compiler.front.sql.pivots)
                        return info.rest.refs, info.rest.fp, None
                    return frozenset(), f"?{alias}.{name}", None
                return None
            return out.refs, out.fp, out.passthrough
        if isinstance(src, exp.Table):
            dataset = input_of(src.name)
            if dataset is None:
                self.notes.add(f"reads table '{src.sql()}', which is not an input: its columns are not followed")
                return frozenset({(f"?{src.name}", name)}), f"t:{src.name}.{name}", None
            cols = self.schema.get(dataset)
            if cols is not None:
                named = _table_names(src, cols)
                if name not in named:
                    return None
                name = cols[named.index(name)]
            return frozenset({(dataset, name)}), f"in:{dataset}.{name}", (dataset, name)
        if isinstance(src, _Pivot):
            refs, fps = self.pivot_input(src.source)
            return refs, _digest("pivot", self.text(src.pivot), name, *fps), None
        self.notes.add(f"column '{name}' comes from a construct that is not followed")
        return frozenset(), f"?{alias}.{name}", None

    def pivot_input(self, src: object) -> tuple[frozenset[Ref], list[str]]:
        """(every input column, fingerprints of every column) of what a PIVOT/UNPIVOT reads."""
        if isinstance(src, Scope) and (info := self.info_of(src)) is not None:
            return frozenset().union(*(o.refs for o in info.outputs)), [o.fp for o in info.outputs]
        if isinstance(src, exp.Table) and (dataset := input_of(src.name)) is not None:
            cols = self.schema.get(dataset) or ()
            return frozenset((dataset, c) for c in cols), [f"in:{dataset}.{c}" for c in cols]
        self.notes.add("a pivot over a source whose columns are unknown is not followed")
        return frozenset(), []

    def expression(self, scope: Scope, node: exp.Expression, aliases: Mapping[str, _Out] | None = None
                   ) -> tuple[frozenset[Ref], str, Ref | None]:
        """(input columns, fingerprint, passthrough) of an expression of `scope`."""
        inner = node.this if isinstance(node, exp.Alias) else node
        while type(inner) is exp.Paren:
            inner = inner.this
        col = inner if isinstance(inner, exp.Column) else inner.this if (
            type(inner) is exp.Cast and isinstance(inner.this, exp.Column)) else None
        if col is not None and not isinstance(col.this, exp.Star):  # the common `cast(a.x as t) as y`: no walk
            refs, token, through = self.resolve(scope, col, aliases)
            self.last_shape = ""  # a column or a cast of one: no aggregate, nothing that makes rows
            self.last_uses = self.uses_of(refs, token, None, False, False)
            self.last_whole = self.whole_of(token)
            self.last_cast = _cast_type(inner) or self.cast_of(token)
            return refs, _digest(self.text(inner), f"{col.table.lower()}.{col.name}={token}"), through
        refs: set[Ref] = set()
        tokens: list[str] = []
        passthrough = None
        uses: set[RowRef] = set()
        whole: set[str] = set()
        for col in self.own_columns(node, scope):
            r, token, through = self.resolve(scope, col, aliases)
            refs |= r
            whole |= self.whole_of(token)
            tokens.append(f"{col.table.lower()}.{col.name}={token}")
            passthrough = through
            if r:
                uses |= self.uses_of(r, token, *_position(col, node))
        inner = node.this if isinstance(node, exp.Alias) else node
        if not isinstance(inner, exp.Column):
            passthrough = None
        for query in (node.find_all(exp.Query) if self.nested else ()):  # a subquery (IN, EXISTS, scalar) counts
            if query is not scope.expression and (sub := self._query_info(query)) is not None:
                found = frozenset().union(*(o.refs for o in sub.outputs), {(d, c) for d, c, _ in sub.row_refs})
                refs |= found
                uses |= {(d, c, "direct") for d, c in found}  # not followed further: its values, transformed
                whole.update(*(o.whole for o in sub.outputs))
                tokens.append(_digest(sub.rows, *(o.fp for o in sub.outputs)))
        self.last_shape = self.text(inner)
        self.last_uses = frozenset(uses)
        self.last_whole = frozenset(whole)
        self.last_cast = _cast_type(inner)
        return frozenset(refs), _digest(self.last_shape, *sorted(tokens)), passthrough

    def uses_of(self, refs: frozenset[Ref], token: str, indirect: str | None, aggregated: bool,
                hashed: bool) -> frozenset[RowRef]:
        """How an expression uses the input columns `refs` that one column reference resolved to (`token`), the
        reference being read `indirect`ly (conditional, window), through an aggregate, through a hash."""
        inner = self.outs.get(token)
        base = inner.uses if inner is not None and inner.uses else {(d, c, "direct") for d, c in refs}
        if indirect is not None:
            return frozenset({(d, c, indirect) for d, c, how in base if how in _DIRECT} |
                             {u for u in base if u[2] in _INDIRECT})
        out = set()
        for d, c, how in base:
            if how == "direct" and aggregated:
                how = "aggregation"
            out.add((d, c, how))
            if hashed and how in _DIRECT:
                out.add((d, c, "masking"))
        return frozenset(out)

    def _query_info(self, query: exp.Expression) -> _ScopeInfo | None:
        scope = self._scope_of.get(id(query))
        return self.info.get(id(scope)) if scope is not None else None

    # --- scopes ------------------------------------------------------------------------------------

    def run(self, tree: exp.Expression) -> _ScopeInfo:
        self.lambdas = tree.find(exp.Lambda, exp.Comprehension) is not None
        scopes = (self.one_select and _flat_scope(tree)) or traverse_scope(tree)
        self.nested = len(scopes) > 1
        self._scope_of = {id(s.expression): s for s in scopes}
        for scope in scopes:
            _mark_pivots(scope)
        root = None
        for scope in scopes:
            if isinstance(scope.expression, _TABLE_FUNCTIONS) or flatten_table(scope.expression, self.dialect):
                info = self.table_function(scope)
            elif isinstance(scope.expression, exp.SetOperation):
                info = self.set_operation(scope)
            else:
                info = self.select(scope)
            _rename(info, getattr(scope, "outer_columns", None) or ())
            _open_rest(info, scope.expression)
            self.info[id(scope)] = info
            root = info
        if root is None:
            raise SqlglotError("no query found")
        return root

    def table_function(self, scope: Scope) -> _ScopeInfo:
        """A LATERAL, UNNEST or VALUES in FROM (or a CTE's VALUES): a LATERAL subquery's columns, or those the
        function makes (compiler.front.sql.table_functions), each from the columns its expressions read, which may be
        those of the FROM items before it; its rows depend on all of them. Unknown columns when they are not named."""
        node = scope.expression
        inner = node.this if isinstance(node, (exp.Lateral, exp.TableFromRows)) else node
        if isinstance(inner, exp.Subquery):
            sub = self._query_info(inner.this)  # walked before (sqlglot's order)
            if sub is None:
                raise SqlglotError("a LATERAL subquery that was not walked")
            return replace(sub, outputs=list(sub.outputs), row_refs=set(sub.row_refs), clauses=set(sub.clauses),
                           stars=set(sub.stars), parts={k: list(v) for k, v in sub.parts.items()})
        info = _ScopeInfo(clauses={"unnest"})
        made = function_columns(node, self.dialect)
        if self.dialect == "bigquery" and isinstance(node, exp.Unnest) and made:
            self.elements[id(scope)] = (_low(made[0][0]), _element_fields(node))
        refs, fp, _ = self.expression(scope, inner)
        if made is None:
            info.open_star = True
            self.notes.add(f"the columns of a table function ({inner.key}) without a column list are not followed")
        for name, exprs in made or ():
            parts = [self.expression(scope, e) for e in exprs]
            out = _Out(_low(name), frozenset().union(*(p[0] for p in parts)),
                       _digest("udtf", name, *(p[1] for p in parts)), None, offset=self.offset(inner))
            self.outs.setdefault(out.fp, out)
            info.outputs.append(out)
        info.row_refs = {(d, c, "unnest") for d, c in refs}
        info.parts["unnest"] = [fp]
        info.rows = _digest("udtf", fp)
        return info

    def set_operation(self, scope: Scope) -> _ScopeInfo:
        node = scope.expression
        parts = [self.info.get(id(s)) for s in scope.set_operation_scopes]
        if any(p is None for p in parts) or len(parts) != 2:
            raise SqlglotError("an unsupported set operation")
        left, right = parts  # type: ignore[misc]
        assert left is not None and right is not None
        kind = type(node).__name__.lower()
        distinct = bool(node.args.get("distinct"))
        info = _ScopeInfo(clauses={kind} | left.clauses | right.clauses, stars=left.stars | right.stars,
                          open_star=left.open_star or right.open_star)
        lefts, rights = _by_name(node, left.outputs, right.outputs)
        for i, out in enumerate(lefts):
            other = rights[i] if i < len(rights) else None
            refs = out.refs | (other.refs if other else frozenset())
            merged = _Out(out.name, refs, _digest(kind, out.fp, other.fp if other else "?"), None,
                          uses=out.uses | (other.uses if other else frozenset()),
                          whole=out.whole | (other.whole if other else frozenset()), offset=out.offset)
            info.outputs.append(merged)
            self.outs.setdefault(merged.fp, merged)
        info.row_refs = left.row_refs | right.row_refs
        fps = [kind, str(distinct), left.rows, right.rows]
        info.add_parts(left)
        info.add_parts(right)
        own = [kind, str(distinct)]
        if distinct:  # which rows are duplicates depends on every column
            fps += [o.fp for o in info.outputs]
            own += [o.fp for o in info.outputs]
            info.row_refs |= {(d, c, kind) for o in info.outputs for d, c in o.refs}
        for key in ("order", "limit", "offset"):
            if node.args.get(key) is not None:
                fps.append(self.text(node.args[key]))
                info.clauses.add("limit" if key != "order" else "order")
                info.parts.setdefault("limit" if key != "order" else "order", []).append(fps[-1])
        order = node.args.get("order")
        if order is not None:
            info.sorted_by = self.set_order(scope, order, info)
            if node.args.get("limit") is not None or node.args.get("offset") is not None:
                info.row_refs |= {(d, c, "order") for d, c in info.sorted_by}
        info.parts.setdefault(kind, []).extend(own)
        info.rows = _digest(*fps)
        return info

    def set_order(self, scope: Scope, order: exp.Order, info: _ScopeInfo) -> frozenset[Ref]:
        """The input columns a set operation's ORDER BY reads: those of the result's columns it names (`select a ...
        union all select b ... order by a`). Reported: on DuckDB a name that no branch makes or reads; on Postgres
        anything but a result column's name as a whole item (not `order by a + 1`, nor `order by t.a`). Other
        dialects: not checked."""
        leaves = list(self.branches(scope))
        infos = [self.info_of(leaf) for leaf in leaves]
        check = self.dialect in _ALIAS_RULES and not any(i is None or i.open_star for i in infos)
        made = [[o.name for o in i.outputs] for i in infos if i is not None]
        read = {c.name for leaf in leaves for c in leaf.expression.find_all(exp.Column)} if check else set()
        refs: set[Ref] = set()
        for col in self.own_columns(order, scope):
            name = col.name
            at = next((names.index(name) for names in made if name in names), None)  # DuckDB: any branch's name
            out = info.output(name) if self.dialect == "postgres" else info.output(name) or (
                info.outputs[at] if at is not None and at < len(info.outputs) else None)
            if out is not None:
                refs |= out.refs
            if not check:
                continue
            if self.dialect == "postgres" and col.table:
                self.unknown.append(UnknownColumn(name, col.table, self.offset(col), (), qualifier=True))
            elif (self.dialect == "postgres" and (out is None or not _place(col)[1])) or (
                    out is None and not col.table and name not in read):
                self.unknown.append(UnknownColumn(name, "", self.offset(col), tuple(o.name for o in info.outputs),
                                                  kind=RESULT))
        return frozenset(refs)

    def branches(self, scope: Scope) -> Iterator[Scope]:
        """The SELECTs of a set operation, those of the set operations in it too."""
        for part in scope.set_operation_scopes:
            if isinstance(part.expression, exp.SetOperation):
                yield from self.branches(part)
            else:
                yield part

    def select(self, scope: Scope) -> _ScopeInfo:
        node = scope.expression
        info = _ScopeInfo()
        if not isinstance(node, exp.Select):
            raise SqlglotError(f"an unsupported query ({type(node).__name__})")
        # sources first: their rows decide ours
        fps: list[tuple[str, str]] = []  # (row clause, what decides it)
        for alias, (_, src) in scope.selected_sources.items():
            if isinstance(src, _Pivot):
                fps.append(("aggregation", f"P:{alias}:" + self.text(src.pivot)))
                info.clauses.add("aggregation")
                src = src.source
            if isinstance(src, Scope):
                sub = self.info_of(src)
                if sub is not None:
                    fps.append(("", f"S:{alias}:{sub.rows}"))  # its own clauses say what changed in it
                    info.add_parts(sub)
                    info.row_refs |= sub.row_refs
                    info.clauses |= sub.clauses
            elif isinstance(src, exp.Table) and isinstance(src.this, exp.Func):  # generate_series(1, t.a) as g(x)
                fps.append(("from", f"F:{alias}:" + self.clause(scope, src.this, "from", info, {})))
            elif isinstance(src, exp.Table):
                fps.append(("from", f"T:{alias}:{src.name.lower()}"))
            else:
                fps.append(("from", f"?:{alias}"))
        for join in node.args.get("joins") or ():  # a SEMI or ANTI join's right side: sqlglot selects nothing of
            right = scope.sources.get(join.alias_or_name)  # it, but its own filters decide which rows come out
            if str(join.args.get("kind") or "").upper() in ("SEMI", "ANTI") and isinstance(right, Scope) and (
                    sub := self.info_of(right)) is not None:
                fps.append(("", f"S:{join.alias_or_name}:{sub.rows}"))
                info.add_parts(sub)
                info.row_refs |= sub.row_refs
                info.clauses |= sub.clauses
        # projections, stars expanded
        aliases: dict[str, _Out] = {}
        special: list[exp.Expression] = []
        final = self.dialect == "snowflake" and _final(node)  # its quoted names are judged (_fold_names)
        for proj in node.expressions:
            if self.name_picks and _picks_by_name(proj):
                self.unknown_columns(scope, info)
                continue
            if isinstance(proj, exp.Star) or (isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star)):
                self.star(scope, proj, info)
                continue
            refs, fp, through = self.expression(scope, proj, aliases if self.dialect in _LATERAL_ALIASES else None)
            name = _low(proj.alias_or_name or self.text(proj))
            out = _Out(_output_name(proj, final) or name, refs, fp, proj, through, self.last_uses, self.last_whole,
                       cast=self.last_cast)
            self.outs.setdefault(fp, out)
            info.outputs.append(out)
            aliases.setdefault(name, out)
            if self.last_shape and _ROW_KEYS.search(self.last_shape):  # maybe an aggregate or a row maker
                special.append(proj)
        # what decides the rows
        aggregated = node.args.get("group") is not None or any(
            agg.find_ancestor(exp.Window) is None and agg.find_ancestor(exp.Select) is node
            for proj in special for agg in proj.find_all(exp.AggFunc))
        if aggregated:
            fps.append(("aggregation", "aggregated"))
            info.clauses.add("aggregation")
        for proj in special:
            for udtf in proj.find_all(exp.Unnest, exp.Explode):
                fps.append(("unnest", "udtf:" + self.text(udtf)))
                info.clauses.add("unnest")
        for join in node.args.get("joins") or ():
            info.clauses.add("join")
            on, using = join.args.get("on"), join.args.get("using") or []
            parts = [join_kind(join.args.get("side"), join.args.get("kind")), str(join.args.get("method") or ""),
                     ",".join(self.text(u) for u in using)]  # method: ASOF, NATURAL, ...
            for condition in (on, join.args.get("match_condition")):  # an ASOF join's match condition decides too
                if condition is not None:  # Snowflake reads a select-list alias in ON; the others do not
                    seen = aliases if self.dialect == "snowflake" else {}
                    parts.append(self.clause(scope, condition, "join", info, seen))
            self.check_using(scope, join)
            for u in using:
                uname = _low(u.name)
                for alias, (_, src) in scope.selected_sources.items():
                    found = self._from_source(src, uname, alias) if (self.columns_of(src) or ()) and \
                        uname in (self.columns_of(src) or ()) else None
                    if found is not None:
                        info.row_refs |= {(d, c, "join") for d, c in found[0]}
            fps.append(("join", "J:" + ":".join(parts)))
            if str(join.args.get("method") or "").upper() == "POSITIONAL":  # rows paired by position: their order
                self.everything(scope, info, "join")  # (and so any column a source is sorted by) decides
        for key, clause in (("where", "filter"), ("having", "having"), ("qualify", "qualify")):
            part = node.args.get(key)
            if part is not None:
                info.clauses.add(clause)
                seen = aliases if key != "where" or self.dialect in _LATERAL_ALIASES else {}
                fps.append((clause, f"{key}:" + self.clause(scope, part, clause, info, seen)))
                if self.name_picks and part.find(exp.Columns) is not None:  # `where columns(['a', 'b']) > 3`
                    self.everything(scope, info, clause)
        for window in node.args.get("windows") or ():  # `window w as (partition by ...)`: what `over w` reads is
            # not followed into each output: the window's columns count as deciding the rows (an edit of one of
            # them rebuilds every reader), its definition as part of the query
            fps.append(("window", "window:" + self.clause(scope, window, "window", info, aliases)))
            info.clauses.add("window")
        group = node.args.get("group")
        if group is not None:
            info.clauses.add("group by")
            fps.append(("group by", "group:" + self.group(scope, group, info, aliases)))
        distinct = node.args.get("distinct")
        if distinct is not None:
            info.clauses.add("distinct")
            on = distinct.args.get("on")
            if on is not None:
                fps.append(("distinct", "distinct on:" + self.clause(scope, on, "distinct", info, aliases)))
            else:
                fps.append(("distinct", "distinct:" + ",".join(o.fp for o in info.outputs)))
                info.row_refs |= {(d, c, "distinct") for o in info.outputs for d, c in o.refs}
        limited = False
        for key in ("limit", "offset"):
            if node.args.get(key) is not None:
                limited = True
                info.clauses.add("limit")
                read = self.clause(scope, node.args[key], "limit", info, {})  # `limit (select max(b) ...)`
                fps.append(("limit", f"{key}:" + self.text(node.args[key]) + ":" + read))
        # with a limit, or DISTINCT ON (the first row of each group is kept), the order decides which rows come out
        by = "limit" if limited else "distinct"  # the clause an order change is said to change the rows by
        limited = limited or (distinct is not None and distinct.args.get("on") is not None)
        order = node.args.get("order")
        if order is not None and (limited or getattr(scope, "is_root", True)):  # the query's own order: SORT
            refs, fp = self.order_by(scope, order, info, aliases)
            info.sorted_by = refs
            if limited:  # without a limit, order does not decide which rows
                info.row_refs |= {(d, c, "order") for d, c in refs}
                fps.append((by, "order:" + fp))
        for clause, fp in fps:
            if clause:
                info.parts.setdefault(clause, []).append(fp)
        info.rows = _digest(*(fp for _, fp in fps))
        return info

    def check_using(self, scope: Scope, join: exp.Join) -> None:
        """Report a `using (c)` column that one side of the join does not have (the joined source, or every source
        before it), where that side's columns are known."""
        node = scope.expression
        start = node.args.get("from_") or node.args.get("from")
        before = [start.this] if start is not None else []
        for other in node.args.get("joins") or ():
            if other is join:
                break
            before.append(other.this)
        sides = [self.side(scope, [join.this]), self.side(scope, before)]
        for u in join.args.get("using") or ():
            name = _low(u.name)
            for label, cols in sides:
                if cols is not None and name not in cols:
                    self.unknown.append(UnknownColumn(name, label, self.offset(u), cols, kind=USING))
                    break

    def side(self, scope: Scope, nodes: Sequence[exp.Expression]) -> tuple[str, tuple[str, ...] | None]:
        """(what to call them, their columns: None when some are unknown) of the FROM sources `nodes`."""
        labels: list[str] = []
        cols: list[str] = []
        for node in nodes:
            found = scope.selected_sources.get(node.alias_or_name)
            known = self.columns_of(found[1]) if found is not None else None
            if found is None or known is None:
                return "", None
            src = found[1]
            labels.append((input_of(src.name) if isinstance(src, exp.Table) else None) or node.alias_or_name)
            cols += known
        return " and ".join(labels), tuple(dict.fromkeys(cols))

    def clause(self, scope: Scope, node: exp.Expression, clause: str, info: _ScopeInfo,
               aliases: Mapping[str, _Out]) -> str:
        refs, fp, _ = self.expression(scope, node, aliases)
        info.row_refs |= {(d, c, clause) for d, c in refs}
        return fp

    def order_by(self, scope: Scope, order: exp.Order, info: _ScopeInfo, aliases: Mapping[str, _Out]
                 ) -> tuple[frozenset[Ref], str]:
        """(the columns a SELECT's ORDER BY reads, its fingerprint). `order by 2` sorts by the second projection:
        it reads that projection's columns, and a change of its expression changes the order (and, with a limit,
        which rows come out), as `group by 2` does."""
        items = order.expressions
        if not any(_ordinal(o.this, len(info.outputs)) for o in items if isinstance(o, exp.Ordered)):
            refs, fp, _ = self.expression(scope, order, aliases)
            return refs, fp
        found: set[Ref] = set()
        parts: list[str] = []
        for item in items:
            key = item.this if isinstance(item, exp.Ordered) else item
            if _ordinal(key, len(info.outputs)):
                out = info.outputs[int(key.this) - 1]
                found |= out.refs
                how = (bool(item.args.get("desc")), item.args.get("nulls_first"), written_nulls(item)) \
                    if isinstance(item, exp.Ordered) else ()
                parts.append(f"{out.fp}:{how}")
            else:
                refs, fp, _ = self.expression(scope, item, aliases)
                found |= refs
                parts.append(fp)
        return frozenset(found), _digest(*parts)

    def group(self, scope: Scope, group: exp.Group, info: _ScopeInfo, aliases: Mapping[str, _Out]) -> str:
        parts = []
        if group.args.get("all"):  # GROUP BY ALL: every projection that is not an aggregate
            for out in info.outputs:
                if out.node is None or not any(True for _ in out.node.find_all(exp.AggFunc)):
                    parts.append(out.fp)
                    info.row_refs |= {(d, c, "group by") for d, c in out.refs}
        for item in group.expressions:
            if isinstance(item, exp.Literal) and item.is_int and 0 < int(item.this) <= len(info.outputs):
                out = info.outputs[int(item.this) - 1]  # GROUP BY 1: the first projection
                parts.append(out.fp)
                info.row_refs |= {(d, c, "group by") for d, c in out.refs}
            else:
                parts.append(self.clause(scope, item, "group by", info, aliases))
        return ",".join(sorted(parts))  # the groups are the same in any order of the keys

    def unknown_columns(self, scope: Scope, info: _ScopeInfo) -> None:
        """A projection whose columns are picked by their names (DuckDB's `columns('.*_id')`, `* like 'x%'`): the
        columns out are unknown, and the inputs' new columns may flow through as with `*`."""
        info.open_star = True
        self.notes.add("columns(...) and * like/ilike/glob/similar to pick columns by name: not followed")
        self.everything(scope, info, "columns")
        for _, src in scope.selected_sources.values():
            if isinstance(src, exp.Table) and (dataset := input_of(src.name)) is not None:
                info.stars.add(dataset)
            elif isinstance(src, Scope) and (sub := self.info_of(src)) is not None:
                info.stars |= sub.stars

    def everything(self, scope: Scope, info: _ScopeInfo, clause: str) -> None:
        """Every column of the scope's sources counts as deciding its rows: what a construct reads is not followed
        (columns picked by name, a positional join's pairing), so an edit of any of them rebuilds its readers."""
        for alias, (_, src) in scope.selected_sources.items():
            for name in self.columns_of(src) or ():
                found = self._from_source(src, name, alias)
                if found is not None:
                    info.row_refs |= {(d, c, clause) for d, c in found[0]}

    def star(self, scope: Scope, proj: exp.Expression, info: _ScopeInfo) -> None:
        table = proj.table if isinstance(proj, exp.Column) else ""
        if table and self.elements and (element := self.element(scope, table)) is not None:
            self.element_star(element, table, proj, info)  # BigQuery's `p.*` over `unnest(x) as p`: its fields
            return
        if table and isinstance(proj, exp.Column) and not any(table in s.sources for s in _chain(scope)) and \
                _implicit_alias(scope, table) is None and self.struct_star(scope, proj, info):
            return  # `s.*` of a struct column s
        star = proj.this if isinstance(proj, exp.Column) else proj
        excluded = {_low(e.name) for e in (star.args.get("except") or star.args.get("except_")
                                             or star.args.get("exclude") or [])}
        # `* replace (expr as c)`: c's values are expr's; `* rename (a as b)`: a comes out as b
        replaced = {_low(e.alias_or_name): e for e in star.args.get("replace") or [] if isinstance(e, exp.Alias)}
        renamed = {_low(e.this.name): _low(e.alias) for e in star.args.get("rename") or []
                   if isinstance(e, exp.Alias) and isinstance(e.this, exp.Column)}
        if len(replaced) != len(star.args.get("replace") or []) or len(renamed) != len(star.args.get("rename") or []):
            self.notes.add("select * replace/rename is not followed")
            info.open_star = True
        sources = ([(table, scope.sources.get(table))] if table else
                   [(a, s) for a, (_, s) in scope.selected_sources.items()])
        self.check_star_names(star, sources)
        layout = self.join_layout(scope) if not table else None  # `using (c)`: one column c
        for alias, src in sources:
            cols = self.columns_of(src)
            if cols is None:
                info.open_star = True
                self.notes.add(f"select * from '{alias}' whose columns are not known")
                continue
            if isinstance(src, exp.Table) and (dataset := input_of(src.name)) is not None:
                info.stars.add(dataset)
            elif isinstance(src, Scope) and (sub := self.info_of(src)) is not None:
                info.stars |= sub.stars
            for name in cols if layout is None else ():
                if name not in excluded:
                    self.star_column(scope, proj, info, name, ((alias, src),), replaced, renamed)
        for name, having in layout or ():
            if name not in excluded:
                self.star_column(scope, proj, info, name, having, replaced, renamed)

    def element_star(self, unnest: Scope, alias: str, proj: exp.Expression, info: _ScopeInfo) -> None:
        """`p.*` of a BigQuery UNNEST's element p: a column per field, each reading what the element reads; open
        columns where its fields are not known."""
        element, fields = self.elements[id(unnest)]
        sub = self.info_of(unnest)
        out = sub.output(element) if sub is not None else None
        refs, fp = (out.refs, out.fp) if out is not None else (frozenset(), f"?{alias}.*")
        if fields is None:
            self.notes.add(f"the fields of '{alias}', an UNNEST's element, are not known")
            info.open_star = True
            info.rest = _Out(alias, refs, fp, None)
            return
        for name in fields:
            info.outputs.append(_Out(name, refs, _digest("field", fp, name), None, offset=self.offset(proj)))

    def star_column(self, scope: Scope, proj: exp.Expression, info: _ScopeInfo, name: str,
                    having: Sequence[tuple[str, object]], replaced: Mapping[str, exp.Expression],
                    renamed: Mapping[str, str]) -> None:
        """The column `name` that a `*` makes of the sources `having` it (several: a USING or natural join's merged
        column, whose values are theirs)."""
        if name in replaced:
            refs, fp, through = self.expression(scope, replaced[name])
            info.outputs.append(_Out(renamed.get(name, name), refs, fp, replaced[name], through,
                                     self.last_uses, self.last_whole, cast=self.last_cast))
            return
        parts = [p for alias, src in having if (p := self._from_source(src, name, alias)) is not None]
        if not parts:
            return
        if len(parts) == 1:
            refs, fp, through = parts[0]
        else:
            refs, fp = frozenset().union(*(p[0] for p in parts)), _digest(*sorted(p[1] for p in parts))
            through = parts[0][2] if all(p[2] == parts[0][2] for p in parts) else None  # a self join's: the same
        uses = frozenset().union(*(self.uses_of(p[0], p[1], None, False, False) for p in parts))
        casts = {self.cast_of(p[1]) for p in parts}
        out = _Out(renamed.get(name, name), refs, fp, None, through, uses,
                   frozenset().union(*(self.whole_of(p[1]) for p in parts)), self.offset(proj),
                   cast=casts.pop() if len(casts) == 1 else None)
        if len(parts) > 1:
            self.outs.setdefault(fp, out)  # what a query reading this one's merged column uses (uses_of)
        info.outputs.append(out)

    def join_layout(self, scope: Scope) -> _Layout | None:
        """The columns the query's FROM clause makes, in the warehouse's order, each with the sources (alias, source)
        that have it, where a join merges columns: `using (c)` or a natural join makes one column c of both sides.
        None when no join merges columns, or when some source's columns are unknown."""
        node = scope.expression
        start = node.args.get("from_") or node.args.get("from")
        if start is None or not any(_natural(j) or j.args.get("using") for j in _all_joins(node)):
            return None
        return self._joined(scope, self._item_layout(scope, start.this), node.args.get("joins") or ())

    def _item_layout(self, scope: Scope, item: exp.Expression) -> _Layout | None:
        """The columns one FROM item makes: a source, or a join in parentheses (`(a join b using (c))`)."""
        if isinstance(item, exp.Subquery) and isinstance(item.this, (exp.Table, exp.Subquery)) and not item.alias:
            base = self._item_layout(scope, item.this)
        else:
            found = scope.selected_sources.get(item.alias_or_name)
            cols = self.columns_of(found[1]) if found is not None else None
            base = None if found is None or cols is None else [(c, [(item.alias_or_name, found[1])]) for c in cols]
        return self._joined(scope, base, item.args.get("joins") or ())

    def _joined(self, scope: Scope, left: _Layout | None, joins: Sequence[exp.Join]) -> _Layout | None:
        for join in joins:
            right = self._item_layout(scope, join.this) if left is not None else None
            if left is None or right is None:
                return None
            left = _merge(left, right, join, self.dialect)
        return left

    def check_star_names(self, star: exp.Expression, sources: Sequence[tuple[str, object]]) -> None:
        """Report a column `* exclude (...)` (`except`), `replace (... as c)` or `rename (c as ...)` names that none
        of the star's sources has, where their columns are known (the warehouse rejects it)."""
        known = [self.columns_of(src) for _, src in sources]
        if not sources or any(cols is None for cols in known) or star.meta.get(SYNTHETIC):
            return
        cols = tuple(dict.fromkeys(c for found in known for c in found or ()))
        named = [e.args.get("alias") if isinstance(e, exp.Alias) and key == "replace" else e.this
                 for key in ("except", "except_", "exclude", "replace", "rename") for e in star.args.get(key) or ()]
        alias, src = sources[0]
        label = ((input_of(src.name) if isinstance(src, exp.Table) else None) or alias) if len(sources) == 1 else ""
        for ident in named:
            name = _low(ident.name) if isinstance(ident, (exp.Identifier, exp.Column)) else None
            if name is not None and name not in cols:
                self.unknown.append(UnknownColumn(name, label, self.offset(ident), cols))


class _StructFields:
    """The fields of a struct column that a column reference resolved to (`token`), where the query makes it from
    a struct literal (`{'e': email}`, `struct_pack(e := email)`): each field's expression, read in its query."""

    def __init__(self, analyzer: _Analyzer, token: str):
        self.analyzer = analyzer
        out = analyzer.outs.get(token)
        node = out.node if out is not None else None
        value = node.this if isinstance(node, exp.Alias) else node
        self.fields: dict[str, exp.Expression] | None = None
        select = node.find_ancestor(exp.Select) if node is not None else None
        self.scope = analyzer._scope_of.get(id(select)) if select is not None else None
        if isinstance(value, exp.Struct) and self.scope is not None:
            pairs = [(f.this, f.expression) for f in value.expressions if isinstance(f, (exp.PropertyEQ, exp.Slice))]
            if len(pairs) == len(value.expressions) and all(isinstance(k, (exp.Identifier, exp.Literal))
                                                             for k, _ in pairs):
                self.fields = {_low(str(k.this)): v for k, v in pairs}

    def names(self) -> list[str] | None:
        return list(self.fields) if self.fields is not None else None

    def field(self, name: str) -> tuple[frozenset[Ref], str, Ref | None] | None:
        """What the field `name` reads (its expression's columns), None when not known."""
        if self.fields is None or self.scope is None or name not in self.fields:
            return None
        unknown = self.analyzer.unknown
        reported = len(unknown)
        refs, fp, _ = self.analyzer.expression(self.scope, self.fields[name])
        if len(unknown) > reported:  # read again without its query's aliases: the whole column, reported once
            del unknown[reported:]
            return None
        return refs, fp, None


@dataclass
class _FlatScope:
    """What the analysis reads of a sqlglot Scope, for the common query with one SELECT over tables (making
    sqlglot's scopes costs as much as the rest of the analysis)."""

    expression: exp.Select
    sources: dict[str, exp.Table]
    selected_sources: dict[str, tuple[exp.Table, exp.Table]]
    parent: None = None
    is_udtf: bool = False


def _flat_scope(tree: exp.Expression) -> list[Scope] | None:
    if not isinstance(tree, exp.Select) or tree.args.get("with") or tree.args.get("with_"):
        return None
    start = tree.args.get("from_") or tree.args.get("from")
    nodes = [start.this] if start is not None else []
    nodes += [j.this for j in tree.args.get("joins") or ()]
    if not all(type(n) is exp.Table and not n.args.get("joins") and not n.args.get("pivots") for n in nodes):
        return None
    sources = {n.alias_or_name: n for n in nodes}
    if len(sources) != len(nodes):
        return None
    return [_FlatScope(tree, sources, {k: (v, v) for k, v in sources.items()})]  # type: ignore[list-item]


# dialects where a projection and WHERE may name an earlier projection's alias (`amount * 2 as a, a + 1 as b`); a
# column of the sources by that name comes first. Postgres and BigQuery know aliases in GROUP BY and ORDER BY only.
_LATERAL_ALIASES = frozenset({"duckdb", "snowflake"})
# dialects whose reading of select-list aliases in ORDER BY, GROUP BY and HAVING is checked (alias_read): an input's
# column is ambiguous there even when an alias has its name, unless a whole ORDER BY item (DuckDB, Postgres)
_ALIAS_RULES = frozenset({"duckdb", "postgres"})
_TABLE_FUNCTIONS = (exp.Lateral, exp.Unnest, exp.Values)  # sources that are no query or table (table_function)
_DIRECT = frozenset({"direct", "aggregation"})  # uses of a column's values
_INDIRECT = frozenset({"conditional", "window"})  # uses that decide them (masking marks a direct use)
_HASHES = tuple(getattr(exp, n) for n in ("MD5", "MD5Digest", "SHA", "SHA2", "SHA1Digest", "SHA2Digest",
                                          "StandardHash") if hasattr(exp, n))


def _element_fields(unnest: exp.Unnest) -> tuple[str, ...] | None:
    """The fields of a BigQuery UNNEST's element where its array is of struct literals whose first one names every
    field (`unnest([struct('a' as k, 'b' as v), ...])`: the others take its names); None when they are not known."""
    array = unnest.expressions[0] if len(unnest.expressions) == 1 else None
    first = array.expressions[0] if isinstance(array, exp.Array) and array.expressions else None
    if not isinstance(first, exp.Struct) or not first.expressions:
        return None
    keys = [f.this for f in first.expressions if isinstance(f, exp.PropertyEQ)]
    if len(keys) != len(first.expressions) or not all(isinstance(k, exp.Identifier) for k in keys):
        return None
    return tuple(_low(k.name) for k in keys)


def _position(col: exp.Column, top: exp.Expression) -> tuple[str | None, bool, bool]:
    """Where a column sits in the expression `top`: (`conditional` in a CASE/IF condition or an aggregate's
    FILTER, `window` in a window's PARTITION BY/ORDER BY, else None; under an aggregate; under a hash)."""
    indirect, aggregated, hashed = None, False, False
    child: exp.Expression = col
    node = col.parent
    while node is not None and child is not top:
        key = child.arg_key
        if indirect is None:
            if isinstance(node, exp.Window) and key in ("partition_by", "order"):
                indirect = "window"
            elif (isinstance(node, (exp.If, exp.Case)) and key == "this") or (
                    isinstance(node, exp.Filter) and key == "expression"):
                indirect = "conditional"
        if isinstance(node, exp.AggFunc):
            aggregated = True
        elif isinstance(node, _HASHES):
            hashed = True
        child, node = node, node.parent
    return indirect, aggregated, hashed


_ITEM_WRAPPERS = (exp.Paren, exp.Ordered, exp.Order, exp.Group, exp.Rollup, exp.Cube, exp.GroupingSets, exp.Tuple,
                  exp.Distinct)  # around a whole GROUP BY, ORDER BY or DISTINCT ON item (`order by (a) desc`)


def _place(col: exp.Column) -> tuple[str, bool]:
    """(the clause of its query `col` is in: `order`, `group`, `having`, `where`, `expressions`, ...; whether it is a
    whole item of it, `order by a` rather than `order by a + 1`)."""
    node: exp.Expression = col
    whole = True
    while node.parent is not None and not isinstance(node.parent, exp.Query):
        if not isinstance(node.parent, _ITEM_WRAPPERS):
            whole = False
        node = node.parent
    return node.arg_key, whole


def _rename(info: _ScopeInfo, names: Sequence[str]) -> None:
    """A column alias list (`with x (a, b) as (...)`, `(...) as x (a, b)`) renames the query's columns in order:
    the old names are no columns of x. Over an unknown `*` the order is unknown: the columns stay unknown."""
    if info.open_star:
        return
    for i, name in enumerate(names[:len(info.outputs)]):
        info.outputs[i] = replace(info.outputs[i], name=_low(name))


def _by_name(node: exp.Expression, lefts: Sequence[_Out], rights: Sequence[_Out | None]
             ) -> tuple[Sequence[_Out], Sequence[_Out | None]]:
    """The columns of a set operation's two sides paired as it pairs them: in order, or by name (DuckDB's `union
    [all] by name`: every name of either side, the left's first; BigQuery's `corresponding`: the names both have,
    or those `by (...)` lists; `left ... by name`: the left's), a side without the name giving NULLs."""
    if not node.args.get("by_name"):
        return lefts, rights
    left_at = {o.name: o for o in reversed(lefts)}  # the first of each name
    right_at = {o.name: o for o in reversed(rights) if o is not None}
    kind, side, on = str(node.args.get("kind") or "").upper(), str(node.args.get("side") or "").upper(), \
        node.args.get("on")
    if on:
        names = [_low(c.name) for c in on]
    elif kind == "INNER":
        names = [o.name for o in lefts if o.name in right_at]
    else:
        names = [o.name for o in lefts] + ([o.name for o in rights if o is not None and o.name not in left_at]
                                           if side != "LEFT" else [])
    names = list(dict.fromkeys(names))
    paired: list[_Out] = []
    for name in names:
        found = left_at.get(name) or right_at.get(name)
        paired.append(left_at.get(name) or _Out(name, frozenset(), "null", None,
                                                offset=found.offset if found is not None else None))
    return paired, [right_at.get(n) for n in names]


def _open_rest(info: _ScopeInfo, select: exp.Expression) -> None:
    """A PIVOT/UNPIVOT whose columns' names are not all known (compiler.front.sql.pivots): its columns are open, and
    what its projection named OPEN_REST reads is what any other column it makes reads."""
    name = select.meta.get(OPEN_REST)
    rest = info.output(name) if name is not None else None
    if rest is not None:
        info.outputs.remove(rest)
        info.rest, info.open_star = rest, True


def _table_names(table: exp.Table, cols: tuple[str, ...]) -> tuple[str, ...]:
    """An input's column names, renamed in order by a column alias list (`from x as t (a, b)`)."""
    alias = table.args.get("alias")
    if alias is None or not alias.args.get("columns"):  # the common case, without making the list
        return cols
    names = [_low(n) for n in table.alias_column_names]
    return (*names[:len(cols)], *cols[len(names):]) if names else cols


def _pivoted(scope: Scope) -> bool:
    """Whether the query is a derived table read through PIVOT/UNPIVOT (whose columns are unknown: the enclosing
    query would seem to have any column the query names)."""
    parent = scope.expression.parent
    return isinstance(parent, exp.Subquery) and bool(parent.args.get("pivots"))


def _mark_pivots(scope: Scope) -> None:
    """Make each source the query reads through PIVOT/UNPIVOT a _Pivot, under the pivot's alias (sqlglot keeps the
    source: a derived table's pivot alias, `(...) pivot (...) as p`, is no source of its own)."""
    if not isinstance(scope, Scope):
        return
    selected = scope.selected_sources
    if not any(node.args.get("pivots") for node, _ in selected.values()):
        return
    marked: dict[str, tuple[exp.Selectable, object]] = {}
    for alias, (node, src) in selected.items():
        pivots = node.args.get("pivots")
        if pivots:
            src = _Pivot(pivots[-1], src)
            alias = pivots[-1].alias or alias
            scope.sources[alias] = src  # type: ignore[assignment]
        marked[alias] = (node, src)
    selected.clear()
    selected.update(marked)  # type: ignore[arg-type]


# text that may make columns by name (_picks_by_name): a query without it spares a search of every projection
_NAME_PICKS = re.compile(r"\bcolumns\s*\(|\*\s*(?:like|ilike|glob|similar)\b", re.IGNORECASE)


def _picks_by_name(proj: exp.Expression) -> bool:
    """Whether a projection makes the columns whose names match (DuckDB: `columns('regex')`, `columns(*)`, also
    inside a function; `* like 'x%'`, `* ilike`, `* glob`, `* similar to`)."""
    inner = proj.this if isinstance(proj, exp.Alias) else proj
    matched = isinstance(inner, (exp.Like, exp.ILike, exp.Glob, exp.SimilarTo))
    star = inner.this if matched or isinstance(inner, exp.Column) else inner
    if isinstance(star, exp.Column):
        star = star.this
    if isinstance(star, exp.Star) and (matched or star.args.get("ilike") is not None):
        return True
    return proj.find(exp.Columns) is not None


def _merged(select: exp.Expression, name: str) -> bool:
    """Whether the query's joins make its sources' columns called `name` one column: `using (name)`, or a natural
    join (of every column the sources share), also inside parentheses (`from (a join b using (name))`)."""
    for join in _all_joins(select):
        if _natural(join):
            return True
        if any(_low(u.name) == name for u in join.args.get("using") or ()):
            return True
    return False


_Layout = list[tuple[str, list[tuple[str, object]]]]  # a FROM clause's columns: (name, the sources that have it)


def _merge(left: _Layout, right: _Layout, join: exp.Join, dialect: str) -> _Layout:
    """The columns of `left join right`: a `using (c)` or natural join makes the two c one, first (the SQL standard,
    Postgres) or where the left side has it (DuckDB)."""
    names = [n for n, _ in left] if _natural(join) else [_low(u.name) for u in join.args.get("using") or ()]
    left_at = {n: i for i, (n, _) in reversed(list(enumerate(left)))}  # the first column of each name
    right_at = {n: i for i, (n, _) in reversed(list(enumerate(right)))}
    both = list(dict.fromkeys(n for n in names if n in left_at and n in right_at))
    if not both:
        return left + right
    merged = {n: [*left[left_at[n]][1], *right[right_at[n]][1]] for n in both}
    taken_left, taken_right = {left_at[n] for n in both}, {right_at[n] for n in both}
    rest = [c for i, c in enumerate(right) if i not in taken_right]
    if dialect == "duckdb":
        return [(n, merged[n]) if i in taken_left else (n, s) for i, (n, s) in enumerate(left)] + rest
    return [(n, merged[n]) for n in both] + [c for i, c in enumerate(left) if i not in taken_left] + rest


def _natural(join: exp.Join) -> bool:
    return str(join.args.get("method") or "").upper() == "NATURAL"


def _all_joins(select: exp.Expression) -> Iterator[exp.Join]:
    """The joins of a query's FROM clause, those of a parenthesized join (`from (a join b using (c)) join d`) too;
    not those of a derived table's own query."""
    start = select.args.get("from_") or select.args.get("from")
    items = [start.this] if start is not None else []
    for join in select.args.get("joins") or ():
        yield join
        items.append(join.this)
    while items:
        item = items.pop()
        if isinstance(item, exp.Subquery) and isinstance(item.this, (exp.Table, exp.Subquery)):
            items.append(item.this)  # `(a join b ...)`: a join in parentheses (a derived table's SELECT is not)
        for join in item.args.get("joins") or ():
            yield join
            items.append(join.this)


def _bound(col: exp.Column) -> bool:
    """Whether a column is a lambda's parameter (`x`, or `x.f`, in `lambda x: x || sku`: not sku, a column of the
    query's sources) or a list comprehension's variable (DuckDB's `[x * 2 for x in l if x > y]`: x, not y)."""
    node = col.parent
    while node is not None:
        if isinstance(node, exp.Lambda) and _lambda_parameter(node, col):
            return True
        if isinstance(node, exp.Comprehension) and not col.table and any(
                isinstance(v, exp.Expression) and v.name == col.name
                for v in (node.args.get("expression"), node.args.get("position"))):
            return True
        node = node.parent
    return False


def _lambda_parameter(node: exp.Lambda, col: exp.Column) -> bool:
    """Whether `col` names a parameter of the lambda `node` (sqlglot makes most of them names already)."""
    params = {p.name for p in node.expressions if isinstance(p, exp.Expression)}
    return col.table in params if col.table else col.name in params


def _implicit_alias(scope: Scope, table: str) -> str | None:
    """The source an unaliased `{{ input('x') }}` is, when a column is qualified by its dataset's name `x` (the
    relation dbt renders is named so)."""
    for look in _chain(scope):
        for alias, src in look.sources.items():
            if isinstance(src, exp.Table) and not src.alias and (input_of(src.name) or "").lower() == table:
                return alias
    return None


def _in_from_of(scope: Scope, look: Scope) -> bool:
    """Whether `scope` reaches the enclosing query `look` through a subquery in look's FROM (not LATERAL): one that
    Postgres does not let read look's other FROM items (a subquery in WHERE or the select list may)."""
    below = scope
    while below.parent is not None and below.parent is not look:
        below = below.parent
    return below.parent is look and below.is_derived_table


def _visible(scope: Scope) -> Iterator[Scope]:
    """`scope`, then the enclosing queries whose sources it may name (a CTE sees its own sources only: the query
    after it is no enclosing query)."""
    look: Scope | None = scope
    while look is not None:
        yield look
        if getattr(look, "is_cte", False) or _pivoted(look):  # a query read through PIVOT neither
            return
        look = look.parent


def _row_source(scope: Scope, name: str) -> tuple[str, object] | None:
    """(alias, source) of the FROM source that a bare `name` names in `scope` or an enclosing query: its alias, or
    the dataset's name of an unaliased `{{ input('x') }}`."""
    for look in _visible(scope):
        if (found := _source_named(look, name)) is not None:
            return found
    return None


def _source_named(scope: Scope, name: str) -> tuple[str, object] | None:
    for alias, (_, src) in scope.selected_sources.items():
        if alias == name or (isinstance(src, exp.Table) and not src.alias and input_of(src.name) == name):
            return alias, src
    return None


def _chain(scope: Scope | None) -> Iterator[Scope]:
    while scope is not None:
        yield scope
        scope = scope.parent


def _row_keys() -> re.Pattern[str]:
    """Node keys of aggregates and set-returning functions, as they appear in a shape."""
    keys = {cls.key for cls in _subclasses(exp.AggFunc)} | {exp.Unnest.key, exp.Explode.key}
    return re.compile("|".join(re.escape(k) + r"\(" for k in sorted(keys, key=len, reverse=True)))


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


_ROW_KEYS = _row_keys()


def shape(node: exp.Expression) -> str:
    """A canonical text of a syntax tree: node types and their arguments, no comments, no formatting."""
    parts: list[str] = []
    append = parts.append

    def visit(n: exp.Expression) -> None:
        while type(n) is exp.Paren:  # the tree already says the precedence
            n = n.this
        if type(n) is exp.Count and _counts_rows(n):  # `count(1)` counts every row, as `count(*)` does
            n = exp.Count(this=exp.Star(), big_int=n.args.get("big_int"))
        if type(n) is exp.In and _literal_list(n):  # `x in (1, 2)` is `x in (2, 1)`
            append("in{")
            visit(n.this)
            append(";")
            for text in sorted(shape(e) for e in n.expressions):
                append(text)
                append(",")
            append("}")
            return
        if type(n) in _FLIPPED:  # `a < b` is `b > a`: written as the latter (as a GT node's args are)
            append(_FLIPPED[type(n)])
            append("(this=")
            visit(n.expression)
            append(";expression=")
            visit(n.this)
            append(";)")
            return
        if type(n) is exp.Ordered:  # a null ordering written, or the default of the warehouse that runs it
            append("nulls-written," if written_nulls(n) else "nulls-default,")
        if type(n) in _UNORDERED:  # `a = b` is `b = a`; `p and q and r` is the set {p, q, r}
            append(n.key)
            append("{")
            for text in sorted(shape(op) for op in _operands(n)):
                append(text)
                append(",")
            append("}")
            return
        append(n.key)
        append("(")
        for key, value in n.args.items():
            if value is None or value is False or (isinstance(value, list) and not value) or key[0] == "_":
                continue
            append(key)
            append("=")
            if isinstance(value, exp.Expression):
                visit(value)
            elif isinstance(value, list):
                append("[")
                for item in value:
                    if isinstance(item, exp.Expression):
                        visit(item)
                    else:
                        append(repr(item))
                    append(",")
                append("]")
            elif type(n) is exp.Anonymous and key == "this" and isinstance(value, str):
                append(repr(value.lower()))  # a function sqlglot does not know: its name is case-insensitive too
            else:
                append(repr(value))
            append(";")
        append(")")

    if isinstance(node, exp.Column) and not node.args.get("db"):
        return f"col({node.table}.{node.name})"
    if type(node) is exp.Cast and isinstance(node.this, exp.Column) and not node.this.args.get("db") and all(
            not v for k, v in node.args.items() if k not in ("this", "to") and k[0] != "_"):
        return f"cast(col({node.this.table}.{node.this.name}),{_type_text(node.args['to'])})"
    visit(node)
    return "".join(parts)


_UNORDERED = frozenset({exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.And, exp.Or})  # operands in any order: the same
_FLIPPED = {exp.LT: exp.GT.key, exp.LTE: exp.GTE.key}  # a comparison that is another one with its sides swapped


def _counts_rows(count: exp.Count) -> bool:
    """`count(1)`, `count(0)`: a number is never null, so every row counts, in every warehouse, as with `count(*)`
    (`count(null)`, `count(distinct 1)` and other arguments are left as written)."""
    arg = count.this
    return isinstance(arg, exp.Literal) and arg.is_number and not count.args.get("expressions")


def _literal_list(node: exp.In) -> bool:
    """An IN list of literals of one kind (all integers, or all strings): a set, so its order says nothing. Lists
    of expressions (an error or a volatile function may depend on how far the warehouse evaluates them) or of mixed
    types (Postgres resolves their common type in order) keep their order."""
    items = node.expressions
    if not items or any(node.args.get(k) for k in ("query", "unnest", "field")):
        return False
    if not all(type(i) is exp.Literal for i in items):
        return False
    return all(i.is_string for i in items) or all(i.is_int for i in items)


def _operands(node: exp.Expression) -> list[exp.Expression]:
    """The operands of a comparison, or of a chain of ANDs (ORs), flattened through parentheses."""
    if type(node) not in (exp.And, exp.Or):
        return [node.this, node.expression]
    out, todo = [], [node.this, node.expression]
    while todo:
        item = todo.pop()
        while type(item) is exp.Paren:
            item = item.this
        if type(item) is type(node):
            todo += [item.this, item.expression]
        else:
            out.append(item)
    return out


def join_kind(side: object, kind: object) -> str:
    """A join's kind as written any way: `join` is `inner join`, `left outer join` is `left join`."""
    side_text, kind_text = str(side or "").upper(), str(kind or "").upper()
    if kind_text == "OUTER" and side_text:
        kind_text = ""
    if kind_text == "INNER" and not side_text:
        kind_text = ""
    return f"{side_text}:{kind_text}"


def analyze_sql(sql: str, dialect: str, schema: Iterable[tuple[str, tuple[str, ...]]]) -> SqlAnalysis:
    """What a transform's SQL reads and produces. Never raises: what cannot be analysed is marked unknown."""
    text = substitute(sql)
    try:
        statements = [s for s in _dialect(dialect).parse(text) if s is not None and type(s) is not exp.Semicolon]
    except TokenError as exc:  # an unclosed quote or comment, mostly: at its opening
        error, offset = token_error(exc, sql)
        return SqlAnalysis(False, error=error, error_offset=offset)
    except ParseError as exc:
        return SqlAnalysis(False, error=_message(exc), error_offset=_error_offset(exc, text))
    except (SqlglotError, RecursionError, ValueError) as exc:
        return SqlAnalysis(False, error=f"cannot parse the SQL: {exc}")
    if len(statements) != 1:
        return SqlAnalysis(False, error=f"expected one SELECT statement, found {len(statements)}")
    tree = statements[0]
    low = text.lower()
    if "nulls" in low:  # an ORDER BY item's NULLS FIRST / LAST: told from the dialect's default
        mark_written_nulls(tree, text)
    if "pivot" in low:  # DuckDB's PIVOT/UNPIVOT statements, as the SELECT they stand for
        tree = rewrite_pivots(tree)
    if not isinstance(tree, exp.Query):
        return SqlAnalysis(False, error=f"expected a SELECT statement, found {tree.key.upper()}",
                           error_offset=len(text) - len(text.lstrip()))
    if text != low or '"' in text or "`" in text:  # most SQL is in lower case, unquoted, already
        _fold_names(tree, dialect)  # after which every column name is in the case it is compared in
    analyzer = _Analyzer(dialect, {k: tuple(c.lower() for c in v) for k, v in schema})
    if "->" in text:  # a JSON arrow in a function's arguments, which sqlglot reads as a lambda
        json_arrows(tree, dialect, {c for cols in analyzer.schema.values() for c in cols})
    analyzer.one_select = low.count("select") == 1
    analyzer.name_picks = "columns" in low or ("*" in low and _NAME_PICKS.search(text) is not None)
    try:
        root = analyzer.run(tree)
    except (SqlglotError, RecursionError, ValueError, KeyError, AttributeError, TypeError) as exc:
        return SqlAnalysis(False, error=f"cannot analyse the SQL: {exc}")
    if "with" in low:  # a CTE read before its definition is no relation there: the warehouse rejects it
        for read, reader, table in forward_references(tree, dialect):
            analyzer.unknown.append(UnknownColumn(read, reader, analyzer.offset(table.this), kind=FORWARD))
    tables = tuple((".".join(p.name for p in t.parts), analyzer.offset(t.this)) for t in _named_tables(tree))
    columns = tuple(_output(o, analyzer, text) for o in root.outputs)
    order = tree.args.get("order")
    normal = _digest(root.rows, *(f"{c.name}={c.fingerprint}" for c in columns),
                     analyzer.text(order) if order is not None else "")
    if root.open_star:
        analyzer.notes.add(OPEN_OUTPUTS)
    return SqlAnalysis(
        ok=True, normal=normal, columns=columns,
        row_reads=tuple(sorted(root.row_refs)), rows=root.rows, row_clauses=tuple(sorted(root.clauses)),
        sort_reads=tuple(sorted(root.sorted_by)),
        clause_digests=tuple(sorted((k, _digest(*v)) for k, v in root.parts.items())),
        star_inputs=tuple(sorted(root.stars)), whole_rows=tuple(sorted({(d, o.name) for o in root.outputs
                                                                         for d in o.whole})),
        unknown=tuple(sorted(set(analyzer.unknown), key=lambda u: u.offset)),
        notes=tuple(sorted(analyzer.notes)), tables=tables,
    )


def _named_tables(tree: exp.Expression) -> list[exp.Table]:
    """The tables the query names itself: neither an input placeholder nor a CTE (nor a function or file in FROM,
    which are no names)."""
    found = list(tree.find_all(exp.Table, exp.CTE))  # one walk
    ctes = {c.alias_or_name for c in found if isinstance(c, exp.CTE)}
    return [t for t in found if isinstance(t, exp.Table) and isinstance(t.this, exp.Identifier)
            and input_of(t.name) is None and not (t.name in ctes and not t.args.get("db"))]


def _fold_names(tree: exp.Expression, dialect: str) -> None:
    """Names as the warehouse compares them with the specs' lower-case ones: unquoted names are case-insensitive;
    a quoted column name keeps its case on Postgres (`"USER_ID"` is no column `user_id`: it stays `"USER_ID"`, quotes
    included, see _low), and on Snowflake, which reads unquoted names in upper case, where only a name the query
    produces is judged (`"user_id"` is no `USER_ID`, the column the dbt model selects; an input's case is not known):
    its quoted spelling is kept in the meta (_output_name); a quoted column name the warehouse reads as the unquoted
    one (Snowflake's `"STATUS"`, Postgres's `"status"`, any on DuckDB and BigQuery) is unquoted. A quoted alias of a
    table, a CTE's name or a table's name without a schema keeps its case on Postgres only (`"U"` is no alias `u`
    there; DuckDB and BigQuery compare them in any case, and Snowflake's `"U"` is `u`: any case is taken), a
    schema-qualified table's name everywhere."""
    for ident in tree.find_all(exp.Identifier):
        name = ident.this
        if not ident.quoted:
            ident.set("this", name.lower())
        elif _names_a_table(ident):
            if dialect != "postgres" and not _names_a_stored_table(ident):
                ident.set("this", name.lower())
        else:
            if dialect == "postgres" and name != name.lower():
                ident.set("this", f'"{name}"')
                continue
            if dialect == "snowflake" and name != name.upper():
                ident.meta["quoted_as"] = name
            else:  # the name unquoted (`"STATUS"` on Snowflake, `"status"` on Postgres): one spelling in a fingerprint
                ident.set("quoted", False)
            ident.set("this", name.lower())


def _names_a_table(ident: exp.Identifier) -> bool:
    """Whether an identifier names a table, a CTE or an alias of one (not a column)."""
    parent, key = ident.parent, ident.arg_key
    return isinstance(parent, exp.Table) or (isinstance(parent, exp.TableAlias) and key == "this") or (
        isinstance(parent, exp.Column) and key in ("table", "db", "catalog"))


def _names_a_stored_table(ident: exp.Identifier) -> bool:
    """Whether an identifier is (part of) a schema-qualified table's name: a table of the warehouse, no CTE."""
    parent = ident.parent
    return isinstance(parent, exp.Table) and ident.arg_key in ("this", "db", "catalog") and bool(parent.args.get("db"))


def _low(name: str) -> str:
    """A column name compared case-insensitively, unless it is quoted in a case the warehouse keeps (_fold_names)."""
    return name if name.startswith('"') else name.lower()


def _output_name(proj: exp.Expression, final: bool) -> str | None:
    """The name a projection of the query's own result is made with where the warehouse keeps it apart from the
    declared column (Snowflake: `as "customer_id"` is no CUSTOMER_ID); None when it is the name as compared."""
    ident = proj.args.get("alias") if isinstance(proj, exp.Alias) else proj.this if isinstance(
        proj, exp.Column) else None
    quoted = ident.meta.get("quoted_as") if final and isinstance(ident, exp.Identifier) else None
    return f'"{quoted}"' if quoted else None


def _final(node: exp.Expression) -> bool:
    """Whether a SELECT names the query's result columns: the query itself, or the first branch of its unions."""
    while node.parent is not None:
        parent = node.parent
        if not isinstance(parent, exp.SetOperation) or node.arg_key != "this":
            return False
        node = parent
    return True


def _output(out: _Out, analyzer: _Analyzer, text: str) -> OutputColumn:
    node = out.node
    inner = node.this if isinstance(node, exp.Alias) else node
    cast = (_cast_type(inner) if inner is not None else None) or out.cast  # cast here, or on the way
    if isinstance(inner, exp.Cast) and isinstance(inner.this, exp.Column):
        through = out.passthrough  # cast(x as t) as y: copies x (its type is the cast's)
    else:
        through = out.passthrough if isinstance(inner, exp.Column) or node is None else None
    alias = node.args.get("alias") if isinstance(node, exp.Alias) else None
    meta = alias.meta if isinstance(alias, exp.Identifier) else {}
    offset = int(meta["start"]) if "start" in meta else analyzer.offset(inner) if inner is not None else 0
    if node is None and out.offset is not None:
        offset = out.offset
    if inner is not None and not offset:
        first = next((c for c in inner.find_all(exp.Column)), None)
        offset = analyzer.offset(first) if first is not None else 0
    uses = tuple(sorted(u for u in out.uses if (u[0], u[1]) in out.refs))
    return OutputColumn(out.name, tuple(sorted(out.refs)), out.fp, offset, cast, through, uses)


@functools.cache
def _ordinal(node: exp.Expression, outputs: int) -> bool:
    """Whether an ORDER BY or GROUP BY item is a projection's position (`2`: the second one)."""
    return isinstance(node, exp.Literal) and node.is_int and 0 < int(node.this) <= outputs


def _dialect(name: str) -> Dialect:
    """sqlglot's dialect object (made once per process: sqlglot.parse makes one per call)."""
    return Dialect.get_or_raise(name)


def _cast_type(node: exp.Expression) -> str | None:
    """The type text of a cast (`cast(x as int)`, `x::int`), None for anything else."""
    to = node.args.get("to") if isinstance(node, exp.Cast) else None
    return _type_text(to) if to is not None else None


def _type_text(dt: exp.Expression) -> str:
    """`DECIMAL(10,2)`, `INT`, `VARCHAR`: a DataType's name and parameters (the generator costs far more)."""
    if not isinstance(dt, exp.DataType) or not isinstance(dt.this, exp.DataType.Type):
        return shape(dt)
    params = [p.name for p in dt.expressions]
    return dt.this.name + (f"({','.join(params)})" if params else "")


def _message(exc: SqlglotError) -> str:
    errors = getattr(exc, "errors", None) or []
    if errors and errors[0].get("description"):
        return "invalid SQL: " + str(errors[0]["description"]).split("\n")[0]
    return "invalid SQL: " + str(exc).split("\n")[0]


def _error_offset(exc: SqlglotError, text: str) -> int:
    errors = getattr(exc, "errors", None) or []
    if not errors or not errors[0].get("line"):
        return 0
    line, col = int(errors[0]["line"]), int(errors[0].get("col") or 1)
    highlight = str(errors[0].get("highlight") or "")
    start = 0
    for _ in range(line - 1):
        nxt = text.find("\n", start)
        if nxt < 0:
            break
        start = nxt + 1
    return max(0, min(len(text), start + col - max(1, len(highlight))))
