"""Training code of the churn model (specs/models/churn.yaml).

The contract with specops:

* specops reads the Model's training dataset (customer_features), keeps the columns listed
  in ``training.features`` as ``X`` (a pandas DataFrame, in that order) and the
  ``training.target`` column as ``y`` (a pandas Series of 0/1), and holds out
  ``training.test_size`` of the rows (seeded with ``training.random_seed``) for validation.
* It then calls ``train(X_train, y_train, params)`` with ``params`` = ``training.params``
  from the spec, and expects a fitted scikit-learn estimator back: ``predict()`` gives the
  class and ``predict_proba()`` the probabilities used for roc_auc and log_loss.
* specops, not this file, computes the validation metrics, logs the run to MLflow, registers
  the model and moves the alias when the gates in ``validation`` pass. Keep this module free
  of side effects: no file or network access, no global state.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def train(X: pd.DataFrame, y: pd.Series, params: dict[str, Any]) -> Pipeline:
    """Fit a standardised logistic regression on the features ``X`` and labels ``y``.

    ``params`` are passed to ``LogisticRegression`` as they are (for example ``C`` and
    ``max_iter``), so any of its keyword arguments can be tuned from the spec.
    """
    model = Pipeline(
        steps=[
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(**params)),
        ]
    )
    return model.fit(X, y)
