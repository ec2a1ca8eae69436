"""`specops train`, `drift`, `rollout` and `promote`: what the retraining, drift-monitoring and orchestrated jobs
run, and promotions (or rollbacks) on purpose."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.common import Given, SpecopsError, env_option, environment, guarded, load_project
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
    func = click.option("--path", "path_option", type=Given(file_okay=False, path_type=Path), hidden=True,
                        help="Deprecated: give PATH after MODEL.")(func)
    return click.argument("path", required=False, type=Given(file_okay=False, path_type=Path))(func)


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
@click.option("--no-reuse", is_flag=True, help="Train and register a new version even when one was trained from the "
              "same data, code and settings (by default that version is reused).")
@guarded
def train(model: str, path: Path | None, path_option: Path | None, env: str | None, no_reuse: bool) -> None:
    """Retrain MODEL of the repository at PATH now (what the retraining CronJob and workflow run): train,
    register, gate, alias; a version trained from the same data, code and settings is reused."""
    from compiler.apply.steps.train import train_model

    path = _path(path, path_option)
    project, spec, ctx = _model_run(path, model, env)
    _train_locked(project, spec, ctx, path, lambda renamed: train_model(ctx, spec, not no_reuse, renamed))


def _train_locked(project, spec, ctx, path: Path, run, refused: str = ""):
    """Run a training under the environment's lock, print it, record it in the state, and send its OpenLineage
    run events as apply does. A refused candidate fails the step (FAILED, never ok) and the command (its message
    after `refused`)."""
    from compiler.apply import lineage
    from compiler.apply.context import StepFailed
    from compiler.apply.statebackend import open_backend
    from compiler.apply.steps.train import previous_alias, refusal, report

    env_name = ctx.env.name
    with interruptible("train"), open_backend(project, env_name) as store, locked(project, env_name, path, store):
        ctx.store = store
        before = store.load(env_name)
        _refuse_unfinished_data(project, spec, env_name, before.pending)
        sink = lineage.open_sink(ctx)  # OpenLineage run events, as apply sends them
        started = lineage.start_training(sink, ctx, spec.name)
        result = None
        try:
            with ctx.step(f"train {spec.address}"):
                result = run(previous_alias(spec, before.models.get(spec.name)))
                report(ctx.echo, spec, result)
                state = store.load(env_name)
                state.models[spec.name] = {**state.models.get(spec.name, {}), **result.to_state(spec)}
                store.save(state)
                if result.refused:
                    raise StepFailed(refusal(spec, result))
        except StepFailed as exc:
            lineage.finish_training(sink, ctx, started, result.version if result else None, str(exc))
            raise SpecopsError((refused if result is not None and result.refused else "") + str(exc)) from None
        lineage.finish_training(sink, ctx, started, result.version, None)
    return result


def _refuse_unfinished_data(project, spec, env_name: str, pending: dict) -> None:
    """A training reads its dataset as the warehouse holds it: not while an apply left work upstream of the model
    undone (a check that failed on the rebuilt table, a rebuild that failed), or it would train, and promote, on data
    that failed its checks."""
    reads = project.graph.upstream(spec.address)
    checks = {r.address for r in project.rules.values() if f"dataset.{r.dataset}" in reads}  # checks of its data
    upstream = sorted(a for a in (reads | checks) & set(pending) if not a.startswith("model."))
    if upstream:
        listed = ", ".join(f"{a} ({(pending[a] or {}).get('work', 'pending')})" for a in upstream)
        raise SpecopsError(f"refusing to train {spec.address} in environment '{env_name}': an apply left work on its "
                           f"training data undone ({listed}); its data may have failed its checks. Run `specops "
                           f"apply --env {env_name}`: it does that work, then trains")


@click.command()
@click.argument("model")
@_repository
@env_option
@click.option("--retrain", is_flag=True, help="When drift is found, retrain MODEL (as `specops train` does); the exit "
              "code is then 0 when the new candidate took the alias. The drift job passes it when the spec says "
              "monitoring.drift.retrain: true.")
@click.option("--as-of", "as_of", metavar="TIME", help="End the drift window at this UTC date or time (ISO 8601, e.g. "
              "2024-06-30 or 2024-06-30T12:00) instead of now: re-check a past day. Only for a model with "
              "monitoring.drift.window (without one the whole dataset is scored, whatever the date).")
@click.option("--pushgateway", metavar="URL", envvar="SPECOPS_PUSHGATEWAY", help="Push the score, as "
              "specops_drift_score{model, environment}, to the Prometheus Pushgateway at URL [default: the "
              "environment's monitoring.pushgateway; the drift CronJob gets it as SPECOPS_PUSHGATEWAY]. A push that "
              "fails is a warning.")
@guarded
def drift(model: str, path: Path | None, path_option: Path | None, env: str | None, retrain: bool,
          as_of: str | None, pushgateway: str | None) -> None:
    """Score feature drift of MODEL's aliased version against recent data (what the drift CronJob runs); PATH is
    the repository.

    The reference is the training profile of the version holding the alias; the current data is the window of
    monitoring.drift.window (the rows within its period before now), else the whole dataset. The worst
    feature's score is pushed to the Pushgateway, when one is configured. Exit 1 when any feature's score is
    above monitoring.drift.threshold (unless --retrain promoted a new version).
    """
    from compiler.apply import pushgateway as gateway
    from compiler.apply.context import StepFailed
    from compiler.apply.steps.drift import check_drift
    from compiler.apply.steps.train import train_model
    from compiler.emit.serving_metrics import DRIFT_METRIC, drift_series, matchers

    now = _as_of(as_of)
    if pushgateway is not None and gateway.problem(pushgateway):
        raise click.BadParameter(f"'{pushgateway}': {gateway.problem(pushgateway)}", param_hint="--pushgateway")
    path = _path(path, path_option)
    project, spec, ctx = _model_run(path, model, env)
    if as_of is not None and spec.drift is not None and spec.drift.window is None:
        # without a window the whole dataset is scored: rows after the date would count, so it is no past check
        raise click.UsageError(f"--as-of ends the drift window, but {spec.address} has no monitoring.drift.window: "
                               "the check scores the whole dataset, whatever the date. Give the model a window "
                               "(e.g. window: {column: <date column>, period: 7d}) or leave --as-of out.")
    pushgateway = pushgateway or ctx.env.pushgateway
    try:
        report = check_drift(ctx, spec, now)
    except StepFailed as exc:
        raise SpecopsError(str(exc)) from None
    where = f"the {report.rows} rows with {report.window}" if report.window else f"all {report.rows} rows"
    click.echo(f"reference: the training profile of {spec.registry_name} version {report.version} "
               f"(alias '{spec.alias}'); current: {where} of dataset.{spec.training.dataset if spec.training else '?'}")
    for name, value in sorted(report.scores.items()):
        flag = "  DRIFT" if value > report.threshold else ""
        click.echo(f"{report.method} {name:<30} {value:.4f}{flag}")
    worst, value = report.worst
    click.echo(f"{DRIFT_METRIC}{matchers(*drift_series(model, ctx.env.name))} {value:.6f}")
    if pushgateway and report.scores:
        push = gateway.drift_push(model, ctx.env.name, value)
        failed = gateway.send(pushgateway, push)
        if failed:  # the check's outcome (and exit code) stands; the alert on a failed run still fires on drift
            click.echo(f"warning: the drift score was not pushed to the Pushgateway at {push.url(pushgateway)}: "
                       f"{failed}", err=True)
        else:
            click.echo(f"pushed {DRIFT_METRIC} to the Pushgateway at {push.url(pushgateway)}")
    elif pushgateway:
        click.echo(f"warning: no feature could be scored: nothing was pushed to {pushgateway}", err=True)
    if not report.drifted:
        click.echo(f"no drift: every feature is within {report.method} threshold {report.threshold}")
        return
    found = f"drift detected: {worst} scores {value:.4f} > threshold {report.threshold}"
    if not retrain:
        hint = (f" (the spec asks for retraining: `specops drift {model} --retrain`, or `specops train {model}`)"
                if spec.drift is not None and spec.drift.retrain else "")
        raise SpecopsError(found + hint)
    click.echo(f"{found}: retraining")
    result = _train_locked(project, spec, ctx, path, lambda renamed: train_model(ctx, spec, renamed=renamed),
                           refused=f"{found}; retrained, but ")
    if result.decision is not None and result.decision.outcome == "kept":
        raise SpecopsError(f"{found}; the data has not changed since version {result.version} was trained, so "
                           "retraining made nothing new")


def _as_of(text: str | None):
    """--as-of as a naive UTC datetime (the warehouse's timestamps are naive), or now."""
    from datetime import UTC, datetime

    if text is None:
        return datetime.now(UTC).replace(tzinfo=None)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"'{text}' is not an ISO 8601 date or time (e.g. 2024-06-30T12:00)",
                                 param_hint="--as-of") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


