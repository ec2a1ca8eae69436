"""Check semantics that only the real dbt shows, on DuckDB: a small repository, one `dbt build`.

- a Dataset's `freshness` on a table source and on an external source is a test `dbt build` runs (dbt's own
  source freshness, which `dbt build` never runs, let a stale source pass apply), and apply's selection of a
  source's tests (`source:<schema>.<name>`) takes it.
- an `expression` check fails a row where the expression is null, and `x is null or ...` lets it pass (as
  docs/spec.md says: unlike the other column checks, it does not skip nulls).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dbt_support import DbtRun, compile_repo, dbt, requires_dbt

pytestmark = [pytest.mark.slow, requires_dbt]

STALE = "2020-01-01 00:00:00"


def _dataset(name: str, source: dict[str, Any], columns: list[tuple[str, str]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "specops/v1", "kind": "Dataset", "metadata": {"name": name, "owner": "@a/b"},
            "spec": {"source": source, "columns": [{"name": c, "type": t} for c, t in columns], **spec}}


def _rule(name: str, dataset: str, checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "specops/v1", "kind": "QualityRule", "metadata": {"name": name, "owner": "@a/b"},
            "spec": {"dataset": dataset, "checks": checks}}


def write_repo(root: Path) -> None:
    import duckdb
    import yaml

    (root / "specs").mkdir(parents=True)
    (root / "data").mkdir()
    (root / ".specops").mkdir()
    (root / "data" / "nums.csv").write_text("id,x\n1,5\n2,\n3,0\n", encoding="utf-8")
    (root / "data" / "ext.csv").write_text(f"id,loaded_at\n1,{STALE}\n", encoding="utf-8")
    with duckdb.connect(str(root / ".specops" / "dev.duckdb")) as con:
        con.execute("create schema raw")
        con.execute(f"create table raw.events as select 1 as id, timestamp '{STALE}' as loaded_at")
    (root / "specops.yaml").write_text("apiVersion: specops/v1\nkind: Project\nmetadata: {name: checks}\n"
                                       "spec: {default_environment: dev}\n", encoding="utf-8")
    stamped = [("id", "integer"), ("loaded_at", "timestamp")]
    docs: list[dict[str, Any]] = [
        {"apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "dev"},
         "spec": {"warehouse": {"type": "duckdb"}}},
        _dataset("events", {"type": "table", "schema": "raw", "table": "events"}, stamped,
                 freshness={"column": "loaded_at", "warn_after": "1h", "error_after": "2h"}),
        _dataset("ext", {"type": "external", "uri": f"file://{(root / 'data' / 'ext.csv').resolve()}",
                         "format": "csv"}, stamped, freshness={"column": "loaded_at", "warn_after": "1h"}),
        _dataset("nums", {"type": "file", "path": "data/nums.csv"}, [("id", "integer"), ("x", "integer")]),
        _rule("nums_checks", "nums", [
            {"type": "expression", "expression": "x >= 0", "name": "x_non_negative"},
            {"type": "expression", "expression": "x is null or x >= 0", "name": "x_non_negative_or_null"},
        ]),
    ]
    (root / "specs" / "all.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("dbt-checks") / "repo"
    write_repo(root)
    return root, compile_repo(root)


@pytest.fixture(scope="module")
def build(repo: tuple[Path, Path]) -> DbtRun:
    return dbt(*repo, "build")


def _tests(run: DbtRun) -> dict[str, tuple[str, int]]:
    return {r["unique_id"].split(".")[2]: (r["status"], r["failures"]) for r in run.run_results()["results"]
            if r["unique_id"].startswith("test.")}


def test_a_stale_source_fails_its_freshness_in_dbt_build(build: DbtRun) -> None:
    tests = _tests(build)
    assert tests.get("events__freshness_warn") == ("warn", 1), build.explain()
    assert tests.get("events__freshness_error") == ("fail", 1), build.explain()
    assert tests.get("ext__freshness_warn") == ("warn", 1), build.explain()


def test_selecting_a_source_as_apply_does_runs_its_freshness(repo: tuple[Path, Path]) -> None:
    listed = dbt(*repo, "ls", "--resource-type", "test", "--output", "name", "--select", "source:raw.events",
                 work=repo[1].parent / ".dbt-ls")
    assert listed.returncode == 0, listed.explain()
    names = {line.split()[-1] for line in listed.output.splitlines() if line.strip()}
    assert {"events__freshness_warn", "events__freshness_error"} <= names, listed.output


def test_an_expression_fails_a_null_row_unless_it_lets_nulls_pass(build: DbtRun) -> None:
    tests = _tests(build)
    assert tests.get("x_non_negative") == ("fail", 1), build.explain()  # row 2: null >= 0 is null, not true
    assert tests.get("x_non_negative_or_null") == ("pass", 0), build.explain()
