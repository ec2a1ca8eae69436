"""`sql-column-type`: a cast's type is compared with the declared type in the warehouse's terms, the default
environment's (compiler.front.sql.types): what the cast makes there against what the dbt contract declares there.
And SQL that cannot be split into tokens is reported where it goes wrong, in the user's words."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from conftest import EXAMPLE_ROOT, REPO_ROOT, RepoEditor, copy_repository

from compiler.emit.dbt.names import type_names
from compiler.front.check import check_repository
from compiler.front.sql import analyze_sql
from compiler.front.sql.placeholders import restore, substitute
from compiler.front.sql.types import cast_type, declarable, declared_type, mismatch
from compiler.spec.warehouse_types import SPEC_TYPES, type_name

WAREHOUSES = ("duckdb", "postgres", "snowflake", "bigquery")
DECLARABLE = re.compile(r"^(string|integer|bigint|double|boolean|date|timestamp|json|decimal\([1-9][0-9]?,\s*[0-9][0-9]?\))$")
ACTIVITY_SQL = "sql/customer_activity.sql"
FEATURES_T = "specs/transforms/customer_features.yaml"


def cast_of(sql_type: str, dialect: str) -> str:
    """The cast's type text as the analysis gives it for `cast(x as <sql_type>)` in the dialect."""
    a = analyze_sql(f"select cast(x as {sql_type}) as y from {{{{ input('o') }}}}", dialect, (("o", ("x",)),))
    assert a.ok and a.columns[0].cast is not None, a.error
    return a.columns[0].cast


@pytest.mark.parametrize("dialect", WAREHOUSES)
@pytest.mark.parametrize("spec_type", [*SPEC_TYPES, "decimal(10,2)", "decimal(38,0)", "decimal(38,2)", "decimal(12,11)"])
def test_a_cast_to_the_name_the_contract_uses_is_the_declared_type(dialect, spec_type):
    cast = cast_of(type_name(spec_type, dialect), dialect)
    assert cast_type(cast, dialect) == declared_type(spec_type, dialect)  # compared, and equal
    assert not mismatch(spec_type, cast, dialect)


@pytest.mark.parametrize("spec_type", [*SPEC_TYPES, "decimal(10,2)"])
def test_the_compared_name_is_the_one_the_dbt_project_renders(spec_type):
    chosen = type_names(WAREHOUSES)(spec_type)
    for warehouse in WAREHOUSES:
        assert jinja2.Template(chosen).render(target={"type": warehouse}) == type_name(spec_type, warehouse)



