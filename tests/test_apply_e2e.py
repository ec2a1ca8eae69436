"""`specops apply` for real: dbt + DuckDB, MLflow with a SQLite registry, scikit-learn.

One copy of examples/churn (a git repository, so runs are tagged with its commit) is applied once per test
process (conftest's `applied_churn`); every test that changes something works on its own copy of that
applied tree (specs, warehouse, registry and state), so the tests do not depend on each other's order. The
commands run as subprocesses, exactly as a user or CI runs them (helpers in apply_support.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml
from apply_support import (
    ENV,
    MODEL,
    SPECOPS,
    Applied,
    champion,
    client,
    deployed_version,
    fork_of,
    lock_file,
    ok,
    plan_json,
    row_counts,
    specops,
    state,
    versions,
)
from conftest import RepoEditor
from dbt_support import requires_dbt
from pushgateway_support import Gateway

from compiler.apply import pushgateway

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")
pytest.importorskip("duckdb")

pytestmark = [pytest.mark.slow, requires_dbt,
              pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")]  # mlflow's


@pytest.fixture
def applied(applied_churn: Applied) -> Applied:
    """examples/churn in a git repository, applied once to dev (conftest: once per test process). Read only."""
    return applied_churn


@pytest.fixture
def fork(applied: Applied, tmp_path: Path) -> Path:
    """A private copy of the applied repository: specs, git, warehouse, registry, state."""
    return fork_of(applied, tmp_path / "churn")


# --------------------------------------------------------------------------- first apply


def test_first_apply_builds_the_warehouse(applied):
    out = applied.output
    assert "-> dbt build (everything)" in out
    assert "Apply to 'dev':" in out and "0 failed, 0 skipped." in out
    counts = row_counts(applied.root)
    assert all(n > 0 for n in counts.values()), counts
    assert counts["customer_features"] == counts["customers"] == counts["customer_activity"]


def test_first_apply_trains_registers_and_sets_the_alias(applied):
    from compiler.front.check import require_project

    root = applied.root
    assert "alias 'champion' -> version 1" in applied.output
    mlflow = client(root)
    version = mlflow.get_model_version_by_alias("churn", "champion")
    assert int(version.version) == 1
    model = require_project(root).models["churn"]
    assert version.tags["git_sha"] == applied.sha
    assert version.tags["specops.spec_digest"] == model.digest
    assert version.tags["validation_status"] == "passed"
    run = mlflow.get_run(version.run_id)
    assert {"roc_auc", "accuracy", "log_loss", "precision", "recall", "f1"} <= set(run.data.metrics)
    assert run.data.metrics["roc_auc"] >= 0.7
    assert run.data.params["C"] == "1.0" and run.data.params["target"] == "churned"
    assert run.data.tags["git_sha"] == applied.sha
    # the logged model carries a signature (the five features) and an input example
    folder = Path(urllib.parse.urlparse(mlflow.get_model_version_download_uri("churn", "1")).path)
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
    inputs = [c["name"] for c in json.loads(mlmodel["signature"]["inputs"])]
    assert inputs == list(model.training.features)
    assert mlmodel["saved_input_example_info"]["artifact_path"]
    assert (folder / mlmodel["saved_input_example_info"]["artifact_path"]).is_file()


def test_first_apply_records_state_and_manifests(applied):
    root = applied.root
    data = state(root)
    assert data["lineage"] and data["serial"] == 1
    assert data["pending"] == {}
    assert data["models"]["churn"]["alias_version"] == 1 and data["models"]["churn"]["candidate_version"] == 1
    assert data["models"]["churn"]["promoted"] is True
    assert {"dataset.customer_features", "model.churn", "deployment.churn_api_dev"} <= set(data["resources"])
    assert "deployment.churn_api" not in data["resources"]  # prod's deployment is not dev's business
    assert not lock_file(root).exists()
    assert deployed_version(root) == 1
    assert (root / "build" / "dbt" / "dbt_project.yml").is_file()


def test_second_apply_is_a_no_op(fork):
    before = (fork / ".specops" / "state" / "dev.json").read_bytes()
    run = ok(fork, "apply", "--yes")
    assert "No changes" in run.output and "state serial 1" in run.output
    assert (fork / ".specops" / "state" / "dev.json").read_bytes() == before
    assert versions(fork) == [1]
    assert specops(fork, "plan", "--detailed-exitcode").code == 0


# --------------------------------------------------------------------------- changes


def test_a_destroy_says_what_it_leaves_in_the_warehouse(fork):
    for rel in ("specs/quality/daily_kpis.yaml", "specs/transforms/daily_kpis.yaml", "specs/datasets/daily_kpis.yaml"):
        (fork / rel).unlink()
    run = ok(fork, "apply", "--yes")
    assert "REMOVED  dataset.daily_kpis from the specs: apply leaves its table in the warehouse" in run.output
    assert "REMOVED  transform.build_daily_kpis from the specs: apply leaves the table or view" in run.output
    assert row_counts(fork)["daily_kpis"] > 0  # as it says
    assert "No changes" in ok(fork, "apply", "--yes").output


def test_a_removed_model_leaves_the_state_and_its_versions_stay_in_the_registry(fork):
    """The state kept every model ever applied (`specops state show` listed removed and renamed ones)."""
    assert "churn" in state(fork)["models"]
    for rel in ("specs/deployments/churn_api.yaml", "specs/deployments/churn_api_dev.yaml", MODEL):
        (fork / rel).unlink()
    ok(fork, "apply", "--yes")
    assert state(fork)["models"] == {}
    assert versions(fork) == [1]  # the registry keeps what was registered
    assert "No changes" in ok(fork, "apply", "--yes").output


def test_param_change_retrains_registers_version_2_and_moves_the_alias(fork):
    RepoEditor(fork).replace(MODEL, "C: 1.0", "C: 0.5")
    plan = plan_json(fork)
    assert [(c["address"], c["category"]) for c in plan["resource_changes"]] == [("model.churn", "non-breaking")]
    assert plan["impact"]["retrain"] == ["model.churn"]
    assert plan["impact"]["rollout"] == ["deployment.churn_api_dev"]
    assert plan["impact"]["rebuild"] == [] and plan["impact"]["rerun"] == []

    run = ok(fork, "apply", "--yes")
    assert "dbt build" not in run.output  # nothing upstream of the model changed
    assert "alias 'champion' -> version 2" in run.output
    assert champion(fork) == 2
    assert client(fork).get_run(client(fork).get_model_version("churn", "2").run_id).data.params["C"] == "0.5"
    data = state(fork)
    assert data["serial"] == 2 and data["pending"] == {}
    assert data["models"]["churn"]["alias_version"] == 2
    assert data["resources"]["model.churn"]["spec"]["training"]["params"]["C"] == 0.5
    assert deployed_version(fork) == 2
    assert "No changes" in ok(fork, "apply", "--yes").output


def test_failing_gate_keeps_the_alias_and_leaves_the_work_pending(fork):
    ed = RepoEditor(fork)
    ed.replace(MODEL, "C: 1.0", "C: 0.5")  # a new candidate (a gate change alone only re-evaluates: lifecycle tests)
    ed.replace(MODEL, "{name: roc_auc, min: 0.7}", "{name: roc_auc, min: 0.99}")
    run = specops(fork, "apply", "--yes")
    assert run.code == 1, run.explain()
    assert "alias 'champion' not moved (still version 1)" in run.output
    assert "below the gate minimum 0.99" in run.output
    assert "FAILED   model.churn" in run.output
    assert "SKIPPED  deployment.churn_api_dev: upstream model.churn failed" in run.output
    assert champion(fork) == 1
    assert versions(fork) == [1, 2]
    assert client(fork).get_model_version("churn", "2").tags["validation_status"] == "failed"
    data = state(fork)
    assert data["pending"]["model.churn"]["work"] == "retrain"
    assert data["pending"]["deployment.churn_api_dev"]["work"] == "rollout"
    assert data["models"]["churn"]["alias_version"] == 1 and data["models"]["churn"]["candidate_version"] == 2
    assert not lock_file(fork).exists()  # a failed apply releases its lock
    assert deployed_version(fork) == 1

    text = ok(fork, "plan").output
    assert "retrain  model.churn" in text and "model.churn (pending)" in text
    plan = plan_json(fork)
    assert plan["resource_changes"] == []  # the spec change itself is recorded; its work is not done
    assert plan["impact"]["retrain"] == ["model.churn"]
    assert plan["impact"]["rollout"] == ["deployment.churn_api_dev"]
    assert all("pending from an earlier apply" in i["notes"] for i in plan["impact"]["items"])
    assert specops(fork, "plan", "--detailed-exitcode").code == 2


# --------------------------------------------------------------------------- saved plans and locks


def test_stale_saved_plan_is_refused(fork):
    ed = RepoEditor(fork)
    ed.replace(MODEL, "description: Probability that", "description: The probability that")
    ok(fork, "plan", "--out", "p.json")
    ed.replace(MODEL, "The probability that", "Likelihood that")
    run = specops(fork, "apply", "p.json")
    assert run.code == 1, run.explain()
    assert "stale" in run.output and "the specs changed since the plan was made" in run.output
    assert state(fork)["serial"] == 1

    ok(fork, "plan", "--out", "p2.json")
    ok(fork, "apply", "--yes")  # someone else applied in between
    assert state(fork)["serial"] == 2
    run = specops(fork, "apply", "p2.json")
    assert run.code == 1, run.explain()
    assert "stale" in run.output and "state changed since the plan was made (serial 1 -> 2)" in run.output

    ed.replace(MODEL, "Likelihood that", "Probability that")
    ok(fork, "plan", "--out", "p3.json")
    run = ok(fork, "apply", "p3.json")  # a fresh saved plan needs no --yes
    assert "Apply to 'dev'" in run.output
    assert state(fork)["serial"] == 3


def test_selected_apply_leaves_the_rest_planned(fork):
    ed = RepoEditor(fork)
    ed.replace(MODEL, "max_iter: 500", "max_iter: 400")
    ed.replace("specs/datasets/customer_activity.yaml", "description: The customer.", "description: The account.")
    ok(fork, "plan", "--select", "dataset.customer_activity", "--out", "selected.json")
    run = ok(fork, "apply", "selected.json")  # the saved plan's selection is what gets applied
    assert "-> train" not in run.output and "registered churn" not in run.output
    assert champion(fork) == 1
    plan = plan_json(fork)
    assert [(c["address"], c["category"]) for c in plan["resource_changes"]] == [("model.churn", "non-breaking")]
    assert plan["impact"]["retrain"] == ["model.churn"]


def test_held_lock_is_refused_and_force_unlock_clears_it(fork):
    from compiler.apply.state import Lock

    holder = Lock(fork, "dev").__enter__()  # a holder that died without releasing it
    run = specops(fork, "apply", "--yes")
    assert run.code == 1, run.explain()
    assert f"locked by {holder.info['who']}" in run.output
    assert f"lock ID {holder.info['id']}" in run.output and f"pid {os.getpid()}" in run.output
    assert f"specops force-unlock {holder.info['id']}" in run.output

    wrong = specops(fork, "force-unlock", "not-the-id")
    assert wrong.code == 1 and "no lock has ID not-the-id" in wrong.output
    assert lock_file(fork).exists()
    assert "removed" in ok(fork, "force-unlock", holder.info["id"]).output
    assert not lock_file(fork).exists()
    assert "No changes" in ok(fork, "apply", "--yes").output


def test_apply_killed_mid_way_is_completed_by_the_next(fork):
    """SIGKILL once dbt is done and training has started; the next apply finishes the job."""
    # a change to a feature's values (a comment would be no work at all: the plan reads SQL)
    RepoEditor(fork).replace("specs/transforms/customer_features.yaml", "coalesce(a.avg_satisfaction, 3.0)",
                             "coalesce(a.avg_satisfaction, 3.5)")
    plan = plan_json(fork)
    assert plan["impact"]["rebuild"] == ["transform.build_customer_features"]
    assert plan["impact"]["retrain"] == ["model.churn"]

    proc = subprocess.Popen([*SPECOPS, "apply", "--yes"], cwd=fork, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    watchdog = threading.Timer(300, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    log = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line)
            if line.startswith("-> train model.churn"):
                time.sleep(1.0)  # let training get going
                os.killpg(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=60)
    finally:
        watchdog.cancel()
    output = "".join(log)
    assert proc.returncode == -signal.SIGKILL, output
    assert "dbt build --select" in output and "customer_features" in output

    # what the killed apply left: its state (dbt work done, the rest pending) and its lock
    data = state(fork)
    assert data["serial"] == 2
    assert set(data["pending"]) == {"model.churn", "deployment.churn_api_dev"}
    assert "transform.build_customer_features" in data["resources"]
    assert champion(fork) == 1
    held = json.loads(lock_file(fork).read_text(encoding="utf-8"))
    assert held["pid"] == proc.pid

    refused = specops(fork, "apply", "--yes")
    assert refused.code == 1 and f"lock ID {held['id']}" in refused.output and f"pid {proc.pid}" in refused.output
    ok(fork, "force-unlock", held["id"])
    text = ok(fork, "plan").output
    assert "retrain  model.churn" in text and "transform.build_customer_features (pending)" in text
    plan = plan_json(fork)
    assert plan["resource_changes"] == [] and plan["impact"]["rebuild"] == []
    assert plan["impact"]["retrain"] == ["model.churn"] and plan["impact"]["rollout"] == ["deployment.churn_api_dev"]

    run = ok(fork, "apply", "--yes")
    assert "dbt build" not in run.output  # the data work was done before the kill
    # a feature's values changed: a new version (one the killed run may have registered is not reused)
    assert "registered churn version" in run.output and "reused churn version" not in run.output
    latest = versions(fork)[-1]
    assert latest >= 2 and champion(fork) == latest
    data = state(fork)
    assert data["pending"] == {} and data["serial"] == 3
    assert data["models"]["churn"]["alias_version"] == latest
    assert deployed_version(fork) == latest
    assert all(n > 0 for n in row_counts(fork).values())
    assert specops(fork, "plan", "--detailed-exitcode").code == 0


# --------------------------------------------------------------------------- train and drift


def test_train_and_drift_commands(fork):
    run = ok(fork, "train", "churn", "--env", "dev")  # nothing changed: the version trained from it is reused
    assert "reused churn version 1" in run.output and "version 1 already holds the alias 'champion'" in run.output
    assert versions(fork) == [1]
    run = ok(fork, "train", "churn", "--env", "dev", "--no-reuse")
    assert "registered churn version 2" in run.output and "alias 'champion' -> version 2" in run.output
    assert champion(fork) == 2
    assert state(fork)["models"]["churn"]["alias_version"] == 2

    run = ok(fork, "drift", "churn", "--env", "dev")
    scores = {}
    for line in run.output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "psi":
            scores[parts[1]] = float(parts[2])
    assert set(scores) == {"tenure_months", "monthly_spend", "subscription_count", "support_tickets",
                           "avg_satisfaction"}
    assert all(0 <= s < 0.2 for s in scores.values()), scores
    assert 'specops_drift_score{model="churn", environment="dev"}' in run.output
    assert "no drift" in run.output
    assert "Pushgateway" not in run.output  # dev sets no monitoring.pushgateway: nothing is pushed

    printed = float(run.output.split('specops_drift_score{model="churn", environment="dev"} ')[1].split()[0])
    with Gateway() as gateway:  # a real HTTP server standing in for the Pushgateway
        pushed = ok(fork, "drift", "churn", "--env", "dev", "--pushgateway", gateway.url)
    assert [{k: v for k, v in r.items() if k != "body"} for r in gateway.requests] == [{
        "method": "PUT", "path": "/metrics/job/specops_drift/model/churn/environment/dev",
        "content_type": "text/plain; version=0.0.4; charset=utf-8"}], gateway.requests
    body = gateway.requests[0]["body"].splitlines()
    assert body[:2] == pushgateway.drift_push("churn", "dev", 0.0).body.splitlines()[:2]  # HELP, TYPE gauge
    assert len(body) == 3 and body[2].split()[0] == "specops_drift_score"  # no labels: the grouping key's
    assert abs(float(body[2].split()[1]) - printed) <= 5e-7 and printed == pytest.approx(max(scores.values()),
                                                                                         abs=5e-5)
    assert f"pushed specops_drift_score to the Pushgateway at {gateway.url}/metrics/job/specops_drift" in pushed.output
    # the environment's monitoring.pushgateway, down: a warning naming the URL, the check's outcome unchanged
    with Gateway() as closed:
        url = closed.url
    (fork / "specs" / "environments.yaml").write_text((fork / "specs" / "environments.yaml").read_text(
        encoding="utf-8").replace("  protection:\n    allow_pii: false",
                                  f"  monitoring:\n    pushgateway: {url}\n  protection:\n    allow_pii: false", 1),
        encoding="utf-8")
    down = ok(fork, "drift", "churn", "--env", "dev")
    assert f"warning: the drift score was not pushed to the Pushgateway at {url}/metrics/job/specops_drift/model/" \
           "churn/environment/dev: " in down.output and "Traceback" not in down.output, down.output
    assert "no drift" in down.output


def _carriers_table(fork: Path) -> None:
    """A warehouse table raw.carriers (two rows) in the fork's dev DuckDB, for a table source to read."""
    import duckdb

    con = duckdb.connect(str(fork / ".specops" / "dev.duckdb"))
    try:
        con.execute("create schema if not exists raw")
        con.execute("create table raw.carriers as select * from (values (1, 'road'), (2, 'air')) as t(carrier_id, mode)")
    finally:
        con.close()


