"""Hostile text in specs reaches dbt inert.

dbt renders descriptions, configs and test arguments as Jinja, and evaluates strings that merely
look like ref()/source()/env_var() calls. Quotes, Jinja, SQL comments and `'; drop table` in
descriptions, owners, check descriptions and accepted values must come out of dbt exactly as
written: the project compiles, `dbt parse` succeeds, target/manifest.json shows the original
strings, and `dbt build` passes on data that holds those very values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dbt_support import ACCEPTED, CANARY, HOSTILE, DbtRun, compile_repo, dbt, requires_dbt, write_hostile_repo

pytestmark = [pytest.mark.slow, requires_dbt]

OWNER = "@a/x'y\"z {{ env_var('HOME') }} -- /* */"
ENV = {CANARY: "EVALUATED"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("dbt-hostile")
    root = base / "repo"
    write_hostile_repo(root, base / "we'ird{x}.csv")
    out = compile_repo(root)
    # the table behind the `events` source
    import duckdb

    (root / ".specops").mkdir(exist_ok=True)
    with duckdb.connect(str(root / ".specops" / "dev.duckdb")) as con:
        con.execute("create schema raw")
        con.execute("create table raw.events as select 1 as event_id, now()::timestamp as loaded_at")
    return root, out


@pytest.fixture(scope="module")
def parsed(hostile: tuple[Path, Path]) -> dict[str, Any]:
    root, out = hostile
    run = dbt(root, out, "parse", "--no-partial-parse", "--show-all-deprecations", work=out.parent / ".dbt-parse",
              env=ENV)
    assert run.returncode == 0, run.explain()
    assert run.warnings() == [], run.explain()
    return run.manifest()


@pytest.fixture(scope="module")
def built(hostile: tuple[Path, Path]) -> DbtRun:
    root, out = hostile
    return dbt(root, out, "build", env=ENV)


def _node(manifest: dict[str, Any], resource_type: str, name: str) -> dict[str, Any]:
    group = manifest["sources"] if resource_type == "source" else manifest["nodes"]
    found = [n for n in group.values() if n["resource_type"] == resource_type and n["name"] == name]
    assert len(found) == 1, (resource_type, name, len(found))
    return found[0]


def test_no_text_was_evaluated(parsed: dict[str, Any]) -> None:
    import json

    text = json.dumps(parsed)
    assert "EVALUATED" not in text


def test_dataset_and_column_descriptions_render_to_the_original(parsed: dict[str, Any]) -> None:
    items = _node(parsed, "seed", "items")
    assert items["description"] == "\n".join(HOSTILE)
    assert items["columns"]["id"]["description"] == HOSTILE[7]
    assert items["columns"]["status"]["description"] == HOSTILE[2]
    assert items["columns"]["note"]["description"] == HOSTILE[15]
    summary = _node(parsed, "model", "item_summary")
    assert summary["description"] == " | ".join(HOSTILE)
    assert summary["columns"]["id"]["description"] == HOSTILE[0]
    assert summary["columns"]["status"]["description"] == HOSTILE[1]


def test_source_descriptions_render_to_the_original(parsed: dict[str, Any]) -> None:
    events = _node(parsed, "source", "events")
    assert events["description"] == HOSTILE[8]
    assert events["columns"]["event_id"]["description"] == HOSTILE[3]
    assert events["columns"]["loaded_at"]["description"] == HOSTILE[4]
    assert events["loaded_at_field"] == "loaded_at"
    assert events["freshness"]["warn_after"] == {"count": 1, "period": "day"}
    ext = _node(parsed, "source", "ext")
    assert ext["description"] == HOSTILE[4]
    assert ext["columns"]["b"]["description"] == HOSTILE[14]


def test_check_descriptions_render_to_the_original(parsed: dict[str, Any]) -> None:
    for i, text in enumerate(HOSTILE):
        assert _node(parsed, "test", f"hostile_{i}")["description"] == text, i
    assert _node(parsed, "test", "status_known")["description"] == HOSTILE[14]
    assert _node(parsed, "test", "sql_with_quotes")["description"] == HOSTILE[3]  # a singular test


def test_owners_in_meta_are_the_original(parsed: dict[str, Any]) -> None:
    for resource_type, name in (("seed", "items"), ("model", "item_summary"), ("source", "events")):
        node = _node(parsed, resource_type, name)
        assert node["config"]["meta"]["specops"]["owner"] == OWNER, (resource_type, name)
        assert node["meta"]["specops"]["owner"] == OWNER, (resource_type, name)
    assert _node(parsed, "model", "item_summary")["meta"]["specops"]["transform_owner"] == OWNER


def test_accepted_values_reach_the_sql_as_quoted_literals(built: DbtRun) -> None:
    """dbt renders the test arguments when it compiles the test; the SQL holds each value as one literal."""
    literals = ", ".join("'" + v.replace("'", "''") + "'" for v in ACCEPTED)
    compiled = {r["unique_id"].split(".")[2]: r["compiled_code"] for r in built.run_results()["results"]
                if r["unique_id"].startswith("test.")}
    for name in ("status_known", "items__status__accepted_values", "item_summary__status__accepted_values"):
        assert f"not in ({literals})" in compiled[name], compiled[name]


def test_build_passes_on_data_holding_the_hostile_values(built: DbtRun) -> None:
    assert built.returncode == 0, built.explain()
    statuses = built.statuses()
    assert statuses and set(statuses.values()) <= {"success", "pass"}, statuses
    names = built.by_name("test")
    for name in ("status_known", "items__status__accepted_values", "item_summary__status__accepted_values",
                 "note_quotes", "quoted_expression", "sql_with_quotes", "ext__a__required", "events__event_id__required"):
        assert names.get(name) == "pass", (name, names.get(name))
    assert built.by_name("seed") == {"items": "success"}
    assert built.by_name("model") == {"item_summary": "success"}


def test_external_source_with_quote_and_braces_in_its_uri_is_read(built: DbtRun) -> None:
    compiled = [r["compiled_code"] for r in built.run_results()["results"]
                if r["unique_id"].startswith("test.hostile.ext__a__required")]
    assert len(compiled) == 1
    assert "read_csv_auto('file://" in compiled[0] and "we''ird{x}.csv', types={'a': 'integer', 'b': 'varchar'})" in (
        compiled[0]), compiled[0]


def test_source_freshness_runs(hostile: tuple[Path, Path]) -> None:
    root, out = hostile
    run = dbt(root, out, "source freshness", work=out.parent / ".dbt-freshness", env=ENV)
    assert run.returncode == 0, run.explain()
    results = run.artifacts["sources.json"]["results"]
    assert {r["unique_id"]: r["status"] for r in results} == {"source.hostile.raw.events": "pass"}


def test_hostile_labels_and_tags_never_reach_dbt(tmp_path: Path) -> None:
    """Labels and tags follow Kubernetes label rules: hostile values are rejected before any backend runs."""
    import yaml

    from compiler.front.check import check_repository

    root = tmp_path / "repo"
    write_hostile_repo(root, tmp_path / "x.csv")
    path = root / "specs" / "all.yaml"
    docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    docs[1]["metadata"]["labels"] = {"team": "{{ env_var('HOME') }}", "q": "it's"}
    docs[1]["metadata"]["tags"] = ["ref('x')"]
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    project, diags = check_repository(root)
    assert project is None
    flagged = {d.message for d in diags if d.severity == "error"}
    assert len(flagged) == 3, flagged
