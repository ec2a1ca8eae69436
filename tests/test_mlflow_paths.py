"""The embedded MLflow store follows its repository (compiler.apply.mlflowstore): a copy of a repository reads its
own artifacts and writes new runs into its own folder, never into the original's, even after the original is gone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLE_ROOT, copy_repository

from compiler.apply.context import RunContext
from compiler.front.check import require_project

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")


def context(root: Path) -> RunContext:
    project = require_project(root)
    return RunContext(project, project.environments["dev"], root / "build", lambda line: None)


def log_version(root: Path, uri: str) -> str:
    """What apply's training does to the store, in small: an experiment under .specops/mlartifacts, a run, a
    registered version."""
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    client = MlflowClient(uri)
    name = "churn_analytics/churn"
    if client.get_experiment_by_name(name) is None:
        client.create_experiment(name, artifact_location=(root / ".specops" / "mlartifacts" / "churn").resolve().as_uri())
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(name)
    import numpy as np

    X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    model = LogisticRegression().fit(X, y)
    with mlflow.start_run() as run:
        mlflow.log_dict({"a": 1}, "specops/profile.json")
        info = mlflow.sklearn.log_model(model, name="model", signature=infer_signature(X, y),
                                        pip_requirements=["scikit-learn"], serialization_format="cloudpickle")
    version = mlflow.register_model(info.model_uri, "churn")
    return run.info.run_id if version else ""


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def test_a_copied_repository_uses_its_own_artifacts(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    original = copy_repository(EXAMPLE_ROOT, tmp_path / "original")
    uri = context(original).tracking()
    first_run = log_version(original, uri)
    before = files_under(original / ".specops" / "mlartifacts")
    assert any(first_run in f for f in before)

    copy = Path(shutil.copytree(original, tmp_path / "copy", symlinks=True))
    lines: list[str] = []
    ctx = context(copy)
    ctx.echo = lines.append
    copy_uri = ctx.tracking()
    assert lines and "moved into this repository" in lines[0] and str(original) in lines[0]
    assert context(copy).tracking() == copy_uri  # the second time there is nothing left to move

    second_run = log_version(copy, copy_uri)
    assert files_under(original / ".specops" / "mlartifacts") == before  # nothing new in the original
    assert any(second_run in f for f in files_under(copy / ".specops" / "mlartifacts"))

    from mlflow import MlflowClient

    client = MlflowClient(copy_uri)
    experiment = client.get_experiment_by_name("churn_analytics/churn")
    assert experiment.artifact_location.startswith((copy / ".specops").resolve().as_uri())
    shutil.rmtree(original)  # the copy no longer needs it: versions and runs point into the copy
    loaded = mlflow.pyfunc.load_model("models:/churn/1")
    import numpy as np

    assert list(loaded.predict(np.array([[0.0], [3.0]]))) == [0, 1]
    assert client.download_artifacts(first_run, "specops/profile.json", str(tmp_path))


def test_a_remote_tracking_uri_is_left_alone(tmp_path: Path):
    from compiler.apply.mlflowstore import relocate

    assert relocate(tmp_path, tmp_path / "missing.db") == []
