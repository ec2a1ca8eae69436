"""`specops plan`, `apply`, `train` and `force-unlock`: the commands that compare with and change the world."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from compiler.cli.main import (
    EXIT_INVALID,
    ReportedFailure,
    SpecopsError,
    guarded,
    load_project,
    main,
    path_argument,
    select_option,
)
from compiler.speed.gc import batch_gc

env_option = click.option("--env", "-e", "env", help="Environment (default: the Project's default_environment).")
no_cache_option = click.option("--no-cache", is_flag=True,
                               help="Ignore the per-file cache in ~/.cache/specops (same results, only slower).")


def _environment(project, env: str | None) -> str:
    from compiler.spec.diagnostics import did_you_mean

    if env is not None and not env.strip():
        raise click.BadParameter("an environment name may not be empty", param_hint="--env")
    name = env or project.default_environment
    if name is None:
        raise SpecopsError("the repository defines no Environment")
    if name not in project.environments:
        hint = did_you_mean(name, project.environments) or f"environments: {', '.join(project.environments)}"
        raise click.BadParameter(f"unknown environment '{name}'; {hint}", param_hint="--env")
    return name


def _selection(project, select: tuple[str, ...]) -> set[str] | None:
    from compiler.spec.selection import SelectionError
    from compiler.spec.selection import select as run_select

    if not select:
        return None
    try:
        chosen = run_select(project, select)
    except SelectionError as exc:
        raise click.BadParameter(str(exc), param_hint="--select") from None
    if not chosen:  # a plan of nothing must never be mistaken for a plan of everything
        raise click.BadParameter(f"{' '.join(select)!r} matches no resource", param_hint="--select")
    return chosen


def build_plan(root: Path, project, env: str | None, against: str | None, selected: set[str] | None,
               full: bool = True, use_cache: bool = False):
    """The compiled project and the plan; `full=False` compiles only what the plan compares (for `plan`),
    reusing what it can from the user's cache folder with `use_cache`."""
    from compiler.apply.state import StateError
    from compiler.emit.compile import compile_for_plan, compile_project
    from compiler.plan.baseline import BaselineError, from_git, from_summary, head_sha, state_summary
    from compiler.plan.make import make_plan

    folder = None
    if use_cache:
        from compiler.front.schemas import schema_digest
        from compiler.speed.cache import Cache

        folder = Cache.for_repository(project.root, schema_digest()).folder
    compiled = compile_project(project) if full else compile_for_plan(project, env, folder)
    try:
        if against:
            base = from_git(project.root, against, env)
        else:
            assert env is not None
            base = from_summary(project.root, state_summary(project.root, env, folder))
    except (BaselineError, StateError) as exc:
        raise SpecopsError(str(exc)) from None
    return compiled, make_plan(project, compiled, base, env, selected, head_sha(project.root))


