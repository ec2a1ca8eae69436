"""What depends on the ML framework, behind one small interface per framework: predictions and probabilities
from a fitted model, logging it to MLflow, loading a registered version back.

Only scikit-learn is supported by this version's trainer; a framework is added by adding a Flavor to FLAVORS
(its MLflow flavour name, how to predict, log and load).

A classifier with predict_proba is logged so that MLflow's pyfunc returns the class probabilities (one
column per class, in `classes` order); the MLmodel metadata says so (METADATA_KEY), with the classes and the
decision threshold, and the serving image turns them back into labels (compiler/emit/docker/serve_app.py).
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from typing import Any, Protocol

from compiler.apply.context import StepFailed

METADATA_KEY = "specops"  # MLmodel metadata: {"output": "probabilities", "classes": [...], "decision_threshold": t}


@dataclass(frozen=True)
class Prediction:
    labels: Any  # array of predicted labels (or values, for regression)
    proba: Any | None = None  # n x classes array, None when the model gives none
    classes: tuple[Any, ...] = ()


class Flavor(Protocol):
    mlflow_flavor: str  # the MLmodel flavour name

    def predict(self, estimator: Any, X: Any, threshold: float | None) -> Prediction: ...

    def log(self, estimator: Any, example: Any, signature: Any, metadata: dict[str, Any],
            probabilities: bool) -> Any: ...

    def load(self, uri: str) -> Any: ...


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def pinned(packages: tuple[str, ...]) -> list[str]:
    """`package==version` as installed here: what the model was pickled with (MLflow's requirement inference
    would take seconds per model, and the serving image installs its own pins anyway)."""
    return [f"{p}=={v}" if (v := _version(p)) else p for p in packages]


class Sklearn:
    mlflow_flavor = "sklearn"
    packages = ("mlflow", "scikit-learn", "cloudpickle", "numpy", "pandas", "scipy")

    def predict(self, estimator: Any, X: Any, threshold: float | None) -> Prediction:
        import numpy as np

        proba, classes = None, ()
        if hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_"):
            proba = np.asarray(estimator.predict_proba(X))
            classes = tuple(estimator.classes_.tolist())
        if threshold is None:
            return Prediction(np.asarray(estimator.predict(X)), proba, classes)
        if proba is None:
            raise StepFailed("decision_threshold needs a classifier with predict_proba(); the fitted estimator "
                             "has none")
        if len(classes) != 2:
            raise StepFailed(f"decision_threshold applies to a binary target; this one has {len(classes)} classes")
        return Prediction(np.where(proba[:, 1] >= threshold, classes[1], classes[0]), proba, classes)

    def log(self, estimator: Any, example: Any, signature: Any, metadata: dict[str, Any],
            probabilities: bool) -> Any:
        import mlflow.sklearn

        return mlflow.sklearn.log_model(estimator, name="model", signature=signature, input_example=example,
                                        serialization_format="cloudpickle", metadata=metadata,
                                        pyfunc_predict_fn="predict_proba" if probabilities else "predict",
                                        pip_requirements=pinned(self.packages))

    def load(self, uri: str) -> Any:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(uri)


FLAVORS: dict[str, Flavor] = {"sklearn": Sklearn()}


def flavor(framework: str) -> Flavor:
    found = FLAVORS.get(framework)
    if found is None:
        raise StepFailed(f"framework '{framework}' is not supported by this version's trainer "
                         f"(supported: {', '.join(sorted(FLAVORS))})")
    return found


def flavor_of_logged(flavors: dict[str, Any]) -> Flavor | None:
    """The Flavor that can load a logged model, from its MLmodel flavours."""
    for f in FLAVORS.values():
        if f.mlflow_flavor in flavors:
            return f
    return None
