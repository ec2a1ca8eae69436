"""The model lifecycle's pure parts, without MLflow or dbt running: splits, digests, metrics at a threshold,
the promotion comparison, the spec's new settings (validated), the serving app's probabilities, dbt failures
traced to their checks, and the drift job that retrains.

The end-to-end behaviour (trainer, registry and dbt really running) is in test_lifecycle_e2e.py.
"""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository, parse_text_report

from compiler.apply.context import StepFailed
from compiler.apply.steps.dbt import Failure, _one_line, _results, explain, failure_cause, sample_query
from compiler.apply.steps.drift import window_start
from compiler.apply.steps.frameworks import Prediction, Sklearn
from compiler.apply.steps.metrics import compute_metrics
from compiler.apply.steps.promotion import Comparison, compare, gate_failures
from compiler.apply.steps.split import frame_digest, split_rows
from compiler.emit.docker import serve_app
from compiler.front.check import require_project
from compiler.spec.ir import Drift, DriftWindow, MetricGate, Model, Split, Training

MODEL = "specs/models/churn.yaml"


def training(**kw) -> Training:
    base = {"dataset": "d", "features": ("x",), "target": "y", "entrypoint": "t.py", "test_size": 0.25,
            "random_seed": 7}
    return Training(**{**base, **kw})


def frame(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(n, dtype=float), "y": np.arange(n) % 2,
                         "day": pd.date_range("2024-01-01", periods=n, freq="D"),
                         "shop": [f"s{i % 8}" for i in range(n)]})


# --------------------------------------------------------------------------- splits and digests


def test_random_split_is_seeded_and_partitions_the_rows():
    a, b = split_rows(frame(), training()), split_rows(frame(), training())
    assert a.train.tolist() == b.train.tolist() and a.test.tolist() == b.test.tolist()
    assert sorted([*a.train, *a.test]) == list(range(40)) and len(a.test) == 10
    other = split_rows(frame(), training(random_seed=8))
    assert other.test.tolist() != a.test.tolist()
    assert a.description == "random, seed 7"


def test_time_split_holds_out_the_latest_rows_and_ties_go_together():
    f = frame()
    f.loc[29:31, "day"] = f.loc[30, "day"]  # rows 29-31 share the cut-off day
    rows = split_rows(f, training(split=Split("time", "day")))
    cutoff = f["day"].sort_values().iloc[40 - 10]
    assert set(rows.test) == set(f.index[f["day"] >= cutoff]) and {29, 30, 31} <= set(rows.test)
    assert f["day"].iloc[rows.train].max() < f["day"].iloc[rows.test].min()
    assert rows.description == f"time on day, held out from {cutoff.date()}"


def test_time_split_refuses_a_column_with_one_value():
    f = frame()
    f["day"] = pd.Timestamp("2024-01-01")
    with pytest.raises(StepFailed, match="every row is at or after the cut-off"):
        split_rows(f, training(split=Split("time", "day")))


def test_group_split_keeps_each_group_on_one_side():
    f = frame()
    rows = split_rows(f, training(split=Split("group", "shop")))
    held, kept = set(f["shop"].iloc[rows.test]), set(f["shop"].iloc[rows.train])
    assert held and kept and not held & kept
    assert split_rows(f, training(split=Split("group", "shop"))).test.tolist() == rows.test.tolist()


def test_frame_digest_sees_values_and_order_but_not_the_index():
    f = frame()
    assert frame_digest(f) == frame_digest(f.set_axis(range(100, 140)))
    assert frame_digest(f) != frame_digest(f.iloc[::-1])
    changed = f.copy()
    changed.loc[3, "x"] = 3.5
    assert frame_digest(f) != frame_digest(changed)


# --------------------------------------------------------------------------- predictions, metrics, comparison


def fitted():
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"x": np.linspace(0, 1, 50)})
    y = (X["x"] > 0.5).astype(int)
    return LogisticRegression(C=100).fit(X, y), X, y


def test_a_decision_threshold_sets_the_labels_the_metrics_count():
    est, X, y = fitted()
    plain = Sklearn().predict(est, X, None)
    strict = Sklearn().predict(est, X, 0.9)
    assert plain.classes == (0, 1) and plain.proba.shape == (50, 2)
    assert strict.labels.tolist() == [int(p >= 0.9) for p in strict.proba[:, 1]]
    assert strict.labels.sum() < plain.labels.sum()
    loose, tight = compute_metrics("classification", y, plain), compute_metrics("classification", y, strict)
    assert tight["recall"] < loose["recall"] and tight["roc_auc"] == loose["roc_auc"]


def test_a_threshold_needs_a_binary_target():
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"x": np.arange(30.0)})
    est = LogisticRegression().fit(X, np.arange(30) % 3)
    with pytest.raises(StepFailed, match="binary target; this one has 3 classes"):
        Sklearn().predict(est, X, 0.5)


