"""compiler.front.sql: what a transform's SQL reads and produces, and how two versions differ (sqlglot)."""

from __future__ import annotations

import pytest

from compiler.front.sql import analyze_sql
from compiler.front.sql.expressions import expression_columns
from compiler.front.sql.placeholders import substitute
from compiler.front.sql.types import mismatch
from compiler.plan.sqldiff import canonical_jobs, compare, same_query
from compiler.spec.lineage import OPEN_OUTPUTS, SqlAnalysis

ORDERS = ("order_id", "customer_id", "amount", "discount", "status", "email", "ordered_at")
CUSTOMERS = ("customer_id", "region", "email", "signup_date")
SCHEMA = (("orders", ORDERS), ("customers", CUSTOMERS))

BASE = """\
select
    o.order_id,
    o.customer_id,
    cast(o.amount - o.discount as decimal(12,2)) as net_amount,
    c.region
from {{ input('orders') }} as o
join {{ input('customers') }} as c on c.customer_id = o.customer_id
where o.status <> 'cancelled'
"""


def run(sql: str, schema=SCHEMA, dialect: str = "duckdb") -> SqlAnalysis:
    return analyze_sql(sql, dialect, schema)


def diff(old: str, new: str, schema=SCHEMA, dialect: str = "duckdb"):
    """compare() as a plan makes it (compiler.plan.make): the two versions as written and with their own names
    canonicalised, then, when no analysis tells them apart, the two whole queries."""
    pair = canonical_jobs((old, dialect, schema), (new, dialect, schema))
    canonical = (analyze_sql(*pair[0]), analyze_sql(*pair[1])) if pair is not None else None
    return compare(run(old, schema, dialect), run(new, schema, dialect), canonical,
                   lambda: same_query((old, dialect, schema), (new, dialect, schema)))


def test_placeholders_keep_every_offset():
    sql = "select x\nfrom {{ input('orders') }} o"
    text = substitute(sql)
    assert len(text) == len(sql) and text.index(" o") == sql.index(" o")
    assert "__in_orders" in text


def test_column_lineage_and_row_reads():
    a = run(BASE)
    assert a.ok and not a.unknown
    cols = {c.name: c.sources for c in a.columns}
    assert cols == {"order_id": (("orders", "order_id"),), "customer_id": (("orders", "customer_id"),),
                    "net_amount": (("orders", "amount"), ("orders", "discount")),
                    "region": (("customers", "region"),)}
    assert set(a.row_reads) == {("orders", "status", "filter"), ("orders", "customer_id", "join"),
                                ("customers", "customer_id", "join")}
    assert {"filter", "join"} <= set(a.row_clauses)
    net = a.column("net_amount")
    assert net is not None and net.cast == "DECIMAL(12,2)" and net.passthrough is None
    assert a.column("order_id").passthrough == ("orders", "order_id")
    assert BASE[net.offset:].startswith("net_amount")  # errors point at the column in the SQL


def test_lineage_through_ctes_unions_and_aggregates():
    sql = """
    with per_customer as (
        select customer_id, sum(amount) as total, count(*) as n
        from {{ input('orders') }}
        group by customer_id
    ),
    everyone as (
        select customer_id from {{ input('orders') }}
        union
        select customer_id from {{ input('customers') }}
    )
    select e.customer_id, p.total, p.n
    from everyone e left join per_customer p using (customer_id)
    """
    a = run(sql)
    assert a.ok, a.error
    cols = {c.name: c.sources for c in a.columns}
    assert cols["total"] == (("orders", "amount"),)
    assert cols["n"] == ()  # count(*): rows only
    assert set(cols["customer_id"]) == {("orders", "customer_id"), ("customers", "customer_id")}
    assert ("orders", "customer_id", "group by") in a.row_reads
    assert {"union", "group by", "aggregation", "join"} <= set(a.row_clauses)


def test_select_star_expands_from_the_inputs_columns():
    a = run("select *, amount * 2 as doubled from {{ input('orders') }}")
    assert [c.name for c in a.columns] == [*ORDERS, "doubled"]
    assert a.star_inputs == ("orders",)
    b = run("select * exclude (email) from {{ input('orders') }}")
    assert "email" not in [c.name for c in b.columns]


def test_unknown_columns_are_reported_with_candidates_and_offsets():
    sql = "select o.amout, regoin from {{ input('orders') }} o join {{ input('customers') }} c using (customer_id)"
    a = run(sql)
    names = {(u.name, u.source) for u in a.unknown}
    assert names == {("amout", "orders"), ("regoin", "")}
    amout = next(u for u in a.unknown if u.name == "amout")
    assert sql[amout.offset:].startswith("o.amout") and "amount" in amout.candidates


@pytest.mark.parametrize("sql", [
    "select from where",
    "select 1; select 2",
    "insert into t values (1)",
    "select (((",
    "select 'unterminated from x",
])
def test_unparseable_or_unsupported_sql_is_unknown_never_an_exception(sql):
    a = run(sql)
    assert not a.ok and a.error
    assert compare(a, run(BASE)).kind == "unknown"  # a plan treats it as breaking


def test_check_expressions_name_their_columns():
    cols, error = expression_columns("discount <= amount and status in ('a', 'b')", "duckdb")
    assert error is None and [c for c, _ in cols] == ["discount", "amount", "status"]
    assert expression_columns("amount >>>= (", "duckdb")[1]


def test_cast_types_are_compared_only_where_certain():
    assert mismatch("double", "DECIMAL(10,2)", "duckdb") and mismatch("integer", "BIGINT", "duckdb")
    assert mismatch("string", "INT", "duckdb")
    assert not mismatch("decimal(10,2)", "DECIMAL(10,2)", "duckdb") and not mismatch("string", "VARCHAR", "duckdb")
    assert not mismatch("double", "FLOAT(10)", "duckdb") and not mismatch("date", "INTERVAL", "duckdb")
    # FLOAT is 4 bytes on DuckDB and Postgres (sqlglot reads a bare `float` as DOUBLE there), 8 on Snowflake
    assert mismatch("double", "FLOAT", "duckdb") and not mismatch("double", "FLOAT", "snowflake")


# --- comparing two versions ------------------------------------------------------------------------

EDITS = [
    ("comment", BASE.replace("select\n", "-- net revenue per order\nselect /* cols */\n"), "format", ()),
    ("whitespace-and-case", BASE.upper().replace("'CANCELLED'", "'cancelled'")
     .replace("{{ INPUT('ORDERS') }}", "{{ input('orders') }}")
     .replace("{{ INPUT('CUSTOMERS') }}", "{{ input('customers') }}").replace("\n    ", " "), "format", ()),
    ("equivalent-spelling", BASE.replace("<>", "!=").replace("as o\n", "o\n")
     .replace("cast(o.amount - o.discount as decimal(12,2))", "(o.amount - o.discount)::decimal(12,2)"),
     "format", ()),
    ("inner-join-spelled-out", BASE.replace("join {{", "inner join {{"), "format", ()),
    ("join-condition-operands-swapped", BASE.replace("c.customer_id = o.customer_id", "o.customer_id = c.customer_id"),
     "format", ()),
    ("added-column", BASE.replace("    c.region\n", "    c.region,\n    c.signup_date\n"), "additive", ()),
    ("changed-expression", BASE.replace("o.amount - o.discount", "o.amount"), "columns", ("net_amount",)),
    ("dropped-column", BASE.replace("    o.customer_id,\n", ""), "columns", ()),
    ("renamed-column", BASE.replace("c.region\n", "c.region as area\n"), "columns", ()),
    ("new-filter", BASE.replace("where o.status <> 'cancelled'", "where o.status <> 'cancelled' and o.amount > 0"),
     "rows", ()),
    ("join-kind", BASE.replace("join {{", "left join {{"), "rows", ()),
    ("distinct", BASE.replace("select\n", "select distinct\n"), "rows", ()),
    ("limit", BASE + "limit 10\n", "rows", ()),
    ("aggregate-added", BASE.replace("    c.region\n", "    c.region,\n    count(*) as n\n"), "rows", ()),
    ("window-added", BASE.replace("    c.region\n", "    c.region,\n    row_number() over (order by o.order_id) as rn\n"),
     "additive", ()),
    ("order-only", BASE + "order by o.order_id\n", "logic", ()),
]


def test_the_case_of_a_function_name_sqlglot_does_not_know_is_formatting():
    """Unquoted function names are case-insensitive on every warehouse, known to sqlglot or not (a UDF)."""
    import sqlglot

    from compiler.front.sql.analyze import shape

    udf = BASE.replace("    c.region\n", "    my_udf(c.region) as region\n")
    assert diff(udf, udf.replace("my_udf(", "MY_UDF(")).kind == "format"
    assert diff(udf, udf.replace("my_udf(", "other_udf(")).kind == "columns"

    def canonical(sql: str) -> str:  # the text the plan compares column definitions by
        return shape(sqlglot.parse_one(sql, read="duckdb"))

    assert canonical("select TO_JSON(x) as p, my_udf(y) as q from t") == canonical(
        "select to_json(x) as p, MY_UDF(y) as q from t")
    assert canonical("select my_udf(y) as q from t") != canonical("select other_udf(y) as q from t")


ORD = "{{ input('orders') }}"
# Edits that change what the query returns, found by running both versions in DuckDB: never metadata
NOT_THE_SAME = [
    ("sample-size", f"select order_id from {ORD} using sample 10 rows (reservoir, 1)",
     f"select order_id from {ORD} using sample 20 rows (reservoir, 1)"),
    ("sample-removed", f"select order_id from {ORD} using sample 10 rows (reservoir, 1)", f"select order_id from {ORD}"),
    ("union-by-name", f"select order_id as a, customer_id as b from {ORD} union all by name "
                      f"select customer_id as b, order_id as a from {ORD}",
     f"select order_id as a, customer_id as b from {ORD} union all "
     f"select customer_id as b, order_id as a from {ORD}"),
    ("named-window", f"select order_id, sum(amount) over w as r from {ORD} window w as (partition by customer_id)",
     f"select order_id, sum(amount) over w as r from {ORD} window w as (partition by status)"),
    ("table-function", f"select r.range as a, o.order_id from range(3) r join {ORD} o on o.order_id = r.range",
     f"select r.range as a, o.order_id from range(4) r join {ORD} o on o.order_id = r.range"),
    ("distinct-on-order-in-cte", f"with c as (select distinct on (customer_id) customer_id, amount from {ORD} "
                                 f"order by customer_id, amount) select customer_id, amount from c",
     f"with c as (select distinct on (customer_id) customer_id, amount from {ORD} "
     f"order by customer_id, amount desc) select customer_id, amount from c"),
]
# the same edits that change existing columns or rows: breaking, not an ordering
BREAKING = [
    ("alias-swap", f"select b.amount from (select amount from {ORD} where amount > 10) b, "
                   f"(select amount from {ORD} where amount <= 10) s",
     f"select b.amount from (select amount from {ORD} where amount > 10) s, "
     f"(select amount from {ORD} where amount <= 10) b"),
    ("self-join-swap", f"select x.amount from {ORD} x join {ORD} y on x.customer_id = y.order_id",
     f"select x.amount from {ORD} y join {ORD} x on y.customer_id = x.order_id"),
    ("distinct-on-order", f"select distinct on (customer_id) customer_id, amount from {ORD} order by customer_id, amount",
     f"select distinct on (customer_id) customer_id, amount from {ORD} order by customer_id, amount desc"),
]


