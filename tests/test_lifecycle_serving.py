"""What a deployment serves: the version holding its own alias, or its pinned version, read from the real MLflow
registry (SQLite) and refused before anything runs when the registry has no such version.

The registry is filled directly (versions without training: what is served is decided by aliases and numbers
only), so these tests train nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RepoEditor

pytest.importorskip("mlflow")
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")  # mlflow's

DEV_API = "specs/deployments/churn_api_dev.yaml"


def registry(root: Path, aliases: dict[str, int], count: int = 2) -> None:
    """Register `count` versions of churn in dev's SQLite registry and set `aliases` (alias -> version)."""
    from mlflow import MlflowClient

    (root / ".specops").mkdir(exist_ok=True)
    client = MlflowClient(f"sqlite:///{root / '.specops' / 'mlflow.db'}")
    client.create_registered_model("churn")
    for _ in range(count):
        client.create_model_version("churn", source=str(root / "unused"))
    for alias, version in aliases.items():
        client.set_registered_model_alias("churn", alias, str(version))


def dev_state(root: Path, alias_version: int) -> None:
    """dev's state as an apply that promoted `alias_version` leaves it (the model's part)."""
    path = root / ".specops" / "state" / "dev.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format_version": "1.0", "environment": "dev", "project": "churn_analytics",
                                "lineage": "0b6b9d3e-1111-4222-8333-944455556666", "serial": 1,
                                "models": {"churn": {"registered_model": "churn", "alias": "champion",
                                                     "alias_version": alias_version}}}), encoding="utf-8")


def rollout(runner, root: Path):
    from compiler.cli.main import main

    return runner.invoke(main, ["rollout", "churn_api_dev", str(root)])


def test_a_deployment_serves_the_holder_of_its_own_alias_or_its_pin_and_refuses_one_the_registry_lacks(
        runner, repo):
    root = repo()
    ed = RepoEditor(root)
    registry(root, {"champion": 2, "stable": 1})  # the model's alias on version 2, another alias on version 1
    dev_state(root, 2)

    ed.replace(DEV_API, "alias: champion", "alias: stable")
    run = rollout(runner, root)
    assert run.exit_code == 0, run.output
    assert "deployment.churn_api_dev: model churn version 1" in run.output

    ed.replace(DEV_API, "alias: stable", "alias: canary")
    run = rollout(runner, root)
    assert run.exit_code == 1, run.output
    assert ("refusing to roll out: deployment.churn_api_dev serves the alias 'canary' of model.churn, which no "
            "version of registered model 'churn' in environment 'dev' holds (aliases held: 'champion' -> 2, "
            "'stable' -> 1)") in run.output
    assert "Traceback" not in run.output

    ed.replace(DEV_API, "alias: canary", "version: 99")
    run = rollout(runner, root)
    assert run.exit_code == 1, run.output
    assert ("deployment.churn_api_dev pins version 99 of model.churn, which registered model 'churn' in environment "
            "'dev' does not have (its versions: 1, 2)") in run.output

    ed.replace(DEV_API, "version: 99", "version: 1")
    run = rollout(runner, root)
    assert run.exit_code == 0, run.output
    assert "deployment.churn_api_dev: model churn version 1" in run.output


def test_an_apply_that_would_roll_out_an_alias_no_version_holds_is_refused_before_anything_runs(runner, repo):
    from compiler.cli.main import main

    root = repo()
    ed = RepoEditor(root)
    registry(root, {"champion": 1}, count=1)
    dev_state(root, 1)
    ed.replace(DEV_API, "alias: champion", "alias: canary")
    run = runner.invoke(main, ["apply", str(root), "--select", "deployment.churn_api_dev", "--yes"])
    assert run.exit_code == 1, run.output
    assert "refusing to apply: deployment.churn_api_dev serves the alias 'canary' of model.churn" in run.output
    assert not (root / ".specops" / "manifests").exists()
    assert json.loads((root / ".specops" / "state" / "dev.json").read_text())["models"]["churn"]["alias_version"] == 1


def test_manifests_carry_the_version_resolved_for_the_deployment_not_the_models_alias(churn):
    """The prod deployment with an alias of its own: the version of the model's alias is not what it serves."""
    from dataclasses import replace

    from compiler.emit.kubernetes import ResolvedModel, render

    deployments = dict(churn.deployments)
    deployments["churn_api"] = replace(deployments["churn_api"], alias="stable")
    project = replace(churn, deployments=deployments)

    def served(resolved: dict[str, ResolvedModel]) -> str:
        (isvc,) = [a for a in render(project, resolved, only="prod") if a.path.endswith("inferenceservice.yaml")]
        return isvc.content.decode() if isinstance(isvc.content, bytes) else isvc.content

    text = served({"churn": ResolvedModel(2, "models:/churn/2"), "deployment.churn_api": ResolvedModel(1, "s3://v1")})
    assert "s3://v1" in text and "models:/churn/2" not in text
    # without a version of its own, never the version of the model's alias: the alias, known after apply
    text = served({"churn": ResolvedModel(2, "models:/churn/2")})
    assert "models:/churn/2" not in text and "models:/churn@stable" in text