def test_a_class_the_held_out_rows_lack_leaves_roc_auc_uncomputed_and_averages_over_the_models_classes():
    """A 3-class model whose holdout has classes 0 and 1 only: roc_auc was NaN, which passed every gate (a NaN
    compares false both ways) and was stored in the state as NaN; precision was class 1's alone."""
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"x": np.arange(60.0)})
    y = np.array([0, 1] * 29 + [2, 2])
    est = LogisticRegression(max_iter=500).fit(X, y)
    held = X.iloc[:20]
    pred = Sklearn().predict(est, held, None)
    assert pred.classes == (0, 1, 2)
    found = compute_metrics("classification", y[:20], pred)
    assert "roc_auc" not in found and all(np.isfinite(v) for v in found.values()), found
    from sklearn.metrics import precision_score

    assert found["precision"] == pytest.approx(precision_score(y[:20], pred.labels, average="macro",
                                                                 labels=[0, 1, 2], zero_division=0))
    model = require_project(EXAMPLE_ROOT).models["churn"]
    reasons = [r for r in gate_failures(model, found) if "roc_auc" in r]
    assert reasons == ["roc_auc could not be computed"], reasons
    assert gate_failures(model, {**found, "roc_auc": float("nan")}) == gate_failures(model, found)


def test_regression_metrics():
    m = compute_metrics("regression", np.array([1.0, 2.0, 3.0]), Prediction(np.array([1.0, 2.0, 4.0])))
    assert m == {"rmse": pytest.approx((1 / 3) ** 0.5), "mae": pytest.approx(1 / 3), "r2": pytest.approx(0.5)}


def model(**kw) -> Model:
    from compiler.spec.ir import Loc, Meta

    return Model(Meta("m", "@o", None, (), ()), Loc("m.yaml", 1, 1), training=training(), **kw)


def test_max_regression_scalar_covers_the_gated_metrics_and_a_mapping_names_its_own():
    gates = (MetricGate("roc_auc", min=0.7), MetricGate("log_loss", max=0.6))
    assert model(metrics=gates, max_regression=0.01).regression_bounds() == {"roc_auc": 0.01, "log_loss": 0.01}
    assert model(max_regression=0.02).regression_bounds() == {"roc_auc": 0.02}  # no gate: the main metric
    per_metric = model(metrics=gates, max_regression=(("f1", 0.05), ("roc_auc", 0.0)))
    assert per_metric.regression_bounds() == {"f1": 0.05, "roc_auc": 0.0}
    assert model().regression_bounds() == {}


def test_comparison_knows_which_way_is_better():
    m = model(max_regression=(("log_loss", 0.01), ("roc_auc", 0.01)))
    found = {c.metric: c for c in compare(m, {"roc_auc": 0.80, "log_loss": 0.50}, {"roc_auc": 0.82, "log_loss": 0.45})}
    assert found["roc_auc"].worse_by == pytest.approx(0.02) and not found["roc_auc"].ok
    assert found["log_loss"].worse_by == pytest.approx(0.05) and not found["log_loss"].ok
    assert Comparison("roc_auc", 0.9, 0.8, 0.0).ok and Comparison("rmse", 1.0, 1.0, 0.0).ok
    assert gate_failures(model(metrics=(MetricGate("f1", min=0.5),)), {"f1": 0.4}) == [
        "f1 0.4000 is below the gate minimum 0.5"]


# --------------------------------------------------------------------------- the spec


def validate(runner, root):
    from compiler.cli.main import main

    return runner.invoke(main, ["validate", str(root)])


def test_new_model_settings_validate_and_build(runner, tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "repo")
    ed = RepoEditor(root)
    ed.replace(MODEL, "  framework: sklearn\n", "  framework: sklearn\n  decision_threshold: 0.35\n")
    ed.replace(MODEL, "    random_seed: 42\n", "    random_seed: 42\n    split: {strategy: time, column: snapshot_date}\n")
    ed.replace(MODEL, "max_regression: 0.02", "max_regression: {roc_auc: 0.01, f1: 0.05}")
    ed.replace(MODEL, 'schedule: "0 6 * * *"}', 'schedule: "0 6 * * *", window: {column: snapshot_date, '
               'period: 7d}, retrain: true}')
    result = validate(runner, root)
    assert result.exit_code == 0, result.output
    m = require_project(root).models["churn"]
    assert m.decision_threshold == 0.35 and m.training.split == Split("time", "snapshot_date")
    assert m.max_regression == (("f1", 0.05), ("roc_auc", 0.01))
    assert m.drift == Drift("psi", 0.2, "0 6 * * *", DriftWindow("snapshot_date", "7d"), True)


