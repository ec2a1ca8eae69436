"""The model lifecycle end to end: dbt on DuckDB, MLflow with a SQLite registry and the trainer really run.

Reproducible training (whatever the table's physical order), fair promotion (the champion re-scored on the
candidate's holdout, per-metric max_regression, the decision on the run), the retry that reuses a failed
candidate, gates apart from training (evaluate), promotion and rollback on purpose, split strategies, the
decision threshold down to the served answer, drift against a window (and the retraining it triggers),
failing checks named with their spec line, full refreshes of stale incremental models, and selective
applies that refuse to roll out a deployment whose model has no version.

Each test works on its own copy of examples/churn applied once to dev (conftest's `applied_churn`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from apply_support import (
    MODEL,
    Applied,
    champion,
    client,
    deployed_version,
    fork_of,
    ok,
    plan_json,
    specops,
    state,
    versions,
)
from conftest import RepoEditor
from dbt_support import requires_dbt

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")
pytest.importorskip("duckdb")

pytestmark = [pytest.mark.slow, requires_dbt,
              pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")]  # mlflow's

RULES = "specs/quality/customer_features.yaml"
FEATURES_SQL = "specs/transforms/customer_features.yaml"
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")


@pytest.fixture
def fork(applied_churn: Applied, tmp_path: Path) -> Path:
    return fork_of(applied_churn, tmp_path / "churn")


def duck(root: Path, sql: str, read_only: bool = False) -> list[tuple[Any, ...]]:
    """Run SQL on the dev warehouse (as a user or another job would, behind specops' back)."""
    import duckdb

    con = duckdb.connect(str(root / ".specops" / "dev.duckdb"), read_only=read_only)
    try:
        cur = con.execute(sql)
        return cur.fetchall() if cur.description else []
    finally:
        con.close()


def run_of(root: Path, version: int):
    registry = client(root)
    return registry.get_run(registry.get_model_version("churn", str(version)).run_id)


def scores(run) -> dict[str, float]:
    return {k: v for k, v in run.data.metrics.items() if k in METRICS}


def holdout(root: Path, version: int):
    import pandas as pd
    from mlflow.artifacts import download_artifacts

    with tempfile.TemporaryDirectory() as tmp:
        path = download_artifacts(run_id=run_of(root, version).info.run_id, artifact_path="specops/holdout.parquet",
                                  dst_path=tmp, tracking_uri=f"sqlite:///{root / '.specops' / 'mlflow.db'}")
        return pd.read_parquet(path)


# --------------------------------------------------------------------------- reproducible training


def test_training_gives_the_same_metrics_whatever_the_tables_physical_order(fork):
    first = duck(fork, "select customer_id from main.customer_features limit 20")
    # rebuilt from the same rows in another physical order, as a rebuild of the table may do
    duck(fork, "create or replace table main.customer_features as "
               "select * from main.customer_features order by hash(customer_id * 7919)")
    assert duck(fork, "select customer_id from main.customer_features limit 20") != first

    run = ok(fork, "train", "churn", "--no-reuse")
    assert "registered churn version 2" in run.output
    v1, v2 = run_of(fork, 1), run_of(fork, 2)
    assert scores(v2) == scores(v1) and len(scores(v1)) == len(METRICS)  # bit for bit
    for param in ("specops.data_digest", "specops.holdout_digest", "specops.split"):
        assert v2.data.params[param] == v1.data.params[param], param
    assert v1.data.params["specops.split"] == "random, seed 42"

    # by default the version trained from the same data, code and settings is reused: nothing is registered
    run = ok(fork, "train", "churn")
    assert "reused churn version 2, trained from the same data, code and settings" in run.output
    assert versions(fork) == [1, 2]


# --------------------------------------------------------------------------- fair promotion


def test_training_code_that_seeds_nothing_gives_the_same_metrics_on_every_run(fork):
    """`random_seed` seeds the training code too: an estimator drawing from NumPy's global generator (no
    random_state given) gives the same model, run after run."""
    path = fork / "training" / "churn.py"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    return model.fit(X, y)",
                                 "    import numpy as np\n"
                                 "    noisy = X + np.random.normal(scale=1.0, size=X.shape)  # no seed given\n"
                                 "    return model.fit(noisy, y)"), encoding="utf-8")
    for version in (2, 3):  # each registered, then kept from the alias or not by the gates: either will do
        run = specops(fork, "train", "churn", "--no-reuse")
        assert f"registered churn version {version}" in run.output, run.explain()
    v2, v3 = (run_of(fork, v) for v in (2, 3))
    assert scores(v2) == scores(v3) and len(scores(v2)) == len(METRICS)


