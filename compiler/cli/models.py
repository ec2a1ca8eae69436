"""`specops train` and `drift`: what the retraining and drift-monitoring jobs run."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.common import SpecopsError, env_option, environment, guarded, load_project
from compiler.cli.ops import locked


def _model_run(path: Path, model: str, env: str | None):
    """The project, the named model (with a suggestion when unknown) and a run context for `env`."""
    from compiler.apply.context import RunContext
    from compiler.plan.baseline import head_sha
    from compiler.spec.diagnostics import did_you_mean

    project = load_project(path)
    if model not in project.models:
        hint = did_you_mean(model, project.models) or f"models: {', '.join(project.models)}"
        raise click.BadParameter(f"unknown model '{model}'; {hint}", param_hint="MODEL")
    env_name = environment(project, env)
    ctx = RunContext(project, project.environments[env_name], project.root / project.project.output, click.echo,
                     head_sha(project.root))
    return project, project.models[model], ctx


repo_option = click.option("--path", "path", default=".", type=click.Path(file_okay=False, path_type=Path),
                           help="The spec repository (default: the current folder).")


@click.command()
@click.argument("model")
@repo_option
@env_option
@guarded
def train(model: str, path: Path, env: str | None) -> None:
    """Retrain MODEL now (what the retraining CronJob and workflow run): train, register, gate, alias."""
    from compiler.apply.context import StepFailed
    from compiler.apply.statebackend import open_backend
    from compiler.apply.steps.train import train_model

    project, spec, ctx = _model_run(path, model, env)
    env_name = ctx.env.name
    with open_backend(project, env_name) as store, locked(project, env_name, path, store):
        ctx.store = store
        try:
            with ctx.step(f"train {spec.address}"):
                result = train_model(ctx, spec)
        except StepFailed as exc:
            raise SpecopsError(str(exc)) from None
        state = store.load(env_name)
        state.models[model] = result.to_state(spec)
        store.save(state)
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in sorted(result.metrics.items()))
    click.echo(f"{spec.registry_name} version {result.version}: {metrics}")
    if not result.promoted:
        raise SpecopsError(f"alias '{spec.alias}' not moved: " + "; ".join(result.reasons))
    click.echo(f"alias '{spec.alias}' -> version {result.version}")


@click.command()
@click.argument("model")
@repo_option
@env_option
@guarded
def drift(model: str, path: Path, env: str | None) -> None:
    """Score feature drift of MODEL's aliased version against the warehouse now (what the drift CronJob runs).

    Exit 1 when any feature's score is above the model's monitoring.drift.threshold.
    """
    from compiler.apply.context import StepFailed
    from compiler.apply.steps.drift import check_drift

    _, spec, ctx = _model_run(path, model, env)
    try:
        report = check_drift(ctx, spec)
    except StepFailed as exc:
        raise SpecopsError(str(exc)) from None
    for name, value in sorted(report.scores.items()):
        flag = "  DRIFT" if value > report.threshold else ""
        click.echo(f"{report.method} {name:<30} {value:.4f}{flag}")
    worst, value = report.worst
    click.echo(f"specops_drift_score{{model=\"{model}\"}} {value:.6f}")
    if report.drifted:
        raise SpecopsError(f"drift detected: {worst} scores {value:.4f} > threshold {report.threshold}")
    click.echo(f"no drift: every feature is within {report.method} threshold {report.threshold}")