@pytest.mark.parametrize(("old", "new"), [pytest.param(*e[1:], id=e[0]) for e in NOT_THE_SAME + BREAKING])
def test_an_edit_that_changes_what_the_query_returns_is_breaking(old, new):
    found = diff(old, new)
    assert found.category == "breaking", (found.kind, found.reason())


def test_true_renames_and_spellings_stay_metadata_under_the_whole_query_check():
    renamed = BASE.replace(" as o\n", " as ord\n").replace("o.", "ord.").replace(" c.", " cu.").replace(
        " as c on", " as cu on").replace("c.customer_id =", "cu.customer_id =")
    for new in (renamed, BASE.replace("join {{", "inner join {{"), BASE.upper().replace("{{ INPUT('ORDERS') }}",
                "{{ input('orders') }}").replace("{{ INPUT('CUSTOMERS') }}", "{{ input('customers') }}").replace(
                "'CANCELLED'", "'cancelled'"), "-- a comment\n" + BASE):
        assert diff(BASE, new).kind == "format", new


A, B = f"select order_id, amount from {ORD}", f"select customer_id, status from {ORD}"
CTES = (f"with a as ({A}), b as ({B}), c as (select a.order_id, b.status from a join b on a.order_id = b.customer_id) "
        "select order_id, status from c")
GROUPED = f"select customer_id, status, sum(amount) as total from {ORD} group by customer_id, status"
# (id, old, new, dialects): the same query in every warehouse of those dialects, written otherwise
SAME_QUERY = [
    ("ctes-reordered", CTES, CTES.replace(f"a as ({A}), b as ({B})", f"b as ({B}), a as ({A})"),
     ("duckdb", "postgres", "snowflake", "bigquery")),
    ("ctes-reordered-and-renamed", CTES, CTES.replace(f"a as ({A}), b as ({B})", f"bb as ({B}), aa as ({A})")
     .replace("a.order_id, b.status from a join b on a.order_id = b.customer_id",
              "aa.order_id, bb.status from aa join bb on aa.order_id = bb.customer_id"), ("duckdb",)),
    ("count-1", f"select customer_id, count(*) as n from {ORD} group by customer_id",
     f"select customer_id, count(1) as n from {ORD} group by customer_id", ("duckdb", "postgres", "snowflake", "bigquery")),
    ("count-1-over", f"select order_id, count(*) over (partition by customer_id) as n from {ORD}",
     f"select order_id, count(1) over (partition by customer_id) as n from {ORD}", ("duckdb",)),
    ("in-list-reordered", f"select order_id from {ORD} where customer_id in (1, 2, 3)",
     f"select order_id from {ORD} where customer_id in (3, 1, 2)", ("duckdb", "postgres", "snowflake", "bigquery")),
    ("in-strings-reordered", f"select order_id, status not in ('a', 'b') as open from {ORD}",
     f"select order_id, status not in ('b', 'a') as open from {ORD}", ("duckdb", "postgres")),
    ("group-by-all", GROUPED, GROUPED.replace("by customer_id, status", "by all"), ("duckdb", "snowflake", "bigquery")),
    # a qualifier written or not, where one source has the column: the same column (an input's alias added too)
    ("qualifier-dropped", f"select o.order_id from {ORD} o where o.status <> 'x'",
     f"select order_id from {ORD} o where status <> 'x'", ("duckdb", "postgres", "snowflake", "bigquery")),
    ("alias-added", f"select order_id from {ORD} where status <> 'x'",
     f"select o.order_id from {ORD} as o where o.status <> 'x'", ("duckdb", "postgres")),
    ("qualifier-dropped-beside-a-join", f"select o.order_id, c.region from {ORD} o join {{{{ input('customers') }}}} c "
     "on c.customer_id = o.customer_id where o.amount > 1",
     f"select order_id, region from {ORD} o join {{{{ input('customers') }}}} c on c.customer_id = o.customer_id "
     "where amount > 1", ("duckdb", "postgres")),
    ("comparison-flipped", f"select order_id, amount > discount as more from {ORD} where amount >= 0",
     f"select order_id, discount < amount as more from {ORD} where 0 <= amount",
     ("duckdb", "postgres", "snowflake", "bigquery")),
    # a column an output is named after, read in the select list or WHERE: the input column in every warehouse
    ("qualifier-dropped-under-its-output", f"select cast(o.status as varchar) as status, o.order_id from {ORD} o "
     "where upper(o.status) <> 'X'",
     f"select cast(status as varchar) as status, order_id from {ORD} o where upper(status) <> 'X'",
     ("duckdb", "postgres")),
    ("group-by-keys-reordered", GROUPED, GROUPED.replace("by customer_id, status", "by status, customer_id"),
     ("duckdb", "postgres", "snowflake", "bigquery")),
    # count(*) holds a star, but no `select *`: the grouping keys are still known
    ("group-by-all-count-star", f"select customer_id, count(*) as n from {ORD} group by customer_id",
     f"select customer_id, count(*) as n from {ORD} group by all", ("duckdb", "snowflake", "bigquery")),
]
# near misses: edits that change (or may change) what the query returns, or whose equivalence is not sure
NOT_THE_SAME_QUERY = [
    # `a` read the table `b` before a CTE `b` was defined: defined first, `b` is the CTE
    ("cte-read-before-defined", f"with a as (select order_id from b), b as (select order_id from {ORD}) "
                                f"select order_id from a",
     f"with b as (select order_id from {ORD}), a as (select order_id from b) select order_id from a", "duckdb"),
    ("count-null", f"select count(*) as n from {ORD}", f"select count(null) as n from {ORD}", "duckdb"),
    ("comparison-reversed", f"select order_id from {ORD} where amount >= 0",
     f"select order_id from {ORD} where 0 >= amount", "duckdb"),
    # a rollup's keys are a hierarchy: their order makes other groups
    ("rollup-reordered", f"select status, order_id, count(*) as n from {ORD} group by rollup (status, order_id)",
     f"select status, order_id, count(*) as n from {ORD} group by rollup (order_id, status)", "duckdb"),
    # the column of the other source: the join's other side (a left join: other values)
    ("qualifier-changed", f"select o.customer_id from {ORD} o left join {{{{ input('customers') }}}} c "
     "on c.customer_id = o.customer_id",
     f"select c.customer_id from {ORD} o left join {{{{ input('customers') }}}} c on c.customer_id = o.customer_id",
     "duckdb"),
    ("count-distinct-1", f"select count(1) as n from {ORD}", f"select count(distinct 1) as n from {ORD}", "duckdb"),
    ("in-list-changed", f"select order_id from {ORD} where customer_id in (1, 2)",
     f"select order_id from {ORD} where customer_id in (1, 3)", "duckdb"),
    # Postgres resolves a list of mixed types in order; a list of expressions may stop at an error
    ("in-mixed-reordered", f"select order_id from {ORD} where customer_id in (1, 2.5)",
     f"select order_id from {ORD} where customer_id in (2.5, 1)", "postgres"),
    ("in-expressions-reordered", f"select order_id from {ORD} where customer_id in (1, 1 / amount)",
     f"select order_id from {ORD} where customer_id in (1 / amount, 1)", "duckdb"),
    ("group-by-all-on-postgres", GROUPED, GROUPED.replace("by customer_id, status", "by all"), "postgres"),
    ("group-by-all-is-more", GROUPED.replace("group by customer_id, status", "group by customer_id")
     .replace("status,", "max(status) as status,"), GROUPED.replace("by customer_id, status", "by all"), "duckdb"),
    ("group-by-all-with-a-window", f"select customer_id, sum(amount) as t, rank() over (order by customer_id) as r "
                                   f"from {ORD} group by customer_id",
     f"select customer_id, sum(amount) as t, rank() over (order by customer_id) as r from {ORD} group by all", "duckdb"),
    # `status` in a key is the column: in GROUP BY it might be read as the output `status` (customer_id)
    ("group-by-all-key-names-an-alias", f"select customer_id as status, status || '' as s, sum(amount) as t from {ORD} "
                                        f"group by customer_id, status || ''",
     f"select customer_id as status, status || '' as s, sum(amount) as t from {ORD} group by all", "duckdb"),
    ("group-by-all-constant-only", f"select 'x' as src, count(*) as n from {ORD}",
     f"select 'x' as src, count(*) as n from {ORD} group by all", "duckdb"),
    ("integer-to-decimal", f"select order_id from {ORD} where amount > 10",
     f"select order_id from {ORD} where amount > 10.0", "duckdb"),
]


@pytest.mark.parametrize(("old", "new", "dialects"), [pytest.param(*e[1:], id=e[0]) for e in SAME_QUERY])
def test_the_same_query_written_otherwise_is_metadata(old, new, dialects):
    assert old != new
    for dialect in dialects:
        found = diff(old, new, dialect=dialect)
        assert found.category == "metadata", (dialect, found.kind, found.reason())


@pytest.mark.parametrize(("old", "new", "dialect"), [pytest.param(*e[1:], id=e[0]) for e in NOT_THE_SAME_QUERY])
def test_near_misses_of_the_same_query_stay_breaking(old, new, dialect):
    assert old != new
    found = diff(old, new, dialect=dialect)
    assert found.category == "breaking", (found.kind, found.reason())


@pytest.mark.parametrize(("new", "kind", "changed"), [pytest.param(*e[1:], id=e[0]) for e in EDITS])
def test_sql_change_categories(new, kind, changed):
    found = diff(BASE, new)
    assert found.kind == kind, found.reason()
    if changed:
        assert found.changed == changed
    assert found.category == {"format": "metadata", "additive": "non-breaking", "logic": "non-breaking"}.get(
        kind, "breaking")


