"""Rules that read SQL (compiler.front.sql): the columns a transform reads and produces, check expressions,
and PII that follows lineage. Positions point into the SQL: the .sql file's line and column, or the place
inside the YAML block scalar."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from compiler.front.rules.context import Context
from compiler.front.sql.commas import comma_before_join
from compiler.front.sql.semicolon import semicolon
from compiler.front.sql.types import cast_name, declarable, declared_type, mismatch, warehouse_name
from compiler.spec.diagnostics import Diagnostic, did_you_mean
from compiler.spec.ir import Transform
from compiler.spec.lineage import (
    ALIAS,
    AMBIGUOUS,
    FORWARD,
    LATERAL,
    OPEN_OUTPUTS,
    RESULT,
    USING,
    SqlAnalysis,
    UnknownColumn,
)
from compiler.spec.sqltext import INPUT_RE, line_col, stray_jinja
from compiler.spec.warehouse_types import type_name

MAX_LISTED = 5  # more undeclared or missing columns than this are one error listing the first ones


def _at(t: Transform, offset: int, code: str, message: str, hint: str | None = None,
        severity: str = "error") -> Diagnostic:
    loc = t.sql_loc
    assert loc is not None
    line, col = line_col(t.sql, offset)
    return Diagnostic(code, message, loc.file, loc.line + line, loc.col + col - 1, t.address, hint,
                      severity)  # type: ignore[arg-type]


def check_sql_columns(ctx: Context) -> Iterator[Diagnostic]:
    """The SQL reads columns its inputs declare and produces exactly the output dataset's columns."""
    dialect = ctx.lineage.dialect
    producers: dict[str, str] = {}
    for name, t in ctx.transforms.items():  # a second producer of a dataset is an error of its own
        producers.setdefault(t.output, name)
    for name, t in ctx.transforms.items():
        analysis = ctx.lineage.analysis_of(name)
        if analysis is None or stray_jinja(t.sql, INPUT_RE) is not None:
            continue  # other templating is reported (check_sql): the SQL is not what runs
        comma = comma_before_join(t.sql, dialect)
        if comma is not None:
            yield _at(t, comma, "sql-syntax", "a comma before JOIN: the warehouse rejects it (a join follows its "
                      "tables without one)", "remove the comma")
        if not analysis.ok:
            if ";" in t.sql and (found := semicolon(t.sql, dialect)) is not None and not found.final:
                continue  # two statements: the error at the `;` (check_sql) says it, and why
            yield _at(t, analysis.error_offset, "sql-unparsed",
                      f"specops cannot analyse this SQL ({dialect} dialect): {analysis.error}",
                      "its column lineage is unknown: plans treat any change of it as breaking",
                      severity="warning")
            continue
        for table, offset in analysis.tables:  # read by name: no lineage, no build order (a check may, not this)
            yield _at(t, offset, "sql-table", *_named_table(table, ctx.datasets, t.inputs))
        for u in analysis.unknown:
            code, message, hint = _unknown_column(u, analysis, dialect, t.inputs)
            yield _at(t, u.offset, code, message, hint)
        out = ctx.datasets.get(t.output)
        if out is None or OPEN_OUTPUTS in analysis.notes or producers.get(t.output) != name:
            continue
        produced = [c.name for c in analysis.columns]
        seen: set[str] = set()
        columns = {c.name: c for c in out.columns}
        undeclared = [c for c in analysis.columns if c.name not in columns]
        produced = {c.name for c in analysis.columns}
        if len(undeclared) > MAX_LISTED:  # e.g. a select * over a wide input: one error, not dozens
            names = ", ".join(c.name for c in undeclared[:MAX_LISTED])
            yield _at(t, undeclared[0].offset, "sql-undeclared-column",
                      f"the SQL produces {len(undeclared)} columns that dataset.{out.name} does not declare: "
                      f"{names}, ...", f"declare them in dataset.{out.name}'s columns, or select only those")
        for c in analysis.columns:
            if c.name in seen:
                yield _at(t, c.offset, "sql-duplicate-column", f"the SQL produces column '{c.name}' twice")
                continue
            seen.add(c.name)
            declared = columns.get(c.name)
            if declared is None:
                if len(undeclared) <= MAX_LISTED:
                    # a typo of a declared column the SQL does not produce; else it is a column of its own
                    unproduced = [n for n in out.column_names if n not in produced]
                    hint = _quoted_hint(c.name, dialect) or did_you_mean(c.name, unproduced) or (
                        f"declare it in dataset.{out.name}'s columns, or remove it from the SQL")
                    yield _at(t, c.offset, "sql-undeclared-column",
                              f"the SQL produces column {_named(c.name)}, which dataset.{out.name} does not declare",
                              hint)
                continue
            if c.cast is not None and mismatch(declared.type, c.cast, dialect):
                yield _at(t, c.offset, "sql-column-type", *_cast_mismatch(c.name, c.cast, out.name, declared.type,
                                                                          dialect))
            elif c.cast is None and c.passthrough is not None:
                src_ds = ctx.datasets.get(c.passthrough[0])
                src = src_ds.column(c.passthrough[1]) if src_ds is not None else None  # rare: a plain copy
                if src is not None and declared_type(src.type, dialect) != declared_type(declared.type, dialect):
                    yield _at(t, c.offset, "sql-column-type",
                              f"column '{c.name}' copies {c.passthrough[0]}.{c.passthrough[1]} ({src.type}) but "
                              f"dataset.{out.name} declares {declared.type}",
                              f"cast it: cast(... as {type_name(declared.type, dialect)})")
        missing = [col.name for col in out.columns if col.name not in seen]
        if len(missing) > MAX_LISTED:
            yield _at(t, 0, "sql-missing-column",
                      f"dataset.{out.name} declares {len(missing)} columns the SQL does not produce: "
                      f"{', '.join(missing[:MAX_LISTED])}, ...",
                      "select them in the SQL, or remove them from the dataset")
            continue
        for col in missing:
            quoted = next((p for p in produced if p.startswith('"') and p.strip('"').lower() == col), None)
            hint = (_quoted_hint(quoted, dialect) if quoted else did_you_mean(col, produced)) or (
                "select it in the SQL, or remove it from the dataset")
            yield _at(t, 0, "sql-missing-column",
                      f"dataset.{out.name} declares column '{col}', which the SQL does not produce", hint)


