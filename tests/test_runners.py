"""Where scheduled retraining runs (spec.training.runner): emitted by exactly one backend, and checked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import RepoEditor, checked

from compiler.emit.registry import emit_all
from compiler.spec.runners import RUNNERS

MODEL = "specs/models/churn.yaml"
SCHEDULE = '    schedule: "0 3 * * 1"\n'


def retraining(root: Path) -> dict[str, list[str]]:
    """runner -> the files that retrain the churn model."""
    project, diags = checked(root)
    assert project is not None, diags
    keys = [a.key for a in emit_all(project)]
    return {
        "kubernetes": sorted(k for k in keys if k.endswith("churn-retrain.cronjob.yaml")),
        "github": sorted(k for k in keys if k.endswith("specops-retrain-churn.yml")),
        "airflow": sorted(k for k in keys if k.startswith("airflow/") and "retrain_churn" in k),
        "kubeflow": sorted(k for k in keys if k.startswith("kubeflow/") and k.endswith("/churn-retrain.yaml")),
    }


def set_runner(edit: RepoEditor, runner: str) -> None:
    edit.replace(MODEL, SCHEDULE, SCHEDULE + f"    runner: {runner}\n")


def test_the_default_is_kubernetes_for_a_deployed_model(edit: RepoEditor) -> None:
    found = retraining(edit.root)
    # dev is laptop-only (compiler.spec.placement): its cluster gets no retraining CronJob
    assert found["kubernetes"] == ["k8s/prod/churn-retrain.cronjob.yaml"]
    assert found["github"] == [] and found["airflow"] == [] and found["kubeflow"] == []


def test_the_default_is_github_for_a_model_deployed_only_to_laptop_only_environments(edit: RepoEditor) -> None:
    edit.delete("specs/deployments/churn_api.yaml")
    found = retraining(edit.root)
    assert found == {"kubernetes": [], "github": ["workflows:specops-retrain-churn.yml"], "airflow": [], "kubeflow": []}


@pytest.mark.parametrize("runner", RUNNERS)
def test_each_runner_is_emitted_once(edit: RepoEditor, runner: str) -> None:
    set_runner(edit, runner)
    found = retraining(edit.root)
    assert [name for name, files in found.items() if files] == [runner]


def test_the_default_is_github_for_a_model_deployed_nowhere(edit: RepoEditor) -> None:
    edit.delete("specs/deployments/churn_api.yaml")
    edit.delete("specs/deployments/churn_api_dev.yaml")
    found = retraining(edit.root)
    assert found == {"kubernetes": [], "github": ["workflows:specops-retrain-churn.yml"], "airflow": [],
                     "kubeflow": []}


def test_kubernetes_needs_a_deployment(edit: RepoEditor, validate_cli: Callable) -> None:
    set_runner(edit, "kubernetes")
    edit.delete("specs/deployments/churn_api.yaml")
    edit.delete("specs/deployments/churn_api_dev.yaml")
    result = validate_cli(edit.root)
    assert result.exit_code != 0
    line = edit.line_of(MODEL, "runner:")
    assert f"{MODEL}:{line}:" in result.output and "[runner-nowhere]" in result.output
    assert "use runner github or airflow" in result.output


def test_a_runner_without_a_schedule_is_a_warning(edit: RepoEditor, validate_cli: Callable) -> None:
    edit.replace(MODEL, SCHEDULE, "    runner: airflow\n")
    result = validate_cli(edit.root)
    assert result.exit_code == 0, result.output
    line = edit.line_of(MODEL, "runner:")
    assert f"{MODEL}:{line}:" in result.output and "warning: model.churn: runner 'airflow' has no effect" in result.output
    assert "[runner-without-schedule]" in result.output


def test_an_unknown_runner_is_a_schema_error(edit: RepoEditor, validate_cli: Callable) -> None:
    set_runner(edit, "prefect")
    result = validate_cli(edit.root)
    assert result.exit_code != 0 and f"{MODEL}:{edit.line_of(MODEL, 'runner:')}:" in result.output


# --------------------------------------------------------------------------- scheduled transforms (spec.runner)

ACTIVITY = "specs/transforms/customer_activity.yaml"
FEATURES = "specs/transforms/customer_features.yaml"


def transform_jobs(root: Path) -> tuple[list[str], dict[str, str]]:
    """The transforms' CronJobs, and the Airflow schedule DAGs (path -> text)."""
    project, diags = checked(root)
    assert project is not None, diags
    arts = emit_all(project)
    cronjobs = sorted(a.key for a in arts if a.key.endswith("-dbt.cronjob.yaml"))
    dags = {a.key: a.content.decode() for a in arts if a.key.startswith("airflow/") and "__schedule_" in a.key}
    return cronjobs, dags


