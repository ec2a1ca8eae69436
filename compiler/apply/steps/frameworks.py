"""What depends on the ML framework, behind one small interface per framework: checking what train() returned,
predictions and probabilities from it, logging it to MLflow with the framework's own flavour, loading a
registered version back.

    framework   train() returns                                  logged with
    sklearn     a fitted estimator (predict, predict_proba)      mlflow.sklearn (cloudpickle)
    xgboost     an XGBClassifier / XGBRegressor (sklearn API)    mlflow.xgboost (a classifier's Booster)
    lightgbm    an LGBMClassifier / LGBMRegressor (sklearn API)  mlflow.lightgbm (a classifier's Booster)
    pytorch     a torch.nn.Module: float32 features -> outputs   mlflow.pytorch (pickle format, cloudpickle)

A classifier is logged so that MLflow's pyfunc returns the class probabilities, and the MLmodel metadata says
so (METADATA_KEY), with the classes and the decision threshold; the serving image turns them back into labels
(compiler/emit/docker/serve_app.py). For a binary booster, pyfunc returns the probability of the second class
only (one number per row), and the serving image and the re-scoring here read that too. A PyTorch classifier's
forward() returns one probability per class (end it with a softmax), the columns in the sorted order of the
target's values; a regressor's returns one value per row.

The heavy libraries are imported inside the methods: only `specops apply` and `specops train` get here.
A framework is added by adding a Flavor to FLAVORS (the schema's enum names the frameworks the spec allows;
tensorflow has no trainer yet).
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

    def adopt(self, fitted: Any, y: Any, task: str) -> Any: ...

    def predict(self, estimator: Any, X: Any, threshold: float | None) -> Prediction: ...

    def log(self, estimator: Any, example: Any, signature: Any, metadata: dict[str, Any],
            probabilities: bool, keep_example: bool = True) -> Any:
        """Log the fitted model; `example` (rows of the training data) is also kept as its input example unless
        `keep_example` is false (features whose values may not be kept: PII)."""
        ...

    def load(self, uri: str) -> Any: ...


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def pinned(packages: tuple[str, ...]) -> list[str]:
    """`package==version` as installed here: what the model was pickled with (MLflow's requirement inference
    would take seconds per model, and the serving image installs its own pins anyway). A package installed
    under another distribution name (xgboost-cpu) is pinned under its own name, at the module's version."""
    out = []
    for p in packages:
        version = _version(p) or _module_version(p)
        out.append(f"{p}=={version}" if version else p)
    return out


def _module_version(package: str) -> str | None:
    import importlib

    try:
        version = getattr(importlib.import_module(package.replace("-", "_")), "__version__", None)
    except ImportError:
        return None
    return str(version).split("+", 1)[0] if version else None  # torch's +cpu is a build, not a release


def with_threshold(proba: Any, classes: tuple[Any, ...], threshold: float | None) -> Prediction:
    """Labels from class probabilities: the most probable class, or the second of two at the threshold."""
    import numpy as np

    if threshold is None:
        return Prediction(np.asarray(classes, dtype=object)[proba.argmax(axis=1)].tolist() if classes else
                          proba.argmax(axis=1), proba, classes)
    if len(classes) != 2:
        raise StepFailed(f"decision_threshold applies to a binary target; this one has {len(classes)} classes")
    return Prediction(np.where(proba[:, 1] >= threshold, classes[1], classes[0]), proba, classes)


def _labels_like(values: list[Any], classes: tuple[Any, ...]) -> Any:
    import numpy as np

    return np.asarray(values, dtype=np.asarray(classes).dtype)


class Sklearn:
    mlflow_flavor = "sklearn"
    packages = ("mlflow", "scikit-learn", "cloudpickle", "numpy", "pandas", "scipy")

    def adopt(self, fitted: Any, y: Any, task: str) -> Any:
        if not hasattr(fitted, "predict"):
            raise StepFailed(f"train() returned a {type(fitted).__name__}, not a fitted scikit-learn estimator "
                             "(no predict())")
        return fitted

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
        return with_threshold(proba, classes, threshold)

    def log(self, estimator: Any, example: Any, signature: Any, metadata: dict[str, Any],
            probabilities: bool, keep_example: bool = True) -> Any:
        import mlflow.sklearn

        return mlflow.sklearn.log_model(estimator, name="model", signature=signature,
                                        input_example=example if keep_example else None,
                                        serialization_format="cloudpickle", metadata=metadata,
                                        pyfunc_predict_fn="predict_proba" if probabilities else "predict",
                                        pip_requirements=pinned(self.packages))

    def load(self, uri: str) -> Any:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(uri)


