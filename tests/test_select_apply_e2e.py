"""`specops apply --select` for real on a fresh environment (dbt + DuckDB): the first apply with a selection runs
the selected work only, as its plan says, not `dbt build` of everything."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_support import git, ok, state
from dbt_support import requires_dbt

pytest.importorskip("duckdb")

pytestmark = [pytest.mark.slow, requires_dbt]


def _tables(root: Path) -> set[str]:
    import duckdb

    con = duckdb.connect(str(root / ".specops" / "dev.duckdb"), read_only=True)
    try:
        return {r[0] for r in con.execute("select table_name from information_schema.tables "
                                          "where table_schema = 'main'").fetchall()}
    finally:
        con.close()


def test_a_first_apply_with_a_selection_runs_the_selected_work_only(repo):
    root = repo()
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "churn specs")
    planned = ok(root, "plan", "-s", "+daily_kpis").output
    run = ok(root, "apply", "-s", "+daily_kpis", "--yes")
    assert "dbt build (everything)" not in run.output, run.output
    assert "-> dbt build --select daily_kpis subscriptions support_tickets" in run.output, run.output
    assert "-> train" not in run.output and "customer_features" not in planned
    assert "first apply: it runs the selected work only" in planned
    assert _tables(root) == {"daily_kpis", "subscriptions", "support_tickets"}
    assert state(root)["pending"] == {}  # what the plan listed is done, nothing more was needed
    rest = ok(root, "plan").output  # the rest is still to create
    assert "transform.build_customer_features" in rest and "transform.build_daily_kpis" not in rest


def test_a_produced_dataset_selected_alone_is_built_by_its_transform(repo):
    """`apply -s daily_kpis` selected the dataset without its transform: 0 done, and nothing built."""
    root = repo()
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "churn specs")
    ok(root, "apply", "-s", "subscriptions", "-s", "support_tickets", "--yes")
    run = ok(root, "apply", "-s", "daily_kpis", "--yes")
    assert "-> dbt build --select daily_kpis" in run.output, run.output
    assert "transform.build_daily_kpis" in run.output and "0 done" not in run.output
    assert "daily_kpis" in _tables(root)
