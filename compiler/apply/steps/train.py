"""Training a Model for real: warehouse data -> the user's train() -> metrics -> MLflow registry -> decision.

Reproducible: the rows are read in a defined order (the dataset's primary key, else every column read) and
split by the spec's strategy with its seed, so the same data, code and settings give the same model and the
same metrics, bit for bit, however the table is stored. Those inputs are digested (INPUTS_TAG): a version
already trained from the same inputs is reused rather than trained and registered again (a retry after a
failed gate makes no new version).

The alias moves only when the decision allows it (compiler.apply.steps.promotion): every gate passes and the
candidate is not worse than the champion, both scored on the candidate's held-out rows, by more than
max_regression; otherwise the old alias stays and the step fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.apply.context import RunContext, StepFailed
from compiler.apply.scrub import dataset_secret, hide_quoted, secret_features
from compiler.apply.steps.data import load_frame
from compiler.apply.steps.drift import PROFILE_PATH, profile
from compiler.apply.steps.frameworks import METADATA_KEY, flavor
from compiler.apply.steps.leftovers import NOTE_TAG, mark_leftovers, owner_tags
from compiler.apply.steps.metrics import METRIC_NAMES, compute_metrics
from compiler.apply.steps.promotion import Candidate, Decision, carry_alias, decide, record
from compiler.apply.steps.registry import (
    DEMOTED_TAG,
    HOLDOUT_PATH,
    INPUTS_TAG,
    TRAINING_TAG,
    Registry,
    open_registry,
)
from compiler.apply.steps.seeding import seed_training
from compiler.apply.steps.split import frame_digest, split_rows
from compiler.apply.steps.triton import served_by_triton
from compiler.apply.steps.usercode import described, user_code_failed
from compiler.spec.ir import Model

# what specops does around train(): bump when a change to it changes fitted models or their metrics, so that
# versions trained before are not reused as if they were the same
TRAINER = "3"


@dataclass
class TrainResult:
    version: int
    run_id: str
    metrics: dict[str, float]
    promoted: bool  # the candidate holds the alias after this step (promoted now, or kept)
    reasons: list[str] = field(default_factory=list)
    refused: bool = False  # the decision rejected the candidate: a failure (kept or promoted is none)
    alias_version: int | None = None  # the version the alias points at after this step
    reused: bool = False  # an existing version trained from the same inputs, not a new one
    candidate: Candidate | None = None
    decision: Decision | None = None

    def to_state(self, model: Model) -> dict[str, Any]:
        out = {"registered_model": model.registry_name, "alias": model.alias, "candidate_version": self.version,
               "alias_version": self.alias_version, "run_id": self.run_id, "metrics": self.metrics,
               "promoted": self.promoted, "reasons": self.reasons, "reused": self.reused}
        if self.decision is not None and self.candidate is not None:
            out.update({"decision": self.decision.outcome, "compared_with": self.decision.champion_version,
                        "champion_metrics": self.decision.champion_metrics,
                        "holdout_digest": self.candidate.holdout_digest,
                        "holdout_rows": self.candidate.holdout_rows})
        return out


def load_entrypoint(ctx: RunContext, model: Model):
    assert model.training is not None
    path = ctx.root / model.training.entrypoint
    spec = importlib.util.spec_from_file_location(f"specops_training_{model.name}", path)
    if spec is None or spec.loader is None:
        raise StepFailed(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # sys.exit() or argparse in the user's module ends no apply
        raise user_code_failed(ctx.root, ctx.env.name, model.name, f"importing {model.training.entrypoint} failed: "
                               f"{described(exc)}", exc) from None
    finally:
        sys.path.remove(str(path.parent))
    train = getattr(module, "train", None)
    if not callable(train):
        raise StepFailed(f"{model.training.entrypoint} defines no train(X, y, params) function")
    return train


def training_digest(model: Model) -> str:
    """sha256 of what the spec and the code say about training: everything that makes the model but the data."""
    tr = model.training
    assert tr is not None
    split = tr.split_strategy
    settings = {"trainer": TRAINER, "task": model.task, "framework": model.framework,
                "code": hashlib.sha256(tr.entrypoint_source).hexdigest(), "params": [list(p) for p in tr.params],
                "features": list(tr.features), "target": tr.target, "test_size": tr.test_size,
                "seed": tr.random_seed, "split": [split.strategy, split.column],
                "decision_threshold": model.decision_threshold}
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def inputs_digest(training: str, data: str) -> str:
    return hashlib.sha256(f"{training}\0{data}".encode()).hexdigest()


@dataclass
class Prepared:
    """The rows read and split, and the digests that identify them."""

    frame: Any
    train: Any  # positions
    test: Any
    split: str  # how the split was made, in words
    data_digest: str
    holdout_digest: str
    inputs_digest: str
    training_digest: str

    def holdout(self, model: Model) -> Any:
        """The held-out rows: features, target and the split's column (to show what was held out)."""
        tr = model.training
        assert tr is not None
        split = tr.split_strategy.column
        columns = list(dict.fromkeys([*tr.features, tr.target, *([split] if split else [])]))
        return self.frame.iloc[self.test][columns].reset_index(drop=True)