@dataclass(frozen=True)
class Logged:
    """A registered version loaded through MLflow's pyfunc, with what its metadata says about its output."""

    pyfunc: Any
    task: str
    classes: tuple[Any, ...]


def load_logged(uri: str) -> Logged:
    import mlflow.pyfunc

    loaded = mlflow.pyfunc.load_model(uri)
    info = (loaded.metadata.metadata or {}).get(METADATA_KEY) or {}
    return Logged(loaded, str(info.get("task", "")), tuple(info.get("classes") or ()))


def probabilities_of(out: Any, classes: tuple[Any, ...], what: str) -> Any:
    """An n x classes probability array from a model's output: n x classes, or one probability (of the second
    class) per row for two classes."""
    import numpy as np

    proba = np.asarray(out, dtype=float)
    if proba.ndim == 2 and proba.shape[1] == 1:
        proba = proba[:, 0]
    if proba.ndim == 1 and len(classes) == 2:
        proba = np.column_stack([1.0 - proba, proba])
    if proba.ndim != 2 or proba.shape[1] != len(classes):
        raise StepFailed(f"{what} gives outputs of shape {list(proba.shape)}; a classifier of {len(classes)} "
                         f"classes must give one probability per class (n x {len(classes)})")
    if not np.all(np.isfinite(proba)) or proba.min() < -1e-6 or proba.max() > 1 + 1e-6 or \
            not np.allclose(proba.sum(axis=1), 1.0, atol=1e-3):
        raise StepFailed(f"{what} gives outputs that are not probabilities (each row must be in [0, 1] and sum "
                         "to 1): end a classifier's forward() with a softmax")
    return proba / proba.sum(axis=1, keepdims=True)  # float32 rounding: rows that sum to 1 exactly


def predict_logged(loaded: Logged, X: Any, threshold: float | None) -> Prediction:
    import numpy as np

    out = loaded.pyfunc.predict(X)
    if loaded.task == "classification" and loaded.classes:
        proba = probabilities_of(np.asarray(out), loaded.classes, "the registered model")
        pred = with_threshold(proba, loaded.classes, threshold)
        return Prediction(_labels_like(list(pred.labels), loaded.classes), proba, loaded.classes)
    return Prediction(np.asarray(out).reshape(len(X), -1)[:, 0])


class Boosting:
    """XGBoost and LightGBM through their scikit-learn API: predicted like scikit-learn, logged with their own
    flavour; a classifier's Booster is logged, so that pyfunc answers probabilities."""

    mlflow_flavor: str
    module: str
    base_class: str  # the library's sklearn-API base class: what train() must return

    def _library(self) -> Any:
        import importlib

        try:
            return importlib.import_module(self.module)
        except ImportError:
            raise StepFailed(f"framework {self.mlflow_flavor} needs the '{self.module}' package, which is not "
                             f"installed here (pip install 'specops[{self.mlflow_flavor}]')") from None

    def adopt(self, fitted: Any, y: Any, task: str) -> Any:
        base = getattr(self._library(), self.base_class)
        if not isinstance(fitted, base):
            raise StepFailed(f"train() returned a {type(fitted).__name__}; framework {self.mlflow_flavor} needs "
                             f"a fitted {self.module}.{self.base_class} (e.g. its Classifier or Regressor)")
        if task == "classification" and not hasattr(fitted, "predict_proba"):
            raise StepFailed(f"train() returned a {type(fitted).__name__} for a classification model; it needs a "
                             "classifier (with predict_proba())")
        return fitted

    def predict(self, estimator: Any, X: Any, threshold: float | None) -> Prediction:
        if isinstance(estimator, Logged):
            return predict_logged(estimator, X, threshold)
        return Sklearn().predict(estimator, X, threshold)

    def booster(self, estimator: Any) -> Any:
        raise NotImplementedError

    def log(self, estimator: Any, example: Any, signature: Any, metadata: dict[str, Any],
            probabilities: bool, keep_example: bool = True) -> Any:
        import importlib

        from mlflow.models import ModelSignature, infer_signature

        flavour = importlib.import_module(f"mlflow.{self.mlflow_flavor}")
        logged = estimator
        if probabilities:
            logged = self.booster(estimator)
            if len(estimator.classes_) == 2:  # a binary Booster answers P(second class): say so in the signature
                out = estimator.predict_proba(example)[:, 1]
                signature = ModelSignature(signature.inputs, infer_signature(example, out).outputs)
        return flavour.log_model(logged, name="model", signature=signature,
                                 input_example=example if keep_example else None, metadata=metadata,
                                 pip_requirements=pinned(("mlflow", self.module, "numpy", "pandas", "scikit-learn",
                                                          "scipy")))

    def load(self, uri: str) -> Any:
        return load_logged(uri)