def test_settings_left_out_keep_older_snapshots_equal():
    snap = require_project(EXAMPLE_ROOT).models["churn"].snapshot
    assert "split" not in snap["spec"]["training"] and "decision_threshold" not in snap["spec"]
    assert set(snap["spec"]["drift"]) == {"method", "threshold", "schedule"}
    assert snap["spec"]["max_regression"] == 0.02


@pytest.mark.parametrize(("edit", "message", "line_of"), [
    (("    random_seed: 42\n", "    random_seed: 42\n    split: {strategy: time, column: segment}\n"),
     "a time split needs a time column; 'segment' of dataset.customer_features is string", "split:"),
    (("    random_seed: 42\n", "    random_seed: 42\n    split: {strategy: group, column: nope}\n"),
     "column 'nope' is not a column of dataset.customer_features", "split:"),
    (("    random_seed: 42\n", "    random_seed: 42\n    split: {strategy: group}\n"),
     "column", "split:"),
    (("    random_seed: 42\n", "    random_seed: 42\n    split: {strategy: random, column: segment}\n"),
     "column", "split:"),
    (('schedule: "0 6 * * *"}', 'schedule: "0 6 * * *", window: {column: tenure_months, period: 7d}}'),
     "a drift window needs a time column; 'tenure_months' of dataset.customer_features is integer", "drift:"),
    (('schedule: "0 6 * * *"}', 'schedule: "0 6 * * *", window: {column: snapshot_date, period: 7}}'),
     "period", "drift:"),
    (("max_regression: 0.02", "max_regression: {rmse: 0.1}"), "'rmse' is not one of", "max_regression"),
    (("max_regression: 0.02", "max_regression: {f1: -1}"), "-1 is less than the minimum of 0", "max_regression"),
    (("  framework: sklearn\n", "  framework: sklearn\n  decision_threshold: 1.5\n"), "1.5", "decision_threshold"),
    (("task: classification", "task: regression"), "decision_threshold applies to classification models",
     "decision_threshold"),
], ids=["time-on-string", "unknown-column", "group-without-column", "random-with-column", "window-on-number",
        "bad-period", "metric-of-other-task", "negative-bound", "threshold-range", "threshold-on-regression"])
def test_bad_settings_are_errors_at_their_line(runner, tmp_path, edit, message, line_of):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "repo")
    ed = RepoEditor(root)
    if edit[0] == "task: classification":  # a regression model with a threshold
        ed.replace(MODEL, "  framework: sklearn\n", "  framework: sklearn\n  decision_threshold: 0.3\n")
        ed.replace(MODEL, "metrics:\n      - {name: roc_auc, min: 0.7}\n      - {name: log_loss, max: 0.65}\n"
                          "      - {name: accuracy, min: 0.7}\n", "metrics:\n      - {name: r2, min: 0.1}\n")
    ed.replace(MODEL, *edit)
    result = validate(runner, root)
    assert result.exit_code == 1, result.output
    found = [d for d in parse_text_report(result.output) if message in d.message]
    assert found, result.output
    assert found[0].is_in(MODEL) and found[0].line == ed.line_of(MODEL, line_of)


def test_two_models_writing_one_registered_model_are_an_error_at_the_second(runner, tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "repo")
    ed = RepoEditor(root)
    copy = (root / MODEL).read_text(encoding="utf-8").replace("name: churn\n", "name: churn_exp\n", 1)
    (root / "specs/models/zz_churn_exp.yaml").write_text(copy, encoding="utf-8")  # registry: {name: churn, ...}
    result = validate(runner, root)
    assert result.exit_code == 1, result.output
    (found,) = [d for d in parse_text_report(result.output) if d.code == "shared-registered-model"]
    assert found.message == ("model.churn_exp: the MLflow registered model 'churn' is written by model.churn "
                             "already, with the same alias 'champion'")
    assert found.is_in("specs/models/zz_churn_exp.yaml") and found.line == ed.line_of(MODEL, "    name: churn")
    assert "give each model its own registry.name" in result.output and "Traceback" not in result.output


# --------------------------------------------------------------------------- serving


def test_serving_turns_probabilities_into_labels_at_the_threshold():
    classes, threshold = serve_app.probability_output({"specops": {"output": "probabilities", "classes": [0, 1],
                                                                  "decision_threshold": 0.3}})
    assert (classes, threshold) == ([0, 1], 0.3)
    answer = json.loads(serve_app.with_labels('{"predictions": [[0.75, 0.25], [0.6, 0.4], [0.1, 0.9]]}',
                                              classes, threshold))
    assert answer == {"predictions": [0, 1, 1], "probabilities": [[0.75, 0.25], [0.6, 0.4], [0.1, 0.9]],
                      "classes": [0, 1]}
    most_likely = json.loads(serve_app.with_labels('{"predictions": [[0.2, 0.5, 0.3]]}', ["a", "b", "c"], None))
    assert most_likely["predictions"] == ["b"]