def test_the_reference_lists_each_types_name_on_each_warehouse():
    text = (REPO_ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    for spec_type in [*SPEC_TYPES, "decimal(10,2)"]:
        row = f"| `{spec_type}` | " + " | ".join(declared_type(spec_type, w) for w in WAREHOUSES) + " |"
        assert row in text, row

SAME = [  # (warehouse, declared, what the SQL casts to): the same column type on that warehouse
    ("bigquery", "integer", "int64"), ("bigquery", "integer", "integer"), ("bigquery", "integer", "bigint"),
    ("bigquery", "bigint", "int64"), ("bigquery", "bigint", "int"), ("bigquery", "integer", "smallint"),
    ("bigquery", "timestamp", "timestamp"), ("bigquery", "double", "float64"), ("bigquery", "boolean", "bool"),
    ("bigquery", "string", "string"), ("bigquery", "decimal(10,2)", "numeric(10,2)"), ("bigquery", "json", "json"),
    ("snowflake", "integer", "number(38,0)"), ("snowflake", "integer", "number"), ("snowflake", "integer", "bigint"),
    ("snowflake", "bigint", "int"), ("snowflake", "integer", "decimal"), ("snowflake", "decimal(38,0)", "integer"),
    ("snowflake", "decimal(10,2)", "number(10,2)"), ("snowflake", "double", "float"), ("snowflake", "double", "double"),
    ("snowflake", "timestamp", "timestamp_ntz"), ("snowflake", "timestamp", "datetime"), ("snowflake", "json", "variant"),
    ("snowflake", "string", "text"), ("snowflake", "string", "string"),
    ("postgres", "integer", "int4"), ("postgres", "integer", "int"), ("postgres", "bigint", "int8"),
    ("postgres", "double", "float8"), ("postgres", "double", "double precision"), ("postgres", "double", "float"),
    ("postgres", "string", "text"), ("postgres", "string", "varchar(20)"), ("postgres", "string", "character varying"),
    ("postgres", "timestamp", "timestamp"), ("postgres", "decimal(10,2)", "decimal(10,2)"),
    ("duckdb", "integer", "int4"), ("duckdb", "bigint", "int8"), ("duckdb", "bigint", "long"),
    ("duckdb", "double", "float8"), ("duckdb", "string", "text"), ("duckdb", "string", "string"),
    ("duckdb", "timestamp", "datetime"), ("duckdb", "decimal(18,3)", "decimal"), ("duckdb", "boolean", "bool"),
]
OTHER = [  # (warehouse, declared, what the SQL casts to, the warehouse's name of it): another type there
    ("bigquery", "timestamp", "datetime", "DATETIME"), ("bigquery", "integer", "string", "STRING"),
    ("bigquery", "integer", "float64", "FLOAT64"), ("bigquery", "date", "timestamp", "TIMESTAMP"),
    ("snowflake", "integer", "number(10,2)", "NUMBER(10,2)"), ("snowflake", "timestamp", "timestamp_tz", "TIMESTAMP_TZ"),
    ("snowflake", "integer", "varchar", "VARCHAR"), ("snowflake", "double", "number", "NUMBER(38,0)"),
    ("postgres", "integer", "int8", "BIGINT"), ("postgres", "timestamp", "timestamptz", "TIMESTAMPTZ"),
    ("postgres", "double", "real", "REAL"), ("postgres", "json", "jsonb", "JSONB"), ("postgres", "string", "int", "INTEGER"),
    ("duckdb", "double", "float", "FLOAT"), ("duckdb", "timestamp", "timestamptz", "TIMESTAMPTZ"),
    ("duckdb", "integer", "bigint", "BIGINT"), ("duckdb", "double", "decimal(10,2)", "DECIMAL(10,2)"),
]


@pytest.mark.parametrize(("dialect", "declared", "sql_type"), SAME)
def test_aliases_of_the_declared_type_on_the_warehouse_are_not_a_mismatch(dialect, declared, sql_type):
    assert not mismatch(declared, cast_of(sql_type, dialect), dialect)


@pytest.mark.parametrize(("dialect", "declared", "sql_type", "named"), OTHER)
def test_another_type_on_the_warehouse_is_a_mismatch(dialect, declared, sql_type, named):
    cast = cast_of(sql_type, dialect)
    assert mismatch(declared, cast, dialect) and cast_type(cast, dialect) == named


@pytest.mark.parametrize(("dialect", "sql_type"), [("duckdb", "timestamp(3)"), ("snowflake", "timestamp(3)"),
                                                   ("postgres", "decimal"), ("bigquery", "numeric"),
                                                   ("postgres", "interval"), ("duckdb", "float(10)")])
def test_types_that_are_not_certain_are_not_compared(dialect, sql_type):
    assert cast_type(cast_of(sql_type, dialect), dialect) is None


def test_hints_propose_only_declarable_types():
    assert declarable("DATETIME", "bigquery") is None and declarable("TIMESTAMPTZ", "postgres") is None
    assert declarable("SMALLINT", "postgres") is None and declarable("TIMESTAMP_TZ", "snowflake") is None
    assert declarable("NUMBER(10,2)", "snowflake") == "decimal(10,2)"
    assert declarable("NUMBER(38,0)", "snowflake") == "integer" and declarable("BIGINT", "postgres") == "bigint"
    assert declarable("NUMERIC(120,2)", "postgres") is None  # beyond the schema's decimal(p,s)
    for dialect, _, sql_type, _ in OTHER:
        found = declarable(cast_type(cast_of(sql_type, dialect), dialect) or "", dialect)
        assert found is None or DECLARABLE.match(found), (dialect, sql_type, found)


# --- validate on examples/churn, its default environment on each warehouse --------------------------------------

ENVIRONMENTS = {
    "duckdb": "{type: duckdb, path: .specops/qa.duckdb}",
    "postgres": "{type: postgres, host: h, database: db, user: u}",
    "snowflake": "{type: snowflake, account: a, database: DB, warehouse: W, user: u}",
    "bigquery": "{type: bigquery, project: p, dataset: d}",
}


def churn_on(tmp_path: Path, warehouse: str) -> RepoEditor:
    """A copy of examples/churn whose default environment is a `qa` one on `warehouse`."""
    ed = RepoEditor(copy_repository(EXAMPLE_ROOT, tmp_path / "churn"))
    ed.write("specs/qa_environment.yaml", "apiVersion: specops/v1\nkind: Environment\nmetadata: {name: qa}\n"
                                          f"spec:\n  warehouse: {ENVIRONMENTS[warehouse]}\n")
    ed.replace("specops.yaml", "default_environment: dev", "default_environment: qa")
    return ed


def type_errors(ed: RepoEditor) -> list:
    _, diags = check_repository(ed.root)
    return [d for d in diags if d.code == "sql-column-type"]


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_the_example_casts_to_its_declared_types_on_every_warehouse(tmp_path, warehouse):
    # on BigQuery `cast(... as timestamp) as updated_at` was "cast to timestamptz" (sqlglot's reading)
    assert type_errors(churn_on(tmp_path, warehouse)) == []


def test_bigquery_compares_int64_timestamp_and_datetime_as_bigquery_does(tmp_path):
    ed = churn_on(tmp_path, "bigquery")
    ed.replace(ACTIVITY_SQL, "cast(s.active_subscriptions as integer)", "cast(s.active_subscriptions as int64)")
    assert type_errors(ed) == []  # INT64 is what the contract declares for `integer` on BigQuery
    ed.replace(ACTIVITY_SQL, "        as timestamp\n", "        as datetime\n")
    (found,) = type_errors(ed)
    assert (found.file, found.line) == (ACTIVITY_SQL, ed.line_of(ACTIVITY_SQL, ") as updated_at", -1))
    assert "cast to DATETIME" in found.message and "declares timestamp, which is TIMESTAMP on BigQuery" in found.message
    assert found.hint == "cast it to timestamp"  # no `declare timestamptz`: not a column type of specops


@pytest.mark.parametrize("numeric", ["numeric", "bignumeric"])
def test_a_bare_numeric_on_bigquery_is_a_decimal_never_float64(tmp_path, numeric):
    """A bare NUMERIC (BIGNUMERIC) leaves its precision and scale undecided, but on BigQuery it is a decimal: cast into
    a `double` column (FLOAT64 there) it is certainly another type, which was not reported. Into a decimal column its
    parameters are still not compared; on Postgres a bare numeric stays undecided."""
    ed = churn_on(tmp_path, "bigquery")
    ed.replace(ACTIVITY_SQL, "cast(t.avg_satisfaction as double precision)", f"cast(t.avg_satisfaction as {numeric})")
    (found,) = type_errors(ed)
    assert (found.file, found.line) == (ACTIVITY_SQL, ed.line_of(ACTIVITY_SQL, f"as {numeric}) as avg_satisfaction"))
    assert f"cast to {numeric.upper()} but dataset.customer_activity declares double, which is FLOAT64 on BigQuery" \
        in found.message
    assert found.hint == "cast it to float64"
    ed.replace(ACTIVITY_SQL, f"cast(t.avg_satisfaction as {numeric})", "cast(t.avg_satisfaction as float64)")
    ed.replace(ACTIVITY_SQL, "cast(s.avg_monthly_price as decimal(10,2))", f"cast(s.avg_monthly_price as {numeric})")
    assert type_errors(ed) == []  # decimal(10,2): its parameters are not compared
    assert mismatch("integer", cast_of(numeric, "bigquery"), "bigquery")
    assert not mismatch("double", cast_of("numeric", "postgres"), "postgres")


@pytest.mark.parametrize(("spec_type", "name"), [
    ("decimal(10,2)", "numeric(10,2)"), ("decimal(38,9)", "numeric(38,9)"), ("decimal(29,0)", "numeric(29,0)"),
    ("decimal(30,0)", "bignumeric(30,0)"), ("decimal(38,2)", "bignumeric(38,2)"), ("decimal(12,10)", "bignumeric(12,10)")])
def test_bigquery_holds_a_decimal_numeric_cannot_in_bignumeric(spec_type, name):
    """BigQuery's NUMERIC has a scale of at most 9 and at most 29 digits before the point: `NUMERIC(38,2)` is an
    error there, so the contract (and a seed's column type) says BIGNUMERIC; the other warehouses keep NUMERIC."""
    assert type_name(spec_type, "bigquery") == name
    assert type_name(spec_type, "postgres") == spec_type.replace("decimal", "numeric")
    mixed = type_names(["duckdb", "bigquery"])(spec_type)
    rendered = {w: jinja2.Template(mixed).render(target={"type": w}) for w in ("duckdb", "bigquery")}
    assert rendered == {"duckdb": spec_type.replace("decimal", "numeric"), "bigquery": name}


def test_snowflake_integers_are_number_38_0(tmp_path):
    ed = churn_on(tmp_path, "snowflake")
    ed.replace(ACTIVITY_SQL, "cast(s.active_subscriptions as integer)", "cast(s.active_subscriptions as number(38,0))")
    ed.replace(ACTIVITY_SQL, "cast(coalesce(t.support_tickets, 0) as integer)",
               "coalesce(t.support_tickets, 0)::number")
    assert type_errors(ed) == []
    ed.replace(ACTIVITY_SQL, "as number(38,0)", "as number(10,2)")
    (found,) = type_errors(ed)
    assert "cast to NUMBER(10,2)" in found.message and "NUMBER(38,0) on Snowflake" in found.message
    assert found.hint == "cast it to integer, or declare decimal(10,2)"


def test_postgres_keeps_timestamptz_and_another_integer_size_apart(tmp_path):
    ed = churn_on(tmp_path, "postgres")
    ed.replace(ACTIVITY_SQL, "cast(s.active_subscriptions as integer)", "cast(s.active_subscriptions as int4)")
    assert type_errors(ed) == []
    ed.replace(ACTIVITY_SQL, "        as timestamp\n", "        as timestamptz\n")
    ed.replace(ACTIVITY_SQL, "as int4)", "as int8)")
    found = {d.message.split("'")[1]: d for d in type_errors(ed)}
    assert set(found) == {"updated_at", "active_subscriptions"}
    assert found["updated_at"].hint == "cast it to timestamp"
    assert found["active_subscriptions"].hint == "cast it to integer, or declare bigint"


def test_a_copied_column_is_compared_in_the_warehouses_terms_too(tmp_path):
    ed = churn_on(tmp_path, "bigquery")
    ed.replace(FEATURES_T, "cast(c.segment as varchar) as segment", "c.customer_id as segment")
    (found,) = type_errors(ed)  # integer into a string column: another type on any warehouse
    assert "copies customers.customer_id (integer)" in found.message and found.hint == "cast it: cast(... as string)"


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_a_column_cast_in_a_subquery_or_cte_has_the_casts_type(tmp_path, warehouse):
    """`select n from (select cast(x as t) as n ...)`: n is of type t, not x's (a false "copies x" before); a plain copy
    through a subquery is still x's type."""
    ed = churn_on(tmp_path, warehouse)
    ed.replace(FEATURES_T, "cast(c.segment as varchar) as segment", "c.seg as segment")
    ed.replace(FEATURES_T, "from {{ input('customers') }} as c",
               "from (select *, cast(customer_id as varchar) as seg, customer_id as plain\n"
               "          from {{ input('customers') }}) as c")
    assert type_errors(ed) == []
    ed.replace(FEATURES_T, "c.seg as segment", "c.plain as segment")
    (found,) = type_errors(ed)
    assert "'segment' copies customers.customer_id (integer)" in found.message
    sql = ("with t as (select amount::bigint as x, cast(amount as decimal(10,2)) as y from {{ input('o') }}), "
           "u as (select * from t) select u.x, y from u join {{ input('o') }} o on o.amount = u.x")
    a = analyze_sql(sql, warehouse, (("o", ("amount",)),))
    assert [(c.name, c.cast, c.passthrough) for c in a.columns] == [("x", "BIGINT", ("o", "amount")),
                                                                   ("y", "DECIMAL(10,2)", ("o", "amount"))]


# --- SQL that cannot be split into tokens ---------------------------------------------------------------------


@pytest.mark.parametrize("dialect", WAREHOUSES)
def test_an_unclosed_string_is_reported_at_its_quote_in_the_users_words(dialect):
    sql = "select event_id\nfrom {{ input('events') }}\nwhere kind = 'x\n"
    a = analyze_sql(sql, dialect, (("events", ("event_id", "kind")),))
    assert not a.ok and a.error_offset == sql.index("'x")
    assert a.error == "invalid SQL: the ' here is never closed" and "__in_" not in a.error


def test_an_unclosed_comment_is_reported_where_it_opens():
    sql = "select a from {{ input('events') }} /* the rest"
    a = analyze_sql(sql, "duckdb", (("events", ("a",)),))
    assert a.error_offset == sql.index("/*") and "/*" in (a.error or "")


def test_messages_name_inputs_as_the_sql_does():
    sql = "select a from {{ input('events') }} join {{ input('events_raw') }}"
    assert restore(f"near {substitute(sql)[14:]}", sql) == f"near {sql[14:]}"


def test_an_unclosed_string_in_an_inline_block_points_into_the_yaml(tmp_path):
    ed = RepoEditor(copy_repository(EXAMPLE_ROOT, tmp_path / "churn"))
    ed.replace(FEATURES_T, "cross join snapshot as s", "cross join snapshot as s where c.segment = 'x")
    _, diags = check_repository(ed.root)
    (found,) = [d for d in diags if d.code == "sql-unparsed"]
    line = ed.line_of(FEATURES_T, "c.segment = 'x")
    assert (found.file, found.line, found.col) == (FEATURES_T, line, ed.read(FEATURES_T).splitlines()[line - 1].index("'x") + 1)
    assert "__in_" not in found.message



# --- quoted names: their case on each warehouse --------------------------------------------------------------------


def sql_errors(ed: RepoEditor) -> list:
    _, diags = check_repository(ed.root)
    return [d for d in diags if "sql-" in d.code and d.severity == "error"]


@pytest.mark.parametrize(("warehouse", "alias", "wrong"), [
    ("postgres", '"Customer_ID"', True), ("postgres", '"customer_id"', False),
    ("snowflake", '"customer_id"', True), ("snowflake", '"CUSTOMER_ID"', False),
    ("duckdb", '"Customer_ID"', False), ("bigquery", "`Customer_ID`", False),
])
def test_a_quoted_output_name_is_the_declared_column_only_in_the_case_the_warehouse_compares(
        tmp_path, warehouse, alias, wrong):
    """The dbt model selects `cast(customer_id as integer) as customer_id` from the transform's SQL: on Postgres that
    is `customer_id`, on Snowflake `CUSTOMER_ID`, and a name quoted in another case is another column there."""
    ed = churn_on(tmp_path, warehouse)
    ed.replace(ACTIVITY_SQL, "cast(s.customer_id as integer) as customer_id", f"cast(s.customer_id as integer) as {alias}")
    found = sorted((d.code, d.hint) for d in sql_errors(ed))
    if not wrong:
        assert found == []
        return
    assert [code for code, _ in found] == ["sql-missing-column", "sql-undeclared-column"]
    assert all(f"{alias} is not customer_id" in hint for _, hint in found), found


@pytest.mark.parametrize(("warehouse", "wrong"), [("postgres", True), ("snowflake", False), ("duckdb", False),
                                                  ("bigquery", False)])
def test_a_quoted_input_column_in_another_case_is_unknown_on_postgres(tmp_path, warehouse, wrong):
    """Postgres keeps a quoted name's case: `"Customer_ID"` is no column `customer_id` (the column does not exist);
    DuckDB and BigQuery compare names case-insensitively, and a Snowflake input's case is not known: no error."""
    ed = churn_on(tmp_path, warehouse)
    quoted = "`Status`" if warehouse == "bigquery" else '"Status"'
    ed.replace(ACTIVITY_SQL, "when status = 'active'", f"when {quoted} = 'active'")
    found = [(d.code, d.message, d.hint) for d in sql_errors(ed)]
    if not wrong:
        assert found == []
        return
    ((code, message, hint),) = found
    assert code == "unknown-sql-column" and message.startswith('column "Status" is not a column')
    assert hint == 'Postgres keeps the case of a quoted name: "Status" is not status; write status unquoted (or ' \
                   "quoted in lower case)"


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_an_ambiguous_column_is_reported_where_it_is_named(tmp_path, warehouse):
    ed = churn_on(tmp_path, warehouse)
    ed.replace(ACTIVITY_SQL, "cast(s.customer_id as integer) as customer_id", "cast(customer_id as integer) as customer_id")
    (found,) = sql_errors(ed)
    assert found.code == "ambiguous-sql-column" and found.file == ACTIVITY_SQL
    assert found.message == "column 'customer_id' is ambiguous: both s and t have a column of that name"
    assert found.hint == "qualify it: s.customer_id or t.customer_id"
    assert (found.line, found.col) == (ed.line_of(ACTIVITY_SQL, "cast(customer_id as integer)"), len("    cast(") + 1)


def test_a_using_column_a_side_lacks_is_reported_at_it(tmp_path):
    ed = churn_on(tmp_path, "postgres")
    ed.replace(ACTIVITY_SQL, "    on t.customer_id = s.customer_id", "    using (customer_idd)")
    (found,) = sql_errors(ed)
    assert found.code == "unknown-sql-column" and found.message == "column 'customer_idd' in USING is not a column " \
        "of 't'"
    assert found.hint == "USING names a column that both sides of the join have; did you mean 'customer_id'?"
    assert (found.line, found.col) == (ed.line_of(ACTIVITY_SQL, "using (customer_idd)"), len("    using (") + 1)


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_a_column_a_lateral_subquery_reads_of_the_from_item_before_it_is_checked(tmp_path, warehouse):
    """A LATERAL subquery's SQL is read (the whole query was a `sql-unparsed` warning before): its columns of the FROM
    item before it are checked, at their place in the .sql file."""
    ed = churn_on(tmp_path, warehouse)
    lateral = "cross join lateral (select s.subscription_cont + 1 as n) as x"
    ed.replace(ACTIVITY_SQL, "from subscription_rollup as s\n", f"from subscription_rollup as s\n{lateral}\n")
    (found,) = sql_diagnostics(ed)
    assert found.code == "unknown-sql-column" and found.file == ACTIVITY_SQL
    assert found.message == "column 'subscription_cont' is not a column of 's'"
    assert (found.line, found.col) == (ed.line_of(ACTIVITY_SQL, lateral), lateral.index("s.subscription_cont") + 1)
    ed.replace(ACTIVITY_SQL, "s.subscription_cont + 1", "s.subscription_count + 1")
    assert sql_diagnostics(ed) == []


def sql_diagnostics(ed: RepoEditor) -> list:
    """What validate says of the SQL, errors and warnings (`sql-unparsed`) alike."""
    _, diags = check_repository(ed.root)
    return [d for d in diags if "sql" in d.code]


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_a_select_list_alias_in_having_is_an_error_on_postgres_only(tmp_path, warehouse):
    """DuckDB reads `having subscription_count > 0` as the select list's count(*); Postgres has no such column there
    (`column "subscription_count" does not exist`), and validate said nothing."""
    ed = churn_on(tmp_path, warehouse)
    grouped = "    from {{ input('subscriptions') }}\n    group by customer_id\n"
    ed.replace(ACTIVITY_SQL, grouped, grouped + "    having subscription_count > 0\n")
    found = sql_diagnostics(ed)
    if warehouse == "duckdb":
        assert found == []
        return
    (d,) = found
    assert d.code == "unknown-sql-column" and d.file == ACTIVITY_SQL
    assert d.message == "column 'subscription_count' is not a column of any input"
    assert d.hint is not None and d.hint.startswith("'subscription_count' is a select-list alias: Postgres reads those "
                                                    "in GROUP BY and ORDER BY, as a whole item only")
    assert (d.line, d.col) == (ed.line_of(ACTIVITY_SQL, "having subscription_count"), len("    having ") + 1)


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_a_union_sorted_by_what_is_not_its_result_column_is_reported_at_it(tmp_path, warehouse):
    """The ORDER BY of a UNION sorts its result: `plan` is no column of it (both warehouses reject it), and Postgres
    also rejects `k + 1` (whole result columns only), which DuckDB accepts."""
    ed = churn_on(tmp_path, warehouse)
    union = ("    select customer_id as k from {{ input('subscriptions') }}\n"
             "    union all select customer_id from {{ input('support_tickets') }}\n")
    original = ed.read(ACTIVITY_SQL)
    for item, error in (("plan", "column 'plan' is not a column of the result of the UNION, INTERSECT or EXCEPT its "
                                 "ORDER BY sorts"),
                        ("k + 1", "column 'k' is inside an expression in the ORDER BY of a UNION, INTERSECT or "
                                  "EXCEPT: Postgres sorts their result by whole columns only" if warehouse == "postgres"
                         else None)):
        ed.write(ACTIVITY_SQL, original.replace("with ", f"with sorted as (\n{union}    order by {item} limit 5\n),\n", 1))
        found = sql_diagnostics(ed)
        if error is None:
            assert found == []
            continue
        (d,) = found
        assert (d.code, d.message, d.file) == ("unknown-sql-column", error, ACTIVITY_SQL)
        assert (d.line, d.col) == (ed.line_of(ACTIVITY_SQL, f"order by {item}"), len("    order by ") + 1)


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_a_cte_read_before_its_definition_is_an_error_at_the_reference(tmp_path, warehouse):
    ed = churn_on(tmp_path, warehouse)
    ed.replace(ACTIVITY_SQL, "    from {{ input('subscriptions') }}\n", "    from ticket_rollup\n")
    (d,) = sql_diagnostics(ed)
    assert (d.code, d.file) == ("sql-cte-order", ACTIVITY_SQL)
    name = "DuckDB" if warehouse == "duckdb" else "Postgres"
    assert d.message == (f"CTE 'subscription_rollup' reads CTE 'ticket_rollup', which is defined after it: a CTE "
                         f"reads only the CTEs before it ({name} rejects the query)")
    assert d.hint.startswith("define 'ticket_rollup' before 'subscription_rollup'")
    assert (d.line, d.col) == (ed.line_of(ACTIVITY_SQL, "    from ticket_rollup"), len("    from ") + 1)


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_a_subquery_in_from_reading_another_from_item_needs_lateral_on_postgres(tmp_path, warehouse):
    """`from s left join (select ... where x.customer_id = s.customer_id) t`: DuckDB reads s (an implicit LATERAL),
    Postgres rejects the query (`invalid reference to FROM-clause entry for table "s"`), and validate said nothing.
    A LATERAL subquery, or one in WHERE, may read it on both."""
    ed = churn_on(tmp_path, warehouse)
    join = "left join ticket_rollup as t\n    on t.customer_id = s.customer_id"
    derived = ("left join (\n        select * from ticket_rollup as x\n        where x.customer_id = s.customer_id\n"
               "          and support_tickets < subscription_count\n    ) as t on true")
    ed.replace(ACTIVITY_SQL, join, derived)
    found = sql_diagnostics(ed)
    if warehouse == "duckdb":
        assert found == []
    else:
        assert [(d.code, d.file, d.line, d.col) for d in found] == [
            ("sql-lateral", ACTIVITY_SQL, ed.line_of(ACTIVITY_SQL, "where x.customer_id"), len("        where x.customer_id = ") + 1),
            ("sql-lateral", ACTIVITY_SQL, ed.line_of(ACTIVITY_SQL, "and support_tickets"), len("          and support_tickets < ") + 1)]
        assert found[0].message == ("a subquery in FROM reads column 'customer_id' of 's', another item of the same "
                                    "FROM: Postgres lets a subquery read the other FROM items only when it is LATERAL "
                                    "(it rejects the query)")
        assert found[1].message.startswith("a subquery in FROM reads column 'subscription_count' of 's',")
        assert found[0].hint.startswith("write LATERAL before the subquery")
    ed.replace(ACTIVITY_SQL, "left join (\n", "left join lateral (\n")
    assert sql_diagnostics(ed) == []
    # a subquery in WHERE may read the enclosing query's FROM items (a correlated subquery), also inside a FROM
    ed.replace(ACTIVITY_SQL, "left join lateral (\n", "left join (\n")
    ed.replace(ACTIVITY_SQL, "    ) as t on true", "    ) as t on true\nwhere exists (\n    select 1 from (select * from ticket_rollup as y where y.customer_id = s.customer_id) as z\n)")
    ed.replace(ACTIVITY_SQL, "        where x.customer_id = s.customer_id\n          and support_tickets < subscription_count\n", "")
    assert sql_diagnostics(ed) == []