class XGBoost(Boosting):
    mlflow_flavor = "xgboost"
    module = "xgboost"
    base_class = "XGBModel"

    def booster(self, estimator: Any) -> Any:
        return estimator.get_booster()


class LightGBM(Boosting):
    mlflow_flavor = "lightgbm"
    module = "lightgbm"
    base_class = "LGBMModel"

    def booster(self, estimator: Any) -> Any:
        return estimator.booster_


@dataclass(frozen=True)
class TorchModel:
    """What a PyTorch train() returned, in eval mode, with the classes its output columns stand for."""

    module: Any
    task: str
    classes: tuple[Any, ...]


class PyTorch:
    mlflow_flavor = "pytorch"
    packages = ("mlflow", "torch", "cloudpickle", "numpy", "pandas")

    def adopt(self, fitted: Any, y: Any, task: str) -> TorchModel:
        try:
            import torch
        except ImportError:
            raise StepFailed("framework pytorch needs the 'torch' package, which is not installed here "
                             "(pip install 'specops[torch]')") from None
        import numpy as np

        if not isinstance(fitted, torch.nn.Module):
            raise StepFailed(f"train() returned a {type(fitted).__name__}; framework pytorch needs a "
                             "torch.nn.Module (float32 features in, outputs per row out)")
        classes = tuple(_plain(c) for c in np.unique(np.asarray(y))) if task == "classification" else ()
        return TorchModel(fitted.eval(), task, classes)

    def outputs(self, estimator: TorchModel, X: Any) -> Any:
        import torch

        with torch.no_grad():
            out = estimator.module(torch.from_numpy(X.to_numpy(dtype="float32", copy=True)))
        if not isinstance(out, torch.Tensor):
            raise StepFailed(f"the module's forward() returned a {type(out).__name__}, not a tensor")
        return out.numpy()

    def predict(self, estimator: Any, X: Any, threshold: float | None) -> Prediction:

        if isinstance(estimator, Logged):
            return predict_logged(estimator, X, threshold)
        out = self.outputs(estimator, X)
        if estimator.task != "classification":
            if out.ndim > 2 or (out.ndim == 2 and out.shape[1] != 1):
                raise StepFailed(f"the module gives outputs of shape {list(out.shape)}; a regressor must give "
                                 "one value per row (n or n x 1)")
            return Prediction(out.reshape(len(X)))
        proba = probabilities_of(out, estimator.classes, "the module")
        pred = with_threshold(proba, estimator.classes, threshold)
        return Prediction(_labels_like(list(pred.labels), estimator.classes), proba, estimator.classes)

    def log(self, estimator: Any, example: Any, signature: Any, metadata: dict[str, Any],
            probabilities: bool, keep_example: bool = True) -> Any:
        import logging

        import mlflow.pytorch

        # pickle (cloudpickle): the user's module class travels by value, and pyfunc takes the DataFrames
        # clients send (the default pt2 format needs float32 tensors in); MLflow warns about pickle each time
        log = logging.getLogger("mlflow.pytorch")
        level = log.level
        log.setLevel(logging.ERROR)
        try:
            return mlflow.pytorch.log_model(estimator.module, name="model", signature=signature,
                                            input_example=example if keep_example else None,
                                            serialization_format="pickle",
                                            metadata=metadata, pip_requirements=pinned(self.packages))
        finally:
            log.setLevel(level)

    def load(self, uri: str) -> Any:
        return load_logged(uri)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


FLAVORS: dict[str, Flavor] = {"sklearn": Sklearn(), "xgboost": XGBoost(), "lightgbm": LightGBM(),
                              "pytorch": PyTorch()}
TRAINABLE: tuple[str, ...] = tuple(FLAVORS)


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