def test_serving_passes_other_answers_on_unchanged():
    assert serve_app.probability_output(None) == (None, None)
    assert serve_app.probability_output({"specops": {"task": "regression"}}) == (None, None)
    odd = '{"predictions": [1, 0]}'
    assert serve_app.with_labels(odd, [0, 1], 0.5) == odd


# --------------------------------------------------------------------------- dbt failures


def test_a_failing_check_is_named_with_its_spec_line_rows_and_a_sample_query():
    project = require_project(EXAMPLE_ROOT)
    rule = project.rules["customer_features_checks"]
    check = next(c for c in rule.checks if c.type == "range" and c.column == "tenure_months")
    sql = "-- Generated by specops\nselect * from \"dev\".\"main\".\"customer_features\" -- the rows\n" \
          "where tenure_months < 0 or tenure_months > 20\n"
    owner, text = explain(project, Failure(check.name, "test", "fail", "Got 943 results", "customer_features",
                                           943, sql))
    assert owner == "quality_rule.customer_features_checks"
    assert text == (f"check '{check.name}' (range) of quality_rule.customer_features_checks at "
                    f"specs/quality/customer_features.yaml:{check.loc.line}:{check.loc.col} on "
                    "dataset.customer_features: 943 failing row(s); sample: select * from (select * from "
                    '"dev"."main"."customer_features" where tenure_months < 0 or tenure_months > 20) as failing '
                    "limit 10")


def test_a_failing_column_test_points_at_the_column():
    project = require_project(EXAMPLE_ROOT)
    col = project.datasets["customer_features"].column("churned")
    owner, text = explain(project, Failure("customer_features__churned__required", "test", "fail", "", "customer_features",
                                           2, "select 1"))
    assert owner == "dataset.customer_features"
    assert f"(not_null (required column)) of dataset.customer_features at {col.loc}" in text
    owner, text = explain(project, Failure("customer_activity", "model", "error", "Contract Error:\n  x", "customer_activity"))
    assert owner == "dataset.customer_activity" and text == "dataset.customer_activity (model) error: Contract Error: x"


def test_a_failing_freshness_or_primary_key_test_points_at_its_key():
    """Not at the dataset's first line: at `freshness:` and `primary_key:`, which a reader then finds."""
    project = require_project(EXAMPLE_ROOT)
    text = (EXAMPLE_ROOT / "specs/datasets/support_tickets.yaml").read_text(encoding="utf-8").splitlines()
    _, fresh = explain(project, Failure("support_tickets__freshness_error", "test", "fail", "", "support_tickets", 1,
                                        "select 1"))
    line = next(n for n, t in enumerate(text, 1) if t.strip().startswith("freshness:"))
    assert f"specs/datasets/support_tickets.yaml:{line}:" in fresh, fresh
    # a check of the whole dataset has no failing rows: it does not hold (dbt's count is 1, its one row)
    assert "on dataset.support_tickets: the check does not hold" in fresh and "failing row" not in fresh, fresh
    text = (EXAMPLE_ROOT / "specs/datasets/daily_kpis.yaml").read_text(encoding="utf-8").splitlines()
    _, key = explain(project, Failure("daily_kpis__primary_key", "test", "fail", "", "daily_kpis", 2, "select 1"))
    line = next(n for n, t in enumerate(text, 1) if t.strip().startswith("primary_key:"))
    assert f"specs/datasets/daily_kpis.yaml:{line}:" in key, key
    assert "2 failing row(s)" in key, key


def test_one_line_sql_keeps_quoted_dashes():
    assert _one_line("select '--a' as x -- note\nfrom t", 100) == "select '--a' as x from t"
    assert sample_query("select 1", 5) == "select * from (select 1) as failing limit 5"


# --------------------------------------------------------------------------- drift


def test_drift_window_ends_at_the_given_time():
    m = model(drift=Drift("psi", 0.2, None, DriftWindow("ordered_at", "7d")))
    assert window_start(m, datetime(2024, 6, 30, 12)) == ("ordered_at", datetime(2024, 6, 23, 12), datetime(2024, 6, 30, 12))
    assert window_start(model(drift=Drift("psi", 0.2, None)), datetime(2024, 6, 30)) is None


