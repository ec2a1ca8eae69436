"""The production path end to end, against real servers the tests start (tests/servers.py): examples/churn's prod
environment pointed at a PostgreSQL warehouse, an `mlflow server` behind a bearer-token proxy, and apply state
in the PostgreSQL backend.

One apply builds the tables in PostgreSQL with dbt, trains from PostgreSQL, registers and aliases the model over
HTTP (every request carrying the token), keeps its state in PostgreSQL; a second apply is a no-op. The commands
run as subprocesses, as CI runs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE_ROOT, copy_repository
from dbt_support import requires_dbt

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")
pytest.importorskip("psycopg2")

pytestmark = [pytest.mark.slow, requires_dbt,
              pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")]

REPO_ROOT = Path(__file__).resolve().parent.parent
REGISTERED = "churn_prod_e2e"  # its own name on the session's shared MLflow server
TABLES = ("customers", "subscriptions", "support_tickets", "customer_activity", "customer_features", "daily_kpis")


@dataclass
class Prod:
    root: Path
    env: dict[str, str]
    first: str
    db: str
    pg: object
    mlflow: object


def run(prod_root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=prod_root, env=env, capture_output=True,
                          text=True, timeout=900, check=False)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c",
                           "commit.gpgsign=false", *args], cwd=root, capture_output=True, text=True,
                          check=True).stdout.strip()


def point_prod_at(root: Path, pg, db: str, tracking: str) -> None:
    path = root / "specs" / "environments.yaml"
    docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    prod = next(d for d in docs if d["metadata"]["name"] == "prod")
    prod["spec"]["warehouse"] = {"type": "postgres", "host": pg.host, "port": pg.port, "database": db,
                                 "schema": "analytics", "user": pg.user, "password_env": "E2E_WAREHOUSE_PASSWORD"}
    prod["spec"]["mlflow"] = {"tracking_uri": tracking, "token_env": "E2E_MLFLOW_TOKEN"}
    prod["spec"]["state"] = {"type": "postgres"}  # the warehouse's connection, schema specops_state
    prod["spec"]["kubernetes"] = {"namespace": "ml-prod"}  # no context: manifests are left for GitOps
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    model = root / "specs" / "models" / "churn.yaml"
    model.write_text(model.read_text(encoding="utf-8").replace("name: churn\n    alias", f"name: {REGISTERED}\n    alias"),
                     encoding="utf-8")
    assert REGISTERED in model.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def prod(postgres, mlflow_server, tmp_path_factory) -> Prod:
    db = postgres.create_database("churn_prod_e2e")
    root = copy_repository(EXAMPLE_ROOT, tmp_path_factory.mktemp("prod") / "churn")
    point_prod_at(root, postgres, db, mlflow_server.proxy.url)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "churn, prod on servers")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1",
           "E2E_WAREHOUSE_PASSWORD": postgres.password, "E2E_MLFLOW_TOKEN": mlflow_server.proxy.token}
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        env.pop(name, None)
    mlflow_server.proxy.clear()
    first = run(root, env, "apply", "--env", "prod", "--yes")
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    return Prod(root, env, first.stdout, db, postgres, mlflow_server)


def test_apply_builds_postgres_trains_from_it_and_registers_over_http(prod):
    out = prod.first
    assert "-> dbt build (everything)" in out and "0 failed, 0 skipped." in out
    assert f"registered {REGISTERED} version 1" in out and "alias 'champion' -> version 1" in out
    con = prod.pg.connect(prod.db)
    try:
        with con.cursor() as cur:
            counts = {}
            for table in TABLES:
                cur.execute(f'select count(*) from analytics."{table}"')
                counts[table] = cur.fetchone()[0]
    finally:
        con.close()
    assert all(n > 0 for n in counts.values()), counts
    assert not (prod.root / ".specops" / "prod.duckdb").exists()

    from mlflow import MlflowClient

    client = MlflowClient(prod.mlflow.url)  # the server itself, behind the proxy
    version = client.get_model_version_by_alias(REGISTERED, "champion")
    assert version.version == "1" and version.tags["validation_status"] == "passed"
    assert version.tags["specops.environment"] == "prod" and version.tags["git_sha"] == git(prod.root, "rev-parse",
                                                                                           "HEAD")
    assert client.get_model_version_by_alias(REGISTERED, "challenger").version == "1"
    run_info = client.get_run(version.run_id)
    assert run_info.info.artifact_uri.startswith("mlflow-artifacts:/")  # uploaded through the server
    assert run_info.data.metrics["roc_auc"] >= 0.7


def test_every_request_carried_the_token_and_none_passes_without(prod):
    seen = prod.mlflow.proxy.seen
    assert seen and all(authorized for _, _, authorized in seen), [s for s in seen if not s[2]][:5]
    paths = {path for _, path, _ in seen}
    assert any("/mlflow-artifacts/artifacts/" in p for p in paths)  # artifact uploads went through the proxy too
    assert any("registered-models/alias" in p for p in paths)

    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    saved = os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    try:
        with pytest.raises(MlflowException, match=r"401|UNAUTHENTICATED|bearer"):
            MlflowClient(prod.mlflow.proxy.url).get_registered_model(REGISTERED)
    finally:
        if saved is not None:
            os.environ["MLFLOW_TRACKING_TOKEN"] = saved


def test_the_registered_model_loads_over_http_and_scores_postgres_rows(prod, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", prod.mlflow.proxy.token)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", prod.mlflow.proxy.url)
    con = prod.pg.connect(prod.db)
    try:
        with con.cursor() as cur:
            cur.execute('select tenure_months, monthly_spend, subscription_count, support_tickets, avg_satisfaction '
                        'from analytics.customer_features order by customer_id limit 5')
            rows = cur.fetchall()
            names = [d.name for d in cur.description]
    finally:
        con.close()
    from compiler.apply.warehouse.base import frame_from_rows

    frame = frame_from_rows(rows, names)  # numeric (Decimal) as float, as training read them
    # models:/ resolves through the process' tracking and registry URIs, which another test in this worker may
    # have set: point both at the proxy for this test only (mlflow also writes them to these variables, which
    # monkeypatch then restores)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", prod.mlflow.proxy.url)
    mlflow.set_tracking_uri(prod.mlflow.proxy.url)
    mlflow.set_registry_uri(prod.mlflow.proxy.url)
    try:
        model = mlflow.pyfunc.load_model(f"models:/{REGISTERED}@champion")
    finally:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
    assert len(model.predict(frame)) == 5


def test_state_is_in_postgres_and_a_second_apply_is_a_no_op(prod):
    assert not (prod.root / ".specops" / "state" / "prod.json").exists()
    con = prod.pg.connect(prod.db)
    try:
        with con.cursor() as cur:
            cur.execute("select project, environment, serial, digest from specops_state.states")
            rows = cur.fetchall()
    finally:
        con.close()
    assert [(p, e, s) for p, e, s, _ in rows] == [("churn_analytics", "prod", 1)]
    listed = run(prod.root, prod.env, "state", "list")
    assert "serial 1" in listed.stdout and "specops_state.states" in listed.stdout
    shown = run(prod.root, prod.env, "state", "show", "--env", "prod")
    assert f"model        churn: {REGISTERED} version 1, alias 'champion' -> version 1" in shown.stdout

    again = run(prod.root, prod.env, "apply", "--env", "prod", "--yes")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "No changes" in again.stdout and "state serial 1" in again.stdout
    con = prod.pg.connect(prod.db)
    try:
        with con.cursor() as cur:
            cur.execute("select digest from specops_state.states")
            assert cur.fetchone()[0] == rows[0][3]  # not even rewritten
    finally:
        con.close()
    plan = run(prod.root, prod.env, "plan", "--env", "prod", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr

    from mlflow import MlflowClient

    versions = MlflowClient(prod.mlflow.url).search_model_versions(f"name='{REGISTERED}'")
    assert [v.version for v in versions] == ["1"]


def test_drift_and_manifests_use_the_servers(prod):
    drift = run(prod.root, prod.env, "drift", "churn", "--env", "prod")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert 'specops_drift_score{model="churn", environment="prod"}' in drift.stdout and "no drift" in drift.stdout
    folder = prod.root / ".specops" / "manifests" / "prod"
    isvc = yaml.safe_load((folder / "churn-api.inferenceservice.yaml").read_text(encoding="utf-8"))
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == f"models:/{REGISTERED}/1"
    assert isvc["metadata"]["labels"]["app.kubernetes.io/version"] == "1"


def test_without_the_token_variable_training_stops_with_its_name(prod, tmp_path):
    fork = Path(shutil.copytree(prod.root, tmp_path / "fork", symlinks=True))
    env = {k: v for k, v in prod.env.items() if k != "E2E_MLFLOW_TOKEN"}
    failed = run(fork, env, "train", "churn", "--env", "prod")
    assert failed.returncode == 1
    assert "reads the MLflow token from the environment variable E2E_MLFLOW_TOKEN, which is not set" in failed.stderr