def test_a_scheduled_transform_runs_as_a_cronjob_by_default(edit: RepoEditor) -> None:
    cronjobs, dags = transform_jobs(edit.root)
    assert cronjobs == ["k8s/prod/build-customer-activity-dbt.cronjob.yaml",
                        "k8s/prod/build-customer-features-dbt.cronjob.yaml"]
    assert dags == {}


def test_runner_airflow_moves_a_transform_to_its_schedules_dag_in_every_environment(edit: RepoEditor) -> None:
    edit.replace(ACTIVITY, '  schedule: "15 * * * *"\n', '  schedule: "*/15 * * * MON-FRI"\n  runner: airflow\n')
    cronjobs, dags = transform_jobs(edit.root)
    assert cronjobs == ["k8s/prod/build-customer-features-dbt.cronjob.yaml"]  # emitted once: not also a CronJob
    assert sorted(dags) == [f"airflow/dags/specops__churn_analytics__{env}__schedule_XS15_X_X_X_1-5.py"
                            for env in ("dev", "prod")]
    for text in dags.values():
        assert "schedule='*/15 * * * 1-5'" in text and "select=['customer_activity']" in text


def test_transforms_on_one_schedule_share_a_dag_and_need_no_dbt_image(edit: RepoEditor) -> None:
    edit.replace(ACTIVITY, '  schedule: "15 * * * *"\n', '  schedule: "0  2 * * SUN"\n  runner: airflow\n')
    edit.replace(FEATURES, '  schedule: "0 2 * * *"', '  schedule: "0 2 * * 0"\n  runner: airflow')
    cronjobs, dags = transform_jobs(edit.root)
    assert cronjobs == []
    assert sorted(dags) == [f"airflow/dags/specops__churn_analytics__{env}__schedule_0_2_X_X_0.py"
                            for env in ("dev", "prod")]  # one schedule, spelt two ways
    assert all("select=['customer_activity', 'customer_features']" in text for text in dags.values())
    project, _ = checked(edit.root)
    from compiler.emit.images import builds
    assert not [b for b in builds(project) if b.image.split("/")[-1].startswith("churn-analytics-dbt:")]


def test_a_transform_runner_without_a_schedule_is_a_warning(edit: RepoEditor, validate_cli: Callable) -> None:
    edit.replace(ACTIVITY, '  schedule: "15 * * * *"\n', '  runner: airflow\n')
    result = validate_cli(edit.root)
    assert result.exit_code == 0, result.output
    line = edit.line_of(ACTIVITY, "runner:")
    assert f"{ACTIVITY}:{line}:" in result.output
    assert "warning: transform.build_customer_activity: runner 'airflow' has no effect" in result.output


def test_an_unknown_transform_runner_is_a_schema_error(edit: RepoEditor, validate_cli: Callable) -> None:
    edit.replace(ACTIVITY, '  schedule: "15 * * * *"\n', '  schedule: "15 * * * *"\n  runner: github\n')
    result = validate_cli(edit.root)
    assert result.exit_code != 0 and f"{ACTIVITY}:{edit.line_of(ACTIVITY, 'runner:')}:" in result.output


def test_an_airflow_run_transform_is_not_reported_as_left_out_of_a_laptop_cluster(edit: RepoEditor,
                                                                                 validate_cli: Callable) -> None:
    """The laptop-only warning (an environment with a namespace and an embedded warehouse) names the dbt jobs its
    cluster cannot run: a transform Airflow runs is not one of them."""
    edit.write("specs/staging.yaml", "apiVersion: specops/v1\nkind: Environment\nmetadata: {name: staging}\n"
               "spec:\n  warehouse: {type: duckdb, path: .specops/staging.duckdb}\n"
               "  mlflow: {tracking_uri: 'sqlite:///.specops/staging-mlflow.db'}\n"
               "  kubernetes: {namespace: ml-staging}\n")
    before = validate_cli(edit.root).output
    assert "[laptop-only]" in before and "transform.build_customer_activity (dbt job)" in before
    edit.replace(ACTIVITY, '  schedule: "15 * * * *"\n', '  schedule: "15 * * * *"\n  runner: airflow\n')
    after = validate_cli(edit.root).output
    assert "transform.build_customer_activity" not in after and "transform.build_customer_features (dbt job)" in after