def prepare(ctx: RunContext, model: Model) -> Prepared:
    tr = model.training
    assert tr is not None
    split = tr.split_strategy
    frame = load_frame(ctx, model, extra=[split.column] if split.column else [])
    rows = split_rows(frame, tr)
    trained = training_digest(model)
    data = frame_digest(frame)
    prepared = Prepared(frame, rows.train, rows.test, rows.description, data, "", inputs_digest(trained, data),
                        trained)
    prepared.holdout_digest = frame_digest(prepared.holdout(model))
    return prepared


def candidate_of(reg: Registry, version: Any, reused: bool) -> Candidate:
    """A registered version as a candidate: its metrics, holdout digest and target from its run."""
    run = reg.client.get_run(version.run_id)
    params = run.data.params
    return Candidate(int(version.version), version.run_id,
                     {k: v for k, v in run.data.metrics.items() if k in METRIC_NAMES},
                     params.get("specops.holdout_digest", ""), int(params.get("specops.holdout_rows", 0) or 0),
                     params.get("target", ""), reused, (version.tags or {}).get(DEMOTED_TAG))


def previous_alias(model: Model, info: Mapping[str, Any] | None) -> str | None:
    """The alias the state recorded for the model (`State.models[name]`) when the spec renamed it since."""
    alias = (info or {}).get("alias")
    if not alias or alias == model.alias or (info or {}).get("registered_model") != model.registry_name:
        return None
    return str(alias)


def train_model(ctx: RunContext, model: Model, reuse: bool = True, renamed: str | None = None) -> TrainResult:
    """Train, evaluate, log and register one model, or reuse the version trained from the same inputs; then
    decide on the alias (`renamed`: the model's previous alias, where a renamed alias starts)."""
    prepared = prepare(ctx, model)
    reg = open_registry(ctx, model)
    found = []
    if reuse:
        experiment = reg.client.get_experiment_by_name(f"{ctx.project.project.name}/{model.name}")
        mark_leftovers(ctx, reg.client, model, experiment.experiment_id if experiment is not None else None, reg.uri)
        # a version a killed run registered and never validated is a leftover, not a candidate
        found = [v for v in reg.tagged(INPUTS_TAG, prepared.inputs_digest) if NOTE_TAG not in (v.tags or {})]
    if found:
        cand = candidate_of(reg, _preferred(reg, model, found), reused=True)
        cand.holdout = prepared.holdout(model)
    else:
        cand = fit_and_log(ctx, reg, model, prepared)
    ctx.still_locked()  # training takes long: the alias moves only under the lock
    return conclude(reg, model, cand, renamed)