def _named_table(name: str, datasets: Mapping[str, Any], inputs: tuple[str, ...]) -> tuple[str, str]:
    """The message and hint of a table a transform reads by its name: specops neither follows its columns nor
    builds the transform after it (a change of its data plans no rebuild)."""
    message = (f"the SQL reads the table '{name}' by its name: a transform reads its inputs through "
               "{{ input('<dataset>') }}, which give it its lineage and build order")
    short = name.rsplit(".", 1)[-1].lower()
    if short in datasets:
        also = "" if short in inputs else f", and add {short} to the transform's inputs"
        return message, f"write {{{{ input('{short}') }}}}{also}"
    return message, (f"declare the table as a Dataset (source: {{type: table, schema: ..., table: {short}}}) and "
                     "read it with {{ input('<that dataset>') }}")


def _cast_mismatch(column: str, cast: str, dataset: str, declared: str, dialect: str) -> tuple[str, str]:
    """The message and hint of a cast to another type than the declared one, both in the warehouse's terms."""
    found, expected = cast_name(cast, dialect), declared_type(declared, dialect)
    message = (f"column '{column}' is cast to {found} but dataset.{dataset} declares {declared}, which is {expected} "
               f"on {warehouse_name(dialect)}")
    other = declarable(found or "", dialect)
    return message, f"cast it to {type_name(declared, dialect)}" + (f", or declare {other}" if other else "")


def _unknown(inputs: tuple[str, ...], analysis: SqlAnalysis, u: UnknownColumn, dialect: str,
             kind: str = "input dataset", anywhere: str = "any input") -> tuple[str, str | None]:
    """The message and hint of a column its source does not have (in USING: one side of the join). `inputs` are
    the datasets the SQL reads, named `<kind>.<name>`; `anywhere` names them all (an unqualified column)."""
    where = " and ".join(f"{kind}.{s}" if s in inputs else f"'{s}'" for s in u.source.split(" and ")) \
        if u.source else anywhere
    hint = _alias_hint(analysis, u, dialect) or _quoted_hint(u.name, dialect) or did_you_mean(
        u.name, u.candidates) or (f"columns: {', '.join(u.candidates[:12])}" if u.candidates else None)
    if u.kind == USING:
        both = "USING names a column that both sides of the join have"
        return f"column {_named(u.name)} in USING is not a column of {where}", f"{both}; {hint}" if hint else both
    return f"column {_named(u.name)} is not a column of {where}", hint


