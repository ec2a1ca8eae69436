"""A transform's SQL with its own names canonicalised, so that a plan tells a renamed name from a changed query.

Table aliases, derived-table (subquery) aliases and CTE names are renamed by their order of appearance in their
scope (`__t1_0` is the first source of a scope one level down, `__w0_1` the second CTE of the outer query, the CTEs
first put in the order the query reads them, so that defining them in another order changes nothing), and the
columns of a CTE or a derived table by their position (`__w0_1_c2`), every reference to them following. The
query's own output columns keep their names: they are what its readers see.

A column is only renamed where every reference to it is known for sure; a CTE or subquery read through `*`,
`using` or a column list keeps its column names. The renaming is alpha-renaming only (and the CTEs' reordering
keeps what each name reads): the canonical query does exactly what the original does, so two versions whose
canonical queries compare equal do the same.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, ScopeType, traverse_scope

from compiler.front.sql.analyze import shape
from compiler.front.sql.nulls_order import mark_written_nulls, written
from compiler.front.sql.placeholders import input_of, substitute

Schema = Mapping[str, tuple[str, ...]]  # input dataset -> its declared columns
Source = exp.Table | Scope


@dataclass
class _Renames:
    """What the canonical query renames, decided on the original tree before any of it is changed."""

    qualifiers: list[tuple[exp.Column, str]] = field(default_factory=list)  # column -> its new table qualifier
    aliases: list[tuple[exp.Expression, str]] = field(default_factory=list)  # Table / CTE / Subquery -> new alias
    aliased: list[tuple[exp.Table, str]] = field(default_factory=list)  # a table read without an alias -> its alias
    tables: list[tuple[exp.Table, str]] = field(default_factory=list)  # a reference to a CTE -> its new name
    # (a column, the scope whose output it reads, the scope it is written in)
    reads: list[tuple[exp.Column, Scope, Scope]] = field(default_factory=list)
    unsure: set[str] = field(default_factory=set)  # column names some reference cannot be tied to one source
    closed: set[int] = field(default_factory=set)  # scopes whose column names must stay (read by `*`, `using`)


_FAILURES = (SqlglotError, RecursionError, ValueError, KeyError, AttributeError, TypeError)


def canonical_sql(sql: str, dialect: str, schema: Schema) -> str | None:
    """The SQL with its aliases, CTE names and inner column names canonicalised; None when it cannot be (also
    where a NULLS FIRST / LAST is written: sqlglot writes the dialect's default ordering without its words, and the
    text must keep them, compiler.front.sql.nulls_order)."""
    try:
        tree = _parsed(sql, dialect)
        if tree is None or any(written(o) for o in tree.find_all(exp.Ordered)) or not _canonicalised(tree, schema):
            return None
        return tree.sql(dialect=dialect)
    except _FAILURES:
        return None


def query_shape(sql: str, dialect: str, schema: Schema) -> str | None:
    """The whole query as one comparable text: its syntax tree, its own names canonicalised where they can be,
    without comments, formatting, the case of unquoted names, or the spellings docs/plan.md lists as the same
    (`inner join` is `join`, `left outer join` is `left join`); None when it does not parse. Two versions of a
    transform whose analyses differ nowhere are the same query only if these are equal too: a construct the
    analysis does not follow (a sample, a named window, a table function's arguments) shows here."""
    try:
        tree = _parsed(sql, dialect)
        if tree is None:
            return None
        if not _canonicalised(tree, schema):
            tree = _parsed(sql, dialect)  # as written: the canonicaliser may have stopped halfway
            if tree is None:
                return None
        _unquoted(tree, dialect)
        _ordinals_spelt_out(tree)
        if dialect in _GROUP_BY_ALL:
            _group_by_all_spelt_out(tree)
        for join in tree.find_all(exp.Join):
            if join.args.get("kind") == "INNER" or (join.args.get("kind") == "OUTER" and join.args.get("side")):
                join.set("kind", None)
        for group in tree.find_all(exp.Group):  # the groups are the same in any order of the keys
            group.set("expressions", sorted(group.expressions, key=shape))
        if "*" in sql:
            _star_lists_sorted(tree)
        for select in tree.find_all(exp.Select):
            projections = select.expressions
            if projections and all(isinstance(p, exp.Alias) and p.alias.startswith("__") for p in projections):
                # every column canonically named: no reader depends on their order (_Canonicaliser)
                select.set("expressions", sorted(projections, key=shape))
        return shape(tree)
    except _FAILURES:
        return None


_STAR_LISTS = ("except", "except_", "exclude", "replace", "rename")


def _star_lists_sorted(tree: exp.Expression) -> None:
    """The lists of `* except (a, b)` (BigQuery; `* exclude` on Snowflake and DuckDB), `* replace (... as a, ... as
    b)` and `* rename (a as x, b as y)` in one order: each names columns of the star, which come out in the sources'
    order whatever the list's, so they are sets."""
    for star in tree.find_all(exp.Star):
        for key in _STAR_LISTS:
            items = star.args.get(key)
            if isinstance(items, list) and len(items) > 1:
                star.set(key, sorted(items, key=shape))


def _unquoted(tree: exp.Expression, dialect: str) -> None:
    """Quoted names written as the warehouse reads them unquoted, unquoted: any case on DuckDB and BigQuery, lower
    case on Postgres, upper case on Snowflake (where `"ID"` is `id`)."""
    for ident in tree.find_all(exp.Identifier):
        name = ident.this
        if not ident.quoted:
            continue
        if dialect in ("duckdb", "bigquery") or (dialect == "postgres" and name == name.lower()) or (
                dialect == "snowflake" and name == name.upper()):
            ident.set("this", name.lower())
            ident.set("quoted", False)


def _parsed(sql: str, dialect: str) -> exp.Query | None:
    """The one query of a transform's SQL, its unquoted names in lower case, its CTEs in the order it reads them
    (None: not one query)."""
    text = substitute(sql)
    statements = [s for s in _dialect(dialect).parse(text) if s is not None]
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        return None
    if "nulls" in text.lower():
        mark_written_nulls(statements[0], text)
    tree = statements[0]
    for ident in tree.find_all(exp.Identifier):
        if not ident.quoted:
            ident.set("this", ident.this.lower())
    _ctes_in_reading_order(tree)
    return tree


def _ordinals_spelt_out(tree: exp.Expression) -> None:
    """`group by 1` and `order by 2` written as the select-list expressions they stand for (`group by
    coalesce(ward, 'x')`): the same query either way. Only where that expression is plain (no aggregate, window or
    `*`, which an ordinal may name but the expression would not mean the same in that clause)."""
    for select in list(tree.find_all(exp.Select)):
        projections = select.expressions
        clauses = [select.args.get("group"), select.args.get("order")]
        for clause in (c for c in clauses if c is not None):
            for item in clause.expressions:
                target = item.this if isinstance(item, exp.Ordered) else item
                if not (isinstance(target, exp.Literal) and target.is_int):
                    continue
                position = int(target.name)
                if not 1 <= position <= len(projections):
                    continue
                chosen = projections[position - 1]
                chosen = chosen.this if isinstance(chosen, exp.Alias) else chosen
                if chosen.find(exp.AggFunc, exp.Window, exp.Star) is not None:
                    continue
                target.replace(chosen.copy())


def _ctes_in_reading_order(tree: exp.Expression) -> None:
    """Each WITH's CTEs in the order the query reads them (the CTEs a CTE reads before it, each once; CTEs nothing
    reads after, as written), so that CTEs defined in another order are the same query: a CTE is a name for its
    query, and where it is defined changes nothing as long as each CTE still comes after the CTEs it reads. Left as
    written where a name could mean something else in the other order: a recursive WITH, two CTEs of one name, or
    a CTE naming one defined after it (or itself), which is a table of that name there, not the CTE."""
    for with_ in list(tree.find_all(exp.With)):
        ctes = list(with_.expressions)
        names = [cte.alias_or_name.lower() for cte in ctes]
        if with_.args.get("recursive") or len(ctes) < 2 or len(set(names)) < len(names):
            continue
        index = {name: n for n, name in enumerate(names)}
        reads: list[list[int]] = []
        for n, cte in enumerate(ctes):
            read = _reads(cte.this, index)
            if any(k >= n for k in read):
                break
            reads.append(read)
        else:
            query = with_.parent
            if query is None:
                continue
            order: list[int] = []
            _visit(_reads(query, index, skip=with_), reads, order)
            _visit(list(range(len(ctes))), reads, order)
            with_.set("expressions", [ctes[n] for n in order])


def _reads(node: exp.Expression, index: Mapping[str, int], skip: exp.Expression | None = None) -> list[int]:
    """The CTEs (by position) a query names as tables, in the order it names them; any name of one counts, in any
    case and wherever it is (even where an inner CTE of that name hides it: a read too many only orders more)."""
    found: dict[int, None] = {}
    for table in node.walk(prune=lambda n: n is skip):
        if isinstance(table, exp.Table) and not table.args.get("db") and table.name.lower() in index:
            found[index[table.name.lower()]] = None
    return list(found)


def _visit(todo: list[int], reads: list[list[int]], order: list[int]) -> None:
    """Append each CTE of `todo` to `order` after the CTEs it reads (depth first: they come before it in any valid
    WITH, so the reads form no cycle)."""
    for n in todo:
        if n not in order:
            _visit(reads[n], reads, order)
            order.append(n)


_GROUP_BY_ALL = frozenset({"duckdb", "snowflake", "bigquery"})  # Postgres: none before 19 (a grouping set quantifier)


def _group_by_all_spelt_out(tree: exp.Expression) -> None:
    """`group by all` written as the select-list expressions it groups by, where DuckDB, Snowflake and BigQuery
    agree on them: every projection is an aggregate (an aggregate function, no window) or reads a column and
    holds no aggregate, or is a literal, which is left out (a constant beside a column changes no group); none
    holds a window or a subquery; some column is grouped by; and no column a key names is also another output's
    alias (GROUP BY might read that). Else it stays `group by all`. A function sqlglot does not know may be an
    aggregate and is grouped by: no valid query groups by an aggregate, so that makes no two queries the same."""
    for select in list(tree.find_all(exp.Select)):
        group = select.args.get("group")
        if group is None or not group.args.get("all") or any(v for k, v in group.args.items() if k != "all"):
            continue
        outputs = {p.alias_or_name: p for p in select.expressions}
        keys: list[exp.Expression] = []
        for proj in select.expressions:
            inner = proj.this if isinstance(proj, exp.Alias) else proj
            star = isinstance(inner, exp.Star) or (isinstance(inner, exp.Column) and isinstance(inner.this, exp.Star))
            if star or inner.find(exp.Window, exp.Query) is not None:  # `count(*)` is no `*` projection
                keys = []
                break
            if inner.find(exp.AggFunc) is not None or isinstance(inner, exp.Literal):
                continue
            columns = list(inner.find_all(exp.Column))
            if not columns or any(not c.table and c.name in outputs and not _plain(outputs[c.name], c.name)
                                  for c in columns):
                keys = []
                break
            keys.append(inner.copy())
        if keys:
            group.set("all", None)
            group.set("expressions", keys)


def _canonicalised(tree: exp.Query, schema: Schema) -> bool:
    """Canonicalise the tree's own names in place; False (the tree left as it is) when it cannot be."""
    if any(True for _ in tree.find_all(exp.Pivot)) or any(w.args.get("recursive") for w in tree.find_all(exp.With)):
        return False
    try:
        _Canonicaliser(traverse_scope(tree), schema).apply()
    except _FAILURES:
        return False
    return True


class _Canonicaliser:
    def __init__(self, scopes: list[Scope], schema: Schema):
        self.scopes = scopes
        self.schema = {k: tuple(c.lower() for c in v) for k, v in schema.items()}
        self.renames = _Renames()
        self.names: dict[tuple[int, str], str] = {}  # (scope, alias it selects a source by) -> the new alias
        self.new_name: dict[int, str] = {}  # CTE / derived-table scope -> its canonical name
        self.columns: dict[int, dict[str, str]] = {}  # CTE / derived-table scope -> its column name -> the new one

    def apply(self) -> None:
        for scope in self.scopes:
            self._name_ctes(scope)
        for scope in self.scopes:
            self._name_sources(scope)
        for scope in self.scopes:
            self._close_read_sources(scope)
            for col in _own_columns(scope):
                self._resolve(scope, col)
        for scope in self.scopes:
            _name_plain_outputs(scope.expression)
        for node, name in self.renames.aliases:
            node.args["alias"].set("this", exp.to_identifier(name))
        for table, name in self.renames.aliased:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
        for table, name in self.renames.tables:
            table.set("this", exp.to_identifier(name))
        for col, name in self.renames.qualifiers:
            col.set("table", exp.to_identifier(name))
        reads: dict[int, list[tuple[exp.Column, Scope]]] = {}
        for col, source, here in self.renames.reads:
            reads.setdefault(id(here), []).append((col, source))
        for scope in self.scopes:  # sqlglot's order: a scope's sources (and enclosing CTEs) come before it
            self._name_columns(scope, reads.get(id(scope), []))

    # --- names of sources ----------------------------------------------------------------------------

    def _name_ctes(self, scope: Scope) -> None:
        """CTEs by their order in their WITH: `__w<depth>_<n>`."""
        with_ = scope.expression.args.get("with") or scope.expression.args.get("with_")
        for n, cte in enumerate(with_.expressions if with_ is not None else ()):
            name = f"__w{_depth(scope)}_{n}"
            self.new_name[id(cte.this)] = name
            self.renames.aliases.append((cte, name))

    def _name_sources(self, scope: Scope) -> None:
        """The sources of a scope by their order of appearance: `__t<depth>_<n>`; an unaliased CTE its new name."""
        for n, (alias, (node, source)) in enumerate(scope.selected_sources.items()):
            holder = node.parent if isinstance(source, Scope) and source.is_derived_table else node
            if isinstance(node, exp.Table) and isinstance(source, Scope) and source.is_cte:
                cte_name = self.new_name.get(id(source.expression))
                if cte_name is None:
                    raise ValueError("a CTE that is not in a WITH")
                self.renames.tables.append((node, cte_name))
                if not _alias_name(node):
                    self.names[(id(scope), alias)] = cte_name
            if isinstance(holder, exp.Table) and not isinstance(source, Scope) and not _alias_name(holder) and \
                    not holder.args.get("db") and input_of(holder.name) is not None:
                new = f"__t{_depth(scope)}_{n}"  # an input read without an alias: `from t` is `from t as __t0_0`
                self.names[(id(scope), alias)] = new
                self.renames.aliased.append((holder, new))
            if isinstance(holder, exp.Table | exp.Subquery) and _alias_name(holder):
                new = f"__t{_depth(scope)}_{n}"
                self.names[(id(scope), alias)] = new
                self.renames.aliases.append((holder, new))
                if isinstance(source, Scope) and source.is_derived_table:
                    self.new_name[id(source.expression)] = new
            if isinstance(holder, exp.Table | exp.Subquery) and _alias_columns(holder) and isinstance(source, Scope):
                self.renames.closed.add(id(source))  # `as t(a, b)`: the alias names the columns

    def _close_read_sources(self, scope: Scope) -> None:
        """Sources read through `*` or `using` (or a natural join) keep their column names."""
        node = scope.expression
        if not isinstance(node, exp.Select):
            return
        whole = any(j.args.get("using") or j.args.get("method") for j in node.args.get("joins") or ())
        for proj in node.expressions:
            star = isinstance(proj, exp.Star) or (isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star))
            if star and isinstance(proj, exp.Column) and proj.table:
                source = scope.selected_sources.get(proj.table, (None, None))[1]
                if isinstance(source, Scope):
                    self.renames.closed.add(id(source))
            elif star:
                whole = True
        if whole:
            self.renames.closed |= {id(s) for _, s in scope.selected_sources.values() if isinstance(s, Scope)}

    # --- column references -----------------------------------------------------------------------------

    def _resolve(self, scope: Scope, col: exp.Column) -> None:
        """Record what a column reference of `scope` becomes: its qualifier's new name, the scope it reads."""
        if col.args.get("db"):
            return
        if col.table:
            found = _owner(scope, col.table)
            if found is None:
                return
            holder, source = found
            new = self.names.get((id(holder), col.table))
            if new is not None:
                self.renames.qualifiers.append((col, new))
            if isinstance(source, Scope) and not isinstance(col.this, exp.Star):
                self.renames.reads.append((col, source, scope))
            return
        self._resolve_bare(scope, col)

    def _resolve_bare(self, scope: Scope, col: exp.Column) -> None:
        """An unqualified column: the one source that has it, or the scope's own output of that name."""
        name = col.name
        for look in _chain(scope):
            if name in look.selected_sources:  # a whole row (`select t from t`): its field names are its columns
                source = look.selected_sources[name][1]
                if isinstance(source, Scope):
                    self.renames.closed.add(id(source))
        sources = [s for _, s in scope.selected_sources.values()]
        known = [self._columns(s) for s in sources]
        if any(k is None for k in known):
            self.renames.unsure.add(name)
            return
        having = [s for s, cols in zip(sources, known, strict=True) if cols is not None and name in cols]
        own = _outputs(scope.expression) or {}
        order = col.find_ancestor(exp.Order)
        sorting = order is not None and order.parent is scope.expression  # ORDER BY prefers an output of the name
        if len(having) == 1 and (name not in own or _plain(own[name], name) or not sorting):
            if isinstance(having[0], Scope):
                self.renames.reads.append((col, having[0], scope))
            if name not in own or _plain(own[name], name) or not _reads_outputs(col, scope):
                self._qualify(scope, col, having[0])  # (GROUP BY, HAVING, ORDER BY might read the output)
        elif not having and name in own:
            self.renames.reads.append((col, scope, scope))  # an output's alias, e.g. in GROUP BY or ORDER BY
        else:
            self.renames.unsure.add(name)

    def _qualify(self, scope: Scope, col: exp.Column, source: object) -> None:
        """Qualify an unqualified column with the (new) name of the one source that has it, so that `status` and
        `o.status` read alike where `o` is the only source with a `status`."""
        for alias, (_, found) in scope.selected_sources.items():
            if found is source:
                self.renames.qualifiers.append((col, self.names.get((id(scope), alias), alias)))
                return

    def _columns(self, source: object) -> tuple[str, ...] | None:
        if isinstance(source, Scope):
            outputs = _outputs(source.expression)
            return tuple(outputs) if outputs is not None else None
        if isinstance(source, exp.Table) and (dataset := input_of(source.name)) is not None:
            return self.schema.get(dataset)
        return None

    # --- output columns of CTEs and derived tables -----------------------------------------------------------

    def _renamable(self, scope: Scope) -> set[str]:
        """The columns of a CTE or derived table that can be renamed: every reference to them is known."""
        outputs = _outputs(scope.expression)
        if (id(scope.expression) not in self.new_name or id(scope) in self.renames.closed or outputs is None
                or scope.scope_type not in (ScopeType.CTE, ScopeType.DERIVED_TABLE)):
            return set()
        names = [p.alias_or_name for p in scope.expression.expressions]
        return {n for n in names if n and names.count(n) == 1 and n not in self.renames.unsure}

    def _name_columns(self, scope: Scope, reads: list[tuple[exp.Column, Scope]]) -> None:
        """Rename the columns `scope` reads of earlier scopes, then its own columns by what they compute
        (`<its name>_<digest>`: renamed or reordered, a column keeps its canonical name), with the references
        to them in the scope itself (GROUP BY, ORDER BY, a later output)."""
        own = [col for col, source in reads if source is scope]
        for col, source in reads:
            new = self.columns.get(id(source), {}).get(col.name)
            if source is not scope and new is not None:
                col.set("this", exp.to_identifier(new))
        renamable = self._renamable(scope)
        if not renamable:
            return
        prefix, names = self.new_name[id(scope.expression)], self.columns.setdefault(id(scope), {})
        seen: dict[str, int] = {}  # digest -> how many outputs compute it (the same expression twice)
        for proj in scope.expression.expressions:
            inside = {id(n) for n in proj.walk()}
            _rename_reads([c for c in own if id(c) in inside], names)
            if not isinstance(proj, exp.Alias) or proj.alias not in renamable:
                continue
            digest = hashlib.blake2b(shape(proj.this).encode(), digest_size=5).hexdigest()
            seen[digest] = seen.get(digest, 0) + 1
            new = f"{prefix}_{digest}_{seen[digest]}"
            names[proj.alias] = new
            proj.set("alias", exp.to_identifier(new))
        _rename_reads(own, names)


