"""Deciding whether a candidate version takes the alias, fairly, and saying why.

The gates (validation.metrics) are checked on the candidate's metrics, computed on its held-out rows. The
version holding the alias (the champion) is then re-scored on those same rows, so both are compared on the
same data: a champion's score on an older, different holdout is never used. max_regression bounds how much
worse than the champion the candidate may be, per metric. The decision, the champion's scores and the
holdout's digest are logged on the candidate's run; the alias moves only when nothing failed.

A version the alias was taken away from on purpose (`specops promote`, DEMOTED_TAG) is never given it back
automatically: only another `specops promote` does that.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from compiler.apply.context import StepFailed
from compiler.apply.steps.frameworks import METADATA_KEY, flavor_of_logged
from compiler.apply.steps.metrics import METRIC_NAMES, compute_metrics
from compiler.apply.steps.registry import CANDIDATE_ALIAS, DEMOTED_TAG, Registry
from compiler.apply.steps.split import frame_digest
from compiler.spec.ir import LOWER_IS_BETTER, Model


@dataclass
class Candidate:
    """A registered version up for promotion, freshly trained or reused."""

    version: int
    run_id: str
    metrics: dict[str, float]
    holdout_digest: str
    holdout_rows: int
    target: str
    reused: bool = False
    demoted: str | None = None  # why `specops promote` took the alias from it, if it did
    holdout: Any | None = None  # the held-out rows (features and target) when in memory


@dataclass(frozen=True)
class Comparison:
    metric: str
    candidate: float
    champion: float
    bound: float

    @property
    def worse_by(self) -> float:
        if self.metric in LOWER_IS_BETTER:
            return self.candidate - self.champion
        return self.champion - self.candidate

    @property
    def ok(self) -> bool:
        return self.worse_by <= self.bound


@dataclass
class Decision:
    # promoted (the alias moved to the candidate) | kept (the alias stays: the candidate already held it, or it
    # was demoted on purpose and the champion keeps it) | rejected
    outcome: str
    reasons: list[str] = field(default_factory=list)
    champion_version: int | None = None  # the version that held the alias when deciding
    champion_metrics: dict[str, float] = field(default_factory=dict)  # re-scored on the candidate's holdout
    champion_basis: str = "re-scored on this holdout"  # or, where it could not be: "as logged on its own holdout"
    comparisons: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    validated: bool = False  # the gates and max_regression hold (the version's validation_status)

    @property
    def passed(self) -> bool:
        return not self.reasons


def gate_failures(model: Model, metrics: dict[str, float]) -> list[str]:
    reasons = []
    for gate in model.metrics:
        value = metrics.get(gate.name)
        if value is None or value != value:  # missing, or NaN (a version logged before NaN was left out)
            reasons.append(f"{gate.name} could not be computed")
            continue
        if gate.min is not None and value < gate.min:
            reasons.append(f"{gate.name} {value:.4f} is below the gate minimum {gate.min}")
        if gate.max is not None and value > gate.max:
            reasons.append(f"{gate.name} {value:.4f} is above the gate maximum {gate.max}")
    return reasons


def compare(model: Model, candidate: dict[str, float], champion: dict[str, float]) -> list[Comparison]:
    """The candidate against the champion on each metric max_regression bounds."""
    return [Comparison(name, candidate[name], champion[name], bound)
            for name, bound in sorted(model.regression_bounds().items())
            if name in candidate and name in champion]


def holdout_of(reg: Registry, cand: Candidate) -> Any:
    """The candidate's held-out rows, checked against the digest logged when it was trained."""
    if cand.holdout is None:
        frame = reg.read_holdout(cand.run_id)
        if cand.holdout_digest and frame_digest(frame) != cand.holdout_digest:
            raise StepFailed(f"the holdout logged with version {cand.version} does not match its digest "
                             f"{cand.holdout_digest[:12]}: it was changed after training")
        cand.holdout = frame
    return cand.holdout


