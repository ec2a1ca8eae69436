"""Seeding the training code with `training.random_seed`: Python's and NumPy's global generators, and those of
PyTorch and TensorFlow where the training code imported them. An estimator left without a seed of its own
(scikit-learn's `random_state=None`, a network's initial weights) then draws the same numbers on every run, so
the same data, code and settings give the same model and metrics."""

from __future__ import annotations

import random
import sys


def seed_training(seed: int) -> None:
    """Seed every random generator the training code may draw from without being given a seed."""
    random.seed(seed)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "manual_seed"):
        torch.manual_seed(seed)
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None and hasattr(tensorflow, "random"):
        tensorflow.random.set_seed(seed)