TWIN = (("a", ("id", "x", "y")), ("b", ("id", "x", "y")))  # two inputs with the same columns
JOINED = "select p.x, q.y from {{ input('a') }} as p join {{ input('b') }} as q on p.id = q.id"
DERIVED = "select s.id, s.v as x from (select id, x + 1 as v from {{ input('a') }}) as s"
WITH = "with c as (select id, x + 1 as v, y as w from {{ input('a') }}) select c.id, c.v as x, c.w as y from c"
CORRELATED = ("select p.x, (select max(q.y) from {{ input('b') }} as q where q.id = p.id) as m "
              "from {{ input('a') }} as p")

# (id, old, new, kind, changed): the query's own names (aliases of tables, subqueries and CTEs, the columns of CTEs
# and subqueries) renamed with their uses change nothing; what an alias or a column refers to does
ALIAS_EDITS = [
    ("table-aliases-renamed", BASE, BASE.replace("o.", "ord.").replace("as o\n", "as ord\n").replace("c.", "cust.")
     .replace("as c ", "as cust "), "format", ()),
    ("table-aliases-swapped", JOINED, JOINED.replace("as p join", "as tmp join").replace("as q on", "as p on")
     .replace("as tmp join", "as q join"), "columns", ("x", "y")),
    ("alias-reads-the-other-table", JOINED, JOINED.replace("p.x", "q.x"), "columns", ("x",)),
    ("join-changed-under-new-aliases", JOINED, JOINED.replace("p.", "r.").replace("as p ", "as r ")
     .replace("join", "left join"), "rows", ()),
    ("subquery-alias-renamed", DERIVED, DERIVED.replace("s.", "sub.").replace("as s", "as sub"), "format", ()),
    ("subquery-column-renamed", DERIVED, DERIVED.replace("v", "plus_one"), "format", ()),
    ("subquery-column-changed", DERIVED, DERIVED.replace("x + 1", "x + 2").replace("v", "w"), "columns", ("x",)),
    ("cte-renamed-unaliased", WITH, WITH.replace("c.", "cte.").replace("with c", "with cte").replace("from c", "from cte"),
     "format", ()),
    ("cte-columns-renamed", WITH, WITH.replace("as v", "as plus_one").replace("c.v", "c.plus_one")
     .replace("as w", "as y2").replace("c.w", "c.y2"), "format", ()),
    ("cte-columns-reordered-and-renamed", WITH, WITH.replace("x + 1 as v, y as w", "y as w2, x + 1 as v")
     .replace("c.w as", "c.w2 as"), "format", ()),
    ("cte-columns-swapped", WITH, WITH.replace("c.v as x, c.w as y", "c.w as x, c.v as y"), "columns", ("x", "y")),
    ("cte-output-alias-renamed", WITH, WITH.replace("c.w as y", "c.w as y2"), "columns", ()),
    ("cte-column-read-by-star", "with c as (select x as v from {{ input('a') }}) select * from c",
     "with c as (select x as w from {{ input('a') }}) select * from c", "columns", ()),
    ("correlated-aliases-renamed", CORRELATED, CORRELATED.replace("p.", "outer_.").replace("as p", "as outer_")
     .replace("q.", "inner_.").replace("as q ", "as inner_ "), "format", ()),
    ("correlated-reference-moved", CORRELATED, CORRELATED.replace("= p.id", "= q.x"), "columns", ("m",)),
]


@pytest.mark.parametrize(("old", "new", "kind", "changed"), [pytest.param(*e[1:], id=e[0]) for e in ALIAS_EDITS])
def test_renamed_aliases_are_the_same_query_and_what_they_refer_to_is_not(old, new, kind, changed):
    schema = SCHEMA if "{{ input('orders') }}" in old else TWIN
    assert old != new
    found = diff(old, new, schema)
    assert found.kind == kind, found.reason()
    assert found.changed == changed
    if kind != "format":
        assert found.category == "breaking"


def test_outer_joins_and_conjunctions_in_any_spelling_or_order_are_the_same_query():
    left = BASE.replace("join {{", "left join {{")
    two = BASE.replace("where o.status <> 'cancelled'", "where o.status <> 'cancelled' and (o.amount > 0 or o.discount = 0)")
    for old, new in [(left, BASE.replace("join {{", "left outer join {{")),
                     (two, two.replace("o.status <> 'cancelled' and (o.amount > 0 or o.discount = 0)",
                                       "(o.discount = 0 or o.amount > 0) and 'cancelled' <> o.status"))]:
        assert compare(run(old), run(new)).kind == "format"
    assert compare(run(BASE), run(BASE.replace("o.amount - o.discount", "o.discount - o.amount"))).kind == "columns"


def test_an_unknown_column_in_a_cte_beside_another_cte_is_reported():
    """A CTE sees its own sources only: the name was looked for in the query after it, and the analysis failed."""
    sql = ("with a as (select * from {{ input('orders') }} where nosuch > 1),\n"
           "b as (select order_id from {{ input('orders') }})\n"
           "select a.order_id from a join b on b.order_id = a.order_id")
    found = run(sql)
    assert found.ok, found.error
    assert [(u.name, u.offset) for u in found.unknown] == [("nosuch", sql.index("nosuch"))]


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake", "bigquery"])
def test_a_qualifier_that_names_no_table_or_alias_is_reported_and_struct_fields_are_not(dialect):
    """`x.region` where the query has no `x` fails in the warehouse; `o.email.domain`-like reads of a column's
    field (the qualifier is a column) and table functions' aliases are fine."""
    schema = (*SCHEMA, ("events", ("event_id", "payload", "tags")))
    sql = ("select o.order_id, x.region from {{ input('orders') }} as o "
           "join {{ input('customers') }} as c on c.customer_id = o.customer_id")
    (u,) = analyze_sql(sql, dialect, schema).unknown
    assert (u.source, u.name, u.qualifier, u.offset) == ("x", "region", True, sql.index("x.region"))
    assert u.candidates == ("c", "o")
    fine = ["select payload.kind from {{ input('events') }} as e",
            "select events.event_id from {{ input('events') }}",  # an unaliased input, by its dataset's name
            'select "E".event_id from {{ input(\'events\') }} as "E"',  # quoted: its case is the warehouse's
            "with c as (select order_id from {{ input('orders') }}) select c.order_id from c",
            "select o.order_id, (select max(c.signup_date) from {{ input('customers') }} c "
            "where c.customer_id = o.customer_id) as s from {{ input('orders') }} o"]
    for ok in fine:
        assert not analyze_sql(ok, dialect, schema).unknown, ok
    (u,) = analyze_sql("select z.event_id from {{ input('events') }}", dialect, schema).unknown
    assert u.candidates == ("events",)  # the dataset's name, not the placeholder specops parses it as


def test_select_star_replace_and_rename_are_followed():
    """`* replace (expr as c)` gives c expr's values: an edit of expr changes c (it was taken for formatting)."""
    schema = (("orders", ORDERS),)
    src = "select * replace (cast(round(amount) as double) as amount) from {{ input('orders') }}"
    old = run(src, schema)
    assert old.column("amount").sources == (("orders", "amount"),) and old.column("amount").cast == "DOUBLE"
    assert not old.notes
    assert compare(old, run(src.replace("round(", "floor("), schema)).changed == ("amount",)
    assert compare(old, run(src.replace("round(amount)", "round(discount)"), schema)).changed == ("amount",)
    renamed = run("select * rename (email as contact) from {{ input('orders') }}", schema)
    assert renamed.column("contact").sources == (("orders", "email"),) and renamed.column("email") is None


def test_asof_joins_and_their_match_condition_decide_the_rows():
    schema = (("orders", ORDERS), ("customers", CUSTOMERS))
    sql = ("select o.order_id, c.region from {{ input('orders') }} as o asof join {{ input('customers') }} as c "
           "match_condition(o.ordered_at >= c.signup_date) on o.customer_id = c.customer_id")
    old = run(sql, schema, "snowflake")
    assert old.ok, old.error
    assert compare(old, run(sql.replace(">=", "<="), schema, "snowflake")).kind == "rows"
    plain = sql.replace("asof join", "join").replace(" match_condition(o.ordered_at >= c.signup_date)", "")
    assert compare(old, run(plain, schema, "snowflake")).kind == "rows"


def test_a_row_change_names_the_clauses_that_changed_only():
    grouped = BASE.replace("    c.region\n", "    c.region,\n    count(*) as n\n") + "group by 1, 2, 3, 4\n"
    assert compare(run(grouped), run(grouped.replace("join {{", "left join {{"))).clauses == ("join",)
    assert compare(run(grouped), run(grouped.replace("'cancelled'", "'void'"))).clauses == ("filter",)
    assert compare(run(BASE), run(BASE + "limit 5\n")).clauses == ("limit",)


def test_cte_projection_change_reaches_only_the_columns_it_feeds():
    sql = """
    with o as (select order_id, amount, discount from {{ input('orders') }})
    select order_id, amount as gross, amount - discount as net from o
    """
    found = compare(run(sql), run(sql.replace("amount, discount from", "amount * 2 as amount, discount from")))
    assert found.kind == "columns" and set(found.changed) == {"gross", "net"}
    assert compare(run(sql), run(sql.replace("from {{ input('orders') }})",
                                             "from {{ input('orders') }} where amount > 0)"))).kind == "rows"


def test_dialects_follow_the_warehouse():
    bq = "select o.order_id from {{ input('orders') }} o qualify row_number() over (partition by o.customer_id " \
         "order by o.ordered_at desc) = 1"
    a = run(bq, dialect="bigquery")
    assert a.ok and "qualify" in a.row_clauses
    assert ("orders", "customer_id", "qualify") in a.row_reads
    assert run("select o.order_id::int as id from {{ input('orders') }} o", dialect="postgres").ok


EVENTS = ("event_id", "kind", "email")
WHOLE_ROW_SQL = {  # a table alias (or an unaliased input's name) used as a value: the whole row
    "postgres": ["select row_to_json(e) as payload from {{ input('events') }} e",
                 "select to_jsonb(e) as payload from {{ input('events') }} as e",
                 "select row_to_json(events) as payload from {{ input('events') }}"],
    "duckdb": ["select to_json(e) as payload from {{ input('events') }} e",
               "select struct_pack(r := e) as payload from {{ input('events') }} e",
               "select e as payload from {{ input('events') }} e"],
    "bigquery": ["select to_json_string(e) as payload from {{ input('events') }} e",
                 "select e as payload from {{ input('events') }} as e",
                 "select (select as struct e) as payload from {{ input('events') }} e"],
}