def test_the_champion_is_rescored_on_the_candidates_holdout(fork):
    # a data refresh makes the problem harder: some labels flip, for the champion and the candidate alike
    duck(fork, "update main.customer_features set churned = 1 - churned where hash(customer_id) % 100 < 12")
    run = ok(fork, "train", "churn")
    assert "version 1 (the 'champion') re-scored on this holdout:" in run.output
    assert "alias 'champion' -> version 2" in run.output and champion(fork) == 2

    v1, v2 = run_of(fork, 1).data, run_of(fork, 2).data
    # against the champion's score on its own, older holdout the candidate would have been refused ...
    assert v2.metrics["roc_auc"] < v1.metrics["roc_auc"] - 0.02
    # ... but scored on the candidate's holdout the champion does no better
    assert v2.metrics["champion_roc_auc"] < v1.metrics["roc_auc"] - 0.02
    assert v2.metrics["roc_auc"] - v2.metrics["champion_roc_auc"] > -0.02
    assert {f"champion_{m}" for m in METRICS} <= set(v2.metrics)
    assert v2.tags["specops.decision"] == "promoted" and v2.tags["specops.compared_with"] == "1"
    assert v2.tags["specops.holdout_digest"] == v2.params["specops.holdout_digest"]
    assert v2.params["specops.holdout_rows"] == "300"

    from compiler.apply.steps.split import frame_digest

    rows = holdout(fork, 2)
    assert frame_digest(rows) == v2.params["specops.holdout_digest"]  # the rows logged are the rows scored
    assert list(rows.columns) == ["tenure_months", "monthly_spend", "subscription_count", "support_tickets",
                                  "avg_satisfaction", "churned"]
    assert state(fork)["models"]["churn"]["compared_with"] == 1


def test_a_champion_needing_a_dropped_feature_is_compared_by_its_logged_metrics(fork):
    """The candidate drops features the champion needs, so the champion cannot be scored on its holdout: it was not
    compared at all, and a far worse model took the alias. Its metrics as its run logged them are the measure."""
    RepoEditor(fork).replace(MODEL, "features: [tenure_months, monthly_spend, subscription_count, support_tickets, "
                             "avg_satisfaction]", "features: [subscription_count]")
    RepoEditor(fork).replace(MODEL, "{name: roc_auc, min: 0.7}", "{name: roc_auc, min: 0.1}")
    RepoEditor(fork).replace(MODEL, "{name: log_loss, max: 0.65}", "{name: log_loss, max: 5}")
    RepoEditor(fork).replace(MODEL, "{name: accuracy, min: 0.7}", "{name: accuracy, min: 0.1}")
    run = specops(fork, "train", "churn")
    assert run.code == 1, run.explain()
    assert "version 1 (the 'champion') as logged on its own holdout (not comparable row for row):" in run.output
    assert ("version 1 needs columns the holdout lacks (tenure_months, monthly_spend, support_tickets, "
            "avg_satisfaction): not re-scored on the candidate's holdout; compared with its metrics as logged on its "
            "own holdout instead") in run.output, run.output
    assert re.search(r"roc_auc 0\.\d+ is worse than version 1's 0\.\d+ as logged on its own holdout by", run.output)
    assert champion(fork) == 1
    assert run_of(fork, 2).data.tags["specops.decision"] == "rejected"