def test_a_drift_job_that_retrains_gets_the_training_resources(tmp_path):
    import yaml

    from compiler.emit.kubernetes import emit

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "repo")
    ed = RepoEditor(root)

    def drift_job(project):
        art = next(a for a in emit(project) if a.path == "k8s/prod/churn-drift.cronjob.yaml")  # dev: laptop-only
        spec = yaml.safe_load(art.content)["spec"]["jobTemplate"]["spec"]
        return spec["template"]["spec"]["containers"][0], spec["activeDeadlineSeconds"]

    container, deadline = drift_job(require_project(root))
    assert container["args"] == ["specops", "drift", "churn", "--env", "prod"] and deadline == 3600
    ed.replace(MODEL, 'schedule: "0 6 * * *"}', 'schedule: "0 6 * * *", retrain: true}')
    container, deadline = drift_job(require_project(root))
    assert container["args"] == ["specops", "drift", "churn", "--env", "prod", "--retrain"]
    assert container["resources"]["requests"]["memory"] == "4Gi" and deadline == 4 * 3600



def _module(path, source: str, **names) -> dict:
    """The namespace of `source` run as the file `path` (its frames name that file and its lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    namespace = dict(names)
    exec(compile(source, str(path), "exec"), namespace)
    return namespace


def test_a_failure_of_the_users_code_is_located_in_the_repositorys_own_files(tmp_path):
    from compiler.apply.steps.usercode import user_code_failed, user_frame

    lib = _module(tmp_path / ".venv" / "lib" / "site-packages" / "lib.py", "def fail():\n    raise ValueError('deep')\n")
    user = _module(tmp_path / "training" / "t.py", "def helper():\n    return fail()\n\n\ndef train():\n    return helper()\n",
                   fail=lib["fail"])
    with pytest.raises(ValueError) as caught:
        user["train"]()
    # the innermost frame in the repository, not the library's (a virtualenv inside the repository is not its code)
    assert user_frame(tmp_path, caught.value) == ("training/t.py", 2, "helper", "return fail()")
    failed = user_code_failed(tmp_path, "dev", "m", "train() raised ValueError: deep", caught.value)
    assert str(failed).startswith("train() raised ValueError: deep at training/t.py:2 in helper: return fail() "
                                  "(full traceback in ")
    log = tmp_path / ".specops" / "logs" / "dev" / "train-m.log"
    assert "site-packages/lib.py" in log.read_text(encoding="utf-8")
    assert (tmp_path / ".specops" / ".gitignore").is_file()  # .specops/ made as every command makes it
    assert user_frame(tmp_path / "training" / "elsewhere", caught.value) is None

    with pytest.raises(SyntaxError) as bad:
        compile("def train(:\n", str(tmp_path / "training" / "bad.py"), "exec")
    assert user_frame(tmp_path, bad.value) == ("training/bad.py", 1, "<module>", "def train(:")


DBT_CANNOT_CONNECT = """\
07:01:02  Running with dbt=1.11.16
07:01:03  Registered adapter: postgres=1.10.0
07:01:03  Found 3 models, 5 seeds, 40 data tests, 452 macros
07:01:03
07:01:04  Encountered an error:
Database Error
  could not translate host name "pg-prod.voltco.internal" to address: Name or service not known

""".splitlines()


def test_dbt_that_wrote_no_results_is_reported_with_its_last_error(tmp_path):
    """dbt that stops before running anything (a warehouse it cannot reach) writes no results: the failure says
    why, from dbt's output, rather than only its exit code."""
    assert failure_cause(DBT_CANNOT_CONNECT) == (
        'Database Error: could not translate host name "pg-prod.voltco.internal" to address: Name or service '
        'not known')
    assert failure_cause(["07:01:02  Runtime Error", "  Could not find profile named 'x'"]) == (
        "Runtime Error: Could not find profile named 'x'")
    assert failure_cause(["07:01:02  Running with dbt=1.11.16", "07:01:09  Done."]) is None
    with pytest.raises(StepFailed, match="wrote no results: Database Error: could not translate host name"):
        _results(tmp_path, 2, DBT_CANNOT_CONNECT)
    with pytest.raises(StepFailed, match=r"wrote no results \(its output is above\)"):
        _results(tmp_path, 2, [])


def test_a_failing_relationship_test_blames_the_dataset_it_is_written_on_not_its_parent(tmp_path):
    """dbt lists a relationship test's parents in no particular order: the first was taken as the dataset at fault,
    so the `to` dataset (a table source that depends on nothing) was reported as failed, and left pending."""
    import json

    from compiler.apply.steps.dbt import _results

    test = "test.p.rel_shipments_carrier_id__carriers"
    (tmp_path / "manifest.json").write_text(json.dumps({"nodes": {test: {
        "name": "rel_shipments_carrier_id__carriers", "resource_type": "test",
        "attached_node": "model.p.shipments",
        "depends_on": {"nodes": ["macro.p.specops_relationship", "source.p.raw.carriers", "model.p.shipments"]}}}}))
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [
        {"unique_id": test, "status": "skipped", "message": None},
        {"unique_id": "model.p.shipments", "status": "error", "message": "syntax error"}]}))
    result = _results(tmp_path, 1)
    assert result.failed_nodes == {"shipments"}
    assert [(f.name, f.dataset) for f in result.failures] == [("rel_shipments_carrier_id__carriers", "shipments"),
                                                                 ("shipments", "shipments")]