@pytest.mark.parametrize(("dialect", "sql"), [(d, s) for d, sqls in WHOLE_ROW_SQL.items() for s in sqls])
def test_a_table_alias_used_as_a_value_reads_its_whole_row(dialect, sql):
    """`row_to_json(e)` names no column `e`: it is e's whole row, derived from every column of e (like `e.*`), and
    a new column of the input changes its values."""
    a = analyze_sql(sql, dialect, (("events", EVENTS), *SCHEMA))
    assert a.ok and not a.unknown, (a.error, a.unknown)
    payload = a.column("payload")
    assert payload.sources == tuple(sorted(("events", c) for c in EVENTS)) and payload.passthrough is None
    assert {(d, c) for d, c, how in payload.uses if how == "direct"} == set(payload.sources)
    assert a.whole_rows == (("events", "payload"),) and a.to_json()["whole_rows"] == {"payload": ["events"]}
    assert SqlAnalysis.from_plain(a.to_plain()) == a  # what compiler.speed keeps


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "bigquery"])
def test_whole_rows_a_column_of_the_same_name_wins_and_other_names_are_still_unknown(dialect):
    schema = (("events", EVENTS), *SCHEMA)
    kind = analyze_sql("select to_json(kind) as k from {{ input('events') }} kind", dialect, schema)
    assert not kind.unknown and kind.column("k").sources == (("events", "kind"),) and not kind.whole_rows
    sql = "select to_json(ev) as payload from {{ input('events') }} e"
    (u,) = analyze_sql(sql, dialect, schema).unknown
    assert (u.name, u.offset, u.candidates) == ("ev", sql.index("ev)"), EVENTS)


def test_whole_rows_through_ctes_subqueries_and_unknown_tables():
    schema = (("events", EVENTS), *SCHEMA)
    named = run("with x as (select event_id, sha256(email) as h from {{ input('events') }}) "
                "select to_json(x) as p from x", schema)
    assert named.column("p").sources == (("events", "email"), ("events", "event_id"))
    assert ("events", "email", "masking") in named.column("p").uses
    assert not named.whole_rows  # x names its columns: a new column of events does not reach p
    star = run("with x as (select * from {{ input('events') }}) select p from (select to_json(x) as p from x) y",
               schema)
    assert star.whole_rows == (("events", "p"),) and len(star.column("p").sources) == len(EVENTS)
    correlated = run("select c.customer_id, (select list(o) from {{ input('orders') }} o "
                     "where o.customer_id = c.customer_id) as orders from {{ input('customers') }} c")
    assert not correlated.unknown and {c for _, c in correlated.column("orders").sources} == set(ORDERS)
    beside = run("select row_to_json(e) as p from {{ input('events') }} e join raw.ext x on x.id = e.event_id",
                 schema, "postgres")  # raw.ext's columns are unknown: e is still more likely the alias
    assert beside.column("p").sources == tuple(sorted(("events", c) for c in EVENTS))


def test_pii_follows_a_whole_row():
    from compiler.spec.lineage import Lineage

    a = run("select e.event_id, to_json(e) as payload from {{ input('events') }} e", (("events", EVENTS),))
    lineage = Lineage(sql={"t": a}, outputs={"t": "out"}, declared_pii={"events": frozenset({"email"})},
                      dataset_order=("out",))
    assert lineage.is_pii("out", "payload") and lineage.pii_origin("out", "payload") == (("events", "email"),)
    assert not lineage.is_pii("out", "event_id")
    assert ("events.email", "out.payload", "transform.t") in lineage.column_edges()
    masked = Lineage(sql={"t": a}, outputs={"t": "out"}, declared_pii={"events": frozenset({"email"})},
                     masked={"out": frozenset({"payload"})}, dataset_order=("out",))
    assert not masked.is_pii("out", "payload")


USERS = (("users", ("user_id", "user_name", "country", "parent_id")),)
RECURSIVE = """with recursive tree as (
  select user_id, parent_id, 0 as depth from {{ input('users') }} where parent_id is null
  union all
  select u.user_id, u.parent_id, t.depth + 1 from {{ input('users') }} u join tree t on u.parent_id = t.user_id
)
select user_id, depth from tree"""


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake", "bigquery"])
def test_a_recursive_cte_reads_itself_with_the_columns_of_its_first_branch(dialect):
    a = analyze_sql(RECURSIVE, dialect, USERS)
    assert a.ok and not a.unknown, a.unknown
    assert {c.name: c.sources for c in a.columns} == {"user_id": (("users", "user_id"),), "depth": ()}
    assert ("users", "parent_id", "join") in a.row_reads
    bad = analyze_sql(RECURSIVE.replace("t.depth + 1", "t.level + 1"), dialect, USERS)
    (u,) = bad.unknown
    assert (u.name, u.source, u.offset) == ("level", "t", RECURSIVE.index("t.depth"))
    assert "depth" in u.candidates


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake", "bigquery"])
@pytest.mark.parametrize("sql", [
    "with x (oid, amt) as (select order_id, amount from {{ input('orders') }}) select oid, amt as total from x",
    "select x.oid, amt as total from (select order_id, amount from {{ input('orders') }}) as x (oid, amt)",
    "select oid, amt as total from {{ input('orders') }} as x (oid, cid, amt)",
])
def test_a_column_alias_list_renames_the_columns_in_order(dialect, sql):
    """`x (oid, amt)` renames x's columns: lineage follows, and the old names are no columns of x (as the warehouse
    says)."""
    a = analyze_sql(sql, dialect, SCHEMA)
    assert a.ok and not a.unknown, a.unknown
    assert {c.name: c.sources for c in a.columns} == {"oid": (("orders", "order_id"),),
                                                       "total": (("orders", "amount"),)}
    assert a.column("oid").passthrough == ("orders", "order_id")
    old = sql.replace("select oid,", "select order_id,").replace("select x.oid,", "select x.order_id,")
    (u,) = analyze_sql(old, dialect, SCHEMA).unknown
    at = old.rindex("select x.order_id" if "x.order_id" in old else "select order_id") + len("select ")
    assert u.name == "order_id" and "oid" in u.candidates and u.offset == at


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake"])
def test_a_recursive_cte_with_a_column_list(dialect):
    sql = RECURSIVE.replace("tree as", "tree (user_id, parent_id, depth) as").replace("0 as depth", "0")
    a = analyze_sql(sql, dialect, USERS)
    assert a.ok and not a.unknown, a.unknown
    assert [c.name for c in a.columns] == ["user_id", "depth"]


@pytest.mark.parametrize(("dialect", "allowed"), [("duckdb", True), ("snowflake", True), ("postgres", False),
                                                  ("bigquery", False)])
def test_a_select_list_alias_is_read_later_in_the_select_list_and_where_where_the_dialect_allows(dialect, allowed):
    """DuckDB and Snowflake let a projection (and WHERE) read an earlier projection's alias; Postgres and BigQuery
    do not (the warehouse says the column does not exist)."""
    lateral = "select order_id, amount * 2 as a, a + 1 as b from {{ input('orders') }}"
    where = "select order_id, amount * 2 as a from {{ input('orders') }} where a > 10"
    for sql in (lateral, where):
        a = analyze_sql(sql, dialect, SCHEMA)
        if allowed:
            assert not a.unknown, (sql, a.unknown)
        else:
            assert [(u.name, u.offset) for u in a.unknown] == [("a", sql.rindex("a "))], sql
    b = analyze_sql(lateral, dialect, SCHEMA).column("b")
    assert b.sources == ((("orders", "amount"),) if allowed else ())
    both = analyze_sql(where, dialect, SCHEMA)
    assert (("orders", "amount", "filter") in both.row_reads) is allowed
    # a column of the input by the alias's name comes first: no alias is read
    shadow = analyze_sql("select amount * 2 as discount, discount + 1 as d from {{ input('orders') }}", dialect,
                         SCHEMA)
    assert not shadow.unknown and shadow.column("d").sources == (("orders", "discount"),)


@pytest.mark.parametrize(("dialect", "allowed"), [("duckdb", True), ("snowflake", True), ("postgres", False),
                                                  ("bigquery", False)])
def test_a_select_list_alias_is_read_in_a_subquery_where_the_dialect_allows(dialect, allowed):
    """DuckDB lets a subquery (EXISTS in WHERE, a scalar one in the select list) read the enclosing query's
    select-list aliases (a false unknown column before), as does Snowflake's lateral alias rule; Postgres and BigQuery
    do not. A name that is no alias is still unknown."""
    exists = ("select status as s from {{ input('orders') }} o where exists (select 1 from {{ input('customers') }} c "
              "where c.region = s)")
    scalar = "select amount * 2 as dbl, (select dbl) as d2 from {{ input('orders') }}"
    for sql in (exists, scalar):
        a = analyze_sql(sql, dialect, SCHEMA)
        assert [u.name for u in a.unknown] == ([] if allowed else [sql.split(" as ")[1].split(" ")[0].strip(",")])
    assert analyze_sql(scalar, dialect, SCHEMA).column("d2").sources == ((("orders", "amount"),) if allowed else ())
    typo = analyze_sql(exists.replace("= s)", "= ss)"), dialect, SCHEMA)
    assert [u.name for u in typo.unknown] == ["ss"]


def test_duckdb_list_comprehension_variables_are_no_columns():
    """`[x * 2 for x in l if x > c]`: x is the comprehension's variable (a false unknown column before), as a lambda's
    parameter is; the other columns it reads are the inputs' (and checked)."""
    a = run("select [x * 2 for x in [1, 2]] as l, [x + amount for x in [1] if x > order_id] as m, "
            "list_transform([1], y -> y + 1) as n from {{ input('orders') }}")
    assert a.ok and not a.unknown, a.unknown
    assert a.column("m").sources == (("orders", "amount"), ("orders", "order_id"))
    typo = run("select [x for x in [1] if x > amout] as l from {{ input('orders') }}")
    assert [u.name for u in typo.unknown] == ["amout"]


@pytest.mark.parametrize("pick", ["columns('.*_id')", "columns(*)", "max(columns('.*_id')) as m", "*columns('id$')",
                                  "* like '%_id'", "* ilike '%_ID'", "* glob '*_id'", "* similar to '.*_id'",
                                  "o.* like '%_id'"])
