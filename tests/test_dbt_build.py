"""The dbt project compiled from examples/churn runs for real: `dbt build` on DuckDB passes every
seed, model and test, twice in a row (the second run takes the incremental path), and the
production (Postgres) target parses without a database.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import EXAMPLE_ROOT, copy_repository
from dbt_support import DbtRun, compile_repo, dbt, requires_dbt

pytestmark = [pytest.mark.slow, requires_dbt]

OK = {"success", "pass"}


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of examples/churn, compiled: (repository root, output folder)."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path_factory.mktemp("dbt-build") / "churn")
    return root, compile_repo(root)


@pytest.fixture(scope="module")
def builds(churn: tuple[Path, Path]) -> list[DbtRun]:
    """`dbt build` run twice on the same warehouse."""
    root, out = churn
    return [dbt(root, out, "build"), dbt(root, out, "build")]


def _resource_counts(run: DbtRun) -> Counter[str]:
    return Counter(uid.split(".")[0] for uid in run.statuses())


def _not_ok(run: DbtRun) -> dict[str, str]:
    return {uid: status for uid, status in run.statuses().items() if status not in OK}


def test_first_build_passes_everything(builds: list[DbtRun]) -> None:
    first = builds[0]
    assert first.returncode == 0, first.explain()
    assert _not_ok(first) == {}, first.explain()
    counts = _resource_counts(first)
    assert counts["seed"] == 3 and counts["model"] == 3 and counts["test"] > 50, counts
    assert first.warnings() == []


def test_every_quality_check_and_column_property_ran(builds: list[DbtRun], churn: tuple[Path, Path]) -> None:
    """Each check of each QualityRule became exactly one dbt test, under the check's name."""
    from compiler.front.check import require_project

    project = require_project(churn[0])
    tests = builds[0].by_name("test")
    for rule in project.rules.values():
        for check in rule.checks:
            assert tests.get(check.name) in OK, f"{rule.address} check {check.name}: {tests.get(check.name)}"
    for ds in project.datasets.values():
        if ds.primary_key:
            assert tests[f"{ds.name}__primary_key"] in OK
        for col in ds.columns:
            if col.required:
                assert tests[f"{ds.name}__{col.name}__required"] in OK
            if col.unique:
                assert tests[f"{ds.name}__{col.name}__unique"] in OK
            if col.accepted_values is not None:
                assert tests[f"{ds.name}__{col.name}__accepted_values"] in OK


def test_second_build_runs_the_incremental_model_again_and_passes(builds: list[DbtRun]) -> None:
    first, second = builds
    assert second.returncode == 0, second.explain()
    assert _not_ok(second) == {}, second.explain()
    assert _resource_counts(second) == _resource_counts(first)

    def activity(run: DbtRun) -> dict:
        found = [r for r in run.run_results()["results"] if r["unique_id"].endswith(".customer_activity")]
        assert len(found) == 1 and found[0]["status"] == "success", found
        return found[0]

    # the first run builds the table; the second only merges rows changed since the latest updated_at
    incremental_filter = "where updated_at > (select max(updated_at) from"
    assert incremental_filter not in activity(first)["compiled_code"]
    assert incremental_filter in activity(second)["compiled_code"]


def test_contracts_are_enforced_on_every_produced_dataset(builds: list[DbtRun]) -> None:
    nodes = builds[0].manifest()["nodes"]
    models = {n["name"]: n for n in nodes.values() if n["resource_type"] == "model"}
    assert sorted(models) == ["customer_activity", "customer_features", "daily_kpis"]
    for name, node in models.items():
        assert node["config"]["contract"]["enforced"] is True, name
        assert node["columns"] and all(c["data_type"] for c in node["columns"].values()), name
    assert models["customer_activity"]["config"]["materialized"] == "incremental"
    assert models["customer_activity"]["config"]["unique_key"] == ["customer_id"]


def test_compiled_output_is_untouched_by_dbt(builds: list[DbtRun], churn: tuple[Path, Path]) -> None:
    """dbt's target/ and logs/ went elsewhere; the output still matches the specs (`compile --check`)."""
    from compiler.emit.compile import compile_project
    from compiler.front.check import require_project
    from compiler.output.write import check_drift

    compiled = compile_project(require_project(churn[0]))
    drift = check_drift(churn[1], compiled.workflows_dir, compiled.artifacts)
    assert drift.clean, drift
    on_disk = {p.relative_to(churn[1]).as_posix() for p in churn[1].rglob("*") if p.is_file()}
    assert on_disk == {a.path for a in compiled.artifacts if a.base == "output"}  # not even a .user.yml


