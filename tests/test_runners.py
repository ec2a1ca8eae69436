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