def test_a_pii_feature_leaves_no_value_in_the_runs_profile_nor_an_input_example(fork):
    """The profile kept a PII feature's values (or digests a guess undoes) and the logged model the first rows of
    the training data as its input example."""
    from mlflow.artifacts import download_artifacts

    RepoEditor(fork).replace("specs/datasets/customer_features.yaml",
                             "      description: Whole months from signup to the snapshot date.\n",
                             "      description: Whole months from signup to the snapshot date.\n      pii: true\n")
    RepoEditor(fork).replace(MODEL, "allow_pii_features: false", "allow_pii_features: true")
    RepoEditor(fork).replace("specs/environments.yaml", "allow_pii: false", "allow_pii: true", count=2)
    run = ok(fork, "train", "churn", "--no-reuse")
    assert "registered churn version 2" in run.output
    uri = f"sqlite:///{fork / '.specops' / 'mlflow.db'}"
    run_id = run_of(fork, 2).info.run_id
    with tempfile.TemporaryDirectory() as tmp:
        profile = json.loads(Path(download_artifacts(run_id=run_id, artifact_path="specops/profile.json",
                                                     dst_path=tmp, tracking_uri=uri)).read_text())
        model = Path(download_artifacts(run_id=run_id, artifact_path="", dst_path=tmp, tracking_uri=uri))
        examples = [p.name for p in model.rglob("*example*")]
    assert set(profile["tenure_months"]) <= {"spectrum", "other", "nulls", "edges", "open", "shares"}
    assert "sample" not in profile["tenure_months"] and "values" not in profile["tenure_months"]
    assert "sample" in profile["monthly_spend"]  # not PII: as before
    assert examples == [], examples