def evaluate_model(ctx: RunContext, model: Model, renamed: str | None = None) -> TrainResult:
    """Decide again on the newest version trained from the current spec and code (the gates changed), without
    training; a model no version was trained from like this yet is trained."""
    reg = open_registry(ctx, model)
    found = [v for v in reg.tagged(TRAINING_TAG, training_digest(model)) if NOTE_TAG not in (v.tags or {})]
    if not found:
        ctx.echo("   no version was trained from these settings and code yet: training one")
        return train_model(ctx, model, renamed=renamed)
    # the newest candidate (a demoted one only when there is no other)
    kept = [v for v in found if DEMOTED_TAG not in (v.tags or {})] or found
    return conclude(reg, model, candidate_of(reg, kept[0], reused=True), renamed)


def _preferred(reg: Registry, model: Model, same: list[Any]) -> Any:
    """Of the versions trained from the same inputs (newest first): the one holding the alias, else the newest
    not demoted on purpose, else the newest."""
    champion = reg.alias_version(model.alias)
    for v in same:
        if champion is not None and v.version == champion.version:
            return v
    return next((v for v in same if DEMOTED_TAG not in (v.tags or {})), same[0])


def conclude(reg: Registry, model: Model, cand: Candidate, renamed: str | None = None) -> TrainResult:
    carried = carry_alias(reg, model, renamed)
    decision = decide(reg, model, cand)
    if carried:
        decision.notes.insert(0, carried)
    record(reg, model, cand, decision)
    alias_version = cand.version if decision.outcome == "promoted" else decision.champion_version
    return TrainResult(cand.version, cand.run_id, cand.metrics, alias_version == cand.version,
                       list(decision.reasons), decision.outcome == "rejected", alias_version, cand.reused, cand,
                       decision)


def fit_and_log(ctx: RunContext, reg: Registry, model: Model, prepared: Prepared) -> Candidate:
    """Fit with the user's train(), compute the metrics on the held-out rows, log the run and register it."""
    import mlflow
    from mlflow.models import infer_signature

    tr = model.training
    assert tr is not None
    fw = flavor(model.framework)
    frame = prepared.frame
    X, y = frame[list(tr.features)], frame[tr.target]
    X_train, y_train = X.iloc[prepared.train], y.iloc[prepared.train]
    X_test, y_test = X.iloc[prepared.test], y.iloc[prepared.test]
    train = load_entrypoint(ctx, model)
    # after the import: the generators of the frameworks the code imported too, or imports in train()
    seed_training(tr.random_seed, _source(ctx.root / tr.entrypoint))
    try:
        estimator = train(X_train, y_train, dict(tr.params))
    except (Exception, SystemExit) as exc:
        said = described(exc)
        if dataset_secret(ctx.project, tr.dataset):  # what the code quotes of its input may be PII
            said = f"{hide_quoted(said)} (quoted values not shown: dataset.{tr.dataset} holds PII or is restricted)"
        raise user_code_failed(ctx.root, ctx.env.name, model.name, f"train() raised {said}", exc) from None
    estimator = fw.adopt(estimator, y_train, model.task)
    pred = fw.predict(estimator, X_test, model.decision_threshold)
    metrics = compute_metrics(model.task, y_test, pred)
    probabilities = model.task == "classification" and pred.proba is not None
    uri, client = reg.uri, reg.client
    mlflow.set_tracking_uri(uri)
    experiment = f"{ctx.project.project.name}/{model.name}"
    found = client.get_experiment_by_name(experiment)
    if found is None:
        location = None
        if uri.startswith("sqlite:") or uri.startswith("file:"):
            location = (ctx.root / ".specops" / "mlartifacts" / model.name).resolve().as_uri()
        client.create_experiment(experiment, artifact_location=location)
    mark_leftovers(ctx, client, model, found.experiment_id if found is not None else None, uri)
    mlflow.set_experiment(experiment)
    tags = {"specops.model": model.address, "specops.spec_digest": model.digest,
            "specops.environment": ctx.env.name, "git_sha": ctx.git_sha or "unknown", **owner_tags(),
            INPUTS_TAG: prepared.inputs_digest, TRAINING_TAG: prepared.training_digest}
    holdout = prepared.holdout(model)
    with mlflow.start_run(tags=tags) as run:
        mlflow.log_params({**{k: v for k, v in tr.params}, "test_size": tr.test_size, "random_seed": tr.random_seed,
                           "features": ",".join(tr.features), "target": tr.target,
                           "specops.split": prepared.split, "specops.data_digest": prepared.data_digest,
                           "specops.data_rows": len(frame), "specops.holdout_digest": prepared.holdout_digest,
                           "specops.holdout_rows": len(holdout),
                           "specops.decision_threshold": model.decision_threshold})
        mlflow.log_metrics(metrics)
        secret = secret_features(ctx.project, model)
        mlflow.log_dict(profile(X_train, tr.features, tr.random_seed, secret), PROFILE_PATH)
        _log_holdout(holdout)
        sample = X_train.head(20)
        out = fw.predict(estimator, sample, model.decision_threshold)
        signature = infer_signature(sample, out.proba if probabilities else out.labels)
        metadata = {METADATA_KEY: {"task": model.task, "decision_threshold": model.decision_threshold}}
        if probabilities:
            metadata[METADATA_KEY].update({"output": "probabilities", "classes": [_plain(c) for c in pred.classes]})
        info = fw.log(estimator, X_train.head(5), signature, metadata, probabilities, keep_example=not secret)
        if served_by_triton(ctx.project, model):
            from compiler.apply.steps.triton import log_repository

            log_repository(model, estimator.module, X_train, [_plain(c) for c in pred.classes])
    with contextlib.redirect_stderr(io.StringIO()):  # "Successfully registered model ..." chatter
        mv = mlflow.register_model(info.model_uri, model.registry_name, tags=tags)
    return Candidate(int(mv.version), run.info.run_id, metrics, prepared.holdout_digest, len(holdout), tr.target,
                     holdout=holdout)


