"""compiler.front.sql: DuckDB's own SQL forms (PIVOT/UNPIVOT statements, UNION BY NAME, JSON arrows in function
calls, lambdas, struct fields) read as DuckDB reads them: no false unknown columns, no lost lineage."""

from __future__ import annotations

import pytest

from compiler.front.sql import analyze_sql
from compiler.spec.lineage import OPEN_OUTPUTS, SqlAnalysis

ORDERS = ("order_id", "customer_id", "status", "amount", "channel", "email")
SCHEMA = (("orders", ORDERS),)


def run(sql: str, schema=SCHEMA) -> SqlAnalysis:
    return analyze_sql(sql, "duckdb", schema)


def sources(a: SqlAnalysis) -> dict[str, set[tuple[str, str]]]:
    return {c.name: set(c.sources) for c in a.columns}


def o(*cols: str) -> set[tuple[str, str]]:
    return {("orders", c) for c in cols}


PIVOT = "pivot {{ input('orders') }} on channel in ('web', 'app') using sum(amount) group by customer_id"


@pytest.mark.parametrize("sql", [
    f"select customer_id, web, app from ({PIVOT})",
    f"select * from ({PIVOT})",
    f"select p.* from ({PIVOT}) as p",
    f"with p as ({PIVOT}) select customer_id, web, app from p",
    PIVOT,  # the whole query
])
def test_a_pivot_statement_makes_its_group_and_value_columns(sql):
    """DuckDB's PIVOT statement (a subquery, a CTE, the query itself) makes its GROUP BY columns and one column per
    IN value, each the USING aggregate over the rows of that value."""
    a = run(sql)
    assert a.ok and not a.unknown and OPEN_OUTPUTS not in a.notes, (a.error, a.unknown, a.notes)
    assert sources(a) == {"customer_id": o("customer_id"), "web": o("amount", "channel"),
                          "app": o("amount", "channel")}
    assert a.column("customer_id").passthrough == ("orders", "customer_id")
    assert ("orders", "amount", "aggregation") in a.column("web").uses
    assert {"aggregation", "group by"} <= set(a.row_clauses)


def test_pivot_names_as_duckdb_does():
    """Several ON columns: the values joined by `_`; aliased USING expressions: `value_alias`; no GROUP BY: every
    column neither ON nor USING reads, first; no USING: count(*)."""
    a = run("select * from (pivot {{ input('orders') }} on channel in ('web', 'app') "
            "using sum(amount) as total, max(email) as mx)")
    assert a.ok and not a.unknown, (a.error, a.unknown)
    assert [c.name for c in a.columns] == ["order_id", "customer_id", "status", "web_total", "web_mx", "app_total",
                                           "app_mx"]
    assert sources(a)["web_mx"] == o("email", "channel")  # PII of email flows into it
    b = run("select * from (pivot {{ input('orders') }} on channel in ('web', 'app'), status in ('a', 1) "
            "group by customer_id)")
    assert [c.name for c in b.columns] == ["customer_id", "web_a", "web_1", "app_a", "app_1"]
    assert sources(b)["web_a"] == o("channel", "status")


def test_a_pivot_without_in_list_has_open_columns():
    """Without an IN list the columns are named after the data: any name is no error and derives from what the
    USING and ON read; `*` over it is unknown."""
    sql = "with p as (pivot {{ input('orders') }} on channel using max(email) group by customer_id) "
    a = run(sql + "select customer_id, web, p.app as a from p")
    assert a.ok and not a.unknown, (a.error, a.unknown)
    assert sources(a) == {"customer_id": o("customer_id"), "web": o("email", "channel"),
                          "a": o("email", "channel")}
    star = run(sql + "select * from p")
    assert star.ok and not star.unknown and OPEN_OUTPUTS in star.notes


def test_a_typo_in_a_pivot_is_reported_once():
    a = run("select * from (pivot {{ input('orders') }} on chanel in ('web') using sum(amont))")
    assert sorted(u.name for u in a.unknown) == ["amont", "chanel"]


