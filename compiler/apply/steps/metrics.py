"""Validation metrics from predictions: what the gates and the champion comparison read."""

from __future__ import annotations

import math
from typing import Any

from compiler.apply.steps.frameworks import Prediction

METRIC_NAMES = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "rmse", "mae", "r2"})


def compute_metrics(task: str, y: Any, pred: Prediction) -> dict[str, float]:
    """Regression: rmse, mae, r2. Classification: accuracy, precision, recall, f1 (binary, or macro averages
    with more classes: the model's, which the held-out rows may not all have) from the labels, and roc_auc,
    log_loss from the probabilities when there are any. A metric that is not a finite number (roc_auc of a class
    the held-out rows lack) is left out: its gate then says it could not be computed, and it never passes one."""
    out = _metrics(task, y, pred)
    return {name: value for name, value in out.items() if math.isfinite(value)}


def _metrics(task: str, y: Any, pred: Prediction) -> dict[str, float]:
    from sklearn import metrics as m

    labels = pred.labels
    if task == "regression":
        return {"rmse": float(math.sqrt(m.mean_squared_error(y, labels))),
                "mae": float(m.mean_absolute_error(y, labels)), "r2": float(m.r2_score(y, labels))}
    average = "binary" if len(set(y) | set(pred.classes)) <= 2 else "macro"
    over = {"labels": list(pred.classes)} if average == "macro" and pred.classes else {}  # the model's classes
    out = {"accuracy": float(m.accuracy_score(y, labels)),
           "precision": float(m.precision_score(y, labels, average=average, zero_division=0, **over)),
           "recall": float(m.recall_score(y, labels, average=average, zero_division=0, **over)),
           "f1": float(m.f1_score(y, labels, average=average, zero_division=0, **over))}
    proba = pred.proba
    if proba is not None:
        if len(set(y)) < 2:
            return out  # roc_auc is undefined on one class
        if proba.shape[1] == 2:
            out["roc_auc"] = float(m.roc_auc_score(y, proba[:, 1]))
        else:
            out["roc_auc"] = float(m.roc_auc_score(y, proba, multi_class="ovr", labels=list(pred.classes)))
        out["log_loss"] = float(m.log_loss(y, proba, labels=list(pred.classes) or None))
    return out
