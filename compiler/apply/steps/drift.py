"""Drift monitoring: compare recent feature distributions with the training data's.

At training time a profile (quantile bins and a sample per feature, of the rows the model learned from) is
logged with the run; the drift job loads the profile of the version behind the alias (the reference) and
scores each feature of the current data with PSI (population stability index) or KS (two-sample
Kolmogorov-Smirnov statistic). The current data is the window the spec names (monitoring.drift.window: the
rows whose timestamp column is within the period before the check's time), else the whole dataset.
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
EPS = 1e-6


def profile(frame: Any, features: tuple[str, ...], seed: int) -> dict[str, Any]:
    """Quantile bin edges, the share of rows per bin, and a sample, for each feature."""
    import numpy as np

    out: dict[str, Any] = {}
    for name in features:
        values = frame[name].dropna().astype(float).to_numpy()
        if values.size == 0:
            continue
        edges = np.unique(np.quantile(values, np.linspace(0, 1, BINS + 1)))
        counts = np.histogram(values, bins=edges)[0] if edges.size > 1 else np.array([values.size])
        rng = np.random.default_rng(seed)
        sample = rng.choice(values, size=min(SAMPLE, values.size), replace=False)
        out[name] = {"edges": edges.tolist(), "shares": (counts / counts.sum()).tolist(),
                     "sample": sorted(sample.tolist())}
    return out


def psi(expected: list[float], actual: list[float]) -> float:
    return float(sum((a - e) * math.log((a + EPS) / (e + EPS)) for e, a in zip(expected, actual, strict=True)))


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
    import numpy as np

    scores = {}
    for name, ref in reference.items():
        if name not in frame:
            continue
        values = frame[name].dropna().astype(float).to_numpy()
        if values.size == 0:
            continue
        if method == "ks":
            from scipy.stats import ks_2samp

            scores[name] = float(ks_2samp(np.asarray(ref["sample"]), values).statistic)
        else:
            edges = np.asarray(ref["edges"])
            if edges.size < 2:
                continue
            clipped = np.clip(values, edges[0], edges[-1])
            counts = np.histogram(clipped, bins=edges)[0]
            scores[name] = psi(ref["shares"], (counts / counts.sum()).tolist())
    return scores


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