def _rename_reads(columns: list[exp.Column], names: Mapping[str, str]) -> None:
    for col in columns:
        new = names.get(col.name)
        if new is not None:
            col.set("this", exp.to_identifier(new))


def _name_plain_outputs(query: exp.Expression) -> None:
    """`select t.x` as `select t.x as x`: an output keeps its name when the column it reads is renamed."""
    if not isinstance(query, exp.Select):
        return
    for proj in list(query.expressions):
        if isinstance(proj, exp.Column) and not isinstance(proj.this, exp.Star):
            named = exp.Alias(alias=proj.this.copy())
            proj.replace(named)
            named.set("this", proj)


@functools.cache
def _dialect(name: str) -> Dialect:
    return Dialect.get_or_raise(name)


def _alias_name(node: exp.Expression) -> str:
    alias = node.args.get("alias")
    return alias.name if isinstance(alias, exp.TableAlias) else ""


def _alias_columns(node: exp.Expression) -> bool:
    alias = node.args.get("alias")
    return isinstance(alias, exp.TableAlias) and bool(alias.args.get("columns"))


def _outputs(query: exp.Expression) -> dict[str, exp.Expression] | None:
    """A SELECT's output columns by name (None when it has a `*` or is no SELECT: not all known)."""
    if not isinstance(query, exp.Select):
        return None
    out: dict[str, exp.Expression] = {}
    for proj in query.expressions:
        if isinstance(proj, exp.Star) or (isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star)):
            return None
        out.setdefault(proj.alias_or_name, proj)
    return out