def test_per_metric_regression_a_retry_a_gate_change_and_a_rollback(fork):
    ed = RepoEditor(fork)
    # heavy regularisation: roc_auc holds up, log_loss and accuracy get worse than the champion's
    ed.replace(MODEL, "C: 1.0", "C: 0.003")
    ed.replace(MODEL, "max_regression: 0.02", "max_regression: {roc_auc: 0.01, log_loss: 0.05}")
    run = specops(fork, "apply", "--yes")
    assert run.code == 1, run.explain()
    assert re.search(r"log_loss\s+candidate 0\.\d+\s+version 1 0\.\d+\s+diff \+0\.\d+\s+REGRESSED by 0\.\d+ > "
                     r"max_regression 0\.05", run.output), run.output
    assert re.search(r"roc_auc .* ok \(max_regression 0\.01\)", run.output), run.output
    assert "accuracy" not in re.findall(r"(\w+)\s+candidate.*(?:ok|REGRESSED)", run.output)  # not bounded
    assert "alias 'champion' not moved (still version 1)" in run.output
    assert versions(fork) == [1, 2] and champion(fork) == 1
    v2 = run_of(fork, 2).data
    assert v2.tags["specops.decision"] == "rejected" and "log_loss" in v2.tags["specops.decision_reasons"]
    assert client(fork).get_model_version("churn", "2").tags["validation_status"] == "failed"

    # the retry with unchanged inputs reuses the failed candidate: no version 3
    run = specops(fork, "apply", "--yes")
    assert run.code == 1, run.explain()
    assert "reused churn version 2" in run.output and versions(fork) == [1, 2]
    run = specops(fork, "train", "churn")  # the same refusal: the step says FAILED, never ok
    assert run.code == 1 and "   FAILED after" in run.output and "   ok (" not in run.output, run.explain()

    # only the bound changes: the candidate and the champion are evaluated again, nothing is trained
    ed.replace(MODEL, "log_loss: 0.05}", "log_loss: 0.1}")
    plan = plan_json(fork)
    assert plan["impact"]["evaluate"] == ["model.churn"] and plan["impact"]["retrain"] == []
    run = ok(fork, "apply", "--yes")
    assert "-> evaluate model.churn" in run.output and "registered churn" not in run.output
    assert "alias 'champion' -> version 2" in run.output
    assert versions(fork) == [1, 2] and champion(fork) == 2 and deployed_version(fork) == 2
    assert run_of(fork, 2).data.tags["specops.decision"] == "promoted"

    # a rollback on purpose, with its reason recorded
    run = ok(fork, "promote", "churn", "1", "--env", "dev", "--reason", "version 2 misses churners in enterprise")
    assert "alias 'champion' of churn -> version 1 (was version 2)" in run.output
    assert champion(fork) == 1
    tags = client(fork).get_model_version("churn", "1").tags
    assert tags["specops.promotion_reason"] == "version 2 misses churners in enterprise"
    assert tags["specops.promoted_from"] == "2" and tags["specops.promoted_by"]
    assert "version 2 misses churners" in client(fork).get_model_version("churn", "2").tags["specops.demoted"]
    data = state(fork)
    assert data["models"]["churn"]["alias_version"] == 1
    assert data["models"]["churn"]["promotions"][-1]["reason"] == "version 2 misses churners in enterprise"
    assert data["pending"]["deployment.churn_api_dev"]["work"] == "rollout"
    ok(fork, "apply", "--yes")
    assert deployed_version(fork) == 1
    # automation does not undo it: the demoted version, trained from the same inputs, keeps away from the alias,
    # and what the rollback chose holds: no failure
    run = ok(fork, "train", "churn")
    assert "version 2 was demoted on purpose" in run.output and "version 1 keeps the alias 'champion'" in run.output
    assert champion(fork) == 1 and versions(fork) == [1, 2]
    # nor does a gate edit: the demoted version (the only one trained from these settings) is evaluated, the
    # rollback holds, the apply succeeds, and validation_status says what the gates say of version 2
    ed.replace(MODEL, "{name: roc_auc, min: 0.7}", "{name: roc_auc, min: 0.71}")
    run = ok(fork, "apply", "--yes")
    assert "-> evaluate model.churn" in run.output and "version 1 keeps the alias 'champion'" in run.output
    assert champion(fork) == 1 and state(fork)["models"]["churn"]["alias_version"] == 1
    assert client(fork).get_model_version("churn", "2").tags["validation_status"] == "passed"
    # a renamed alias starts at the version holding the previous one, so the demoted version does not get it
    ed.replace(MODEL, "alias: champion", "alias: production")
    run = ok(fork, "apply", "--yes")
    assert "the alias 'production' is new: it starts at version 1" in run.output, run.output
    assert client(fork).get_registered_model("churn").aliases == {"champion": 1, "production": 1, "challenger": 2}
    assert state(fork)["models"]["churn"]["alias_version"] == 1
    refused = specops(fork, "promote", "churn", "7", "--reason", "x")
    assert refused.code == 1 and "has no version 7" in refused.output


def test_a_rollout_ticks_off_the_rollout_a_promote_left_pending(fork):
    ok(fork, "train", "churn", "--no-reuse")  # version 2 takes the alias
    ok(fork, "promote", "churn", "1", "--reason", "back to version 1")
    (item,) = plan_json(fork)["impact"]["items"]
    assert item["address"] == "deployment.churn_api_dev" and item["work"] == "rollout"
    assert item["notes"] == ["version 1 promoted by hand: back to version 1", "pending from `specops promote`"]
    assert state(fork)["pending"]["deployment.churn_api_dev"]["origin"] == "promote"

    run = ok(fork, "rollout", "churn_api_dev")
    assert "deployment.churn_api_dev: model churn version 1" in run.output
    assert state(fork)["pending"] == {}
    assert plan_json(fork)["impact"]["items"] == []
    assert specops(fork, "plan", "--detailed-exitcode").code == 0

    # with its model's training pending too (a failed apply), the rollout stays pending: it follows the training
    ok(fork, "promote", "churn", "2", "--reason", "forward again")
    path = fork / ".specops" / "state" / "dev.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["pending"]["model.churn"] = {"address": "model.churn", "work": "retrain", "cause": "model.churn",
                                      "category": "non-breaking", "path": ["model.churn"], "notes": []}
    path.write_text(json.dumps(data), encoding="utf-8")
    ok(fork, "rollout", "churn_api_dev")
    assert set(state(fork)["pending"]) == {"model.churn", "deployment.churn_api_dev"}