def test_prod_target_parses_without_a_database(churn: tuple[Path, Path], tmp_path: Path) -> None:
    """The Postgres profile renders (password from WAREHOUSE_PASSWORD) and the project parses offline."""
    root, out = churn
    run = dbt(root, out, "parse", "--no-partial-parse", "--show-all-deprecations", target="prod",
              work=tmp_path / "prod", env={"WAREHOUSE_PASSWORD": "dummy-not-a-secret"})
    assert run.returncode == 0, run.explain()
    assert run.warnings() == []
    manifest = run.manifest()
    assert manifest["metadata"]["adapter_type"] == "postgres"
    assert sum(1 for n in manifest["nodes"].values() if n["resource_type"] == "model") == 3
    assert "dummy-not-a-secret" not in json.dumps(manifest)


def test_profiles_hold_no_secret(churn: tuple[Path, Path]) -> None:
    """The Postgres password is read from the variable the Environment names, never written down."""
    import yaml

    profiles = yaml.safe_load((churn[1] / "dbt" / "profiles.yml").read_text(encoding="utf-8"))
    prod = profiles["churn_analytics"]["outputs"]["prod"]
    assert prod["password"] == "{{ env_var('WAREHOUSE_PASSWORD') }}"
    assert profiles["churn_analytics"]["target"] == "dev"


def test_declared_types_hold_whatever_the_sql_computes(tmp_path: Path) -> None:
    """`sum(integer)` is a HUGEINT in DuckDB and `count(*)` a BIGINT: the model casts every declared column to
    its declared type, so the enforced contract holds without casts in the user's SQL."""
    from conftest import RepoEditor

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.write("specs/datasets/plan_counts.yaml", """\
apiVersion: specops/v1
kind: Dataset
metadata: {name: plan_counts, owner: "@acme/data-eng"}
spec:
  columns:
    - {name: plan, type: string, required: true, unique: true}
    - {name: subscriptions, type: integer}
    - {name: total_price, type: "decimal(12,2)"}
    - {name: customers, type: bigint}
---
apiVersion: specops/v1
kind: Transform
metadata: {name: build_plan_counts, owner: "@acme/data-eng"}
spec:
  inputs: [subscriptions]
  output: plan_counts
  sql: |
    select plan, count(*) as subscriptions, sum(monthly_price) as total_price,
           sum(1) as customers
    from {{ input('subscriptions') }}
    group by plan
""")
    out = compile_repo(root)
    run = dbt(root, out, "build")
    assert run.returncode == 0, run.explain()
    assert _not_ok(run) == {}, run.explain()
    assert "model.churn_analytics.plan_counts" in run.statuses()


def test_a_selected_build_leaves_out_tests_that_read_an_unselected_model(tmp_path: Path, monkeypatch) -> None:
    """apply builds a rewritten seed first and the incremental model it feeds later, from scratch: a relationship
    test from that model to the seed must wait for the model (with dbt's eager default it ran first, against the
    stale table, and failed every retry)."""
    from types import SimpleNamespace

    import compiler.apply.steps.dbt as steps
    from compiler.front.check import require_project

    root = copy_repository(EXAMPLE_ROOT.parent / "fraud", tmp_path / "fraud")
    out = compile_repo(root)
    seen: list[list[str]] = []
    monkeypatch.setattr(steps, "run_streamed", lambda args, *a, **k: seen.append(args) or 0)
    project = require_project(root)
    ctx = SimpleNamespace(out_dir=out, root=root, env=project.environments["dev"], echo=print, project=project)
    steps.run_dbt(ctx, "build", ["tag:rule_transactions_checks", "transactions"])  # type: ignore[arg-type]
    args = seen[0]
    selection = args[args.index("--select"):]
    listed = dbt(root, out, "ls", "--resource-type", "test", "--output", "name", *selection)
    assert listed.returncode == 0, listed.output
    names = {line.split()[-1] for line in listed.output.splitlines() if line.split() and "_" in line.split()[-1]
             and ":" not in line.split()[-1]}
    assert any(n.startswith("transactions__") or "_transactions_" in n for n in names), listed.output
    assert not any("transaction_features" in n for n in names), names  # the features' checks wait for them