def test_an_unpivot_statement_keeps_the_other_columns_and_adds_name_and_value():
    a = run("select order_id, metric, val from (unpivot (select order_id, amount::double as amount, "
            "customer_id::double as c from {{ input('orders') }}) on amount, c into name metric value val)")
    assert a.ok and not a.unknown, (a.error, a.unknown)
    assert sources(a) == {"order_id": o("order_id"), "metric": set(), "val": o("amount", "customer_id")}
    b = run("select * from (unpivot {{ input('orders') }} on order_id, customer_id)")
    assert [c.name for c in b.columns] == ["status", "amount", "channel", "email", "name", "value"]
    assert sources(b)["value"] == o("order_id", "customer_id")


def test_an_unpivot_of_unknown_columns_is_open_and_conservative():
    sql = "select k, v from (unpivot {{ input('orders') }} on columns(* exclude (order_id)) into name k value v)"
    a = run(sql)
    assert a.ok and not a.unknown, (a.error, a.unknown)
    assert o("email", "amount") <= sources(a)["v"]
    star = run("select * from (unpivot {{ input('orders') }} on columns(* exclude (order_id)) into name k value v)")
    assert star.ok and not star.unknown and OPEN_OUTPUTS in star.notes


CUSTOMERS = (("customers", ("customer_id", "country", "email")),)


@pytest.mark.parametrize("all_", ["all ", ""])
def test_union_by_name_pairs_columns_by_name(all_):
    """`union [all] by name` pairs the columns by name, not by position (the PII of email goes to label), and makes
    every name of either side, the left's first."""
    a = run(f"select customer_id, country as label from {{{{ input('customers') }}}} union {all_}by name "
            "select email as label, customer_id, country as extra from {{ input('customers') }}", CUSTOMERS)
    assert a.ok and not a.unknown, (a.error, a.unknown)
    assert [c.name for c in a.columns] == ["customer_id", "label", "extra"]
    assert sources(a) == {"customer_id": {("customers", "customer_id")},
                          "label": {("customers", "country"), ("customers", "email")},
                          "extra": {("customers", "country")}}


def test_bigquery_corresponding_pairs_by_name_and_keeps_the_common_names():
    sql = ("select customer_id, country as label from {{ input('customers') }} union all corresponding "
           "select email as label, customer_id, country as extra from {{ input('customers') }}")
    a = analyze_sql(sql, "bigquery", CUSTOMERS)
    assert a.ok and not a.unknown, (a.error, a.unknown)
    assert sources(a) == {"customer_id": {("customers", "customer_id")},
                          "label": {("customers", "country"), ("customers", "email")}}


def test_union_by_position_is_unchanged():
    a = run("select customer_id, country as label from {{ input('customers') }} union all "
            "select customer_id, email from {{ input('customers') }}", CUSTOMERS)
    assert sources(a)["label"] == {("customers", "country"), ("customers", "email")}


EVENTS = (("events", ("event_id", "payload", "tags", "sku")),)


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_a_json_arrow_in_a_function_call_reads_its_column(dialect):
    """sqlglot reads `payload->'items'` in a function's arguments as a lambda: it is DuckDB's (and Postgres's)
    JSON arrow there, so payload is read (its PII flows on), and a misspelled column is reported."""
    a = analyze_sql("select event_id, json_array_length(payload->'items') as n_items, "
                    "coalesce(payload->'items', '[]') as items, coalesce(payload->'a'->>'b', 'z') as b "
                    "from {{ input('events') }}", dialect, EVENTS)
    assert a.ok and not a.unknown, (a.error, a.unknown)
    for name in ("n_items", "items", "b"):
        assert set(a.column(name).sources) == {("events", "payload")}, name
    typo = analyze_sql("select event_id from {{ input('events') }} where json_array_length(paylod->'items') > 0",
                       dialect, EVENTS)
    assert [u.name for u in typo.unknown] == ["paylod"]


