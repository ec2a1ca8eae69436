"""Training a Model for real: warehouse data -> the user's train() -> metrics -> MLflow registry.

The alias moves only when every validation gate passes and the candidate is not worse than the
current alias version by more than max_regression; otherwise the old alias stays and the step fails.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import sys
from dataclasses import dataclass, field
from typing import Any

from compiler.apply.context import RunContext, StepFailed
from compiler.apply.steps.data import load_frame, quiet_mlflow
from compiler.apply.steps.drift import PROFILE_PATH, profile
from compiler.apply.steps.leftovers import mark_leftovers, owner_tags
from compiler.spec.ir import LOWER_IS_BETTER, Model

PRIMARY = {"classification": "roc_auc", "regression": "r2"}
CANDIDATE_ALIAS = "challenger"


@dataclass
class TrainResult:
    version: int
    run_id: str
    metrics: dict[str, float]
    promoted: bool
    reasons: list[str] = field(default_factory=list)
    alias_version: int | None = None  # the version the alias points at after this step

    def to_state(self, model: Model) -> dict[str, Any]:
        return {"registered_model": model.registry_name, "alias": model.alias, "candidate_version": self.version,
                "alias_version": self.alias_version, "run_id": self.run_id, "metrics": self.metrics,
                "promoted": self.promoted, "reasons": self.reasons}


def load_entrypoint(ctx: RunContext, model: Model):
    assert model.training is not None
    path = ctx.root / model.training.entrypoint
    spec = importlib.util.spec_from_file_location(f"specops_training_{model.name}", path)
    if spec is None or spec.loader is None:
        raise StepFailed(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise StepFailed(f"importing {model.training.entrypoint} failed: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.remove(str(path.parent))
    train = getattr(module, "train", None)
    if not callable(train):
        raise StepFailed(f"{model.training.entrypoint} defines no train(X, y, params) function")
    return train


def compute_metrics(task: str, estimator: Any, X, y) -> dict[str, float]:
    from sklearn import metrics as m

    pred = estimator.predict(X)
    if task == "regression":
        return {"rmse": float(math.sqrt(m.mean_squared_error(y, pred))), "mae": float(m.mean_absolute_error(y, pred)),
                "r2": float(m.r2_score(y, pred))}
    out = {"accuracy": float(m.accuracy_score(y, pred)),
           "precision": float(m.precision_score(y, pred, average="binary" if len(set(y)) <= 2 else "macro",
                                                zero_division=0)),
           "recall": float(m.recall_score(y, pred, average="binary" if len(set(y)) <= 2 else "macro", zero_division=0)),
           "f1": float(m.f1_score(y, pred, average="binary" if len(set(y)) <= 2 else "macro", zero_division=0))}
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
        if proba.shape[1] == 2:
            out["roc_auc"] = float(m.roc_auc_score(y, proba[:, 1]))
        else:
            out["roc_auc"] = float(m.roc_auc_score(y, proba, multi_class="ovr"))
        out["log_loss"] = float(m.log_loss(y, proba, labels=getattr(estimator, "classes_", None)))
    return out


def gate_failures(model: Model, metrics: dict[str, float]) -> list[str]:
    reasons = []
    for gate in model.metrics:
        value = metrics.get(gate.name)
        if value is None:
            reasons.append(f"{gate.name} could not be computed")
            continue
        if gate.min is not None and value < gate.min:
            reasons.append(f"{gate.name} {value:.4f} is below the gate minimum {gate.min}")
        if gate.max is not None and value > gate.max:
            reasons.append(f"{gate.name} {value:.4f} is above the gate maximum {gate.max}")
    return reasons


def regression_failures(model: Model, candidate: dict[str, float], current: dict[str, float]) -> list[str]:
    if model.max_regression is None:
        return []
    names = [g.name for g in model.metrics] or [PRIMARY[model.task]]
    reasons = []
    for name in names:
        if name not in candidate or name not in current:
            continue
        worse = (candidate[name] - current[name]) if name in LOWER_IS_BETTER else (current[name] - candidate[name])
        if worse > model.max_regression:
            reasons.append(f"{name} {candidate[name]:.4f} is worse than the current '{model.alias}' "
                           f"({current[name]:.4f}) by {worse:.4f} > max_regression {model.max_regression}")
    return reasons


def train_model(ctx: RunContext, model: Model) -> TrainResult:
    """Train, evaluate, log and register one model; move its alias when the gates allow."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature
    from sklearn.model_selection import train_test_split

    tr = model.training
    assert tr is not None
    frame = load_frame(ctx, model)
    X, y = frame[list(tr.features)], frame[tr.target]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=tr.test_size, random_state=tr.random_seed)
    train = load_entrypoint(ctx, model)
    try:
        estimator = train(X_train, y_train, dict(tr.params))
    except Exception as exc:
        raise StepFailed(f"train() raised {type(exc).__name__}: {exc}") from None
    metrics = compute_metrics(model.task, estimator, X_test, y_test)
    quiet_mlflow()
    uri = ctx.tracking()
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment = f"{ctx.project.project.name}/{model.name}"
    found = client.get_experiment_by_name(experiment)
    if found is None:
        location = None
        if uri.startswith("sqlite:") or uri.startswith("file:"):
            location = (ctx.root / ".specops" / "mlartifacts" / model.name).resolve().as_uri()
        client.create_experiment(experiment, artifact_location=location)
    mark_leftovers(ctx, client, model, found.experiment_id if found is not None else None, uri)
    mlflow.set_experiment(experiment)
    tags = {"specops.model": model.address, "specops.spec_digest": model.digest,
            "specops.environment": ctx.env.name, "git_sha": ctx.git_sha or "unknown", **owner_tags()}
    with mlflow.start_run(tags=tags) as run:
        mlflow.log_params({**{k: v for k, v in tr.params}, "test_size": tr.test_size, "random_seed": tr.random_seed,
                           "features": ",".join(tr.features), "target": tr.target})
        mlflow.log_metrics(metrics)
        mlflow.log_dict(profile(X_train, tr.features, tr.random_seed), PROFILE_PATH)
        signature = infer_signature(X_train, estimator.predict(X_train.head(20)))
        flavor = mlflow.sklearn if model.framework == "sklearn" else mlflow.pyfunc
        if flavor is mlflow.pyfunc:
            raise StepFailed(f"framework '{model.framework}' is not supported by this version's trainer")
        info = flavor.log_model(estimator, name="model", signature=signature, input_example=X_train.head(5),
                                serialization_format="cloudpickle")
    with contextlib.redirect_stderr(io.StringIO()):  # "Successfully registered model ..." chatter
        mv = mlflow.register_model(info.model_uri, model.registry_name, tags=tags)
    version = int(mv.version)
    reasons = gate_failures(model, metrics)
    current_version = None
    try:
        current = client.get_model_version_by_alias(model.registry_name, model.alias)
        current_version = int(current.version)
        if current.run_id:
            reasons += regression_failures(model, metrics, client.get_run(current.run_id).data.metrics)
    except MlflowException:
        pass
    promoted = not reasons
    client.set_model_version_tag(model.registry_name, str(version), "validation_status",
                                 "passed" if promoted else "failed")
    if model.alias != CANDIDATE_ALIAS:
        # every new version is the challenger: canary rollouts (seldon) serve it beside the alias
        client.set_registered_model_alias(model.registry_name, CANDIDATE_ALIAS, str(version))
    if promoted:
        client.set_registered_model_alias(model.registry_name, model.alias, str(version))
    return TrainResult(version, run.info.run_id, metrics, promoted, reasons,
                       version if promoted else current_version)