def test_types_are_named_for_each_warehouse_target(tmp_path: Path) -> None:
    """With BigQuery and Snowflake environments, the casts, contracts and seed column types name each type as
    dbt's target.type needs (int64, string, float64, bool on BigQuery; variant for json on Snowflake); DuckDB's
    build still passes with its own names."""
    import jinja2
    import yaml
    from conftest import RepoEditor

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).append_docs("specs/environments.yaml", *({
        "apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": name},
        "spec": {"warehouse": warehouse, "kubernetes": {"namespace": f"ml-{name.replace('_', '-')}"}}}
        for name, warehouse in (
            ("prod_bq", {"type": "bigquery", "project": "acme", "dataset": "churn"}),
            ("prod_sf", {"type": "snowflake", "account": "acme-xy1", "database": "analytics", "warehouse": "wh",
                         "user": "specops", "password_env": "SF_PASSWORD"}))))
    out = compile_repo(root)
    run = dbt(root, out, "build")
    assert run.returncode == 0, run.explain()
    assert _not_ok(run) == {}, run.explain()
    column = run.manifest()["nodes"]["model.churn_analytics.customer_activity"]["columns"]["customer_id"]
    assert column["data_type"] == "integer"  # rendered for the duckdb target

    from compiler.emit.dbt.names import type_names

    assert type_names(["duckdb", "postgres"])("json") == "json"  # nothing to choose: the plain name
    json_type = type_names(["duckdb", "snowflake"])("json")
    assert jinja2.Template(json_type).render(target={"type": "snowflake"}) == "variant"

    def rendered(text: str, target: str) -> str:
        return jinja2.Template(text).render(target={"type": target})

    seed = yaml.safe_load((out / "dbt/seeds/customers.yml").read_text(encoding="utf-8"))["seeds"][0]
    types = seed["config"]["column_types"]
    assert {c: rendered(t, "bigquery") for c, t in types.items()}["customer_id"] == "int64"
    assert rendered(types["email"], "bigquery") == "string" and rendered(types["email"], "snowflake") == "varchar"
    assert rendered(types["marketing_opt_in"], "bigquery") == "bool"
    sql = (out / "dbt/models/customer_activity.sql").read_text(encoding="utf-8")
    (cast,) = [line for line in sql.splitlines() if "cast(avg_satisfaction as" in line]
    assert rendered(cast, "bigquery").strip() == "cast(avg_satisfaction as float64) as avg_satisfaction,"
    assert rendered(cast, "snowflake").strip() == "cast(avg_satisfaction as double precision) as avg_satisfaction,"
    # Snowflake's TIMESTAMP is whichever TIMESTAMP_* the account's TIMESTAMP_TYPE_MAPPING says: a spec timestamp
    # (no zone, as validate holds casts to) is TIMESTAMP_NTZ, written so
    (cast,) = [line for line in sql.splitlines() if "cast(updated_at as" in line]
    assert rendered(cast, "snowflake").strip() == "cast(updated_at as timestamp_ntz) as updated_at"
    assert rendered(cast, "duckdb").strip() == "cast(updated_at as timestamp) as updated_at"


@pytest.mark.parametrize(("age_minutes", "zone", "passes"), [
    (30, "Asia/Tokyo", True),  # 30 minutes old: fresh for a 1h check, though Tokyo's clock reads 9 hours later
    (180, "America/New_York", False),  # 3 hours old: stale, though New York's clock reads 5 hours earlier
])
def test_a_freshness_check_reads_a_timestamp_as_utc_whatever_the_machines_time_zone(tmp_path, age_minutes, zone,
                                                                                   passes):
    """A spec `timestamp` is a time without zone, read as UTC (as dbt's source freshness reads one); the test
    compared it with DuckDB's current_timestamp, a time with the session's zone: the machine's."""
    from datetime import UTC, datetime, timedelta

    import yaml

    seen = (datetime.now(UTC) - timedelta(minutes=age_minutes)).replace(tzinfo=None, microsecond=0)
    root = tmp_path / "repo"
    (root / "specs").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "data" / "ev.csv").write_text(f"id,seen_at\n1,{seen.isoformat(sep=' ')}\n", encoding="utf-8")
    (root / "specops.yaml").write_text("apiVersion: specops/v1\nkind: Project\nmetadata: {name: fresh}\n"
                                       "spec: {default_environment: dev}\n", encoding="utf-8")
    (root / "specs" / "all.yaml").write_text(yaml.safe_dump_all([
        {"apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "dev"},
         "spec": {"warehouse": {"type": "duckdb"}}},
        {"apiVersion": "specops/v1", "kind": "Dataset", "metadata": {"name": "ev", "owner": "@a/b"},
         "spec": {"source": {"type": "file", "path": "data/ev.csv"},
                  "columns": [{"name": "id", "type": "integer"}, {"name": "seen_at", "type": "timestamp"}]}},
        {"apiVersion": "specops/v1", "kind": "QualityRule", "metadata": {"name": "ev_checks", "owner": "@a/b"},
         "spec": {"dataset": "ev", "checks": [{"type": "freshness", "name": "ev_fresh", "column": "seen_at",
                                               "max_age": "1h"}]}},
    ], sort_keys=False), encoding="utf-8")
    run = dbt(root, compile_repo(root), "build", env={"TZ": zone})
    status = {r["unique_id"].split(".")[2]: r["status"] for r in run.artifacts["run_results.json"]["results"]}
    assert status["ev_fresh"] == ("pass" if passes else "fail"), run.output


