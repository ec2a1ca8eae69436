"""No data value of a PII column or a restricted dataset in what apply prints or sends: warehouses quote the data
they fail on (DuckDB the value or the whole CSV line, PostgreSQL the failing row), and user code quotes its input
in its exceptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apply_support import fork_of, specops
from conftest import EXAMPLE_ROOT, RepoEditor
from dbt_support import requires_dbt

from compiler.apply.scrub import dataset_secret, hide_quoted, holds_secrets, scrub_values
from compiler.front.check import require_project

EMAIL = "amara.tanaka1001@example.com"  # customers.email (pii: true) of the first row of the churn example


def _duckdb_error(sql: str) -> str:
    import duckdb

    with pytest.raises(duckdb.Error) as caught:
        duckdb.sql(sql).fetchall()
    return str(caught.value)


def test_the_values_warehouses_quote_in_their_errors_are_taken_out(tmp_path):
    csv = tmp_path / "people.csv"
    csv.write_text(f"id,email\n1,{EMAIL}\nx2,other@example.com\n", encoding="utf-8")
    read = f"read_csv('{csv}', header = true, all_varchar = true)"
    said = [
        *(_duckdb_error(f"select {expression} from {read}") for expression in (
            "cast(email as integer)", "cast(email as date)", "cast(email as timestamp)", "cast(email as time)",
            "cast(email as json)", "strptime(email, '%Y-%m-%d')", "cast(email as integer[])")),
        _duckdb_error(f"create or replace table p (email varchar primary key); insert into p select email from {read}; "
                      f"insert into p select email from {read}"),
        _duckdb_error(f"select * from read_csv('{csv}', header = true, columns = {{'id': 'INTEGER', "
                      "'email': 'VARCHAR'})"),
        f'invalid input syntax for type integer: "{EMAIL}"',  # PostgreSQL's, as it words them
        f"null value in column \"x\" violates not-null constraint\nDETAIL:  Failing row contains (1, {EMAIL}, null).",
        f'duplicate key value violates unique constraint "k"\nDETAIL:  Key (email)=({EMAIL}) already exists.',
        f"Numeric value '{EMAIL}' is not recognized",  # Snowflake's
        f"Bad int64 value: {EMAIL}",  # BigQuery's
    ]
    for text in said:
        assert ("x2" in text or EMAIL in text), text  # each message does quote the data
        scrubbed = scrub_values(text)
        assert EMAIL not in scrubbed and "other@example.com" not in scrubbed and ",x2" not in scrubbed, scrubbed
        assert "…" in scrubbed
    assert scrub_values('column "email" does not exist') == 'column "email" does not exist'  # names stay


def test_what_user_code_quotes_of_a_secret_dataset_is_hidden():
    project = require_project(EXAMPLE_ROOT)
    assert holds_secrets(project)
    assert dataset_secret(project, "customers") and not dataset_secret(project, "customer_features")
    assert hide_quoted(f"could not convert string to float: '{EMAIL}'") == "could not convert string to float: '…'"
    assert hide_quoted("Found unknown categories ['a', 'b'] in column 0") == "Found unknown categories […] in column 0"


@requires_dbt
@pytest.mark.slow
def test_a_transform_failing_on_a_pii_value_prints_and_sends_no_value(applied_churn, tmp_path: Path):
    root = fork_of(applied_churn, tmp_path / "churn")
    RepoEditor(root).replace("specs/transforms/customer_features.yaml", "cast(c.segment as varchar) as segment",
                             "cast(cast(c.email as integer) as varchar) as segment")
    run = specops(root, "apply", "--env", "dev", "--yes")
    assert run.code == 1, run.explain()
    assert "Could not convert string '…' to INT32" in run.output, run.output
    assert "@example.com" not in run.output
    events = [json.loads(line) for line in (root / ".specops/lineage/dev.jsonl").read_text().splitlines()]
    failed = [e for e in events if e["eventType"] == "FAIL"]
    assert failed and "@example.com" not in json.dumps(failed)
