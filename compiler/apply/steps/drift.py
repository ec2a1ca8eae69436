"""Drift monitoring: compare recent feature distributions with the training data's.

At training time a profile (per feature of the rows the model learned from: the share of rows with no value, and
quantile bins and a sample, or for a categorical feature the share of each value) is logged with the run; the
drift job loads the profile of the version behind the alias (the reference) and scores each feature of the
current data with PSI (population stability index) or KS (two-sample Kolmogorov-Smirnov statistic). The current
data is the window the spec names (monitoring.drift.window: the rows whose timestamp column is within the period
before the check's time), else the whole dataset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from compiler.apply.context import RunContext, StepFailed
from compiler.spec.ir import Model

PROFILE_PATH = "specops/profile.json"
BINS = 10
SAMPLE = 1000
TOP = 20  # the values of a categorical feature kept by name; the rest are one `other` share
EPS = 1e-6


def profile(frame: Any, features: tuple[str, ...], seed: int, secret: frozenset[str] = frozenset()
            ) -> dict[str, Any]:
    """Per feature, the distribution drift is scored against: the share of rows with no value (`nulls`), then
    either quantile bin edges, the share of rows per bin and a sample (a numeric feature), or the share of each
    value, the most frequent TOP of them (a categorical one: text, booleans, or whole numbers with at most BINS
    values, such as a 0/1 flag or a code, whose quantile bins would merge its values).

    A `secret` feature (PII, or of a restricted dataset) keeps no value of a row: of its categories only their
    shares, largest first (`spectrum`: no value, nor a digest of one, which a guess of the values would undo), and
    its bins without their outer edges, the smallest and largest values (`open`: the first and last bins are
    unbounded), nor a sample (KS then compares the binned distributions)."""
    import numpy as np

    out: dict[str, Any] = {}
    for name in features:
        column = frame[name]
        present = column.dropna()
        if present.size == 0:
            continue
        nulls = 1 - present.size / column.size
        numbers = _numbers(present)
        hidden = name in secret
        if numbers is None or (np.unique(numbers).size <= BINS and bool(np.all(numbers == np.round(numbers)))):
            keys = present.map(_key) if numbers is None else [_key(v) for v in numbers]
            shares = _value_shares(keys)
            if hidden:
                spectrum = sorted(shares.values(), reverse=True)[:TOP]
                out[name] = {"spectrum": spectrum, "other": max(0.0, 1 - sum(spectrum)), "nulls": nulls}
                continue
            top = dict(sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP])
            out[name] = {"values": sorted(top), "shares": [top[k] for k in sorted(top)],
                         "other": max(0.0, 1 - sum(top.values())), "nulls": nulls}
            continue
        edges = np.unique(np.quantile(numbers, np.linspace(0, 1, BINS + 1)))
        counts = np.histogram(numbers, bins=edges)[0]
        shares = (counts / counts.sum()).tolist()
        if hidden:
            out[name] = {"edges": edges[1:-1].tolist(), "open": True, "shares": shares, "nulls": nulls}
            continue
        rng = np.random.default_rng(seed)
        sample = rng.choice(numbers, size=min(SAMPLE, numbers.size), replace=False)
        out[name] = {"edges": edges.tolist(), "shares": shares, "sample": sorted(sample.tolist()), "nulls": nulls}
    return out


def _numbers(values: Any) -> Any:
    """The values as floats, or None when they are not numbers (text, booleans: categories)."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return None
    return values.astype(float).to_numpy(dtype=np.float64)