# --------------------------------------------------------------------------- splits and the decision threshold


def test_time_and_group_splits(fork):
    ed = RepoEditor(fork)
    ed.replace(FEATURES_SQL, "        cast(s.snapshot_date as date) as snapshot_date,\n",
               "        cast(s.snapshot_date as date) as snapshot_date,\n"
               "        cast(c.signup_date as date) as signup_date,\n")
    ed.replace("specs/datasets/customer_features.yaml", "    - name: tenure_months\n",
               "    - name: signup_date\n      type: date\n      required: true\n    - name: tenure_months\n")
    ed.replace(MODEL, "    random_seed: 42\n", "    random_seed: 42\n    split: {strategy: time, column: signup_date}\n")
    ed.replace(MODEL, "{name: accuracy, min: 0.7}", "{name: accuracy, min: 0.6}")  # the newest customers are harder
    ok(fork, "apply", "--yes")
    params = run_of(fork, 2).data.params
    cutoff = re.fullmatch(r"time on signup_date, held out from (\d{4}-\d\d-\d\d)", params["specops.split"]).group(1)
    later, earlier = duck(fork, f"select count(*) filter (where signup_date >= '{cutoff}'), "
                                f"count(*) filter (where signup_date < '{cutoff}') from main.customer_features")[0]
    assert int(params["specops.holdout_rows"]) == later and int(params["specops.data_rows"]) == later + earlier
    assert later >= 300  # test_size 0.2 of 1500, and every row of the cut-off day
    assert str(holdout(fork, 2)["signup_date"].min().date()) == cutoff

    ed.replace(MODEL, "split: {strategy: time, column: signup_date}", "split: {strategy: group, column: segment}")
    specops(fork, "train", "churn")  # whether it passes the gates does not matter here
    assert versions(fork) == [1, 2, 3]
    params = run_of(fork, 3).data.params
    held = sorted(set(holdout(fork, 3)["segment"]))
    in_held = duck(fork, "select count(*) from main.customer_features where segment in "
                         f"({', '.join(repr(s) for s in held)})")[0][0]
    assert int(params["specops.holdout_rows"]) == in_held and 0 < in_held < 1500
    assert params["specops.split"] == "group on segment, seed 42"


def test_a_decision_threshold_sets_the_metrics_and_the_served_labels(fork, tmp_path):
    ed = RepoEditor(fork)
    ed.replace(MODEL, "  framework: sklearn\n", "  framework: sklearn\n  decision_threshold: 0.3\n")
    ed.replace(MODEL, "max_regression: 0.02", "max_regression: {roc_auc: 0.02}")
    ok(fork, "train", "churn")
    v1, v2 = scores(run_of(fork, 1)), scores(run_of(fork, 2))
    assert v2["roc_auc"] == v1["roc_auc"] and v2["recall"] > v1["recall"]  # the same model, more positives
    assert run_of(fork, 2).data.params["specops.decision_threshold"] == "0.3"

    rows = holdout(fork, 2).head(40)
    features = [c for c in rows.columns if c != "churned"]
    answer = serve(fork, tmp_path, "models:/churn/2",
                   {"dataframe_split": {"columns": features, "data": rows[features].values.tolist()}})
    assert set(answer) == {"predictions", "probabilities", "classes"} and answer["classes"] == [0, 1]
    probs = answer["probabilities"]
    assert len(probs) == 40 and all(abs(sum(p) - 1) < 1e-9 for p in probs)
    assert answer["predictions"] == [1 if p[1] >= 0.3 else 0 for p in probs]
    assert any(0.3 <= p[1] < 0.5 for p in probs)  # rows whose label the threshold decides
    import mlflow.sklearn
    import numpy as np

    model = mlflow.sklearn.load_model(client(fork).get_model_version_download_uri("churn", "2"))
    assert np.allclose(probs, model.predict_proba(rows[features]), rtol=0, atol=1e-12)


