"""The plan's side of the model lifecycle: gates apart from training (evaluate), and full refreshes of
incremental models that a change would leave stale (compiler.plan.refresh), planned against the state an
apply of the unedited example leaves. The runs themselves are in test_lifecycle_e2e.py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest
from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository
from test_plan_edits import build, plan_against

from compiler.plan.impact import Impact
from compiler.plan.make import make_plan
from compiler.plan.refresh import appended
from compiler.plan.render import render_json, render_text

REPO_ROOT = Path(__file__).resolve().parent.parent
PLAN_SCHEMA = json.loads((REPO_ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
MODEL, SQL_CA = "specs/models/churn.yaml", "sql/customer_activity.sql"
T_CA, T_CF = "specs/transforms/customer_activity.yaml", "specs/transforms/customer_features.yaml"
SUBS = "data/subscriptions.csv"
TA, TF = "transform.build_customer_activity", "transform.build_customer_features"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory):
    return build(copy_repository(EXAMPLE_ROOT, tmp_path_factory.mktemp("base") / "churn"))


@pytest.fixture
def edited(tmp_path: Path):
    made = []

    def make(*edits: tuple[str, str, str]):
        made.append(1)
        root = copy_repository(EXAMPLE_ROOT, tmp_path / f"churn{len(made)}")
        ed = RepoEditor(root)
        for rel, old, new in edits:
            ed.replace(rel, old, new)
        return root

    return make


def work(plan) -> dict[str, str]:
    return {i.address: i.label for i in plan.impacts}


def valid(plan) -> dict:
    data = json.loads(render_json(plan))
    errors = list(jsonschema.Draft202012Validator(PLAN_SCHEMA).iter_errors(data))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors]
    return data


# --------------------------------------------------------------------------- gates apart from training


@pytest.mark.parametrize("edits", [
    [(MODEL, "{name: roc_auc, min: 0.7}", "{name: roc_auc, min: 0.8}")],
    [(MODEL, "max_regression: 0.02", "max_regression: {roc_auc: 0.01, f1: 0.05}")],
    [(MODEL, "max_regression: 0.02", "max_regression: 0.05"),
     (MODEL, 'schedule: "0 6 * * *"}', 'schedule: "0 7 * * *"}')],  # a drift schedule alone needs no work
], ids=["gate", "max-regression-per-metric", "bound-and-drift-schedule"])
def test_a_gate_change_evaluates_and_trains_nothing(base, edited, edits):
    plan = plan_against(base, build(edited(*edits)))
    assert work(plan) == {"model.churn": "evaluate", "deployment.churn_api_dev": "rollout"}
    data = valid(plan)
    assert data["impact"]["evaluate"] == ["model.churn"] and data["impact"]["retrain"] == []
    assert data["summary"]["evaluate"] == 1 and data["summary"]["retrain"] == 0
    assert "1 evaluate" in plan.summary_line()
    assert "  evaluate model.churn" in render_text(plan)


def test_a_gate_change_with_a_training_change_retrains(base, edited):
    plan = plan_against(base, build(edited((MODEL, "{name: roc_auc, min: 0.7}", "{name: roc_auc, min: 0.8}"),
                                           (MODEL, "C: 1.0", "C: 0.5"))))
    assert work(plan)["model.churn"] == "retrain"
    plan = plan_against(base, build(edited((MODEL, "{name: roc_auc, min: 0.7}", "{name: roc_auc, min: 0.8}"),
                                           (SQL_CA, "avg(monthly_price) as avg_monthly_price",
                                            "max(monthly_price) as avg_monthly_price"))))
    assert work(plan)["model.churn"] == "retrain"  # new training data wins over the gate's evaluate


def test_a_pending_retrain_of_new_data_is_not_downgraded_by_a_gate_change(base, edited):
    project, _ = base
    head = build(edited((MODEL, "{name: roc_auc, min: 0.7}", "{name: roc_auc, min: 0.8}")))
    baseline = plan_against(base, base)  # nothing changed: no work
    assert baseline.impacts == []
    from compiler.plan.baseline import BaselineData
    from compiler.plan.model import Baseline
    from compiler.plan.scope import head_snapshots

    def pending(cause: str):
        item = Impact("model.churn", "retrain", cause, "breaking", (cause, "model.churn")).to_json()
        return BaselineData(Baseline("state", None, "l", 1, "0" * 64, None), head_snapshots(project, "dev"),
                            {"model.churn": item}, {}, {})

    plan = make_plan(head[0], head[1], pending("transform.build_customer_features"), "dev")
    assert work(plan)["model.churn"] == "retrain"  # its data changed in an apply that did not finish
    plan = make_plan(head[0], head[1], pending("model.churn"), "dev")
    assert work(plan)["model.churn"] == "evaluate"  # a refused candidate: deciding again is enough


# --------------------------------------------------------------------------- full refreshes


def test_a_rewritten_source_refreshes_the_incremental_model_and_what_reads_it(base, edited, tmp_path):
    root = edited()
    text = (root / SUBS).read_text(encoding="utf-8")
    (root / SUBS).write_text(text.replace(",active,", ",cancelled,", 3), encoding="utf-8")  # not an append
    plan = plan_against(base, build(root))
    assert work(plan) == {"dataset.subscriptions": "reload", TA: "rebuild (full refresh)",
                          TF: "rebuild", "quality_rule.customer_features_checks": "rerun",
                          "model.churn": "retrain",
                          "deployment.churn_api_dev": "rollout", **{a: work(plan)[a] for a in work(plan)
                                                                    if a.startswith("quality_rule.") and
                                                                    a != "quality_rule.customer_features_checks"}}
    by = {i.address: i for i in plan.impacts}
    assert by[TA].full_refresh and "data/subscriptions.csv was rewritten, not appended to" in by[TA].notes
    assert by[TF].full_refresh and by["quality_rule.customer_features_checks"].full_refresh
    # TF is a table: it runs in the --full-refresh build after TA, but every build rebuilds a table whole, so the
    # plan does not call it a full refresh, nor count it from scratch
    assert by[TF].whole and not by[TF].from_scratch and plan.summary()["full_refresh"] == 1
    assert "1 from scratch" in plan.summary_line()
    assert valid(plan)["impact"]["items"][[i.address for i in plan.impacts].index(TF)]["full_refresh"] is True
    # only status changed, row for row: daily_kpis, which reads subscriptions but not status, has nothing to do
    assert "transform.build_daily_kpis" not in by
    assert not by["dataset.subscriptions"].full_refresh
    data = valid(plan)
    assert [i["address"] for i in data["impact"]["items"] if i.get("full_refresh")] == [
        TA, TF, "quality_rule.customer_features_checks"]
    assert "from scratch" in plan.summary_line()


def test_rows_appended_to_a_source_an_aggregate_reads_refresh_the_incremental_model(base, edited):
    """customer_activity's updated_at is computed per customer: a row appended for a customer whose other rows are
    newer changes that customer's aggregates without a newer updated_at, so an incremental run would skip it."""
    root = edited()
    with (root / SUBS).open("a", encoding="utf-8") as f:
        f.write("9001,1001,basic,9.99,active,2020-06-30,,2020-06-30 12:00:00\n")
    plan = plan_against(base, build(root))
    by = {i.address: i for i in plan.impacts}
    assert by[TA].full_refresh, work(plan)
    assert "dataset.subscriptions got rows its updated_at filter may skip" in " ".join(by[TA].notes)