def test_duckdb_columns_picked_by_name_are_unknown_not_errors(pick):
    """DuckDB's columns('regex') and `* like` make the columns whose names match: not followed, so no column is
    unknown or missing (the output is open, as with `*` over an unknown source)."""
    sql = f"select {pick}, o.nosuch from {{{{ input('orders') }}}} o"
    a = run(sql)
    assert a.ok, a.error
    assert [u.name for u in a.unknown] == ["nosuch"]  # a real typo beside it is still one
    assert OPEN_OUTPUTS in a.notes and a.star_inputs == ("orders",)
    assert [c.name for c in a.columns] == ["nosuch"]
    plain = run("select o.*, * exclude (email) from {{ input('orders') }} o")  # a star picking no names: followed
    assert OPEN_OUTPUTS not in plain.notes and len(plain.columns) == 2 * len(ORDERS) - 1


PIVOTED = (("events", ("event_id", "user_id", "kind", "amount")),)


@pytest.mark.parametrize("dialect", ["duckdb", "snowflake", "bigquery"])
@pytest.mark.parametrize("sql", [
    "select user_id, \"'buy'\" as buy_total from (select user_id, kind, amount from {{ input('events') }}) "
    "pivot (sum(amount) for kind in ('buy')) as p",
    "select p.user_id, \"'buy'\" as buy_total from (select user_id, kind, amount from {{ input('events') }}) "
    "pivot (sum(amount) for kind in ('buy')) as p",
    "select user_id, \"'buy'\" as buy_total from {{ input('events') }} pivot (sum(amount) for kind in ('buy'))",
    "with e as (select user_id, kind, amount from {{ input('events') }}) "
    "select p.user_id, \"'buy'\" as buy_total from e pivot (sum(amount) for kind in ('buy')) as p",
])
def test_a_pivoted_source_has_unknown_columns_each_from_all_it_reads(dialect, sql):
    """PIVOT names its columns after the IN values (quoted as each warehouse does): they are not checked, and each
    derives from every column the pivot reads."""
    a = analyze_sql(sql, dialect, PIVOTED)
    assert a.ok and not a.unknown, (a.error, a.unknown)
    reads = {("events", c) for c in ("user_id", "kind", "amount")}
    assert reads <= set(a.column("user_id").sources) and "aggregation" in a.row_clauses
    if dialect != "bigquery":  # "..." is a string there
        assert reads <= set(a.column("buy_total").sources)
    if "kind, amount from" in sql:  # a typo in the query pivoted is still one
        typo = analyze_sql(sql.replace("kind, amount from", "knd, amount from"), dialect, PIVOTED)
        assert [u.name for u in typo.unknown] == ["knd"]


@pytest.mark.parametrize("dialect", ["duckdb", "snowflake", "bigquery"])
def test_select_star_over_unpivot_is_open(dialect):
    sql = "select * from {{ input('events') }} unpivot (val for col in (event_id, amount)) as u"
    a = analyze_sql(sql, dialect, PIVOTED)
    assert a.ok and not a.unknown and OPEN_OUTPUTS in a.notes, (a.error, a.unknown)


@pytest.mark.parametrize("sql", [
    "select o.*, c.region from {{ input('orders') }} o join {{ input('customers') }} c using (customer_id)",
    "with w as (select * from {{ input('orders') }})\nselect   * from w",
    "select * exclude (email) from {{ input('orders') }} union all select * exclude (email) from {{ input('orders') }}",
])
def test_a_column_from_a_star_points_at_the_star(sql):
    """A type mismatch (or an undeclared column) found through `*` is reported at the `*` or `t.*` it comes from,
    not at the start of the SQL."""
    star = sql.index("o.*") if "o.*" in sql else sql.rindex("*") if sql.startswith("with") else sql.index("*")
    a = run(sql)
    assert a.column("order_id").offset == star and a.column("amount").offset == star


@pytest.mark.parametrize(("dialect", "kept"), [("postgres", True), ("duckdb", False), ("bigquery", False)])
def test_a_quoted_name_keeps_its_case_where_the_warehouse_does(dialect, kept):
    """Postgres keeps a quoted name's case (`"Region"` is not `region`); DuckDB and BigQuery compare any name
    case-insensitively. A name quoted the same way where it is made and where it is read is the same everywhere."""
    q = "`" if dialect == "bigquery" else '"'
    same = f"select {q}Reg{q} as region from (select region as {q}Reg{q} from {{{{ input('customers') }}}}) as x"
    assert not run(same, dialect=dialect).unknown
    read = run(f"select {q}Region{q} from {{{{ input('customers') }}}}", dialect=dialect)
    made = run(f"select region as {q}Region{q} from {{{{ input('customers') }}}}", dialect=dialect)
    inner = run(f"select reg from (select region as {q}Reg{q} from {{{{ input('customers') }}}}) as x",
                dialect=dialect)
    if kept:
        assert [u.name for u in read.unknown] == ['"Region"'] and [u.name for u in inner.unknown] == ["reg"]
        assert [c.name for c in made.columns] == ['"Region"']
    else:
        assert not read.unknown and not inner.unknown and [c.name for c in made.columns] == ["region"]


def test_snowflake_judges_the_case_of_quoted_names_the_query_produces_only():
    """Snowflake reads unquoted names in upper case: `"region"` is not the REGION the dbt model selects, `"REGION"`
    is. An input's columns may be in any case: a quoted reference to one is not judged."""
    a = run("select \"region\", email as \"EMAIL\", \"Signup_Date\" as signup_date from {{ input('customers') }} "
            "union all select region as \"Other\", email, signup_date from {{ input('customers') }}",
            dialect="snowflake")
    assert not a.unknown and [c.name for c in a.columns] == ['"region"', "email", "signup_date"]


@pytest.mark.parametrize(("dialect", "same", "other"), [
    ("snowflake", '"STATUS"', '"status"'), ("postgres", '"status"', '"STATUS"'),
    ("duckdb", '"STATUS"', None), ("bigquery", "`Status`", None)])