def test_a_candidate_shown_beside_the_champion_without_max_regression_says_it_was_not_compared():
    """A candidate worse on every metric took the alias with the differences printed and nothing saying that no
    max_regression was set, so nothing compared them."""
    from conftest import EXAMPLE_ROOT

    from compiler.apply.steps.promotion import Candidate, Comparison, Decision, describe
    from compiler.front.check import require_project

    model = require_project(EXAMPLE_ROOT).models["churn"]
    cand = Candidate(7, "run", {"roc_auc": 0.80}, "d" * 64, 300, "churned")
    shown = describe(model, cand, Decision("promoted", champion_version=6, champion_metrics={"roc_auc": 0.81}))
    assert any("no validation.max_regression" in line and "version 6" in line for line in shown), shown
    compared = Decision("promoted", champion_version=6, champion_metrics={"roc_auc": 0.81},
                        comparisons=[Comparison("roc_auc", 0.80, 0.81, 0.02)])
    assert not any("max_regression:" in line for line in describe(model, cand, compared))


def test_a_resumed_apply_runs_a_rule_after_the_full_refresh_that_rebuilds_its_dataset(monkeypatch):
    """The rule's tests ran in the first build, against the table the later --full-refresh build replaces: a rule
    that had failed there failed again and blocked the rebuild that fixes it."""
    from types import SimpleNamespace

    from conftest import EXAMPLE_ROOT

    from compiler.apply import runner
    from compiler.front.check import require_project
    from compiler.plan.impact import Impact

    builds: list[tuple[bool, list[str]]] = []
    monkeypatch.setattr(runner, "_dbt_build", lambda ctx, state, outcome, ready, failed, select, full_refresh:
                        builds.append((full_refresh, sorted(i.address for i in ready))))
    ctx = SimpleNamespace(project=require_project(EXAMPLE_ROOT))
    work = [Impact("transform.build_customer_features", "rebuild", "x", "breaking", (), full_refresh=True),
            Impact("quality_rule.customer_features_checks", "rerun", "x", "breaking", ()),
            Impact("quality_rule.customers_checks", "rerun", "x", "breaking", ())]
    runner._run_dbt(ctx, None, None, work, set(), first=False)
    assert builds == [(False, ["quality_rule.customers_checks"]),
                      (True, ["quality_rule.customer_features_checks", "transform.build_customer_features"])]


def test_a_check_within_what_it_allows_is_a_warning_that_says_why(tmp_path):
    """dbt ends both a warn-severity check with failing rows and an error check within its threshold `warn`: apply
    says which (it said nothing itself; only dbt's log had a WARN line)."""
    from compiler.apply.steps.dbt import explain_warning

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    for severity, why in (("warn", "over its threshold (at most 1% failing rows), severity warn: reported, not failed"),
                          ("error", "within its threshold (at most 1% failing rows): it holds")):
        RepoEditor(root).replace("specs/quality/customer_features.yaml", "      severity: warn\n      threshold",
                                 f"      severity: {severity}\n      threshold")
        project = require_project(root)
        uid = "test.churn.few_heavy_support_users.abc"
        target = tmp_path / severity
        target.mkdir()
        (target / "run_results.json").write_text(json.dumps({"results": [{
            "unique_id": uid, "status": "warn", "failures": 3, "message": "Got 3 results, configured to warn if != 0"}]}))
        (target / "manifest.json").write_text(json.dumps({"nodes": {uid: {
            "name": "few_heavy_support_users", "resource_type": "test",
            "attached_node": "model.churn.customer_features"}}}))
        result = _results(target, 0)
        assert result.ok and result.failures == [] and [w.name for w in result.warnings] == ["few_heavy_support_users"]
        line = (root / "specs/quality/customer_features.yaml").read_text(encoding="utf-8").splitlines().index(
            "    - type: range", 20) + 1
        assert explain_warning(project, result.warnings[0]) == (
            "check 'few_heavy_support_users' (range) of quality_rule.customer_features_checks at "
            f"specs/quality/customer_features.yaml:{line}:7 on dataset.customer_features: 3 failing row(s), {why}")
    # an error check over its threshold fails, and says what it allows
    _, text = explain(project, Failure("few_heavy_support_users", "test", "fail", "", "customer_features", 40, None))
    assert text.endswith("on dataset.customer_features: 40 failing row(s), more than its threshold allows (at most "
                         "1% failing rows)"), text


