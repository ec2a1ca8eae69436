"""How specops reads the SQL users write the way they are used to: dbt Jinja (compiler.spec.dbt_habits), a `;`, the
queries of `sql` checks."""

from compiler.spec.dbt_habits import DEFAULT_HINT, jinja_hint


def _tables(schema: str, table: str) -> str | None:
    return {("raw", "orders"): "raw_orders"}.get((schema.lower(), table.lower()))


def test_a_ref_becomes_the_input_of_the_same_name_and_says_when_it_is_not_declared():
    assert jinja_hint("{{ ref('orders') }}", ("orders",), _tables) == (
        "write {{ input('orders') }} instead (specops writes the dbt ref itself)")
    hint = jinja_hint('{{ref("my_pkg", "customers")}}', ("orders",), _tables)
    assert hint.startswith("write {{ input('customers') }} instead")
    assert hint.endswith("and add customers to the transform's inputs")


def test_a_source_names_the_dataset_that_is_that_table_else_says_how_to_declare_one():
    hint = jinja_hint("{{ source('RAW', 'orders') }}", ("raw_orders",), _tables)
    assert hint == "write {{ input('raw_orders') }} instead: dataset.raw_orders is the table RAW.orders"
    hint = jinja_hint("{{ source('raw', 'refunds') }}", (), _tables)
    assert "source: {type: table, schema: raw, table: refunds}" in hint


def test_config_and_incremental_blocks_point_at_the_spec_fields():
    assert "materialization" in jinja_hint("{{ config(materialized='view') }}", (), _tables)
    assert "incremental: {unique_key, updated_at}" in jinja_hint("{% if is_incremental() %}", (), _tables)
    assert "incremental" in jinja_hint("{{ this }}", (), _tables)


def test_other_jinja_keeps_the_general_hint():
    assert jinja_hint("{% endif %}", (), _tables) == DEFAULT_HINT
    assert jinja_hint("{{ my_thing }}", (), _tables) == DEFAULT_HINT


def test_vars_macros_and_model_layout_say_what_specops_has_instead():
    """A team moving from dbt got the general hint for var(), dbt_utils and dbt macros, and the config hint alone for
    partition_by/cluster_by, which specops has no field for; a ref to a model not declared yet named it as an input."""
    assert jinja_hint("{{ var('since') }}", (), _tables).startswith("specs are not templated: write the value")
    assert jinja_hint("{{ env_var('X') }}", (), _tables).startswith("specs are not templated")
    hint = jinja_hint("{{ dbt_utils.generate_surrogate_key(['a', 'b']) }}", (), _tables)
    assert hint.startswith("write the SQL that dbt_utils.generate_surrogate_key makes")
    assert jinja_hint("{{ dbt.dateadd('day', -1, 'x') }}", (), _tables).startswith("write the SQL that dbt.dateadd")
    hint = jinja_hint("{{ config(materialized='incremental', cluster_by=['d']) }}", (), _tables)
    assert hint.endswith("a model's partitioning, clustering, incremental strategy, schema or alias has no spec "
                         "field (specops writes none of them)")
    assert "partitioning" not in jinja_hint("{{ config(materialized='view') }}", (), _tables)
    hint = jinja_hint("{{ ref('stg_orders') }}", ("orders",), _tables, datasets=("orders", "customers"))
    assert hint.endswith("no dataset is named stg_orders: a dbt model is a Dataset in specops, built by a "
                         "Transform whose output it is")
    assert jinja_hint("{{ ref('customers') }}", ("orders",), _tables, datasets=("orders", "customers")).endswith(
        "and add customers to the transform's inputs")


def test_a_semicolon_counts_only_when_it_ends_the_statement_not_inside_a_comment_or_string():
    from compiler.front.sql.semicolon import Semicolon, semicolon

    assert semicolon("select 1 from t -- add channel;", "duckdb") is None
    assert semicolon("select 1 from t /* ; */", "postgres") is None
    assert semicolon("select ';' as x from t", "duckdb") is None
    assert semicolon("select 1 from t; -- done", "duckdb") == Semicolon(15, True)
    assert semicolon("select 1 from t;\n/* end */\n", "postgres") == Semicolon(15, True)
    assert semicolon("select 1 from {{ input('t') }};", "duckdb") == Semicolon(30, True)
    assert semicolon("select 1 from t;;", "duckdb") == Semicolon(15, True)
    assert semicolon("select 1 from t; drop table t", "duckdb") == Semicolon(15, False)