def test_a_quoted_name_the_warehouse_reads_as_the_unquoted_one_is_the_same_column_in_a_plan(dialect, same, other):
    """Snowflake stores unquoted names in upper case, so `"STATUS"` is `status`; Postgres in lower case, so `"status"`
    is; DuckDB and BigQuery compare any name in any case. Inside an expression (`upper(o."STATUS")`) such a spelling
    was planned breaking ("changes the values of status"); it is metadata. A quoted name in another case is another
    column on Snowflake and Postgres: still a change."""
    o = "{{ input('orders') }}"
    old = f"select o.order_id, upper(o.status) as status from {o} o"
    assert diff(old, old.replace("o.status", f"o.{same}"), dialect=dialect).kind == "format"
    if other is not None:
        found = diff(old, old.replace("o.status", f"o.{other}"), dialect=dialect)
        assert (found.kind, found.changed) == ("columns", ("status",))


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake", "bigquery"])
def test_a_quoted_alias_is_compared_in_the_warehouses_case(dialect):
    """A quoted table alias, CTE name or derived table's alias: DuckDB and BigQuery compare it in any case (`"U"` is
    `u`; a false unknown qualifier before), Snowflake's `"U"` is its `u` (any case is taken); Postgres keeps its case,
    so `u.x` over `"U"` and `"U".x` over `u` name no source there."""
    q = "`" if dialect == "bigquery" else '"'
    c = "{{ input('customers') }}"
    mixed = (f"select c.region from {c} {q}C{q}",
             f"select {q}C{q}.region from {c} c",
             f"with {q}X{q} as (select region from {c}) select x.region from {q}X{q}",
             f"select t.region from (select region from {c}) {q}T{q}")
    for sql in mixed:
        a = run(sql, dialect=dialect)
        if dialect == "postgres":
            assert [(u.name, u.qualifier) for u in a.unknown] == [("region", True)], sql
        else:
            assert not a.unknown and a.columns[0].sources == (("customers", "region"),), sql
    for fine in (f"select {q}C{q}.region from {c} {q}C{q}", f"select {q}c{q}.region from {c} c",
                 f"select {q}T{q}.* from (select region from {c}) {q}T{q}"):
        a = run(fine, dialect=dialect)
        assert not a.unknown and a.columns[0].sources == (("customers", "region"),), fine


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake", "bigquery"])
def test_an_unqualified_column_several_sources_have_is_ambiguous(dialect):
    """Every warehouse rejects `customer_id` when both joined sources have one; USING and a natural join make them one
    column, a select-list alias of that name may be meant (ORDER BY), an inner query's column shadows an outer one,
    and a source whose columns are not known is not counted."""
    join = "from {{ input('orders') }} o join {{ input('customers') }} c on c.customer_id = o.customer_id"
    a = run(f"select customer_id, region {join}", dialect=dialect)
    ((u,),) = [a.unknown]
    assert (u.name, u.kind, u.candidates, u.offset) == ("customer_id", "ambiguous", ("o", "c"), len("select "))
    unaliased = run("select orders.order_id from {{ input('orders') }} join {{ input('customers') }} on "
                    "customer_id = customers.customer_id", dialect=dialect)
    assert [(u.name, u.candidates) for u in unaliased.unknown] == [("customer_id", ("orders", "customers"))]
    for fine in (
        "select customer_id, region from {{ input('orders') }} o join {{ input('customers') }} c using (customer_id)",
        "select customer_id, region from {{ input('orders') }} natural join {{ input('customers') }}",
        f"select o.customer_id, region {join} order by customer_id",
        "select o.order_id, (select max(region) from {{ input('customers') }} c where c.customer_id = customer_id) "
        "as r from {{ input('orders') }} o",
        "select customer_id from {{ input('orders') }} o join raw.other x on x.id = o.order_id",
    ):
        assert not run(fine, dialect=dialect).unknown, fine


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake", "bigquery"])
def test_a_join_in_parentheses_keeps_its_using_and_natural_merge(dialect):
    """`from (a join b using (c))` is the same join as without the parentheses: c is one column, in the projections,
    WHERE and GROUP BY (a false `ambiguous-sql-column` before); a join in parentheses on a condition is still
    ambiguous, and a derived table's own USING does not merge the enclosing query's columns."""
    paren = "({{ input('orders') }} o join {{ input('customers') }} c using (customer_id))"
    for fine in (
        f"select customer_id from {paren}",
        "select customer_id, region from ({{ input('orders') }} o left join {{ input('customers') }} c "
        "using (customer_id))",
        "select customer_id from ({{ input('orders') }} natural join {{ input('customers') }})",
        f"select region from {paren} where customer_id > 1",
        f"select customer_id, count(*) as n from {paren} group by customer_id",
        f"select customer_id, p.oid from ({paren} join (select order_id as oid from {{{{ input('orders') }}}}) p "
        "on p.oid = o.order_id)",
    ):
        a = run(fine, dialect=dialect)
        assert a.ok and not a.unknown, fine
    for wrong in (
        "select customer_id from ({{ input('orders') }} o join {{ input('customers') }} c "
        "on c.customer_id = o.customer_id)",
        "select customer_id from (select o.customer_id from {{ input('orders') }} o join {{ input('customers') }} c "
        "using (customer_id)) x join {{ input('customers') }} d on d.region = 'x'",
    ):
        assert [(u.name, u.kind) for u in run(wrong, dialect=dialect).unknown] == [("customer_id", "ambiguous")], wrong


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_a_star_over_a_using_or_natural_join_makes_the_merged_column_once(dialect):
    """`select *` over `join ... using (c)` or a natural join makes c once (a false `sql-duplicate-column` before):
    Postgres puts the merged columns first, DuckDB where the left side has them. Its values are both sides'."""
    o, c = "{{ input('orders') }}", "{{ input('customers') }}"
    merged_first = ["customer_id", "order_id", "amount", "discount", "status", "email", "ordered_at", "region",
                    "email", "signup_date"]
    in_place = ["order_id", "customer_id", "amount", "discount", "status", "email", "ordered_at", "region",
                "email", "signup_date"]
    expected = merged_first if dialect == "postgres" else in_place
    for sql in (f"select * from {o} o join {c} c using (customer_id)",
                f"select * from {o} o left join {c} c using (customer_id)",
                f"select * from {o} o full join {c} c using (customer_id)",
                f"select * from ({o} o join {c} c using (customer_id))"):
        a = run(sql, dialect=dialect)
        assert [x.name for x in a.columns] == expected, sql
        assert a.column("customer_id").sources == (("customers", "customer_id"), ("orders", "customer_id"))
    natural = run(f"select *, 1 as one from {o} natural join {c}", dialect=dialect)  # customer_id and email
    names = [x.name for x in natural.columns]
    assert sorted(names) == sorted({*ORDERS, *CUSTOMERS, "one"}) and len(names) == len(set(names))
    self_join = run(f"select * from {c} a natural join {c} b", dialect=dialect)
    assert [x.name for x in self_join.columns] == list(CUSTOMERS)
    assert self_join.column("region").passthrough == ("customers", "region")  # the same column: still a copy
    two = run(f"select * from (select customer_id, email from {o}) a join (select customer_id, email from {c}) b "
              "using (email, customer_id)", dialect=dialect)
    assert [x.name for x in two.columns] == (["email", "customer_id"] if dialect == "postgres" else
                                             ["customer_id", "email"])
    cte = run(f"with j as (select * from {o} natural join {c}) select * from j", dialect=dialect)
    assert [x.name for x in cte.columns] == [x.name for x in natural.columns][:-1]
    # a source joined on a condition keeps its own column; `o.*` is o's columns
    on = run(f"select * from {o} o join {c} c using (customer_id) join {c} d on d.region = c.region", dialect=dialect)
    assert [x.name for x in on.columns].count("customer_id") == 2
    assert [x.name for x in run(f"select o.* from {o} o natural join {c} c", dialect=dialect).columns] == list(ORDERS)
    if dialect == "duckdb":
        excluded = run(f"select * exclude (region) from {o} o join {c} c using (customer_id)", dialect=dialect)
        assert [x.name for x in excluded.columns] == [n for n in in_place if n != "region"]


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_a_using_column_another_source_also_has_is_ambiguous_on_postgres(dialect):
    """`e join u using (c) join p on ...` where p has a c too: Postgres rejects an unqualified c (the merged c and p's),
    DuckDB takes the merged one."""
    o, c = "{{ input('orders') }}", "{{ input('customers') }}"
    for sql in (f"select customer_id from (({o} o join {c} c using (customer_id)) join {c} d on d.region = c.region)",
                f"select customer_id from {o} o join {c} c using (customer_id) join {c} d on d.region = c.region"):
        found = [(u.name, u.kind) for u in run(sql, dialect=dialect).unknown]
        assert found == ([("customer_id", "ambiguous")] if dialect == "postgres" else []), sql
    for fine in (f"select customer_id from {o} o join {c} c using (customer_id) join {c} d using (customer_id)",
                 f"select customer_id from {c} a natural join {c} b natural join {c} d"):
        assert not run(fine, dialect=dialect).unknown, fine


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake", "bigquery"])
def test_a_using_column_one_side_of_the_join_lacks_is_unknown(dialect):
    """`using (c)` needs c on both sides: the joined source, and the sources before it (any of them); a side whose
    columns are not known is not judged."""
    sql = "select o.order_id from {{ input('orders') }} o join {{ input('customers') }} c using (customer_idd)"
    ((u,),) = [run(sql, dialect=dialect).unknown]
    assert (u.name, u.source, u.kind, u.offset) == ("customer_idd", "customers", "using", sql.index("customer_idd"))
    assert u.candidates == CUSTOMERS
    left = run("select o.order_id from {{ input('orders') }} o join {{ input('customers') }} c using (region)",
               dialect=dialect)
    assert [(u.name, u.source, u.kind) for u in left.unknown] == [("region", "orders", "using")]
    for fine in (
        "select o.order_id from {{ input('orders') }} o join {{ input('customers') }} c using (customer_id)",
        "select o.order_id from {{ input('orders') }} o join {{ input('customers') }} c using (customer_id) "
        "join {{ input('customers') }} d using (region)",  # region: of c, before d
        "select o.order_id from {{ input('orders') }} o join raw.other x using (customer_id)",
    ):
        assert not run(fine, dialect=dialect).unknown, fine


@pytest.mark.parametrize(("dialect", "exclude"), [("duckdb", "exclude"), ("snowflake", "exclude"),
                                                  ("bigquery", "except")])
def test_a_column_star_exclude_or_replace_names_must_be_one_of_the_stars(dialect, exclude):
    """`* exclude (c)` (BigQuery: `except`), `* replace (... as c)` and `* rename (c as ...)` name columns of the
    star's sources: the warehouse rejects another name. A star over a source whose columns are unknown is not
    judged."""
    sql = f"select * {exclude} (email, emial) replace (amount * 2 as amont) from {{{{ input('orders') }}}}"
    a = run(sql, dialect=dialect)
    assert [(u.name, u.source, u.offset) for u in a.unknown] == [("emial", "orders", sql.index("emial")),
                                                                  ("amont", "orders", sql.index("amont"))]
    assert a.unknown[0].candidates == ORDERS
    qualified = run(f"select o.* {exclude} (region) from {{{{ input('orders') }}}} o join {{{{ input('customers') }}}} "
                    "c using (customer_id)", dialect=dialect)
    assert [(u.name, u.source) for u in qualified.unknown] == [("region", "orders")]
    for fine in (f"select * {exclude} (region) from {{{{ input('orders') }}}} o join {{{{ input('customers') }}}} c "
                 "using (customer_id)", f"select * {exclude} (anything) from raw.other",
                 f"select * {exclude} (email) replace (amount * 2 as amount) from {{{{ input('orders') }}}}"):
        assert not run(fine, dialect=dialect).unknown, fine
    if dialect == "duckdb":
        renamed = run("select * rename (amount as amt, amnt as a2) from {{ input('orders') }}", dialect=dialect)
        assert [u.name for u in renamed.unknown] == ["amnt"]


@pytest.mark.parametrize(("dialect", "exclude"), [("duckdb", "exclude"), ("snowflake", "exclude"),
                                                  ("bigquery", "except")])
def test_the_order_of_a_star_exclude_replace_or_rename_list_does_not_count(dialect, exclude):
    """`* except (a, b)` (`exclude`), `* replace (...)` and `* rename (...)` name sets of the star's columns, which come
    out in the sources' order whatever the list's: another order of them is the same query (metadata). It was planned
    breaking (the whole query differs where the analysis sees no change), a retrain and a rollout downstream."""
    o = "{{ input('orders') }}"
    for old, new in [(f"select * {exclude} (email, status) from {o}", f"select * {exclude} (status, email) from {o}"),
                     (f"select o.* {exclude} (email, status) from {o} o", f"select o.* {exclude} (status, email) from {o} o"),
                     (f"select * replace (amount * 2 as amount, upper(email) as email) from {o}",
                      f"select * replace (upper(email) as email, amount * 2 as amount) from {o}")]:
        assert diff(old, new, dialect=dialect).kind == "format", (old, new)
    if dialect != "bigquery":
        old, new = (f"select * rename (amount as amt, email as mail) from {o}",
                    f"select * rename (email as mail, amount as amt) from {o}")
        assert diff(old, new, dialect=dialect).kind == "format"
    # what the lists name still counts
    changed = diff(f"select * {exclude} (email, status) from {o}", f"select * {exclude} (email, amount) from {o}",
                   dialect=dialect)
    assert changed.kind == "columns" and changed.added == ("status",) and changed.removed == ("amount",)


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "bigquery"])
def test_a_named_windows_columns_are_checked(dialect):
    """`window w as (partition by nope)`: every warehouse rejects the unknown column, so validate does too."""
    sql = ("select order_id, sum(amount) over w as r from {{ input('orders') }} "
           "window w as (partition by COLUMN order by ordered_at)")
    assert [u.name for u in run(sql.replace("COLUMN", "custmer_id"), dialect=dialect).unknown] == ["custmer_id"]
    assert not run(sql.replace("COLUMN", "customer_id"), dialect=dialect).unknown


@pytest.mark.parametrize(("dialect", "unknown"), [("duckdb", ["cid"]), ("postgres", ["cid"]), ("bigquery", ["cid"]),
                                                  ("snowflake", [])])
def test_a_select_list_alias_in_join_on_is_read_on_snowflake_only(dialect, unknown):
    sql = ("select o.customer_id as cid, c.region from {{ input('orders') }} o "
           "join {{ input('customers') }} c on cid = c.customer_id")
    assert [u.name for u in run(sql, dialect=dialect).unknown] == unknown