def test_a_warehouse_error_in_a_model_points_at_the_line_of_the_users_sql(tmp_path):
    """DuckDB's error quotes the failing line of the statement dbt ran (its number is the generated model's, inside dbt's
    `create table`): the user's file line is named too, where the quoted text is found once in the SQL."""
    import duckdb
    from conftest import copy_repository

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    sql = root / "sql" / "customer_activity.sql"
    sql.write_text(sql.read_text(encoding="utf-8").replace("avg(satisfaction_score) as avg_satisfaction",
                                                           "avg_score(satisfaction_score) as avg_satisfaction"),
                   encoding="utf-8")
    project = require_project(root)
    con = duckdb.connect()
    con.execute("create table support_tickets (customer_id integer, satisfaction_score integer)")
    body = project.transforms["build_customer_activity"].sql.split("ticket_rollup as (")[1].split(")\n\nselect")[0]
    with pytest.raises(duckdb.Error) as raised:  # the error as DuckDB words it, on the same line in a wrapping
        con.execute("create table x as (\n-- generated\n" + body.replace("{{ input('support_tickets') }}",
                                                                       "support_tickets") + "\n)")
    message = str(raised.value)
    assert "LINE " in message
    _, text = explain(project, Failure("customer_activity", "model", "error", message, "customer_activity"))
    line = next(n for n, t in enumerate(sql.read_text(encoding="utf-8").splitlines(), 1) if "avg_score(" in t)
    assert text.endswith(f" (at sql/customer_activity.sql:{line})"), text
    dbt_words = "Runtime Error in model customer_activity (models/customer_activity.sql)\n  " + message.replace(
        "\n", "\n  ")  # as run_results.json has it: dbt indents the warehouse's message
    _, text = explain(project, Failure("customer_activity", "model", "error", dbt_words, "customer_activity"))
    assert text.endswith(f" (at sql/customer_activity.sql:{line})"), text
    _, text = explain(project, Failure("customer_activity", "model", "error", "Contract Error:\n  x", "customer_activity"))
    assert "(at " not in text


def _drift(train: dict, now: dict, method: str = "psi", secret: frozenset[str] = frozenset()) -> dict[str, float]:
    from compiler.apply.steps.drift import profile, score

    reference = json.loads(json.dumps(profile(pd.DataFrame(train), tuple(train), 42, secret)))  # as logged, read
    return score(method, reference, pd.DataFrame(now))


def test_the_profile_of_a_pii_feature_keeps_no_value_and_still_sees_drift():
    """A PII feature's profile kept its 20 most frequent values by name (e-mail addresses), a sample of 1,000
    values and the smallest and largest: now digests and inner bin edges only, and drift is still seen."""
    from compiler.apply.steps.drift import profile

    rng = np.random.default_rng(3)
    n = 1000
    emails = np.array([f"person{i}@example.com" for i in range(15)])
    train = {"email": rng.choice(emails, n), "phone": rng.integers(5550000000, 5559999999, n).astype(float),
             "temp": rng.normal(20, 5, n)}
    secret = frozenset({"email", "phone"})
    made = profile(pd.DataFrame(train), tuple(train), 42, secret)
    assert set(made["email"]) == {"spectrum", "other", "nulls"}  # shares only: no value, no digest of one
    text = json.dumps(made)
    assert "@example.com" not in text
    assert str(int(train["phone"].min())) not in text and str(int(train["phone"].max())) not in text
    assert '"sample"' in text  # temp, not secret, keeps its sample
    for method in ("psi", "ks"):
        assert max(_drift(train, train, method, secret).values()) < 0.02
        moved = {**train, "email": np.where(train["email"] == emails[0], emails[1], train["email"]),
                 "phone": train["phone"] + 3_000_000}
        scores = _drift(train, moved, method, secret)
        assert scores["email"] > (0.05 if method == "ks" else 0.1) and scores["phone"] > 0.2, (method, scores)


def test_drift_sees_flags_codes_and_text_change_and_nothing_when_nothing_changes():
    """A 0/1 flag's quantile bins were one bin (PSI 0 whatever the share of ones), a code 0-4 lost 3 vs 4 in one
    bin, and a text feature made training fail (`could not convert string to float`) in the profile."""
    rng = np.random.default_rng(1)
    n = 1000
    train = {"weekend": (rng.random(n) < 0.29).astype(int), "code": rng.integers(0, 5, n),
             "kind": rng.choice(["a", "b", "c"], n), "temp": rng.normal(20, 5, n)}
    assert max(_drift(train, train).values()) < 0.01
    now = {**train, "weekend": np.ones(n, dtype=int), "code": np.where(train["code"] == 3, 4, train["code"]),
           "kind": np.where(train["kind"] == "a", "b", train["kind"])}
    scores = _drift(train, now)
    # PSI over the values themselves: 29% -> 100% ones; code 3 (20%) moved to 4; 'a' (33%) moved to 'b'
    assert scores["weekend"] > 1 and scores["code"] > 1 and scores["kind"] > 1, scores
    assert scores["temp"] < 0.01, scores
    ks = _drift(train, now, "ks")
    assert ks["weekend"] == pytest.approx(0.71, abs=0.05) and ks["temp"] < 0.1, ks