def _unknown_column(u: UnknownColumn, analysis: SqlAnalysis, dialect: str, inputs: tuple[str, ...],
                    kind: str = "input dataset", anywhere: str = "any input",
                    query: str = "this query") -> tuple[str, str, str | None]:
    """(code, message, hint) of a column the SQL names that is wrong (UnknownColumn.kind says how); `inputs` are
    the datasets the SQL reads, named `<kind>.<name>`, `anywhere` all of them, `query` the query itself."""
    if u.kind == AMBIGUOUS:
        return ("ambiguous-sql-column", *_ambiguous(u))
    if u.kind == FORWARD:
        return ("sql-cte-order", *_forward(u, dialect))
    if u.kind == RESULT:
        return ("unknown-sql-column", *_not_a_result_column(u, dialect))
    if u.kind == LATERAL:
        return "sql-lateral", *_not_lateral(u)
    if u.qualifier:
        hint = did_you_mean(u.source, u.candidates) or (
            f"tables and aliases here: {', '.join(u.candidates)}" if u.candidates else None)
        return "unknown-sql-column", f"'{u.source}' in '{u.source}.{u.name}' is not a table or alias of {query}", hint
    return ("unknown-sql-column", *_unknown(inputs, analysis, u, dialect, kind, anywhere))


def _forward(u: UnknownColumn, dialect: str) -> tuple[str, str]:
    """The message and hint of a CTE read by the CTE `u.source` before its definition."""
    recursive = " (or write WITH RECURSIVE)" if dialect == "postgres" else ""
    return (f"CTE '{u.source}' reads CTE '{u.name}', which is defined after it: a CTE reads only the CTEs before it "
            f"({warehouse_name(dialect)} rejects the query)", f"define '{u.name}' before '{u.source}'{recursive}")


def _not_lateral(u: UnknownColumn) -> tuple[str, str]:
    """The message and hint of a column of another FROM item that a subquery in FROM reads (Postgres only)."""
    return (f"a subquery in FROM reads column {_named(u.name)} of '{u.source}', another item of the same FROM: "
            "Postgres lets a subquery read the other FROM items only when it is LATERAL (it rejects the query)",
            "write LATERAL before the subquery (`, lateral (select ...) s` or `join lateral (select ...) s on "
            "true`), or join on the column outside the subquery")


def _not_a_result_column(u: UnknownColumn, dialect: str) -> tuple[str, str]:
    """The message and hint of a name a set operation's ORDER BY reads that is none of its result's columns, or one
    inside an expression (Postgres: `order by k + 1`)."""
    columns = ", ".join(u.candidates)
    if u.name in u.candidates:
        return (f"column {_named(u.name)} is inside an expression in the ORDER BY of a UNION, INTERSECT or EXCEPT: "
                f"{warehouse_name(dialect)} sorts their result by whole columns only",
                f"order by {u.name}, or select the expression in every branch (or move the set operation into a "
                "subquery)")
    hint = did_you_mean(u.name, u.candidates) or f"the result's columns: {columns}"
    if dialect == "postgres":
        hint += " (the first branch's names)"
    return (f"column {_named(u.name)} is not a column of the result of the UNION, INTERSECT or EXCEPT its ORDER BY "
            "sorts", hint)


def _ambiguous(u: UnknownColumn) -> tuple[str, str]:
    """The message and hint of an unqualified column that several sources of the query have."""
    sources = " and ".join(u.candidates)
    which = f"both {sources}" if len(u.candidates) == 2 else sources
    return (f"column {_named(u.name)} is ambiguous: {which} have a column of that name",
            "qualify it: " + " or ".join(f"{c}.{u.name}" for c in u.candidates))


def _named(name: str) -> str:
    """A column name in a message: in quotes, unless it is quoted already (`"USER_ID"`)."""
    return name if name.startswith('"') else f"'{name}'"


def _quoted_hint(name: str, dialect: str) -> str | None:
    """The hint for a name quoted in a case the warehouse keeps (`"USER_ID"` on Postgres), which is therefore not
    the lower-case column of the specs (compiler.front.sql.analyze._fold_names); None for any other name."""
    if not name.startswith('"'):
        return None
    plain = name.strip('"').lower()
    if dialect == "snowflake":
        return (f"Snowflake keeps the case of a quoted name and reads unquoted ones in upper case: {name} is not "
                f"{plain} ({plain.upper()}, the column the dbt model selects); write {plain} unquoted")
    return (f"{warehouse_name(dialect)} keeps the case of a quoted name: {name} is not {plain}; write {plain} "
            "unquoted (or quoted in lower case)")