EVENTS = """apiVersion: specops/v1
kind: Dataset
metadata: {name: events, owner: "@acme/data-eng"}
spec:
  source: {type: file, path: data/events.csv}
  columns:
    - {name: event_id, type: integer, required: true, unique: true}
    - {name: updated_at, type: timestamp, required: true}
---
apiVersion: specops/v1
kind: Dataset
metadata: {name: events_copy, owner: "@acme/data-eng"}
spec:
  columns:
    - {name: event_id, type: integer, required: true, unique: true}
    - {name: updated_at, type: timestamp, required: true}
---
apiVersion: specops/v1
kind: Transform
metadata: {name: copy_events, owner: "@acme/data-eng"}
spec:
  inputs: [events]
  output: events_copy
  materialization: incremental
  incremental: {unique_key: [event_id], updated_at: updated_at}
  sql: select event_id, updated_at from {{ input('events') }}
"""


@pytest.mark.parametrize(("appended_at", "refresh"), [
    ("2026-03-01 00:00:00", False), ("2026-01-01 00:00:00", True), ("2026-02-01 00:00:00", True),
    ("2026-02-01T00:00:00", True),  # the same instant, though 'T' sorts after ' ' as text
    ("2026-02-01T00:00:01", False),
    ("2026-02-01 01:00:00+02:00", True),  # 23:00 the day before, in UTC
    # after the last row as an instant (04:00 UTC), but the seed loads its clock time, 23:00 the day before: the
    # incremental run let it in as before the newest row, and the row was lost
    ("2026-01-31 23:00:00-05:00", True),
    ("2026/03/01 00:00", True),  # not a form specops reads as a time: nothing says it gets through
])
def test_rows_appended_to_a_source_the_updated_at_copies_merge_when_newer(tmp_path, appended_at, refresh):
    """updated_at copies the file's column: rows newer than every earlier one are what `updated_at > max(...)`
    lets in (an incremental run); an older or equal one would be skipped (a full refresh)."""
    copied = _copy_after_append(tmp_path, EVENTS, "2026-02-01 00:00:00", appended_at)
    assert copied.work == "rebuild"
    assert copied.full_refresh is refresh, copied.notes