@pytest.mark.parametrize(("written", "canonical"), [
    ("0 3 * * SUN", "0 3 * * 0"), ("0  3 * * 0", "0 3 * * 0"), ("*/15 * * * MON-FRI", "*/15 * * * 1-5"),
    ("0 0 1 jan,JUL 5-6", "0 0 1 1,7 5-6"), ("10 * * * *", "10 * * * *"), ("0 9,17 * * mon-fri/2", "0 9,17 * * 1-5/2"),
    ("00 02 * * 0", "0 2 * * 0"), ("*/05 01-03 01,15 * *", "*/5 1-3 1,15 * *"),  # leading zeros: one Airflow DAG
])
def test_a_schedule_has_one_spelling(written: str, canonical: str) -> None:
    from compiler.spec.cron import canonical_cron, cron_problem

    assert canonical_cron(written) == canonical and cron_problem(canonical) is None


@pytest.mark.parametrize(("schedule", "problem"), [
    ("0 0 * * 7", "has 7: GitHub Actions and Kubernetes read days 0-6 (Sunday is 0)"),
    ("0 0 * * 5-7", "has 7"), ("0 0 * * 0,7", "has 7"), ("0 0 * * 0-7/2", "has 7"),
    ("0 0 31 2 *", "never fires"), ("0 0 30 2 *", "never fires"), ("0 0 30-31 feb *", "never fires"),
    ("0 0 31 4,6,9,11 *", "never fires"), ("0 0 31 apr-jun/2 *", "never fires"),
    ("0 0 29 2 *", None),  # leap years
    ("0 0 31 2 1", None),  # both day fields restricted: it runs on Mondays in February
    ("0 0 31 4,6,9,12 *", None), ("0 0 31 4/2 *", None), ("0 0 * * 6", None), ("0 0 * * sun", None),
], ids=["sunday-7", "range-to-7", "list-with-7", "stepped-to-7", "feb-31", "feb-30", "feb-30-31", "30-day-months",
        "stepped-months", "feb-29", "either-day-field", "one-31-day-month", "months-from-4-by-2", "saturday", "sun"])
def test_schedules_github_and_kubernetes_would_refuse_or_never_run(schedule: str, problem: str | None) -> None:
    """GitHub Actions (actionlint) and Kubernetes CronJobs (robfig/cron) read days of the week 0-6 only, and a
    schedule whose days fall in none of its months never fires."""
    from compiler.spec.cron import cron_problem

    found = cron_problem(schedule)
    assert (found is None) if problem is None else (found is not None and problem in found), found


def test_the_runner_lists_are_the_schemas_enums() -> None:
    from compiler.front.schemas import load_schemas
    from compiler.spec.runners import TRANSFORM_RUNNERS

    schemas = load_schemas().schemas
    model = schemas["Model"]["properties"]["spec"]["properties"]["training"]["properties"]["runner"]
    transform = schemas["Transform"]["properties"]["spec"]["properties"]["runner"]
    assert tuple(model["enum"]) == RUNNERS and tuple(transform["enum"]) == TRANSFORM_RUNNERS


@pytest.mark.parametrize("runner", RUNNERS)
def test_the_training_image_is_built_only_where_a_job_runs_it(edit: RepoEditor, runner: str) -> None:
    """A CronJob (kubernetes) or a pipeline's steps (kubeflow) run the training image; GitHub and Airflow train on
    their own workers, so with no drift job either, the apply workflow has no training image to build."""
    edit.replace(MODEL, ', schedule: "0 6 * * *"}', "}")
    set_runner(edit, runner)
    project, diags = checked(edit.root)
    assert project is not None, diags
    from compiler.emit.images import builds
    trains = [b.environments for b in builds(project) if b.image.split("/")[-1].startswith("churn-train:")]
    # kubernetes: the prod CronJob (dev is laptop-only); kubeflow: a pipeline in each environment it trains in
    assert trains == {"kubernetes": [("prod",)], "kubeflow": [("dev", "prod")]}.get(runner, [])


def test_a_kubeflow_model_deployed_nowhere_has_its_training_image_built_for_the_default_environment(
        edit: RepoEditor) -> None:
    edit.replace(MODEL, ', schedule: "0 6 * * *"}', "}")
    set_runner(edit, "kubeflow")
    edit.delete("specs/deployments/churn_api.yaml")
    edit.delete("specs/deployments/churn_api_dev.yaml")
    project, diags = checked(edit.root)
    assert project is not None, diags
    from compiler.emit.images import builds
    assert [k for k in (a.key for a in emit_all(project)) if k.startswith("kubeflow/")] == [
        "kubeflow/dev/churn-retrain.yaml"]
    assert [b.environments for b in builds(project) if b.image.split("/")[-1].startswith("churn-train:")] == [
        ("dev",)]
