"""Training code of the fraud model (specs/models/fraud.yaml).

specops reads transaction_features, passes the columns of ``training.features`` as ``X`` and
``is_fraud`` as ``y``, and calls ``train(X, y, params)`` with ``training.params``. It computes the
validation metrics itself, logs and registers the model, and moves the alias when the gates pass.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def train(X: pd.DataFrame, y: pd.Series, params: dict[str, Any]) -> Pipeline:
    """A standardised logistic regression; ``params`` go to LogisticRegression (class_weight
    balanced makes up for fraud being rare)."""
    return Pipeline(steps=[("scale", StandardScaler()), ("classify", LogisticRegression(**params))]).fit(X, y)
