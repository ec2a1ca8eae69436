"""One retraining as separate stages, for orchestrators that run each in a task of its own (the Kubeflow
pipeline of compiler/emit/kubeflow): what `specops train` does in one go, cut where a pipeline shows it.

    train     read and split the data, fit with the user's train(), compute the metrics on the held-out rows,
              log and register the candidate version (or reuse the one trained from the same inputs) -> version
    evaluate  the gates and the champion re-scored on the candidate's holdout: the decision, recorded on the
              version's run and tags (validation_status, specops.decision), the alias untouched -> decision
    gate      fails (the task fails, so the pipeline stops) unless the decision lets the candidate hold the alias
    alias     moves the model's alias to the candidate when the decision promoted it -> what it did

Each stage reads its inputs from the registry, not from the previous task's memory: a stage can run in another
pod. The environment's state file is not written (a pipeline run has no durable .specops/; the registry is the
record), and no lock is taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compiler.apply.context import RunContext, StepFailed

STAGES = ("train", "evaluate", "gate", "alias")
PASSING = ("promoted", "kept")


def run_stage(repository: str, model_name: str, environment: str, stage: str, version: int | None = None) -> Any:
    """Run one stage for `model_name` of the spec repository at `repository` in `environment`."""
    import click

    from compiler.front.check import require_project

    if stage not in STAGES:
        raise ValueError(f"unknown stage '{stage}' (stages: {', '.join(STAGES)})")
    project = require_project(Path(repository))
    if model_name not in project.models:
        raise StepFailed(f"unknown model '{model_name}'")
    if environment not in project.environments:
        raise StepFailed(f"unknown environment '{environment}'")
    ctx = RunContext(project, project.environments[environment], project.root / project.project.output, click.echo,
                     None)
    model = project.models[model_name]
    if stage == "train":
        return _train(ctx, model)
    if version is None:
        raise StepFailed(f"stage {stage} needs the candidate's version")
    return {"evaluate": _evaluate, "gate": _gate, "alias": _alias}[stage](ctx, model, int(version))


def _train(ctx: RunContext, model: Any) -> int:
    from compiler.apply.steps.leftovers import NOTE_TAG
    from compiler.apply.steps.registry import INPUTS_TAG, open_registry
    from compiler.apply.steps.train import fit_and_log, prepare

    prepared = prepare(ctx, model)
    reg = open_registry(ctx, model)
    found = [v for v in reg.tagged(INPUTS_TAG, prepared.inputs_digest) if NOTE_TAG not in (v.tags or {})]
    if found:
        ctx.echo(f"   reused {model.registry_name} version {found[0].version}, trained from the same inputs")
        return int(found[0].version)
    cand = fit_and_log(ctx, reg, model, prepared)
    ctx.echo(f"   registered {model.registry_name} version {cand.version} "
             f"({', '.join(f'{k}={v:.4f}' for k, v in sorted(cand.metrics.items()))})")
    return cand.version


def _version(ctx: RunContext, model: Any, version: int) -> tuple[Any, Any]:
    from mlflow.exceptions import MlflowException

    from compiler.apply.steps.registry import open_registry

    reg = open_registry(ctx, model)
    try:
        return reg, reg.client.get_model_version(model.registry_name, str(version))
    except MlflowException as exc:
        raise StepFailed(f"{model.registry_name} version {version} cannot be read: {exc.message[:200]}") from None


def _evaluate(ctx: RunContext, model: Any, version: int) -> str:
    from compiler.apply.steps.promotion import decide, describe, record
    from compiler.apply.steps.train import candidate_of

    reg, found = _version(ctx, model, version)
    cand = candidate_of(reg, found, reused=True)
    decision = decide(reg, model, cand)
    record(reg, model, cand, decision, move_alias=False)
    for line in describe(model, cand, decision):
        ctx.echo(f"   {line}")
    return decision.outcome


def _gate(ctx: RunContext, model: Any, version: int) -> str:
    reg, found = _version(ctx, model, version)
    outcome = (found.tags or {}).get("specops.decision")
    if outcome in PASSING:
        return "passed"
    reasons = reg.client.get_run(found.run_id).data.tags.get("specops.decision_reasons", "")
    raise StepFailed(f"quality gate failed for {model.registry_name} version {version} "
                     f"({outcome or 'not evaluated'}): {reasons or 'no decision recorded'}")


def _alias(ctx: RunContext, model: Any, version: int) -> str:
    reg, found = _version(ctx, model, version)
    outcome = (found.tags or {}).get("specops.decision")
    if outcome == "promoted":
        reg.client.set_registered_model_alias(model.registry_name, model.alias, str(version))
        return f"alias {model.alias} -> version {version}"
    if outcome == "kept":  # it already held it, or it was demoted on purpose and the champion keeps it
        return f"the alias {model.alias} stays where it is"
    raise StepFailed(f"{model.registry_name} version {version} was not promoted ({outcome or 'not evaluated'})")