def _log_holdout(holdout: Any) -> None:
    """The held-out rows, so that a later decision re-scores a champion on exactly them."""
    import mlflow

    with tempfile.TemporaryDirectory(prefix="specops-holdout-") as tmp:
        path = Path(tmp) / Path(HOLDOUT_PATH).name
        holdout.to_parquet(path, index=False)
        mlflow.log_artifact(str(path), str(Path(HOLDOUT_PATH).parent))


def _source(path: Path) -> str:
    """The training code's text (what it imports), or nothing when it cannot be read again."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON and YAML can hold."""
    return value.item() if hasattr(value, "item") else value


def report(echo: Any, model: Model, result: TrainResult) -> None:
    """What apply and `specops train` print about a training or evaluation (the caller fails on refusal)."""
    from compiler.apply.steps.promotion import describe

    metrics = ", ".join(f"{k}={v:.4f}" for k, v in sorted(result.metrics.items()))
    if result.reused:
        echo(f"   reused {model.registry_name} version {result.version}, trained from the same data, code and "
             f"settings ({metrics})")
    else:
        echo(f"   registered {model.registry_name} version {result.version} ({metrics})")
    if result.candidate is not None and result.decision is not None:
        for line in describe(model, result.candidate, result.decision):
            echo(f"   {line}")
    if result.decision is not None and result.decision.outcome == "kept":
        if result.alias_version == result.version:
            echo(f"   version {result.version} already holds the alias '{model.alias}'")
        else:
            echo(f"   version {result.alias_version} keeps the alias '{model.alias}'")
    elif result.promoted and not result.refused:  # a champion failing its gates holds the alias, refused
        echo(f"   alias '{model.alias}' -> version {result.version}")


def refusal(model: Model, result: TrainResult) -> str:
    """Why the alias did not move to the candidate, as the failure message of the step."""
    why = "; ".join(result.reasons)
    if result.alias_version == result.version:
        return f"version {result.version} holds the alias '{model.alias}' but fails: {why}"
    kept = f"version {result.alias_version}" if result.alias_version else "no version"
    return f"alias '{model.alias}' not moved (still {kept}): {why}"