def _copy_after_append(tmp_path, specs: str, last: str, appended_at: str):
    """The plan's impact on transform.copy_events (`specs`) when a row updated at `appended_at` is appended to a
    file of two rows, the last updated at `last`."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).write("specs/datasets/events.yaml", specs)
    (root / "data/events.csv").write_text(f"event_id,updated_at\n1,2026-01-15 00:00:00\n2,{last}\n",
                                          encoding="utf-8")
    base = build(copy_repository(root, tmp_path / "base"))
    with (root / "data/events.csv").open("a", encoding="utf-8") as f:
        f.write(f"3,{appended_at}\n")
    return {i.address: i for i in plan_against(base, build(root)).impacts}["transform.copy_events"]


@pytest.mark.parametrize(("appended_at", "refresh"), [
    ("2026-02-01 23:59:00", True),  # later, but the same day: the model's date is no newer, and the row was lost
    ("2026-02-02 00:00:00", False),
])
def test_rows_appended_are_compared_as_the_models_updated_at_holds_them(tmp_path, appended_at, refresh):
    """updated_at is the file's time cast to a date: `updated_at > max(updated_at)` compares days."""
    as_dates = EVENTS.replace(
        "metadata: {name: events_copy, owner: \"@acme/data-eng\"}\nspec:\n  columns:\n"
        "    - {name: event_id, type: integer, required: true, unique: true}\n"
        "    - {name: updated_at, type: timestamp, required: true}",
        "metadata: {name: events_copy, owner: \"@acme/data-eng\"}\nspec:\n  columns:\n"
        "    - {name: event_id, type: integer, required: true, unique: true}\n"
        "    - {name: updated_at, type: date, required: true}").replace(
        "select event_id, updated_at from", "select event_id, cast(updated_at as date) as updated_at from")
    copied = _copy_after_append(tmp_path, as_dates, "2026-02-01 10:00:00", appended_at)
    assert copied.full_refresh is refresh, copied.notes


@pytest.mark.parametrize(("edits", "why"), [
    ([(T_CA, "unique_key: customer_id", "unique_key: [customer_id, subscription_count]")],
     "rebuilt from scratch: its incremental settings changed"),
    ([(SQL_CA, "avg(monthly_price) as avg_monthly_price", "max(monthly_price) as avg_monthly_price")],
     "rebuilt from scratch: its SQL changed"),
], ids=["unique-key", "sql"])
def test_an_incremental_models_own_change_refreshes_it(base, edited, edits, why):
    plan = plan_against(base, build(edited(*edits)))
    by = {i.address: i for i in plan.impacts}
    assert by[TA].label == "rebuild (full refresh)" and why in by[TA].notes
    assert all(i.full_refresh for i in plan.impacts if i.address.startswith(("transform.", "quality_rule."))
               and i.address != "quality_rule.sources_checks")


def test_a_comment_in_an_incremental_models_sql_is_no_work(base, edited):
    plan = plan_against(base, build(edited((SQL_CA, "-- The latest change", "-- The most recent change"))))
    assert plan.impacts == []


def test_a_breaking_upstream_change_of_a_table_model_leaves_other_incrementals_alone(base, edited):
    plan = plan_against(base, build(edited((T_CF, "cast(coalesce(a.avg_satisfaction, 3.0) as double precision)",
                                            "cast(coalesce(a.avg_satisfaction, 2.5) as double precision)"))))
    assert work(plan)[TF] == "rebuild" and not any(i.full_refresh for i in plan.impacts)


def test_full_refresh_on_request_with_a_selection_is_a_backfill(base):
    project, compiled = base
    from compiler.plan.baseline import BaselineData
    from compiler.plan.model import Baseline
    from compiler.plan.scope import head_snapshots

    baseline = BaselineData(Baseline("state", None, "l", 1, "0" * 64, None), head_snapshots(project, "dev"), {},
                            {}, {})
    plain = make_plan(project, compiled, baseline, "dev")
    assert plain.impacts == []
    everything = make_plan(project, compiled, baseline, "dev", full_refresh=True)
    assert {i.address for i in everything.impacts if i.work == "rebuild"} == set(
        t.address for t in project.transforms.values())
    assert all(i.full_refresh for i in everything.impacts if i.work in ("rebuild", "rerun"))
    assert valid(everything)["full_refresh"] is True
    backfill = make_plan(project, compiled, baseline, "dev", selected={TA}, full_refresh=True)
    assert work(backfill) == {TA: "rebuild (full refresh)"}
    text = render_text(backfill)
    assert "rebuild (full refresh) transform.build_customer_activity" in text
    assert "transform.build_customer_activity (--full-refresh)" in text
    assert "full refresh requested (--full-refresh)" in text


def test_appended_needs_the_old_bytes_at_the_start_and_whole_lines():
    from compiler.plan.diff import AttrChange

    old = b"id,x\n1,a\n"

    def changes(before: bytes):
        return [AttrChange("spec.source.content.sha256", hashlib.sha256(before).hexdigest(), "new"),
                AttrChange("spec.source.content.size", len(before), 0)]

    assert appended(old + b"2,b\n", changes(old))
    assert not appended(b"id,x\n1,c\n2,b\n", changes(old))
    assert not appended(b"id,x\n", changes(old))
    no_newline = b"id,x\n1,a"
    assert appended(no_newline + b"\n2,b\n", changes(no_newline))
    assert not appended(no_newline + b"b\n", changes(no_newline))  # the old last line was changed