def test_a_table_source_in_another_database_is_read_there(tmp_path: Path) -> None:
    """`source: {type: table, database: ..., schema: ..., table: ...}`: Snowflake teams read RAW beside ANALYTICS,
    BigQuery teams another project's tables; without `database` the dbt source named the environment's database.
    On DuckDB the database is a catalog: the file's own (dev) here, as dbt-duckdb reads it."""
    import duckdb
    import yaml
    from conftest import RepoEditor

    from compiler.emit.gx.checks import relation
    from compiler.front.check import check_repository, require_project

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.replace("specs/environments.yaml", "    database: analytics\n", "    database: dev\n")  # prod: its own
    ed.write("specs/datasets/carriers.yaml", (
        "apiVersion: specops/v1\nkind: Dataset\nmetadata: {name: carriers, owner: \"@acme/data\"}\n"
        "spec:\n  source: {type: table, database: dev, schema: raw, table: carriers}\n  columns:\n"
        "    - {name: carrier_id, type: integer, required: true}\n"
        "    - {name: mode, type: string, accepted_values: [road, air]}\n"))
    out = compile_repo(root)
    (source,) = [s for s in yaml.safe_load((out / "dbt/models/_sources.yml").read_text(encoding="utf-8"))["sources"]
                 if s["name"] == "dev__raw"]
    assert (source["database"], source["schema"], source["tables"][0]["identifier"]) == ("dev", "raw", "carriers")
    (root / ".specops").mkdir(exist_ok=True)
    con = duckdb.connect(str(root / ".specops" / "dev.duckdb"))
    con.execute("create schema raw")
    con.execute("create table raw.carriers as select * from (values (1, 'road'), (2, 'rail')) as t(carrier_id, mode)")
    con.close()
    run = dbt(root, out, "build", "--select", "source:dev__raw.carriers")
    failed = {r["unique_id"].split(".")[2] for r in run.run_results()["results"] if r["status"] == "fail"}
    assert failed == {"carriers__mode__accepted_values"}, run.explain()  # 'rail' found, in dev.raw.carriers

    project = require_project(root)
    snowflake = replace(project.environments["prod"], warehouse=replace(
        project.environments["prod"].warehouse, type="snowflake"))
    assert relation(project.datasets["carriers"], snowflake) == "dev.raw.carriers"  # the GX suites' query
    # PostgreSQL reads no table of another database: an error at the key, for the prod environment
    ed.replace("specs/environments.yaml", "    database: dev\n", "    database: analytics\n")
    _, diags = check_repository(root)
    (d,) = [d for d in diags if d.code == "source-database"]
    assert (d.file, d.line) == ("specs/datasets/carriers.yaml", 5)
    assert d.message == ("environment 'prod' is on PostgreSQL, which reads no table of another database ('dev')")


def test_an_external_csv_is_read_with_its_declared_types(tmp_path: Path) -> None:
    """read_csv_auto guessed BIGINT for zip codes declared `string`: a regex check on them, which validate accepts,
    failed in dbt (`regexp_matches(BIGINT, STRING_LITERAL)`), and a contract or cast downstream saw other types."""
    from conftest import RepoEditor

    csv = tmp_path / "zips.csv"
    csv.write_text("id,zip,amount\n1,12345,10.5\n2,67890,20\n", encoding="utf-8")
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).write("specs/datasets/zips.yaml", (
        "apiVersion: specops/v1\nkind: Dataset\nmetadata: {name: zips, owner: \"@acme/data\"}\n"
        f"spec:\n  source: {{type: external, uri: \"file://{csv}\", format: csv}}\n  columns:\n"
        "    - {name: id, type: integer, required: true}\n"
        "    - {name: zip, type: string}\n"
        "    - {name: amount, type: \"decimal(10,2)\"}\n"))
    RepoEditor(root).write("specs/quality/zips.yaml", (
        "apiVersion: specops/v1\nkind: QualityRule\nmetadata: {name: zips_checks, owner: \"@acme/data\"}\n"
        "spec:\n  dataset: zips\n  checks:\n"
        "    - {type: regex, column: zip, pattern: \"^[0-9]{5}$\", name: five_digits}\n"))
    out = compile_repo(root)
    run = dbt(root, out, "build", "--select", "source:external.zips")
    statuses = {r["unique_id"].split(".")[2]: r["status"] for r in run.run_results()["results"]}
    assert statuses.get("five_digits") == "pass", run.explain()
