"""The freshness test's comparison on BigQuery, which compares no TIMESTAMP with a DATETIME or a DATE (no warehouse
runs here: the rendered macro's two sides are typed by sqlglot's BigQuery type rules)."""

from __future__ import annotations

import re

import jinja2
import pytest
import sqlglot
from sqlglot.optimizer.annotate_types import annotate_types

from compiler.shipped import data_dir


def _macro(name: str) -> str:
    text = (data_dir("templates") / "dbt" / "macros" / "specops_tests.sql").read_text(encoding="utf-8")
    m = re.search(r"\{% macro " + name + r"\(value, max_age_minutes\) -%\}\n(.*?)\n\{%- endmacro %\}", text, re.S)
    assert m, f"the macro {name} moved"
    return m.group(1)


@pytest.mark.parametrize("column_type", ["TIMESTAMP", "DATE", "DATETIME"])
def test_bigquery_freshness_compares_two_timestamps(column_type: str) -> None:
    """dbt.dateadd on BigQuery makes a DATETIME (datetime_add(cast(... as datetime), ...)), which BigQuery does not
    compare with the TIMESTAMP a spec `timestamp` column is: every freshness test failed to run there."""
    condition = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(
        _macro("bigquery__specops_older_than")).render(value="max(loaded_at)", max_age_minutes=360)
    query = annotate_types(sqlglot.parse_one(f"select {condition} as stale from t", read="bigquery"),
                           schema={"t": {"loaded_at": column_type}}, dialect="bigquery")
    comparison = query.expressions[0].this
    assert isinstance(comparison, sqlglot.exp.LT), condition
    sides = (comparison.this.type.sql("bigquery"), comparison.expression.type.sql("bigquery"))
    assert sides == ("TIMESTAMP", "TIMESTAMP"), (condition, sides)
    assert "interval 360 minute" in condition
