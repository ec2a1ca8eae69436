"""Training code of the failure_xgb model (specs/models/failure_xgb.yaml): gradient-boosted trees.

For ``framework: xgboost``, ``train(X, y, params)`` returns a fitted ``xgboost.XGBClassifier`` (or
``XGBRegressor``); specops logs it with ``mlflow.xgboost``. ``params`` are the classifier's arguments.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from xgboost import XGBClassifier


def train(X: pd.DataFrame, y: pd.Series, params: dict[str, Any]) -> XGBClassifier:
    return XGBClassifier(**params).fit(X, y)