def test_the_checks_of_a_table_source_run_when_only_they_changed(fork: Path):
    """A table source is a dbt source: `--select carriers` matched nothing (dbt only warned), so apply counted the
    re-run checks done and the next plan was empty, though a narrowed accepted_values fails on the table."""
    _carriers_table(fork)
    RepoEditor(fork).write("specs/datasets/carriers.yaml", (
        "apiVersion: specops/v1\nkind: Dataset\nmetadata: {name: carriers, owner: \"@acme/data\"}\n"
        "spec:\n  source: {type: table, schema: raw, table: carriers}\n  columns:\n"
        "    - {name: carrier_id, type: integer, required: true}\n"
        "    - {name: mode, type: string, accepted_values: [road, rail, air]}\n"))
    RepoEditor(fork).write("specs/quality/carriers.yaml", (
        "apiVersion: specops/v1\nkind: QualityRule\nmetadata: {name: carriers_checks, owner: \"@acme/data\"}\n"
        "spec:\n  dataset: carriers\n  severity: warn\n  checks:\n"
        "    - {type: accepted_values, column: mode, values: [road], name: mostly_road}\n"))
    first = ok(fork, "apply", "--yes")
    assert "--select source:raw.carriers" in first.output, first.output
    # a warn check that finds failing rows: apply says so itself (dbt's WARN line alone was easy to miss)
    assert "warning: check 'mostly_road' (accepted_values) of quality_rule.carriers_checks at " \
           "specs/quality/carriers.yaml:8:7 on dataset.carriers: 1 failing row(s), severity warn" in first.output, \
        first.output
    assert "WARNED   check 'mostly_road'" in first.output and "0 skipped, 1 check(s) warned." in first.output
    RepoEditor(fork).replace("specs/datasets/carriers.yaml", "[road, rail, air]", "[road, rail]")
    run = specops(fork, "apply", "--yes")
    assert run.code == 1, run.explain()
    assert "-> dbt build --select source:raw.carriers" in run.output
    assert "check 'carriers__mode__accepted_values'" in run.output and "1 failing row(s)" in run.output
    assert "dataset.carriers" in state(fork)["pending"]