def serve(root: Path, tmp_path: Path, model_uri: str, body: dict[str, Any]) -> dict[str, Any]:
    """Start the serving image's serve.py (as compiled for this repository) on the registry and score `body`."""
    from test_serving import free_port, post, wait_ready

    from compiler.emit.docker import emit
    from compiler.front.check import require_project

    script = next(a.content for a in emit(require_project(root)) if a.path == "docker/churn/serve.py")
    (tmp_path / "serve.py").write_bytes(script)
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "TMPDIR": str(tmp_path), "PORT": str(port),
           "MODEL_URI": model_uri, "MLFLOW_TRACKING_URI": f"sqlite:///{root / '.specops' / 'mlflow.db'}",
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, str(tmp_path / "serve.py")], cwd=tmp_path, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            wait_ready(f"http://127.0.0.1:{port}", proc, log)
            status, answer = post(f"http://127.0.0.1:{port}/invocations", body)
            assert status == 200, answer
            return answer
        finally:
            proc.terminate()
            proc.wait(timeout=20)


# --------------------------------------------------------------------------- drift against a window


def test_drift_compares_the_window_with_the_training_profile_and_retrains(fork):
    ed = RepoEditor(fork)
    ed.replace(MODEL, 'schedule: "0 6 * * *"}', 'schedule: "0 6 * * *", window: {column: snapshot_date, '
               'period: 7d}, retrain: true}')
    (day,) = duck(fork, "select max(snapshot_date) from main.customer_features", read_only=True)[0]
    as_of = (day.toordinal() + 1)

    def date(ordinal: int) -> str:
        from datetime import date as d

        return d.fromordinal(ordinal).isoformat()

    run = ok(fork, "drift", "churn", "--as-of", date(as_of))
    assert "reference: the training profile of churn version 1" in run.output
    assert f"current: the 1500 rows with snapshot_date >= {date(as_of - 7)} 00:00:00" in run.output
    assert "no drift" in run.output

    empty = specops(fork, "drift", "churn", "--as-of", date(as_of + 30))
    assert empty.code == 1 and f"has no rows with snapshot_date >= {date(as_of + 23)}" in empty.output

    # a month later the customers look different: only those rows are in the window
    duck(fork, "insert into main.customer_features select customer_id + 100000, segment, snapshot_date + 30, "
               "tenure_months + 24, monthly_spend * 1.5, subscription_count, support_tickets + 2, avg_satisfaction, "
               "churned from main.customer_features")
    later = date(as_of + 30)
    run = specops(fork, "drift", "churn", "--as-of", later)
    assert run.code == 1, run.explain()
    assert "current: the 1500 rows with snapshot_date >= " in run.output
    assert re.search(r"psi support_tickets\s+\d+\.\d+  DRIFT", run.output)
    assert "drift detected: support_tickets" in run.output and "the spec asks for retraining" in run.output
    assert versions(fork) == [1]

    run = ok(fork, "drift", "churn", "--as-of", later, "--retrain")
    assert "drift detected: support_tickets" in run.output and "retraining" in run.output
    assert "alias 'champion' -> version 2" in run.output and champion(fork) == 2
    assert run_of(fork, 2).data.params["specops.data_rows"] == "3000"  # trained on the new rows too
    assert state(fork)["models"]["churn"]["alias_version"] == 2


# --------------------------------------------------------------------------- failures name the check