@pytest.mark.parametrize(("sql", "found"), [
    ("select s.a from {{ input('x') }} s, join {{ input('y') }} c on c.id = s.id", ", join"),
    ("select s.a from {{ input('x') }} s,\n  left outer join {{ input('y') }} c on true", ",\n  left"),
    ("select s.a from {{ input('x') }} s , natural join {{ input('y') }} c", ", natural"),
    ("select a, left(b, 2) as l from {{ input('x') }} s left join {{ input('y') }} c on true", None),  # LEFT()
    ("select 'a, join b' as t, a /* , join */ from {{ input('x') }} join {{ input('y') }} using (a)", None),
    ("select a from {{ input('x') }}, {{ input('y') }}", None),  # an implicit cross join is fine
])
def test_a_comma_before_join_is_found_outside_strings_and_comments(sql, found):
    """sqlglot reads `from a, join b` as if the comma were not there; every warehouse rejects it."""
    from compiler.front.sql.commas import comma_before_join

    for dialect in ("duckdb", "postgres", "snowflake", "bigquery"):
        at = comma_before_join(sql, dialect)
        assert (None if at is None else sql[at:at + len(found)]) == found, dialect


TAGGED = (*SCHEMA, ("events", ("event_id", "customer_id", "tags")))


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_lateral_unnest_and_values_in_from_are_followed(dialect):
    """A LATERAL subquery reads the FROM items before it (`o.amount`), UNNEST and VALUES make the columns their
    column list names (VALUES also the warehouse's default names): their columns are checked and followed, where
    the analysis failed before (no lineage, and a plan took any change of the query for a breaking one)."""
    o = "{{ input('orders') }} o"
    cases = {
        f"select o.order_id, l.y from {o}, lateral (select o.amount + 1 as y) l": {"y": (("orders", "amount"),)},
        f"select o.order_id, l.region from {o} left join lateral (select c.region from {{{{ input('customers') }}}} c "
        "where c.customer_id = o.customer_id limit 1) l on true": {"region": (("customers", "region"),)},
        "select e.event_id, t.tag from {{ input('events') }} e cross join lateral unnest(e.tags) as t(tag)":
            {"tag": (("events", "tags"),)},
        "select e.event_id, tag from {{ input('events') }} e, unnest(e.tags) as t(tag)": {"tag": (("events", "tags"),)},
        f"select o.order_id, v.label from {o} join (values (1, 'a'), (2, 'b')) as v(id, label) on v.id = o.order_id":
            {"label": ()},
        "with v(id, label) as (values (1, 'a')) select id, label from v": {"label": ()},
    }
    for sql, sources in cases.items():
        a = analyze_sql(sql, dialect, TAGGED)
        assert a.ok and not a.unknown, (sql, a.error, a.unknown)
        assert {c.name: c.sources for c in a.columns if c.name in sources} == sources, sql
    typos = [(f"select o.order_id, l.y from {o}, lateral (select o.amont + 1 as y) l", "amont", "orders"),
             ("select e.event_id, t.tg from {{ input('events') }} e cross join unnest(e.tags) as t(tag)", "tg", "t"),
             ("select v.nam from (values (1, 'a')) as v(id, name)", "nam", "v")]
    for sql, name, source in typos:
        (u,) = analyze_sql(sql, dialect, TAGGED).unknown
        assert (u.name, u.source, u.offset) == (name, source, sql.index(f".{name}") - 1), sql
    default = "col1" if dialect == "duckdb" else "column2"  # VALUES' columns the list does not name
    assert not analyze_sql(f"select v.{default} from (values (1, 'a')) as v(id)", dialect, TAGGED).unknown
    # unnamed columns are unknown, never an error: `unnest(x) as u` is `u` (or DuckDB's `u.unnest`)
    unnamed = "t, t.unnest" if dialect == "duckdb" else "t"
    for sql in (f"select {unnamed} from {{{{ input('events') }}}} e, unnest(e.tags) as t",
                "select * from {{ input('events') }} e, unnest(e.tags) as t"):
        a = analyze_sql(sql, dialect, TAGGED)
        assert a.ok and not a.unknown, sql
    assert OPEN_OUTPUTS in analyze_sql("select * from {{ input('events') }} e, unnest(e.tags) as t", dialect,
                                       TAGGED).notes


PARAMS = (("events", ("event_id", "user_id", "event_params", "kv")),)


def test_a_bigquery_unnest_alias_is_the_element_and_its_fields_are_read_through_it():
    """In BigQuery `unnest(e.event_params) as ep` makes ep the element (a value, a struct here), so `ep.key` reads
    its field key, as `ep.value.string_value` reads a nested one. sqlglot reads the alias as a column list [ep]:
    `ep.key` was "not a column of 'ep'", an error that blocked validate on BigQuery's standard UNNEST idiom."""
    e = "{{ input('events') }}"
    cases = {
        f"select e.event_id, ep.key as param_key, ep.value.string_value as param_value from {e} as e, "
        "unnest(e.event_params) as ep": {"param_key": (("events", "event_params"),),
                                         "param_value": (("events", "event_params"),)},
        f"select e.event_id, ep.key from {e} as e cross join unnest(e.event_params) as ep where ep.key = 'page'":
            {"key": (("events", "event_params"),)},
        f"select b.event_id, p.val, pos from {e} b, unnest(b.kv) as p with offset as pos":
            {"val": (("events", "kv"),), "pos": ()},
        "select p.k from unnest([struct('a' as k, 'b' as v)]) as p": {"k": ()},
        "select p.* from unnest([struct('a' as k, 'b' as v)]) as p": {"k": (), "v": ()},
    }
    for sql, sources in cases.items():
        a = analyze_sql(sql, "bigquery", PARAMS)
        assert a.ok and not a.unknown, (sql, a.unknown)
        assert {c.name: c.sources for c in a.columns if c.name in sources} == sources, sql
    where = analyze_sql(f"select ep.key from {e} e, unnest(e.event_params) as ep where ep.key = 'a'", "bigquery",
                        PARAMS)
    assert ("events", "event_params", "filter") in where.row_reads
    # a name that is known not to be there is still reported: a field the struct literals lack, a typo'd qualifier
    typo = "select p.x from unnest([struct('a' as k, 'b' as v)]) as p"
    (u,) = analyze_sql(typo, "bigquery", PARAMS).unknown
    assert (u.name, u.source, u.candidates, u.offset) == ("x", "p", ("k", "v"), typo.index("p.x"))
    (u,) = analyze_sql(f"select x.key from {e} e, unnest(e.event_params) as p", "bigquery", PARAMS).unknown
    assert (u.name, u.source, u.qualifier) == ("key", "x", True)
    # a plan tells which column an edit of a field changes
    sql = next(iter(cases))
    found = diff(sql, sql.replace("string_value", "int_value"), PARAMS, "bigquery")
    assert (found.kind, found.changed) == ("columns", ("param_value",))
    # DuckDB and Postgres: `unnest(x) as u` is a relation u of one column, its fields not known (no error either)
    for dialect in ("duckdb", "postgres"):
        assert analyze_sql(sql, dialect, PARAMS).column("param_key").sources == ()


def test_snowflake_table_flatten_is_the_table_function_lateral_flatten_is():
    """`table(flatten(o.payload:items)) f` is read as `lateral flatten(input => ...) f` is: FLATTEN's columns (seq,
    key, path, index, value, this), each from what it reads, checked and followed. It was `sql-unparsed` ("an
    unsupported query (TableFromRows)"): no lineage, and a plan took any edit of the query for a breaking one."""
    schema = (("orders", ("order_id", "payload", "status")),)
    o = "{{ input('orders') }} O"
    lateral = f"select O.ORDER_ID, F.VALUE:sku::string as sku, F.INDEX as pos from {o}, lateral flatten(input => O.PAYLOAD:items) F"
    forms = [f"select O.ORDER_ID, F.VALUE:sku::string as sku, F.INDEX as pos from {o}, table(flatten(O.PAYLOAD:items)) F",
             f"select O.ORDER_ID, F.VALUE:sku::string as sku, F.INDEX as pos from {o} "
             "join table(flatten(input => O.PAYLOAD:items, outer => true)) as F on true", lateral]
    for sql in forms:
        a = analyze_sql(sql, "snowflake", schema)
        assert a.ok and not a.unknown and not a.notes, (sql, a.error, a.notes)
        assert {c.name: c.sources for c in a.columns} == {"order_id": (("orders", "order_id"),),
                                                          "sku": (("orders", "payload"),), "pos": (("orders", "payload"),)}
        assert ("orders", "payload", "unnest") in a.row_reads
    star = analyze_sql(f"select * from {o}, table(flatten(O.PAYLOAD)) F", "snowflake", schema)
    assert [c.name for c in star.columns] == ["order_id", "payload", "status", "seq", "key", "path", "index", "value",
                                              "this"]
    typo = forms[0].replace("F.INDEX", "F.IDX")
    (u,) = analyze_sql(typo, "snowflake", schema).unknown
    assert (u.name, u.source, u.offset) == ("idx", "f", typo.index("F.IDX"))
    assert diff(forms[0], forms[0].replace(", table", ",\n  TABLE"), schema, "snowflake").kind == "format"
    found = diff(forms[0], forms[0].replace(":items", ":lines"), schema, "snowflake")
    assert found.kind == "rows" and found.clauses == ("unnest",)


def test_a_plan_tells_which_columns_or_rows_a_lateral_or_unnest_edit_changes():
    """Not `unknown` (any edit breaking) as when the analysis failed: the lateral's column, or the rows."""
    lateral = "select o.order_id, l.y from {{ input('orders') }} o, lateral (select o.amount + 1 as y) l"
    found = diff(lateral, lateral.replace("+ 1", "+ 2"), TAGGED)
    assert (found.kind, found.changed) == ("columns", ("y",))
    unnest = "select e.event_id, t.tag from {{ input('events') }} e, unnest(e.tags) as t(tag)"
    assert diff(unnest, unnest.replace("e.tags", "list_distinct(e.tags)"), TAGGED).kind == "rows"
    assert diff(unnest, unnest.replace("t(tag)", "t (tag)"), TAGGED).kind == "format"


JOIN = "from {{ input('orders') }} o join {{ input('customers') }} c on c.customer_id = o.customer_id"


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_an_alias_of_an_ambiguous_columns_name_helps_only_as_a_whole_order_by_item(dialect):
    """DuckDB and Postgres read a select-list alias before the inputs' columns only as a whole ORDER BY (DISTINCT ON)
    item: in GROUP BY, HAVING, WHERE and inside an ORDER BY expression `customer_id` is the inputs' column, which both
    sources have (the warehouse rejects it; it passed validate when the select list had a `customer_id`)."""
    for clause in ("group by customer_id", "order by customer_id + 1", "order by -customer_id"):
        sql = f"select o.customer_id, count(*) as n {JOIN} {clause}"
        (u,) = run(sql, dialect=dialect).unknown
        assert (u.name, u.kind, u.offset) == ("customer_id", "ambiguous", sql.rindex("customer_id")), sql
    sql = f"select o.amount as email, count(*) as n {JOIN} group by o.amount having email > 1"
    assert [(u.name, u.kind) for u in run(sql, dialect=dialect).unknown] == [("email", "ambiguous")]
    for fine in (f"select o.customer_id {JOIN} order by customer_id", f"select o.customer_id {JOIN} order by "
                 "(customer_id) desc nulls last", f"select distinct on (customer_id) o.customer_id {JOIN}"):
        assert not run(fine, dialect=dialect).unknown, fine
    # a whole ORDER BY item is the alias, even where an input has a column of its name
    a = run("select amount as customer_id from {{ input('orders') }} order by customer_id", dialect=dialect)
    assert not a.unknown and a.sort_reads == (("orders", "amount"),)


