"""`specops train`, `drift` and `rollout`: what the retraining, drift-monitoring and orchestrated jobs run."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.common import SpecopsError, env_option, environment, guarded, load_project
from compiler.cli.ops import interruptible, locked


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


def _repository(func):
    """PATH after MODEL (or DEPLOYMENT), like every other command's positional PATH; `--path` stays as a hidden,
    deprecated alias."""
    func = click.option("--path", "path_option", type=click.Path(file_okay=False, path_type=Path), hidden=True,
                        help="Deprecated: give PATH after MODEL.")(func)
    return click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))(func)


def _path(path: Path | None, path_option: Path | None) -> Path:
    if path_option is not None:
        if path is not None and path != path_option:
            raise click.UsageError("give the repository once: as PATH after MODEL (--path is deprecated)")
        click.echo("specops: --path is deprecated; give the repository as PATH after MODEL", err=True)
    return path or path_option or Path(".")


@click.command()
@click.argument("model")
@_repository
@env_option
@guarded
def train(model: str, path: Path | None, path_option: Path | None, env: str | None) -> None:
    """Retrain MODEL of the repository at PATH now (what the retraining CronJob and workflow run): train,
    register, gate, alias."""
    from compiler.apply import lineage
    from compiler.apply.context import StepFailed
    from compiler.apply.statebackend import open_backend
    from compiler.apply.steps.train import train_model

    path = _path(path, path_option)
    project, spec, ctx = _model_run(path, model, env)
    env_name = ctx.env.name
    with interruptible("train"), open_backend(project, env_name) as store, locked(project, env_name, path, store):
        ctx.store = store
        sink = lineage.open_sink(ctx)  # OpenLineage run events, as apply sends them
        run = lineage.start_training(sink, ctx, model)
        try:
            with ctx.step(f"train {spec.address}"):
                result = train_model(ctx, spec)
        except StepFailed as exc:
            lineage.finish_training(sink, ctx, run, None, str(exc))
            raise SpecopsError(str(exc)) from None
        state = store.load(env_name)
        state.models[model] = result.to_state(spec)
        store.save(state)
        refused = f"alias '{spec.alias}' not moved: " + "; ".join(result.reasons)
        lineage.finish_training(sink, ctx, run, result.version, None if result.promoted else refused)
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in sorted(result.metrics.items()))
    click.echo(f"{spec.registry_name} version {result.version}: {metrics}")
    if not result.promoted:
        raise SpecopsError(refused)
    click.echo(f"alias '{spec.alias}' -> version {result.version}")


@click.command()
@click.argument("model")
@_repository
@env_option
@guarded
def drift(model: str, path: Path | None, path_option: Path | None, env: str | None) -> None:
    """Score feature drift of MODEL's aliased version against the warehouse now (what the drift CronJob runs);
    PATH is the repository.

    Exit 1 when any feature's score is above the model's monitoring.drift.threshold.
    """
    from compiler.apply.context import StepFailed
    from compiler.apply.steps.drift import check_drift

    _, spec, ctx = _model_run(_path(path, path_option), model, env)
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


@click.command()
@click.argument("deployment")
@_repository
@env_option
@guarded
def rollout(deployment: str, path: Path | None, path_option: Path | None, env: str | None) -> None:
    """Roll out DEPLOYMENT now (what the Airflow DAGs run after `specops train`): its environment's manifests,
    rendered with the model versions the environment's state records, applied with kubectl when the
    environment has a kube context, else written for GitOps under .specops/manifests/<env>."""
    from compiler.apply.context import RunContext, StepFailed
    from compiler.apply.statebackend import open_backend
    from compiler.apply.steps.deploy import kubectl_apply, laptop_only, render_manifests
    from compiler.plan.baseline import head_sha
    from compiler.spec.diagnostics import did_you_mean

    path = _path(path, path_option)
    project = load_project(path)
    spec = project.deployments.get(deployment)
    if spec is None:
        hint = did_you_mean(deployment, project.deployments) or f"deployments: {', '.join(project.deployments)}"
        raise click.BadParameter(f"unknown deployment '{deployment}'; {hint}", param_hint="DEPLOYMENT")
    if env is not None and env != spec.environment:
        raise click.BadParameter(f"deployment '{deployment}' belongs to environment '{spec.environment}', not "
                                 f"'{env}'", param_hint="--env")
    ctx = RunContext(project, project.environments[spec.environment], project.root / project.project.output,
                     click.echo, head_sha(project.root))
    with open_backend(project, spec.environment) as store, locked(project, spec.environment, path, store):
        ctx.store = store
        versions: dict[str, tuple[int, str]] = {}
        for name, info in store.load(spec.environment).models.items():
            model = project.models.get(name)
            if model is not None and info.get("alias_version"):
                versions[name] = (int(info["alias_version"]),
                                  f"models:/{model.registry_name}/{info['alias_version']}")
        try:
            with ctx.step(f"roll out {spec.address} in {spec.environment}"):
                folder, _ = render_manifests(ctx, versions)
                note = laptop_only(ctx)
                if note:
                    ctx.echo(f"   {note}")
                elif ctx.env.context:
                    kubectl_apply(ctx, folder)
                else:
                    ctx.echo(f"   environment '{spec.environment}' has no kubernetes.context: the manifests are "
                             f"ready for GitOps in {folder}")
        except StepFailed as exc:
            raise SpecopsError(str(exc)) from None
    model_version = versions.get(spec.model)
    served = f"version {model_version[0]}" if model_version else f"alias '{spec.alias}' (no version recorded yet)"
    click.echo(f"{spec.address}: model {spec.model} {served}")