def rescore(reg: Registry, model: Model, champion: Any, cand: Candidate) -> tuple[dict[str, float], str | None]:
    """The champion's metrics on the candidate's held-out rows, or a note saying why it cannot be scored."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import get_model_info

    number = int(champion.version)
    uri = f"models:/{reg.name}/{number}"
    try:
        info = get_model_info(uri)
        target = reg.client.get_run(champion.run_id).data.params.get("target") if champion.run_id else None
    except MlflowException as exc:
        return {}, f"version {number} could not be read ({exc.message[:200]}): not re-scored"
    flavor = flavor_of_logged(info.flavors)
    if flavor is None:
        kinds = "/".join(sorted(info.flavors))
        return {}, f"version {number} is a {kinds} model this trainer cannot load: not re-scored"
    if target is not None and target != cand.target:
        return {}, f"version {number} predicts '{target}', the candidate '{cand.target}': not comparable"
    holdout = holdout_of(reg, cand)
    needed = info.signature.inputs.input_names() if info.signature is not None else []
    missing = [c for c in needed if c not in holdout.columns]
    if not needed or missing:
        what = f"columns the holdout lacks ({', '.join(map(str, missing))})" if missing else "an unknown input"
        return {}, f"version {number} needs {what}: not re-scored on the candidate's holdout"
    threshold = ((info.metadata or {}).get(METADATA_KEY) or {}).get("decision_threshold")
    try:
        estimator = flavor.load(uri)
        pred = flavor.predict(estimator, holdout[list(needed)], threshold)
    except StepFailed as exc:
        return {}, f"version {number} could not be scored: {exc}"
    return compute_metrics(model.task, holdout[cand.target], pred), None


def logged_metrics(reg: Registry, champion: Any, cand: Candidate) -> dict[str, float]:
    """The champion's metrics as its run logged them (on its own holdout), if it predicts the candidate's target."""
    if not champion.run_id:
        return {}
    data = reg.client.get_run(champion.run_id).data
    if data.params.get("target") != cand.target:
        return {}
    return {k: v for k, v in data.metrics.items() if k in METRIC_NAMES}


def decide(reg: Registry, model: Model, cand: Candidate) -> Decision:
    """Gates, then the champion re-scored on the candidate's holdout and compared; nothing is changed here."""
    decision = Decision("rejected", gate_failures(model, cand.metrics))
    champion = reg.alias_version(model.alias)
    if champion is not None:
        decision.champion_version = int(champion.version)
    if champion is not None and decision.champion_version != cand.version:
        scores, note = rescore(reg, model, champion, cand)
        basis = "on the same holdout"
        if note and not scores and (logged := logged_metrics(reg, champion, cand)):
            # not scored on these rows (it needs a feature the candidate dropped): its own scores are the best
            # measure left, rather than no comparison (a far worse candidate took the alias)
            scores, basis = logged, "as logged on its own holdout"
            decision.champion_basis = "as logged on its own holdout (not comparable row for row)"
            note += "; compared with its metrics as logged on its own holdout instead"
        decision.champion_metrics = scores
        if note:
            decision.notes.append(note)
        decision.comparisons = compare(model, cand.metrics, scores)
        for c in decision.comparisons:
            if not c.ok:
                decision.reasons.append(
                    f"{c.metric} {c.candidate:.4f} is worse than version {decision.champion_version}'s "
                    f"{c.champion:.4f} {basis} by {c.worse_by:.4f} > max_regression {c.bound:g}")
    decision.validated = decision.passed
    if cand.demoted and decision.champion_version != cand.version:
        # never given the alias back automatically, wherever the alias is (it may be new: a renamed alias)
        why = (f"version {cand.version} was demoted on purpose ({cand.demoted}); only `specops promote "
               f"{model.name} {cand.version}` gives it the alias again")
        if decision.champion_version is None:
            decision.reasons.append(why)
            return decision
        decision.outcome = "kept"  # what the promotion on purpose chose holds: not a failure
        decision.notes.append(f"{why}: version {decision.champion_version} keeps the alias '{model.alias}'")
        return decision
    if decision.passed:
        decision.outcome = "kept" if decision.champion_version == cand.version else "promoted"
    return decision


def carry_alias(reg: Registry, model: Model, previous: str | None) -> str | None:
    """A renamed alias starts where the previous one is: when no version holds the model's alias yet and one holds
    the alias the state recorded before (`previous`), that version gets the new alias too, before any decision (a
    candidate is then compared with it, and a version demoted on purpose stays away from it). Returns a note."""
    if not previous or previous in (model.alias, CANDIDATE_ALIAS) or reg.alias_version(model.alias) is not None:
        return None
    held = reg.alias_version(previous)
    if held is None:
        return None
    reg.client.set_registered_model_alias(reg.name, model.alias, str(held.version))
    return (f"the alias '{model.alias}' is new: it starts at version {held.version}, which holds the previous alias "
            f"'{previous}' (left in place)")


