"""Which rows train the model and which are held out to validate it, and digests that identify data.

The frame comes in a defined order (compiler.apply.steps.data.load_frame), so every strategy gives the same
split for the same data, seed and settings:

- random: a seeded shuffle (scikit-learn's train_test_split), test_size of the rows held out;
- time: rows sorted by the column (stable, so ties keep the read order); the latest test_size of them are
  held out, and every row sharing the cut-off value goes with them: the holdout is strictly newer than
  what the model learned from;
- group: whole groups of the column held out (GroupShuffleSplit, seeded), about test_size of the groups:
  no group is on both sides.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from compiler.apply.context import StepFailed
from compiler.spec.ir import Training


@dataclass(frozen=True)
class SplitRows:
    train: Any  # positional indices (numpy array) into the frame
    test: Any
    description: str  # e.g. "time on ordered_at, held out from 2024-06-01"


def split_rows(frame: Any, tr: Training) -> SplitRows:
    """Positions of the training and held-out rows of `frame` for the training's split settings."""
    import numpy as np

    n = len(frame)
    positions = np.arange(n)
    split = tr.split_strategy
    if n < 2:
        raise StepFailed(f"dataset '{tr.dataset}' has {n} row(s): too few to hold any out for validation")
    if split.strategy == "time":
        assert split.column is not None
        values = frame[split.column]
        if values.isna().any():
            raise StepFailed(f"time split on '{split.column}': {int(values.isna().sum())} row(s) have no value")
        order = np.argsort(values.to_numpy(), kind="stable")
        n_test = max(1, math.ceil(tr.test_size * n))
        cutoff = values.iloc[order[n - n_test]]
        test = np.sort(positions[values.to_numpy() >= cutoff])
        train = np.sort(positions[values.to_numpy() < cutoff])
        if train.size == 0:
            raise StepFailed(f"time split on '{split.column}': every row is at or after the cut-off {cutoff}, so "
                             "nothing is older to train on")
        return SplitRows(train, test, f"time on {split.column}, held out from {_text(cutoff)}")
    if split.strategy == "group":
        from sklearn.model_selection import GroupShuffleSplit

        assert split.column is not None
        groups = frame[split.column].astype(str).to_numpy()
        if len(set(groups)) < 2:
            raise StepFailed(f"group split on '{split.column}': it needs at least 2 distinct values")
        splitter = GroupShuffleSplit(n_splits=1, test_size=tr.test_size, random_state=tr.random_seed)
        try:
            train, test = next(splitter.split(positions, groups=groups))
        except ValueError as exc:  # e.g. test_size 0.95 of 12 groups leaves no group to train on
            raise StepFailed(f"group split on '{split.column}' ({len(set(groups))} groups, test_size "
                             f"{tr.test_size}): {exc}") from None
        return SplitRows(np.sort(train), np.sort(test), f"group on {split.column}, seed {tr.random_seed}")
    from sklearn.model_selection import train_test_split

    try:
        train, test = train_test_split(positions, test_size=tr.test_size, random_state=tr.random_seed)
    except ValueError as exc:
        raise StepFailed(f"random split of {n} rows with test_size {tr.test_size}: {exc}") from None
    return SplitRows(train, test, f"random, seed {tr.random_seed}")


def _text(value: Any) -> str:
    text = str(value)
    return text[:-9] if text.endswith(" 00:00:00") else text


def frame_digest(frame: Any) -> str:
    """sha256 of a frame's columns, types and values, in row order (the index does not count)."""
    import pandas as pd

    h = hashlib.sha256()
    for name in frame.columns:
        h.update(f"{name}:{frame[name].dtype}\0".encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()