def test_a_real_lambda_stays_one():
    """A lambda of a list function, of an unknown function (a macro) whose parameter is no column, and on Snowflake
    (no JSON arrow) keeps its parameter out of the columns."""
    a = run("select list_transform(tags, x -> x || 'a') as a, list_filter(tags, x -> x = 'k') as b, "
            "my_macro(tags, y -> y + 1) as c, list_transform(tags, lambda x: coalesce(x -> 'a', 'b')) as d "
            "from {{ input('events') }}", EVENTS)
    assert a.ok and not a.unknown, (a.error, a.unknown)
    assert all(set(c.sources) == {("events", "tags")} for c in a.columns)
    snow = analyze_sql("select transform(tags, x -> x || 'a') as a from {{ input('events') }}", "snowflake", EVENTS)
    assert snow.ok and not snow.unknown


@pytest.mark.parametrize("body", ["x || '@' || sku", "x.f || sku", "list_transform(tags, lambda y: x || y || sku)"])
def test_a_lambda_body_reads_the_columns_that_are_not_its_parameters(body):
    """In `lambda x: x || sku`, x is the parameter, sku a column of the inputs: followed (PII too) and checked."""
    sql = f"select list_transform(string_split(tags, '|'), lambda x: {body}) as tagged from {{{{ input('events') }}}}"
    a = run(sql, EVENTS)
    assert a.ok and not a.unknown, (a.error, a.unknown)
    assert set(a.column("tagged").sources) == {("events", "tags"), ("events", "sku")}
    typo = run(sql.replace("sku", "skuu"), EVENTS)
    assert [u.name for u in typo.unknown] == ["skuu"]
    hidden = run("select list_transform(tags, lambda sku: sku || 'a') as t from {{ input('events') }}", EVENTS)
    assert set(hidden.column("t").sources) == {("events", "tags")}  # a parameter hides the column of its name


PEOPLE = (("customers", ("customer_id", "email", "full_name", "country")),)
STRUCT = ("with s as (select customer_id, {'e': email, 'n': full_name} as info, "
          "struct_pack(mail := email, cc := country) as packed from {{ input('customers') }}) ")


@pytest.mark.parametrize("ref, reads", [
    ("info.e", {"email"}), ("s.info.e", {"email"}), ("packed.mail", {"email"}), ("packed.cc", {"country"}),
    ("info['n']", {"email", "full_name"}),  # a field by subscript: the whole column
])
def test_a_struct_field_of_a_query_column_reads_the_fields_expression(ref, reads):
    """A field of a struct column that a CTE or subquery makes (`info.e`, `s.info.e`) derives from that field's
    expression (PII too), not from nothing."""
    a = run(STRUCT + f"select customer_id, {ref} as x from s", PEOPLE)
    assert a.ok and not a.unknown, (a.error, a.unknown)
    assert set(a.column("x").sources) == {("customers", c) for c in reads}


def test_a_struct_field_of_a_passed_on_struct_reads_the_whole_column():
    a = run(STRUCT + ", t as (select info from s) select info.e as x, t.info.n as y from t", PEOPLE)
    assert a.ok and not a.unknown, (a.error, a.unknown)
    assert set(a.column("x").sources) == set(a.column("y").sources) == {("customers", "email"),
                                                                        ("customers", "full_name")}


def test_a_struct_star_makes_its_fields():
    """`s.*` of a struct column s makes a column per field where the query makes the struct, each from its
    expression; open columns otherwise."""
    a = run("select customer_id, s.* from (select customer_id, {'mail': email, 'cc': country} as s "
            "from {{ input('customers') }})", PEOPLE)
    assert a.ok and not a.unknown and OPEN_OUTPUTS not in a.notes, (a.error, a.unknown, a.notes)
    assert sources(a) == {"customer_id": {("customers", "customer_id")}, "mail": {("customers", "email")},
                          "cc": {("customers", "country")}}
    open_ = run(STRUCT + ", t as (select info from s) select info.* from t", PEOPLE)
    assert open_.ok and not open_.unknown and OPEN_OUTPUTS in open_.notes