def test_a_failing_check_names_its_spec_line_rows_and_a_sample_query(fork):
    ed = RepoEditor(fork)
    ed.replace(RULES, "{type: range, column: tenure_months, min: 0, max: 600}",
               "{type: range, column: tenure_months, min: 0, max: 20}")
    line = ed.line_of(RULES, "column: tenure_months, min: 0, max: 20")
    run = specops(fork, "apply", "--yes")
    assert run.code == 1, run.explain()
    failing = duck(fork, "select count(*) from main.customer_features where tenure_months < 0 or tenure_months > 20",
                   read_only=True)[0][0]
    assert failing > 0
    found = re.search(r"FAILED   quality_rule\.customer_features_checks: check '(\w+)' \(range\) of "
                      rf"quality_rule\.customer_features_checks at {re.escape(RULES)}:{line}:7 on "
                      rf"dataset\.customer_features: {failing} failing row\(s\); sample: (select .* limit 10)\n",
                      run.output)
    assert found, run.output
    assert "dbt reported failures on" not in run.output
    rows = duck(fork, found.group(2), read_only=True)  # the sample query runs as printed
    assert 0 < len(rows) <= 10
    # the retraining job must not train (and promote) on the table that failed its check
    before = (champion(fork), versions(fork))
    refused = specops(fork, "train", "churn", "--env", "dev")
    assert refused.code == 1, (refused.explain(), state(fork).get("pending"))
    assert "refusing to train model.churn in environment 'dev': an apply left work on its training data undone " \
           "(quality_rule.customer_features_checks (rerun))" in refused.output, refused.output
    assert (champion(fork), versions(fork)) == before


def test_a_failing_train_names_the_line_of_the_users_code_and_logs_the_traceback(fork):
    ed = RepoEditor(fork)
    ed.write("training/failure.py", 'import pandas  # noqa: F401\n\ndef train(X, y, params):\n    return X["nosuch"]\n')
    ed.replace(MODEL, "entrypoint: training/churn.py", "entrypoint: training/failure.py")
    log = fork / ".specops" / "logs" / "dev" / "train-churn.log"
    where = ("train() raised KeyError: 'nosuch' at training/failure.py:4 in train: return X[\"nosuch\"] "
             "(full traceback in .specops/logs/dev/train-churn.log)")
    for args in (("apply", "--yes"), ("train", "churn")):
        log.unlink(missing_ok=True)
        run = specops(fork, *args)
        assert run.code == 1, run.explain()
        assert "FAILED after" in run.output and where in run.output, run.explain()
        assert "Traceback" not in run.output and "pandas/core" not in run.output  # the terminal gets one line
        text = log.read_text(encoding="utf-8")
        assert text.startswith("Traceback") and 'training/failure.py", line 4, in train' in text
        assert text.rstrip().endswith("KeyError: 'nosuch'")
    assert versions(fork) == [1] and champion(fork) == 1

    # a module that fails as it is imported: the line of the module
    ed.write("training/failure.py", "import pandas  # noqa: F401\nLIMIT = undefined_name\n")
    run = specops(fork, "train", "churn")
    assert run.code == 1, run.explain()
    assert ("importing training/failure.py failed: NameError: name 'undefined_name' is not defined at "
            "training/failure.py:2 in <module>: LIMIT = undefined_name") in run.output, run.explain()

    # sys.exit() (or argparse) in the user's code fails the step like any error: no silent exit with its code
    ed.write("training/failure.py", "import sys\n\ndef train(X, y, params):\n    sys.exit(2)\n")
    run = specops(fork, "apply", "--yes")
    assert run.code == 1, run.explain()
    assert "train() raised SystemExit: 2 at training/failure.py:4 in train: sys.exit(2)" in run.output, run.explain()
    assert "Apply to 'dev'" in run.output  # the summary, as after any failure


# --------------------------------------------------------------------------- selective apply