def test_drift_counts_a_feature_turning_null():
    """NULLs were dropped before scoring: a feature 90% NULL now (a broken pipeline) scored on the rest looked fine."""
    rng = np.random.default_rng(2)
    temp = rng.normal(20, 5, 1000)
    broken = pd.Series(temp).where(np.arange(1000) % 10 == 0)  # 90% NULL, the rest as before
    scores = _drift({"temp": temp}, {"temp": broken})
    assert scores["temp"] > 1, scores
    assert _drift({"temp": temp}, {"temp": temp})["temp"] < 0.01


def test_two_environments_on_one_mlflow_registry_are_a_warning_at_the_second(tmp_path):
    """A uat environment on prod's tracking server: a training in uat moved prod's champion, and prod's state still
    named the old version."""
    from conftest import RepoEditor, copy_repository

    from compiler.front.check import check_repository

    ed = RepoEditor(copy_repository(EXAMPLE_ROOT, tmp_path / "churn"))
    ed.append_docs("specs/environments.yaml", {
        "apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "uat"},
        "spec": {"warehouse": {"type": "duckdb", "path": ".specops/uat.duckdb"},
                 "mlflow": {"tracking_uri": "https://mlflow.acme.internal/"}}})
    _, diags = check_repository(ed.root)
    (d,) = [d for d in diags if d.code == "shared-registry"]
    assert d.severity == "warning" and d.file == "specs/environments.yaml"
    assert d.message.startswith("environment 'uat' uses the MLflow registry of environment 'prod' "
                                "(https://mlflow.acme.internal): ")
    assert d.hint == "give 'uat' a tracking server of its own"
    ed.replace("specs/environments.yaml", "https://mlflow.acme.internal/", "sqlite:///.specops/mlflow.db")
    _, diags = check_repository(ed.root)
    assert [d for d in diags if d.code == "shared-registry"] == []  # dev's local registry too: the laptop's


@pytest.mark.parametrize(("sha", "said"), [
    ("e54bd1c0e54bd1c0e54bd1c0e54bd1c0e54bd1c0", "not known here: the repository (set the Project's repository.url)"),
    (None, "not known here: the repository (set the Project's repository.url) and the revision (apply from a git "
           "checkout)"),
])
def test_the_rollout_note_names_what_the_source_configmap_lacks(tmp_path, monkeypatch, sha, said):
    """It said "neither is known" when the revision was known (a clone of a local path: no https origin)."""
    from conftest import copy_repository

    from compiler.apply.context import RunContext
    from compiler.apply.steps.deploy import render_manifests

    monkeypatch.delenv("GITHUB_SERVER_URL", raising=False)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    project = require_project(root)
    said_lines: list[str] = []
    ctx = RunContext(project, project.environments["prod"], root / "build", said_lines.append, git_sha=sha)
    render_manifests(ctx, {})
    notes = [line for line in said_lines if "ConfigMap" in line]
    assert notes == ["   scheduled jobs fetch the specs from the ConfigMap's repository at the applied revision; "
                     + said], said_lines


def test_a_group_split_with_no_group_left_to_train_on_is_a_step_failure():
    """test_size 0.95 of 8 groups: scikit-learn's ValueError was an internal error that stopped the whole apply."""
    from compiler.spec.ir import Split

    with pytest.raises(StepFailed, match=r"group split on 'shop' \(8 groups, test_size 0.95\): "):
        split_rows(frame(), training(test_size=0.95, split=Split("group", "shop")))


def test_a_champion_failing_new_gates_is_not_reported_as_given_the_alias():
    """`alias 'champion' -> version 2` was printed right before `version 2 holds the alias 'champion' but fails`."""
    from compiler.apply.steps.train import TrainResult, refusal, report

    project = require_project(EXAMPLE_ROOT)
    model = project.models["churn"]
    result = TrainResult(2, "run", {"roc_auc": 0.61}, True, ["roc_auc 0.6100 is below the gate minimum 0.9"], True, 2,
                         True)
    said: list[str] = []
    report(said.append, model, result)
    assert not [line for line in said if "->" in line], said
    assert refusal(model, result).startswith("version 2 holds the alias 'champion' but fails: roc_auc")