def _alias_hint(analysis: SqlAnalysis, u: UnknownColumn, dialect: str) -> str | None:
    """The hint for an unqualified unknown column named like a column the select list made before it (`amount * 2
    as a ... where a > 10`), or like an alias of its own query (ALIAS): a name the dialect does not read there."""
    made = analysis.column(u.name) if not u.source else None
    if u.kind != ALIAS and (made is None or made.offset >= u.offset):
        return None
    if dialect == "postgres":
        return (f"'{u.name}' is a select-list alias: Postgres reads those in GROUP BY and ORDER BY, as a whole item "
                f"only (`order by {u.name}`, not `order by {u.name} + 1`), not in WHERE, HAVING or the select list; "
                "repeat its expression")
    if dialect == "duckdb":
        return (f"'{u.name}' is a select-list alias: DuckDB reads those in GROUP BY as a whole item only (`group by "
                f"{u.name}`, not `group by {u.name} + 1`), and not in a join's ON; repeat its expression")
    return (f"'{u.name}' is a select-list alias: {warehouse_name(dialect)} reads those in GROUP BY and ORDER BY, not "
            "in WHERE or the select list; repeat its expression")


def check_expressions(ctx: Context) -> Iterator[Diagnostic]:
    """A check's `expression` names columns of its dataset."""
    for r in ctx.rules.values():
        ds = ctx.datasets.get(r.dataset)
        if ds is None:
            continue
        for i, c in enumerate(r.checks):
            found = ctx.lineage.expressions.get(c.expression) if c.expression else None
            if found is None:
                continue
            cols, error = [(col.name, col.offset) for col in found.columns], found.error
            path = ("spec", "checks", i, "expression")
            # what sqlglot cannot read in the dialect may still be the warehouse's SQL (a warning below), unless
            # it cannot be one expression in any dialect: wrapped into a query, it would run as something else
            broken = not_one_expression(c.expression or "") if error else None
            if broken:
                yield ctx.at(r, path, "bad-expression", f"the expression is not one SQL expression: {broken}",
                             "write a boolean SQL expression over the dataset's columns (a free query: type: sql)")
                continue
            if error:
                yield ctx.at(r, path, "bad-expression", f"specops cannot parse this expression: {error}",
                             "write a boolean SQL expression over the dataset's columns", severity="warning")
            for name, _ in cols:
                if ds.column(name) is None:
                    yield ctx.at(r, path, "unknown-column",
                                 f"the expression reads column '{name}', which is not a column of dataset.{ds.name}",
                                 did_you_mean(name, ds.column_names)
                                 or f"columns of dataset.{ds.name}: {', '.join(ds.column_names[:12])}")


def check_queries(ctx: Context) -> Iterator[Diagnostic]:
    """A `sql` check's query reads columns its dataset has. Other tables it reads are not followed (their columns
    are not known), and SQL sqlglot cannot read is left to the warehouse: the check may be in its own dialect."""
    dialect = ctx.lineage.dialect
    for r in ctx.rules.values():
        for i, c in enumerate(r.checks):
            found = ctx.lineage.check_queries.get((r.dataset, c.sql)) if c.sql else None
            if found is None or not found.ok:
                continue
            path = ("spec", "checks", i, "sql")
            for u in found.unknown:
                code, message, hint = _unknown_column(u, found, dialect, (r.dataset,), "dataset",
                                                      f"dataset.{r.dataset}", "the query")
                yield ctx.at(r, path, code, f"in the check's query, {message}", hint)


def not_one_expression(text: str) -> str | None:
    """Why `text` cannot be one SQL expression whatever the dialect (it is put inside a query's WHERE): an
    unbalanced parenthesis, a `;`, or a comment outside quotes; None when none of these."""
    depth, i, n = 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"`":  # a literal or a quoted name: skip to its closing quote (doubled quotes included)
            end = text.find(ch, i + 1)
            while end != -1 and text[end + 1:end + 2] == ch:
                end = text.find(ch, end + 2)
            if end == -1:
                return f"the quote at character {i + 1} is not closed"
            i = end + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return f"the ')' at character {i + 1} closes nothing"
        elif ch == ";":
            return f"';' at character {i + 1} ends the statement"
        elif text.startswith(("--", "/*"), i):
            return f"a comment starts at character {i + 1} (it would swallow the rest of the query)"
        i += 1
    return f"{depth} '(' not closed" if depth else None