def test_a_selective_apply_refuses_a_deployment_whose_model_has_no_version_there(fork):
    ed = RepoEditor(fork)
    ed.append_docs("specs/environments.yaml", {
        "apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "staging"},
        "spec": {"warehouse": {"type": "duckdb", "path": ".specops/staging.duckdb"},
                 "mlflow": {"tracking_uri": "sqlite:///.specops/mlflow-staging.db"},
                 "kubernetes": {"namespace": "ml-staging"}}})
    ed.append_docs("specs/deployments/churn_api_dev.yaml", {
        "apiVersion": "specops/v1", "kind": "Deployment",
        "metadata": {"name": "churn_api_staging", "owner": "@acme/ml"},
        "spec": {"model": "churn", "environment": "staging", "replicas": 2}})
    run = specops(fork, "apply", "--env", "staging", "--select", "deployment.churn_api_staging", "--yes")
    assert run.code == 1, run.explain()
    assert ("refusing to apply: deployment.churn_api_staging serves model.churn, which has no version holding the "
            "alias 'champion' in environment 'staging' yet. Apply the model first: specops apply --env staging "
            "--select model.churn (or --select +deployment.churn_api_staging for everything it needs)") in run.output
    assert not (fork / ".specops" / "manifests" / "staging").exists()
    assert not (fork / ".specops" / "state" / "staging.json").exists()


# --------------------------------------------------------------------------- full refreshes


ACTIVE = ("select customer_id, sum(case when status = 'active' then 1 else 0 end) from main.subscriptions "
          "group by customer_id order by customer_id")


def test_a_rewritten_source_rebuilds_the_incremental_model_from_scratch_and_the_model_trains_on_it(fork):
    ed = RepoEditor(fork)
    lines = ed.read("data/subscriptions.csv").splitlines(keepends=True)
    # cancel every active subscription of a tenth of the customers, keeping updated_at: not an append, and
    # nothing an incremental merge on updated_at would pick up
    rewritten = [lines[0]]
    for line in lines[1:]:
        sub_id, customer, plan, price, status, started, ended, updated = line.rstrip("\n").split(",")
        if customer.endswith("7") and status == "active":
            status, ended = "cancelled", started
        rewritten.append(",".join((sub_id, customer, plan, price, status, started, ended, updated)) + "\n")
    assert rewritten != lines
    ed.write("data/subscriptions.csv", "".join(rewritten))
    churned_before = duck(fork, "select sum(churned) from main.customer_features", read_only=True)[0][0]

    plan = plan_json(fork)
    items = {i["address"]: i for i in plan["impact"]["items"]}
    assert items["transform.build_customer_activity"].get("full_refresh") is True
    assert "data/subscriptions.csv was rewritten, not appended to" in items["transform.build_customer_activity"]["notes"]
    assert items["transform.build_customer_features"].get("full_refresh") is True
    assert "model.churn" in plan["impact"]["retrain"]

    run = ok(fork, "apply", "--yes")
    assert re.search(r"-> dbt build --select .*subscriptions", run.output), run.output
    assert re.search(r"-> dbt build --full-refresh --select .*customer_activity.*customer_features", run.output)
    # the rollup now says what the rewritten file says
    assert duck(fork, "select customer_id, active_subscriptions from main.customer_activity order by customer_id",
                read_only=True) == duck(fork, ACTIVE, read_only=True)
    churned_after = duck(fork, "select sum(churned) from main.customer_features", read_only=True)[0][0]
    assert churned_after > churned_before
    # and the model trained on those rows
    assert "registered churn version 2" in run.output
    v1, v2 = run_of(fork, 1).data.params, run_of(fork, 2).data.params
    assert v2["specops.data_digest"] != v1["specops.data_digest"]
    assert "No changes" in ok(fork, "apply", "--yes").output


def test_apply_full_refresh_with_select_is_a_backfill(fork):
    # behind specops' back, the incremental table lost its rows' truth (as a bad merge would leave it)
    duck(fork, "update main.customer_activity set active_subscriptions = 99")
    assert "No changes" in ok(fork, "apply", "--yes").output
    run = ok(fork, "apply", "--full-refresh", "--select", "transform.build_customer_activity", "--yes")
    assert "-> dbt build --full-refresh --select customer_activity" in run.output
    assert duck(fork, "select customer_id, active_subscriptions from main.customer_activity order by customer_id",
                read_only=True) == duck(fork, ACTIVE, read_only=True)
    assert "-> train" not in run.output  # only what was selected
