"""Seeding the training code with `training.random_seed`: Python's and NumPy's global generators, and those of
PyTorch and TensorFlow where the training code imported them. An estimator left without a seed of its own
(scikit-learn's `random_state=None`, a network's initial weights) then draws the same numbers on every run, so
the same data, code and settings give the same model and metrics."""

from __future__ import annotations

import importlib
import random
import re
import sys
from typing import Any


def seed_training(seed: int, source: str = "") -> None:
    """Seed every random generator the training code may draw from without being given a seed: those of the
    frameworks imported already, and of those its `source` imports (inside `train()` too: `import torch` there
    would otherwise find an unseeded generator, or one another model's code seeded)."""
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed % 2**32)
    torch = _framework("torch", source)
    if torch is not None and hasattr(torch, "manual_seed"):
        torch.manual_seed(seed)
    tensorflow = _framework("tensorflow", source)
    if tensorflow is not None and hasattr(tensorflow, "random"):
        tensorflow.random.set_seed(seed)


def _framework(name: str, source: str) -> Any:
    """The module `name` if imported, or imported here when the training code's source imports it."""
    if name in sys.modules:
        return sys.modules[name]
    if not re.search(rf"^\s*(?:import|from)\s+{name}\b", source, re.MULTILINE):
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None  # the code's import fails in train(), where its error is said