@main.command()
@path_argument
@env_option
@click.option("--against", metavar="GIT_REF", help="Compare with the specs at this git revision (e.g. origin/main) "
              "instead of the environment's last apply.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the plan (JSON, with the digests it was made from) for `specops apply PLANFILE`.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
@select_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 2 with changes, 1 on error.")
@no_cache_option
@guarded
@batch_gc()
def plan(path: Path, env: str | None, against: str | None, out_file: Path | None, fmt: str,
         select: tuple[str, ...], detailed_exitcode: bool, no_cache: bool) -> None:
    """Show what would change: resources (with categories), impact across the graph, generated files.

    The baseline is the environment's last apply, or with --against the specs at a git revision.
    """
    from compiler.plan.render import render_json, render_markdown, render_text

    try:
        project = load_project(path, use_cache=not no_cache, to_stderr=True)
        env_name = _environment(project, env) if (env or not against) else None
        selected = _selection(project, select)
    except click.UsageError as exc:
        if detailed_exitcode:  # there, 2 means "changes": a bad --env or --select must not look like one
            raise SpecopsError(exc.format_message()) from None
        raise
    _, result = build_plan(project.root, project, env_name, against, selected, full=False, use_cache=not no_cache)
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(render_json(result), encoding="utf-8")
    if fmt == "json":
        click.echo(render_json(result), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(result), nl=False)
    else:
        click.echo(render_text(result, color=sys.stdout.isatty()), nl=False)
    if detailed_exitcode and result.has_changes:
        raise ReportedFailure(2)


@contextmanager
def _locked(project, env_name: str, path: Path) -> Iterator[None]:
    """Hold the environment's lock, or refuse clearly, naming its holder and how to break it."""
    from compiler.apply.state import Lock, LockHeld

    try:
        with Lock(project.root, env_name):
            yield
    except LockHeld as exc:
        info = exc.info
        where = "" if project.root == Path.cwd().resolve() else f" {path}"
        raise SpecopsError(f"environment '{env_name}' is locked by {info.get('who')} (pid {info.get('pid')}, since "
                           f"{info.get('created')}, lock ID {info.get('id')}); if that run is gone, use "
                           f"`specops force-unlock {info.get('id')}{where}`") from None


def _stale(saved: dict, current) -> list[str]:
    reasons = []
    if saved.get("head", {}).get("spec_digest") != current.spec_digest:
        reasons.append("the specs changed since the plan was made")
    old, new = saved.get("baseline", {}), current.baseline
    if old.get("kind") != "state":
        reasons.append("the plan was made against a git revision, not the environment's state")
    elif (old.get("lineage"), old.get("serial"), old.get("state_digest")) != (
            new.lineage, new.serial, new.state_digest):
        reasons.append(f"the environment's state changed since the plan was made (serial {old.get('serial')} -> "
                       f"{new.serial})")
    if saved.get("environment") != current.environment:
        reasons.append(f"the plan is for environment '{saved.get('environment')}'")
    if saved.get("artifact_digests") != current.artifact_digests:
        reasons.append("the generated files would differ from the plan's")
    if saved.get("selection", []) != current.selection:
        reasons.append("the plan was made for another --select")
    return reasons


@main.command()
@click.argument("path", required=False, default=".", type=click.Path(exists=True, path_type=Path))
@click.argument("planfile", required=False, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@env_option
@select_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@no_cache_option
@guarded
def apply(path: Path, planfile: Path | None, env: str | None, select: tuple[str, ...], yes: bool,
          no_cache: bool) -> None:
    """Run what the plan needs, in graph order: dbt build, train and register models, roll out deployments.

    Takes a lock on the environment and records state in .specops/state/<env>.json. A file given
    alone (`specops apply plan.json`) is a plan saved by `specops plan --out`, for the current folder.
    """
    from compiler.apply.context import RunContext
    from compiler.apply.runner import run
    from compiler.apply.state import load_state
    from compiler.plan.render import render_text

    if planfile is None and path.is_file():
        path, planfile = Path("."), path  # `specops apply PLANFILE`, as with terraform
    with batch_gc():  # not around training: that runs the user's code
        project = load_project(path, use_cache=not no_cache, to_stderr=True)
    saved = None
    if planfile is not None:
        try:
            saved = json.loads(planfile.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SpecopsError(f"cannot read plan {planfile}: {exc}") from None
        if not isinstance(saved, dict) or str(saved.get("format_version", "")).split(".")[0] != "1":
            raise SpecopsError(f"{planfile} is not a specops plan (format_version 1.x)")
        env = env or saved.get("environment")
    env_name = _environment(project, env)
    with _locked(project, env_name, path):
        selected = _selection(project, select)
        if saved is not None and not select and saved.get("selection"):
            selected = set(saved["selection"])  # apply what was planned and approved, not more
        with batch_gc():
            compiled, result = build_plan(project.root, project, env_name, None, selected)
        if saved is not None:
            reasons = _stale(saved, result)
            if reasons:
                raise SpecopsError("the saved plan is stale: " + "; ".join(reasons) + ". Run `specops plan` again.")
        if not result.has_changes:
            click.echo(f"No changes. Environment '{env_name}' is up to date (state serial {result.baseline.serial}).")
            return
        click.echo(render_text(result, color=sys.stdout.isatty()), nl=False)
        if not yes and saved is None:
            if not sys.stdin.isatty():
                raise SpecopsError("refusing to apply without confirmation: pass --yes (or a saved PLANFILE)")
            click.confirm(f"Apply these changes to '{env_name}'?", abort=True)
        state = load_state(project.root, env_name)
        from compiler.plan.baseline import head_sha

        ctx = RunContext(project, project.environments[env_name], compiled.output_dir(), click.echo,
                         head_sha(project.root))
        outcome = run(ctx, state, compiled, result)
    _report(project, env_name, outcome)


def _report(project, env_name: str, outcome) -> None:
    click.echo("")
    for address, why in sorted(outcome.failed.items()):
        click.echo(f"FAILED   {address}: {why}")
    for address, why in sorted(outcome.skipped.items()):
        click.echo(f"SKIPPED  {address}: {why}")
    env = project.environments[env_name]
    click.echo(f"Apply to '{env_name}': {len(outcome.done)} done, {len(outcome.failed)} failed, "
               f"{len(outcome.skipped)} skipped.")
    if env.warehouse.type == "duckdb":
        click.echo(f"  warehouse: {env.warehouse.get('path')} (duckdb; tables in schema main)")
    for name, info in sorted(outcome.models.items()):
        click.echo(f"  model {name}: {info['registered_model']} version {info['candidate_version']}, alias "
                   f"'{info['alias']}' -> version {info['alias_version']}")
    if outcome.models:
        click.echo(f"  MLflow UI: mlflow ui --backend-store-uri {env.tracking_uri}")
    if outcome.manifests is not None:
        click.echo(f"  manifests: {outcome.manifests}")
    if not outcome.ok:
        raise ReportedFailure(EXIT_INVALID)


@main.command()
@click.argument("lock_id")
@path_argument
@guarded
def force_unlock(lock_id: str, path: Path) -> None:
    """Remove a stale environment lock, given its ID (shown when an apply is refused): LOCK_ID [PATH]."""
    from compiler.apply.state import force_unlock as unlock

    root = path.resolve()
    env = unlock(root, lock_id)
    if env is None:
        raise SpecopsError(f"no lock has ID {lock_id}")
    click.echo(f"lock {lock_id} on environment '{env}' removed")


def _model_run(path: Path, model: str, env: str | None):
    """The project, the named model (with a suggestion when unknown) and a run context for `env`."""
    from compiler.apply.context import RunContext
    from compiler.plan.baseline import head_sha
    from compiler.spec.diagnostics import did_you_mean

    project = load_project(path)
    if model not in project.models:
        hint = did_you_mean(model, project.models) or f"models: {', '.join(project.models)}"
        raise click.BadParameter(f"unknown model '{model}'; {hint}", param_hint="MODEL")
    env_name = _environment(project, env)
    ctx = RunContext(project, project.environments[env_name], project.root / project.project.output, click.echo,
                     head_sha(project.root))
    return project, project.models[model], ctx


repo_option = click.option("--path", "path", default=".", type=click.Path(file_okay=False, path_type=Path),
                           help="The spec repository (default: the current folder).")


@main.command()
@click.argument("model")
@repo_option
@env_option
@guarded
def train(model: str, path: Path, env: str | None) -> None:
    """Retrain MODEL now (what the retraining CronJob and workflow run): train, register, gate, alias."""
    from compiler.apply.context import StepFailed
    from compiler.apply.state import load_state, save_state
    from compiler.apply.steps.train import train_model

    project, spec, ctx = _model_run(path, model, env)
    env_name = ctx.env.name
    with _locked(project, env_name, path):
        try:
            with ctx.step(f"train {spec.address}"):
                result = train_model(ctx, spec)
        except StepFailed as exc:
            raise SpecopsError(str(exc)) from None
        state = load_state(project.root, env_name)
        state.models[model] = result.to_state(spec)
        save_state(project.root, state)
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in sorted(result.metrics.items()))
    click.echo(f"{spec.registry_name} version {result.version}: {metrics}")
    if not result.promoted:
        raise SpecopsError(f"alias '{spec.alias}' not moved: " + "; ".join(result.reasons))
    click.echo(f"alias '{spec.alias}' -> version {result.version}")


@main.command()
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