def _key(value: Any) -> str:
    """A value as a category of the profile: numbers by their float value (1 and 1.0 are one), else text."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return repr(float(value))
    return str(value)


def _value_shares(keys: Any) -> dict[str, float]:
    counts: dict[str, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    total = sum(counts.values())
    return {k: n / total for k, n in counts.items()}


def psi(expected: list[float], actual: list[float]) -> float:
    return float(sum((a - e) * math.log((a + EPS) / (e + EPS)) for e, a in zip(expected, actual, strict=True)))


def _with_nulls(shares: list[float], nulls: float) -> list[float]:
    """Shares of the rows with a value, scaled to all rows, and the share with none as one more bin."""
    return [s * (1 - nulls) for s in shares] + [nulls]


def _categorical(ref: dict[str, Any], column: Any, method: str) -> float:
    present = column.dropna()
    nulls = 1 - present.size / column.size
    numbers = _numbers(present)
    keys = [_key(v) for v in numbers] if numbers is not None else list(present.map(_key))
    now = _value_shares(keys) if keys else {}
    if "spectrum" in ref:  # a secret feature: the shares of its categories, largest first, are compared
        size = len(ref["spectrum"])
        ranked = sorted(now.values(), reverse=True)
        top = [*ranked[:size], *[0.0] * (size - len(ranked[:size]))]
        expected = _with_nulls([*ref["spectrum"], ref.get("other", 0.0)], ref.get("nulls", 0.0))
        actual = _with_nulls([*top, max(0.0, 1 - sum(top))], nulls)
        if method == "ks":
            return float(max(abs(a - e) for e, a in zip(expected, actual, strict=True)))
        return psi(expected, actual)
    known = ref["values"]
    expected = _with_nulls([*ref["shares"], ref.get("other", 0.0)], ref.get("nulls", 0.0))
    actual = _with_nulls([*(now.get(k, 0.0) for k in known), 1 - sum(now.get(k, 0.0) for k in known)], nulls)
    if method == "ks":  # no order to compare cumulative shares by: the largest change of one category's share
        return float(max(abs(a - e) for e, a in zip(expected, actual, strict=True)))
    return psi(expected, actual)


@dataclass
class DriftReport:
    model: str
    method: str
    threshold: float
    scores: dict[str, float]
    version: int | None = None  # the version whose training profile is the reference
    rows: int = 0  # rows of current data scored
    window: str = ""  # which rows, in words ("" = the whole dataset)

    @property
    def worst(self) -> tuple[str, float]:
        return max(self.scores.items(), key=lambda kv: kv[1]) if self.scores else ("", 0.0)

    @property
    def drifted(self) -> bool:
        return self.worst[1] > self.threshold


def score(method: str, reference: dict[str, Any], frame: Any) -> dict[str, float]:
    """Each feature's drift score: PSI over the reference's bins or values with the rows with no value as a bin of
    their own (a feature turning NULL drifts), or KS (numeric features: the largest gap of the two cumulative
    distributions of the values; categorical ones: the largest change of a category's share, NULL one of them)."""
    import numpy as np

    scores = {}
    for name, ref in reference.items():
        if name not in frame or frame[name].size == 0:
            continue
        column = frame[name]
        if "values" in ref or "spectrum" in ref:
            scores[name] = _categorical(ref, column, method)
            continue
        present = column.dropna()
        numbers = _numbers(present)
        nulls = 1 - present.size / column.size
        if numbers is None:
            continue  # the reference was numeric: text now is no distribution of the same feature
        if method == "ks" and "sample" in ref:
            ks = float(ks_2samp(np.asarray(ref["sample"]), numbers).statistic) if numbers.size else 1.0
            scores[name] = max(ks, abs(nulls - ref.get("nulls", 0.0)))
            continue
        edges = np.asarray(ref["edges"], dtype=float)
        if ref.get("open"):  # a secret feature's bins: the outer ones unbounded
            edges = np.concatenate(([-np.inf], edges, [np.inf]))
        if edges.size < 2:
            continue  # a profile of an older specops with one bin (its values merged): nothing to compare
        counts = np.histogram(np.clip(numbers, edges[0], edges[-1]), bins=edges)[0]
        shares = (counts / counts.sum()).tolist() if counts.sum() else [0.0] * len(ref["shares"])
        if method == "ks":  # no sample of a secret feature: the largest gap of the binned cumulative distributions
            gap = np.max(np.abs(np.cumsum(ref["shares"]) - np.cumsum(shares))) if numbers.size else 1.0
            scores[name] = max(float(gap), abs(nulls - ref.get("nulls", 0.0)))
            continue
        scores[name] = psi(_with_nulls(ref["shares"], ref.get("nulls", 0.0)), _with_nulls(shares, nulls))
    return scores


def ks_2samp(a: Any, b: Any) -> Any:
    from scipy.stats import ks_2samp as two_samples

    return two_samples(a, b)


def period(text: str) -> timedelta:
    """A spec duration (<n>m, <n>h or <n>d)."""
    return timedelta(minutes=int(text[:-1]) * {"m": 1, "h": 60, "d": 1440}[text[-1]])


def window_start(model: Model, now: datetime) -> tuple[str, datetime, datetime] | None:
    """(column, since, until) of the model's drift window ending at `now` (naive UTC; rows at `now` or later are
    left out, so `--as-of` re-checks a past day as it was), or None: the whole dataset."""
    if model.drift is None or model.drift.window is None:
        return None
    return model.drift.window.column, now - period(model.drift.window.period), now


def check_drift(ctx: RunContext, model: Model, now: datetime) -> DriftReport:
    """Score drift for the version behind the model's alias, against the rows of its window ending at `now`
    (naive UTC; the caller reads the clock, or takes --as-of)."""
    import json
    import tempfile

    from mlflow import MlflowClient
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException

    from compiler.apply.steps.data import load_frame, quiet_mlflow

    if model.drift is None:
        raise StepFailed(f"{model.address} has no monitoring.drift settings")
    quiet_mlflow()
    uri = ctx.tracking()
    client = MlflowClient(uri)
    try:
        version = client.get_model_version_by_alias(model.registry_name, model.alias)
        with tempfile.TemporaryDirectory(prefix="specops-drift-") as tmp:
            # with this environment's tracking URI: load_dict("runs:/...") would use the process default
            path = download_artifacts(run_id=version.run_id, artifact_path=PROFILE_PATH, dst_path=tmp,
                                      tracking_uri=uri)
            with open(path, encoding="utf-8") as handle:
                reference = json.load(handle)
    except MlflowException as exc:
        if "not found" in str(exc.message).lower():
            hint = f"run `specops apply` or `specops train {model.name}` first"
            raise StepFailed(f"no version of '{model.registry_name}' holds the alias '{model.alias}' in environment "
                             f"'{ctx.env.name}' yet: {hint}") from None
        raise StepFailed(f"no profile for {model.registry_name}@{model.alias}: {exc.message}") from None
    window = window_start(model, now)
    frame = load_frame(ctx, model, window=window)
    scores = score(model.drift.method, reference, frame)
    where = (f"{window[0]} >= {window[1].isoformat(sep=' ', timespec='seconds')} and {window[0]} < "
             f"{window[2].isoformat(sep=' ', timespec='seconds')}") if window else ""
    return DriftReport(model.name, model.drift.method, model.drift.threshold, scores, int(version.version),
                       len(frame), where)