def _reads_outputs(col: exp.Column, scope: Scope) -> bool:
    """Whether a column is in a clause of its query that may read the query's outputs by name (GROUP BY, HAVING,
    QUALIFY, ORDER BY): there a name an input and an output share may mean the output. Elsewhere (the select list,
    WHERE, a join) the input column wins in every warehouse."""
    clause = col.find_ancestor(exp.Group, exp.Having, exp.Qualify, exp.Order, exp.Select)
    return clause is not None and not isinstance(clause, exp.Select) and clause.parent is scope.expression


def _plain(proj: exp.Expression, name: str) -> bool:
    """Whether an output is the input column `name` as it is (a reference by that name means the same either way)."""
    inner = proj.this if isinstance(proj, exp.Alias) else proj
    return isinstance(inner, exp.Column) and inner.name == name


def _owner(scope: Scope, qualifier: str) -> tuple[Scope, Source] | None:
    """The scope (this one or an enclosing one) that selects a source by `qualifier`, and the source."""
    for look in _chain(scope):
        if qualifier in look.selected_sources:
            return look, look.selected_sources[qualifier][1]
    return None


def _own_columns(scope: Scope) -> Iterator[exp.Column]:
    """The column references of a scope (not of a nested query, which is its own scope; not a lambda's)."""
    top = scope.expression
    for node in top.walk(prune=lambda n: isinstance(n, exp.Query) and n is not top):
        if isinstance(node, exp.Column) and node.find_ancestor(exp.Lambda) is None:
            yield node


def _chain(scope: Scope | None) -> Iterator[Scope]:
    """A scope and the scopes enclosing it whose sources it sees (a CTE sees its own only)."""
    while scope is not None:
        yield scope
        if scope.is_cte:
            return
        scope = scope.parent


def _depth(scope: Scope) -> int:
    depth = 0
    while scope.parent is not None:
        depth, scope = depth + 1, scope.parent
    return depth
