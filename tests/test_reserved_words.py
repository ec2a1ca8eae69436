"""Column names that generated SQL cannot use unquoted (compiler.front.rules.types.check_names): the words
DuckDB and Postgres reserve always, and Snowflake's or BigQuery's where an environment's warehouse is one."""

from __future__ import annotations

import pytest
from conftest import parse_text_report

CUSTOMERS = "specs/datasets/customers.yaml"
NAMES = {"snowflake": "Snowflake", "bigquery": "BigQuery"}
WAREHOUSES = {
    "snowflake": {"type": "snowflake", "account": "acme-xy12345", "database": "analytics", "warehouse": "wh",
                  "user": "specops", "password_env": "SNOWFLAKE_PASSWORD"},
    "bigquery": {"type": "bigquery", "project": "acme-analytics", "dataset": "churn"},
}


def _rename(edit, new: str) -> None:
    edit.replace(CUSTOMERS, "- name: segment", f"- name: {new}")


def _reserved(result) -> list[str]:
    return [d.message for d in parse_text_report(result.output) if d.code == "reserved-word" and d.is_in(CUSTOMERS)]


def _add_environment(edit, warehouse: str) -> None:
    edit.append_docs("specs/environments.yaml", {
        "apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": f"on_{warehouse}"},
        "spec": {"warehouse": WAREHOUSES[warehouse], "kubernetes": {"namespace": f"ml-{warehouse}"}}})


def test_a_word_every_warehouse_reserves_is_refused(edit, validate_cli):
    _rename(edit, "select")
    assert _reserved(validate_cli(edit.root)) == ["dataset.customers: column name 'select' is an SQL reserved word"]


@pytest.mark.parametrize(("word", "warehouse"), [("start", "snowflake"), ("values", "snowflake"),
                                                 ("hash", "bigquery"), ("range", "bigquery")])
def test_a_word_only_another_warehouse_reserves_is_refused_where_an_environment_uses_it(edit, validate_cli, word,
                                                                                       warehouse):
    _rename(edit, word)
    assert _reserved(validate_cli(edit.root)) == []  # DuckDB and Postgres environments only: a fine name
    _add_environment(edit, warehouse)
    assert _reserved(validate_cli(edit.root)) == [
        f"dataset.customers: column name '{word}' is an SQL reserved word in {NAMES[warehouse]} (an "
        "environment's warehouse)"]