@click.command()
@click.argument("deployment")
@_repository
@click.option("--env", "-e", "env", help="Environment (default: DEPLOYMENT's own; another one is refused).")
@guarded
def rollout(deployment: str, path: Path | None, path_option: Path | None, env: str | None) -> None:
    """Roll out DEPLOYMENT now (what the Airflow DAGs run after `specops train`): its environment's manifests,
    rendered with the model versions the environment's state records, applied with kubectl when the
    environment has a kube context, else written for GitOps under .specops/manifests/<env>. A rollout of
    DEPLOYMENT left pending in the state (by `specops promote`, or an apply that failed) is then done, unless
    work upstream of it (its model's training) is pending too."""
    from compiler.apply.context import RunContext, StepFailed
    from compiler.apply.statebackend import open_backend
    from compiler.apply.steps.deploy import (
        kubectl_apply,
        laptop_only,
        refusal,
        render_manifests,
        resolve,
        served_version,
    )
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
        state = store.load(spec.environment)
        try:
            versions, problems = resolve(ctx, state.models)
        except StepFailed as exc:
            raise SpecopsError(str(exc)) from None
        if problems:  # never a manifest with a placeholder for the model version, nor one of no version
            raise SpecopsError(f"refusing to roll out: {refusal(spec.environment, problems)}")
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
        # its pending rollout is done now, unless work upstream is pending too (a failed retrain): the rollout
        # must then follow that work, as apply plans it
        upstream = project.graph.upstream(spec.address)
        if (state.pending.get(spec.address) or {}).get("work") == "rollout" and not upstream & set(state.pending):
            del state.pending[spec.address]
            store.save(state)
    number = served_version(versions, spec)
    served = f"version {number}" if number else f"alias '{spec.alias}' (no version recorded yet)"
    click.echo(f"{spec.address}: model {spec.model} {served}")