def test_a_second_statement_is_an_error_at_its_semicolon(tmp_path):
    """`select ...; drop table readings` was a warning only (the SQL could not be analysed); dbt failed on it in
    apply, its line in the generated model. A transform and a sql check are one query each."""
    from compiler.front.check import check_repository
    from tests.conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

    ed = RepoEditor(copy_repository(EXAMPLE_ROOT, tmp_path / "churn"))
    sql = "sql/customer_activity.sql"
    ed.replace(sql, "    on t.customer_id = s.customer_id", "    on t.customer_id = s.customer_id;\ndrop table x")
    ed.replace("specs/quality/sources.yaml", "where status = 'active'\n", "where status = 'active'; select 1\n")
    _, diags = check_repository(ed.root)
    found = sorted((d.file, d.code, d.message) for d in diags if d.code == "sql-semicolon")
    assert found == [
        ("specs/quality/sources.yaml", "sql-semicolon", "the check's SQL holds more than one statement (';' ends the "
         "first): the dbt test it becomes runs one query"),
        (sql, "sql-semicolon", "the SQL holds more than one statement (';' ends the first): a transform is one query, "
         "the dbt model it becomes")]
    assert [d.code for d in diags if d.file == sql] == ["sql-semicolon"]  # not also "cannot analyse this SQL"
    (d,) = [d for d in diags if d.file == sql and d.code == "sql-semicolon"]
    assert (d.line, d.col) == (ed.line_of(sql, "    on t.customer_id = s.customer_id;"),
                               len("    on t.customer_id = s.customer_id") + 1)


def test_a_sql_check_is_read_against_its_dataset_and_other_tables_it_reads_are_not_judged(tmp_path):
    """The columns a `sql` check's query reads from {{ dataset }} are checked; a table it reads that is not the
    dataset (a warehouse table) has unknown columns, so nothing read from it is an error."""
    from compiler.front.check import check_repository
    from tests.conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.replace("specs/quality/sources.yaml", "where status = 'active'\n",
               "where status = 'active' and plan_tier = 'pro' and not exists (select 1 from audit.closed x "
               "where x.id = customer_id and x.reason = tier)\n")
    _, diags = check_repository(root)
    errors = [d for d in diags if d.severity == "error"]
    # plan_tier: not a column of subscriptions; tier may be one of audit.closed (unknown columns): no error
    assert [d.code for d in errors] == ["unknown-sql-column"], errors
    assert "'plan_tier'" in errors[0].message and "dataset.subscriptions" in errors[0].message
    ed.replace("specs/quality/sources.yaml", "plan_tier = 'pro'", "status = 'active'")
    _, diags = check_repository(root)
    assert [d for d in diags if d.severity == "error"] == []


def test_a_source_named_like_a_declared_input_points_at_that_input():
    hint = jinja_hint("{{ source('raw', 'subscriptions') }}", ("subscriptions", "customers"), _tables)
    assert hint == "write {{ input('subscriptions') }} instead: dataset.subscriptions is that table in specops"


def test_a_transform_reading_a_table_by_name_is_an_error_with_the_input_to_write(tmp_path):
    """`where c.customer_id in (select customer_id from subscriptions)` passed validate: the table was read without
    {{ input() }}, so a change of its data planned no rebuild, and a misspelled table failed only in dbt."""
    from compiler.front.check import check_repository
    from tests.conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

    ed = RepoEditor(copy_repository(EXAMPLE_ROOT, tmp_path / "churn"))
    sql = "sql/customer_activity.sql"
    ed.replace(sql, "    on t.customer_id = s.customer_id",
               "    on t.customer_id = s.customer_id\nwhere s.customer_id in (select customer_id from customers)"
               " and s.customer_id not in (select customer_id from audit.closed)")
    _, diags = check_repository(ed.root)
    found = [d for d in diags if d.code == "sql-table"]
    assert [(d.file, d.line) for d in found] == [(sql, ed.line_of(sql, "where s.customer_id in"))] * 2
    assert found[0].message == ("the SQL reads the table 'customers' by its name: a transform reads its inputs "
                                "through {{ input('<dataset>') }}, which give it its lineage and build order")
    assert found[0].hint == "write {{ input('customers') }}, and add customers to the transform's inputs"
    assert found[1].hint.startswith("declare the table as a Dataset (source: {type: table, schema: ..., table: "
                                    "closed})")
