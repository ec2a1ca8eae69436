"""What each ML framework named by a Model's `framework` can do here (the facts the rules and backends share;
the code that trains and logs is compiler/apply/steps/frameworks.py).

    sklearn, xgboost, lightgbm, pytorch   trained by `specops apply` / `specops train`, logged with their own
                                          MLflow flavour
    tensorflow                            allowed by the schema (images are built with it), not trained yet:
                                          validate warns, apply's training step fails
    pytorch                               the one a `triton` deployment can serve (exported to TorchScript)
"""

from __future__ import annotations

TRAINABLE: tuple[str, ...] = ("sklearn", "xgboost", "lightgbm", "pytorch")
# frameworks whose models apply exports into a Triton model repository
TRITON_EXPORTABLE: tuple[str, ...] = ("pytorch",)
# the optional extra of the specops package that installs a framework (pyproject.toml)
EXTRAS: dict[str, str] = {"xgboost": "xgboost", "lightgbm": "lightgbm", "pytorch": "torch"}