def record(reg: Registry, model: Model, cand: Candidate, decision: Decision, move_alias: bool = True) -> None:
    """Log the decision on the candidate's run and version, and move the aliases it allows (the model's alias
    only with `move_alias`: a Kubeflow pipeline moves it in a task of its own, compiler.apply.steps.stages)."""
    from mlflow.entities import Metric, RunTag

    now = int(datetime.now(UTC).timestamp() * 1000)
    tags = {"specops.decision": decision.outcome,
            "specops.decision_reasons": "; ".join(decision.reasons) or "every gate passed",
            "specops.compared_with": str(decision.champion_version) if decision.champion_version else "none",
            "specops.holdout_digest": cand.holdout_digest}
    if decision.notes:
        tags["specops.decision_notes"] = "; ".join(decision.notes)
    metrics = [Metric(f"champion_{k}", v, now, 0) for k, v in sorted(decision.champion_metrics.items())]
    reg.client.log_batch(cand.run_id, metrics=metrics, tags=[RunTag(k, v[:5000]) for k, v in tags.items()])
    version = str(cand.version)
    reg.client.set_model_version_tag(reg.name, version, "validation_status",
                                     "passed" if decision.validated else "failed")
    reg.client.set_model_version_tag(reg.name, version, "specops.decision", decision.outcome)
    if model.alias != CANDIDATE_ALIAS:
        # every candidate is the challenger: canary rollouts (seldon) serve it beside the alias
        reg.client.set_registered_model_alias(reg.name, CANDIDATE_ALIAS, version)
    if decision.outcome == "promoted" and move_alias:
        reg.client.set_registered_model_alias(reg.name, model.alias, version)


def describe(model: Model, cand: Candidate, decision: Decision) -> list[str]:
    """What apply and `specops train` print about a decision (indented by the caller)."""
    lines = [f"holdout: {cand.holdout_rows} rows, digest {cand.holdout_digest[:12]}"]
    if decision.champion_metrics and decision.champion_version != cand.version:
        lines.append(f"version {decision.champion_version} (the '{model.alias}') {decision.champion_basis}:")
        bounds = {c.metric: c for c in decision.comparisons}
        for name in sorted(set(cand.metrics) & set(decision.champion_metrics)):
            c = bounds.get(name)
            verdict = ""
            if c is not None:
                verdict = (f"  ok (max_regression {c.bound:g})" if c.ok else
                           f"  REGRESSED by {c.worse_by:.4f} > max_regression {c.bound:g}")
            delta = cand.metrics[name] - decision.champion_metrics[name]
            lines.append(f"  {name:<10} candidate {cand.metrics[name]:.4f}  version {decision.champion_version} "
                         f"{decision.champion_metrics[name]:.4f}  diff {delta:+.4f}{verdict}")
        if not decision.comparisons:  # shown, not compared: say so, or a worse candidate looks approved
            lines.append(f"no validation.max_regression: the candidate is not compared with version "
                         f"{decision.champion_version}, only held to the gates")
    lines += [f"note: {n}" for n in decision.notes]
    return lines


# --- promotion on purpose ----------------------------------------------------------------------------------


@dataclass
class Promotion:
    version: int
    previous: int | None
    reason: str
    by: str
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "previous": self.previous, "reason": self.reason, "by": self.by,
                "at": self.at}


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - containers without a passwd entry
        return "unknown"


def promote(reg: Registry, model: Model, version: int, reason: str) -> Promotion:
    """Give the alias to `version` on purpose (a promotion or a rollback), recording who, when and why."""
    if not reason.strip():
        raise StepFailed("a promotion needs a reason (--reason)")
    found = reg.version(version)
    if found is None:
        raise StepFailed(f"registered model '{reg.name}' has no version {version}")
    current = reg.alias_version(model.alias)
    previous = int(current.version) if current is not None else None
    if previous == version:
        raise StepFailed(f"version {version} already holds the alias '{model.alias}'")
    done = Promotion(version, previous, reason.strip(), _who(), datetime.now(UTC).isoformat(timespec="seconds"))
    c = reg.client
    c.set_registered_model_alias(reg.name, model.alias, str(version))
    for key, value in (("specops.promoted_by", done.by), ("specops.promoted_at", done.at),
                       ("specops.promotion_reason", done.reason),
                       ("specops.promoted_from", str(previous) if previous else "none"),
                       ("specops.decision", "promoted by hand")):
        c.set_model_version_tag(reg.name, str(version), key, value)
    if DEMOTED_TAG in (found.tags or {}):
        c.delete_model_version_tag(reg.name, str(version), DEMOTED_TAG)
    if previous is not None:
        c.set_model_version_tag(reg.name, str(previous), DEMOTED_TAG,
                                f"replaced by version {version} by {done.by} at {done.at}: {done.reason}")
    return done