def test_a_rule_whose_checks_pass_is_done_when_another_rule_on_its_dataset_fails(fork: Path):
    """dbt reports failures per test; apply marked every rule on the failing test's dataset failed ("dbt reported
    failures on: carriers"), so a rule whose checks passed stayed pending and ran again at every apply."""
    _carriers_table(fork)
    ed = RepoEditor(fork)
    ed.write("specs/datasets/carriers.yaml", (
        "apiVersion: specops/v1\nkind: Dataset\nmetadata: {name: carriers, owner: \"@acme/data\"}\n"
        "spec:\n  source: {type: table, schema: raw, table: carriers}\n  columns:\n"
        "    - {name: carrier_id, type: integer}\n    - {name: mode, type: string}\n"))
    for name, check in (("carriers_modes", "{type: accepted_values, column: mode, values: [road]}"),
                        ("carriers_ids", "{type: not_null, column: carrier_id}")):
        ed.write(f"specs/quality/{name}.yaml", (
            f"apiVersion: specops/v1\nkind: QualityRule\nmetadata: {{name: {name}, owner: \"@acme/data\"}}\n"
            f"spec:\n  dataset: carriers\n  checks:\n    - {check}\n"))
    run = specops(fork, "apply", "--yes")
    assert run.code == 1, run.explain()
    assert "FAILED   quality_rule.carriers_modes:" in run.output and "quality_rule.carriers_ids" not in "".join(
        line for line in run.output.splitlines() if line.startswith("FAILED")), run.output
    pending = state(fork)["pending"]
    assert "quality_rule.carriers_modes" in pending and "quality_rule.carriers_ids" not in pending, pending
