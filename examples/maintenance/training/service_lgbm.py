"""Training code of the service_lgbm model (specs/models/service_lgbm.yaml): hours until the next service.

For ``framework: lightgbm``, ``train(X, y, params)`` returns a fitted ``lightgbm.LGBMRegressor`` (or
``LGBMClassifier``); specops logs it with ``mlflow.lightgbm``. ``params`` are the regressor's arguments.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from lightgbm import LGBMRegressor


def train(X: pd.DataFrame, y: pd.Series, params: dict[str, Any]) -> LGBMRegressor:
    return LGBMRegressor(**params).fit(X, y)