@pytest.mark.parametrize(("dialect", "unknown"), [
    ("duckdb", {"group by a + 1"}),
    ("postgres", {"group by a + 1", "order by a + 1", "order by -a", "group by a having n > 1"}),
])
def test_where_a_select_list_alias_is_read_in_order_by_group_by_and_having(dialect, unknown):
    """Postgres reads an alias in GROUP BY and ORDER BY as a whole item only, and not in HAVING; DuckDB reads it
    anywhere in ORDER BY and HAVING, in GROUP BY as a whole item only (`aliases cannot be used as part of an expression
    in the GROUP BY`). Each query was run on both."""
    clauses = ["group by a + 1", "group by amount order by a + 1", "group by amount order by -a",
               "group by a having n > 1", "group by amount order by a", "group by amount order by (a) desc",
               "group by a", "group by (a)"]
    unknown = {c if c.startswith("group by a") else f"group by amount {c}" for c in unknown}
    found = set()
    for clause in clauses:
        sql = f"select amount as a, count(*) as n from {{{{ input('orders') }}}} {clause}"
        a = run(sql, dialect=dialect)
        assert a.ok, a.error
        for u in a.unknown:
            assert u.kind == "alias" and u.offset == sql.index(clause) + clause.rindex(u.name), sql
            found.add(clause)
    assert found == unknown


@pytest.mark.parametrize(("dialect", "unknown"), [
    ("duckdb", {"nope", "region"}),
    ("postgres", {"nope", "region", "customer_id", "k + 1", "o.customer_id"}),
])
def test_a_set_operations_order_by_names_the_results_columns(dialect, unknown):
    """`... union all ... order by x` sorts the union's result: x is one of its columns (it read nothing and was never
    checked). Postgres takes the first branch's names, as whole items only; DuckDB any branch's name, expressions,
    and what a branch's select list reads (`order by o.customer_id`). Each query was run on both."""
    union = ("select o.customer_id as k, o.amount from {{ input('orders') }} o "
             "union all select customer_id, 1 from {{ input('customers') }} order by ")
    found = set()
    for item in ("k", "k desc", "(k)", "amount", "customer_id", "k + 1", "o.customer_id", "nope", "region"):
        a = run(union + item, dialect=dialect)
        assert a.ok, a.error
        if a.unknown:
            (u,) = a.unknown
            assert u.offset == len(union), item
            found.add(item)
    assert found == unknown
    a = run(union + "k desc, amount limit 2", dialect=dialect)
    assert a.sort_reads == (("customers", "customer_id"), ("orders", "amount"), ("orders", "customer_id"))
    assert {("orders", "amount", "order"), ("orders", "customer_id", "order")} <= set(a.row_reads)
    # a branch whose columns are unknown: not checked
    assert not run("select * from {{ input('orders') }} union all select * from raw.x order by nope",
                   dialect=dialect).unknown


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake"])
def test_a_cte_read_before_its_definition_is_reported(dialect):
    """`with a as (select ... from b), b as (...)`: b is no relation inside a. DuckDB rejects it (also under WITH
    RECURSIVE), Postgres unless WITH RECURSIVE; it passed as a table of the warehouse called b. Not judged on
    Snowflake and BigQuery. A CTE's own WITH may define the name, and a CTE after another reads it."""
    sql = ("with a as (select x from b), b as (select customer_id as x from {{ input('orders') }}) "
           "select x from a")
    found = [(u.name, u.source, u.kind, u.offset) for u in run(sql, dialect=dialect).unknown]
    assert found == ([] if dialect == "snowflake" else [("b", "a", "forward", sql.index("b)"))])
    recursive = [u.kind for u in run(sql.replace("with", "WITH RECURSIVE", 1), dialect=dialect).unknown]
    assert recursive == (["forward"] if dialect == "duckdb" else [])
    for fine in ("with a as (select customer_id as x from {{ input('orders') }}), b as (select x from a) "
                 "select x from b",
                 "with a as (with b as (select 1 as x) select x from b), b as (select 2 as x) select x from a"):
        assert not run(fine, dialect=dialect).unknown, fine


ORDER_LIMIT = f"select order_id, amount as a from {ORD} order by 2 desc, 1 limit 3"


@pytest.mark.parametrize(("new", "dialect"), [
    # the ordered projection's expression changes: other rows come out, order_id's values too
    pytest.param(ORDER_LIMIT.replace("amount as a", "-amount as a"), "duckdb", id="ordered-projection"),
    # the select list reordered under `order by 2`: it sorts by another column now
    pytest.param(f"select amount as a, order_id from {ORD} order by 2 desc, 1 limit 3", "duckdb", id="ordinal-moved"),
    # a NULLS LAST written where it is DuckDB's default: Postgres (another environment's warehouse) sorts NULLs first
    pytest.param(ORDER_LIMIT.replace("desc", "desc nulls last"), "duckdb", id="nulls-written-duckdb"),
    pytest.param(ORDER_LIMIT.replace("desc", "desc nulls last"), "postgres", id="nulls-written-postgres"),
])
def test_what_an_order_by_with_a_limit_sorts_by_decides_the_rows(new, dialect):
    """`order by 2` reads the second projection (it was read as the number 2: a change of what it sorts by changed
    no rows in the plan, so the readers of the other columns were not rebuilt), and a written NULLS FIRST / LAST is
    never the dialect's default spelt out (the SQL runs in every environment's warehouse)."""
    found = diff(ORDER_LIMIT, new, dialect=dialect)
    assert found.category == "breaking" and found.rows, (found.kind, found.reason())


def test_a_written_null_ordering_in_a_window_changes_its_column_and_the_same_words_are_formatting():
    window = f"select order_id, row_number() over (order by amount desc) as rn from {ORD}"
    found = diff(window, window.replace("desc", "desc nulls last"))
    assert found.category == "breaking" and found.changed == ("rn",), (found.kind, found.reason())
    found = diff(ORDER_LIMIT.replace("desc", "desc nulls last"), ORDER_LIMIT.replace("desc", "DESC  NULLS\n LAST"))
    assert found.category == "metadata", (found.kind, found.reason())
    # the column whose order is written, the same either way: the same sort, the same limit
    moved = f"select amount as a, order_id from {ORD} order by 1 desc, 2 limit 3"
    assert diff(ORDER_LIMIT, moved).rows is False


def test_a_distinct_on_order_change_is_said_to_change_the_rows_by_distinct_not_limit():
    old = f"select distinct on (customer_id) customer_id, amount from {ORD} order by customer_id, amount"
    found = diff(old, old.replace("order by customer_id, amount", "order by customer_id, amount desc"))
    assert found.rows and found.clauses == ("distinct",), (found.kind, found.reason())


@pytest.mark.parametrize("kind", ["semi", "anti"])
def test_the_filter_of_a_semi_or_anti_joins_subquery_decides_the_rows(kind):
    """sqlglot selects nothing of a SEMI/ANTI join's right side, and what its subquery reads was lost: a seed edit of
    that column planned no rebuild, and the table stayed stale."""
    sql = (f"select o.order_id, o.amount from {ORD} as o {kind} join (select customer_id from {ORD} "
           "where status = 'open') as j on j.customer_id = o.customer_id")
    a = analyze_sql(sql, "duckdb", SCHEMA)
    assert a.ok and ("orders", "status", "filter") in a.row_reads, a.row_reads
    assert diff(sql, sql.replace("'open'", "'closed'")).category == "breaking"


T = "{{ input('orders') }}"
# (id, dialects, SQL, a column whose values decide the result, though no output copies it)
UNFOLLOWED_READS = [
    ("named-window", ("duckdb", "postgres"),
     f"select order_id, cast(sum(amount) over w as double) as running from {T} "
     "window w as (partition by status order by order_id)", "status"),
    ("named-window-inherited", ("duckdb", "postgres"),
     f"select order_id, cast(sum(amount) over (w order by order_id) as double) as running from {T} "
     "window w as (partition by customer_id)", "customer_id"),
    ("limit-subquery", ("duckdb", "postgres"),
     f"select order_id, amount from {T} order by amount, order_id limit (select max(discount) from {T})",
     "discount"),
    ("offset-subquery", ("duckdb", "postgres"),
     f"select order_id, amount from {T} order by amount, order_id offset (select min(discount) from {T})",
     "discount"),
    ("table-function-argument", ("duckdb", "postgres"),
     f"select o.order_id, cast(g.x as integer) as x from {T} as o, generate_series(1, o.customer_id) as g(x)",
     "customer_id"),
    ("columns-by-regex", ("duckdb",), f"select order_id, columns('^(amount|discount)$') from {T}", "discount"),
    ("star-like", ("duckdb",), f"select order_id, * like 'disc%' from {T}", "discount"),
    ("columns-in-where", ("duckdb",), f"select order_id, amount from {T} where columns(['discount']) > 3",
     "discount"),
    ("positional-join", ("duckdb",), f"select o.order_id, j.status from {T} as o positional join "
                                     f"(select status from {T} order by discount, order_id) as j", "discount"),
]


@pytest.mark.parametrize(("sql", "dialects", "column"), [pytest.param(c[2], c[1], c[3], id=c[0])
                                                         for c in UNFOLLOWED_READS])
def test_what_decides_a_result_beyond_its_outputs_is_a_row_read(sql, dialects, column):
    """A seed edit of such a column planned no rebuild, and the table stayed stale (a named window's partition, a
    LIMIT's subquery, a table function's arguments, columns picked by name, a positional join's order)."""
    for dialect in dialects:
        a = analyze_sql(sql, dialect, SCHEMA)
        assert a.ok, (dialect, a.error)
        assert column in {c for d, c, _ in a.row_reads if d == "orders"}, (dialect, a.row_reads)