@click.command()
@click.argument("model")
@click.argument("version", type=click.IntRange(min=1))
@click.argument("path", required=False, type=Given(file_okay=False, path_type=Path))
@env_option
@click.option("--reason", required=True, help="Why (recorded on the version in the registry and in the state).")
@guarded
def promote(model: str, version: int, path: Path | None, env: str | None, reason: str) -> None:
    """Give MODEL's alias to VERSION on purpose (PATH is the repository): a promotion past the gates, or a
    rollback.

    The registry version gets tags saying who, when and why; the version that held the alias is marked as
    demoted, so automatic training never gives it the alias back (only another promote does). The state
    records the promotion, and the model's deployments in the environment are left pending: the next
    `specops apply` rolls them out.
    """
    from compiler.apply.context import StepFailed
    from compiler.apply.statebackend import open_backend
    from compiler.apply.steps.promotion import promote as promote_version
    from compiler.apply.steps.registry import open_registry
    from compiler.plan.impact import Impact

    path = path or Path(".")
    project, spec, ctx = _model_run(path, model, env)
    env_name = ctx.env.name
    with interruptible("promote"), open_backend(project, env_name) as store, \
            locked(project, env_name, path, store):
        ctx.store = store
        state = store.load(env_name)
        if state.empty:
            raise SpecopsError(f"environment '{env_name}' was never applied: run `specops apply --env {env_name}` "
                               "first")
        try:
            done = promote_version(open_registry(ctx, spec), spec, version, reason)
        except StepFailed as exc:
            raise SpecopsError(str(exc)) from None
        info = state.models.setdefault(model, {"registered_model": spec.registry_name, "alias": spec.alias})
        info.update({"alias_version": version, "promoted": True, "reasons": [], "decision": "promoted by hand"})
        info["promotions"] = [*info.get("promotions", []), done.to_json()]
        pending = []
        for dep in project.deployments_of(model):
            if dep.environment == env_name and dep.version is None:
                note = f"version {version} promoted by hand: {done.reason}"
                state.pending[dep.address] = {**Impact(dep.address, "rollout", spec.address, "non-breaking",
                                                       (spec.address, dep.address), (note,)).to_json(),
                                              "origin": "promote"}
                pending.append(dep.address)
        store.save(state)
    was = f"version {done.previous}" if done.previous else "no version"
    click.echo(f"alias '{spec.alias}' of {spec.registry_name} -> version {version} (was {was}) by {done.by}: "
               f"{done.reason}")
    if pending:
        click.echo(f"to roll it out: specops apply --env {env_name} ({', '.join(pending)} pending)")
