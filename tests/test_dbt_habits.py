"""The hint a dbt user gets for the dbt Jinja they wrote in a transform's SQL (compiler.spec.dbt_habits)."""

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
    assert jinja_hint("{{ var('since') }}", (), _tables) == DEFAULT_HINT
    assert jinja_hint("{% endif %}", (), _tables) == DEFAULT_HINT


def test_a_semicolon_counts_only_when_it_ends_the_statement_not_inside_a_comment_or_string():
    from compiler.front.sql.semicolon import final_semicolon

    assert final_semicolon("select 1 from t -- add channel;", "duckdb") is None
    assert final_semicolon("select 1 from t /* ; */", "postgres") is None
    assert final_semicolon("select ';' as x from t", "duckdb") is None
    assert final_semicolon("select 1 from t; -- done", "duckdb") == 15
    assert final_semicolon("select 1 from t;\n/* end */\n", "postgres") == 15
    assert final_semicolon("select 1 from {{ input('t') }};", "duckdb") == 30
