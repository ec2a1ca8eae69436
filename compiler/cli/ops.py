"""`specops plan`, `apply` and `force-unlock`: the commands that compare with and change the world."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from compiler.cli.common import (
    EXIT_INVALID,
    Given,
    GivenText,
    ReportedFailure,
    SpecopsError,
    env_option,
    environment,
    guarded,
    load_project,
    no_cache_option,
    path_argument,
    select_option,
    selection,
)
from compiler.speed.gc import batch_gc

if TYPE_CHECKING:
    from compiler.apply.statebackend import StateBackend
    from compiler.emit.compile import Compiled
    from compiler.plan.model import Plan
    from compiler.spec.project import SpecProject
    from compiler.speed import Speed


def _plan(speed: Speed, project: SpecProject, env: str | None, against: str | None, selected: set[str] | None,
          for_apply: bool = False, full_refresh: bool = False, store: StateBackend | None = None
          ) -> tuple[Compiled, Plan]:
    """The compiled project and the plan. A plan compiles only what it compares (one environment's manifests,
    no manifest.json), reusing units' results from the cache; apply compiles everything and reads its
    state afresh (it acts on what it reads: its `speed` has no cache at all). The state comes from `store`, the
    environment's backend."""
    from compiler.emit.compile import compile_project
    from compiler.plan.baseline import state_summary
    from compiler.plan.make import plan_environment

    read = store.read if store is not None else None
    if for_apply:
        return plan_environment(project, env, against, selected, compile=lambda p, _: compile_project(p, speed.emit),
                                summary=lambda root, name: state_summary(root, name, read), sql=speed.sql,
                                full_refresh=full_refresh)
    from compiler.plan.make import BaseWork

    return plan_environment(project, env, against, selected, compile=speed.compile_for_plan,
                            summary=lambda root, name: speed.state_summary(root, name, read), sql=speed.sql,
                            base=BaseWork(speed.files, speed.compile_base, speed.base_digests),
                            full_refresh=full_refresh)


@click.command()
@path_argument
@click.option("--env", "-e", "env", help="Environment (default: the Project's default_environment; with --against and "
              "no --env: every environment).")
@click.option("--against", metavar="GIT_REF", type=GivenText(),
              help="Compare with the specs at this git revision (e.g. origin/main) instead of the environment's last "
              "apply.")
@click.option("--out", "out_file", type=Given(dir_okay=False, path_type=Path),
              help="Save the plan (JSON, with the digests it was made from) for `specops apply PLANFILE`.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
@select_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 2 with changes, 1 on error.")
@click.option("--full-refresh", is_flag=True, help="Rebuild every transform (every selected one, with --select: a "
              "backfill) from scratch, incremental models included, and what depends on it, as dbt's --full-refresh.")
@no_cache_option
@guarded
@batch_gc()
def plan(path: Path, env: str | None, against: str | None, out_file: Path | None, fmt: str,
         select: tuple[str, ...], exclude: tuple[str, ...], detailed_exitcode: bool, full_refresh: bool,
         no_cache: bool) -> None:
    """Show what would change: resources (with categories), impact across the graph, generated files.

    The baseline is the environment's last apply, or with --against the specs at a git revision.
    """
    from compiler.plan.render import render_json, render_markdown, render_text
    from compiler.speed import Speed

    speed = Speed.for_run(use_cache=not no_cache)
    try:
        project = load_project(path, speed=speed, to_stderr=True)
        env_name = environment(project, env) if (env or not against) else None
        selected = selection(project, select, exclude)
    except click.UsageError as exc:
        if detailed_exitcode:  # there, 2 means "changes": a bad --env or --select must not look like one
            raise SpecopsError(exc.format_message()) from None
        raise
    from compiler.apply.state import StateError
    from compiler.apply.statebackend import open_backend

    try:
        with contextlib.ExitStack() as stack:
            store = stack.enter_context(open_backend(project, env_name)) if env_name and not against else None
            _, result = _plan(speed, speed.with_digests(project), env_name, against, selected,
                              full_refresh=full_refresh, store=store)
    except StateError as exc:  # the baseline is the last apply, in the state: say how to plan without it
        raise SpecopsError(f"{exc} (this plan compares with the environment's last apply, kept in its state; to "
                           f"compare with the specs at a git revision instead, as a pull request's plan does: "
                           f"specops plan --against origin/main --env {env_name})") from None
    if out_file is not None:
        from compiler.output.atomic import write_file

        write_file(out_file, render_json(result).encode("utf-8"))
    if fmt == "json":
        click.echo(render_json(result), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(result), nl=False)
    else:
        click.echo(render_text(result, color=sys.stdout.isatty()), nl=False)
    if detailed_exitcode and result.has_changes:
        raise ReportedFailure(2)


@contextmanager
def interruptible(command: str) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP unwind the command (children ended and waited for, lock released) and end
    it with the usual 128 + signal exit code."""
    import signal

    from compiler.apply.children import Interrupted, signals_interrupt

    try:
        with signals_interrupt():
            yield
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        then = ("what finished is recorded in the state, and the next `specops apply` does the rest"
                if command == "apply" else "nothing was recorded")
        click.echo(f"\n{command} interrupted ({signal.Signals(signum).name}); the lock is released, {then}",
                   err=True)
        raise ReportedFailure(128 + signum) from None


@contextmanager
def locked(project, env_name: str, path: Path, store: StateBackend | None = None) -> Iterator[None]:
    """Hold the environment's lock (in its state backend), or refuse clearly, naming its holder and how to
    break it."""
    from compiler.apply.state import Lock, LockHeld
    from compiler.apply.statebackend import RemoteLockHeld
    from compiler.output.localdir import local_dir

    local_dir(project.root)  # made with its .gitignore before anything (lock, state, warehouse) goes in
    try:
        with store.lock(env_name) if store is not None else Lock(project.root, env_name):
            yield
    except LockHeld as exc:
        raise SpecopsError(lock_refusal(exc, env_name, project.root, path)) from None
    except RemoteLockHeld as exc:
        raise SpecopsError(f"environment '{env_name}' is locked by {lock_holder(exc.info, 'session since')}; "
                           f"{exc.hint}") from None


def lock_refusal(exc, env_name: str, root: Path, path: Path) -> str:
    """Who holds the lock and how to break it; for a lock file holding no lock, what it holds and how to
    remove it."""
    from compiler.paths import shown

    where = "" if root == Path.cwd().resolve() else f" {path}"
    if exc.problem is not None:
        return (f"environment '{env_name}' is locked by {shown(exc.path)}, but that file holds no lock specops "
                f"wrote: {exc.problem}. If no apply or train is running on '{env_name}', remove the file: "
                f"rm {shown(exc.path)}")
    info = exc.info
    gone = (" That process is no longer running on this machine: the run died without releasing its lock."
            if exc.holder_gone else "")
    return (f"environment '{env_name}' is locked by {lock_holder(info)}.{gone} If that run is gone, use "
            f"`specops force-unlock {info.get('id')}{where}`")


def lock_holder(info: dict, since: str = "since") -> str:
    """Who holds a lock, from what its record says; what it does not say is left out (a hand-made or older
    lock record may lack any field but its ID)."""
    details = [f"{label} {info[key]}" for key, label in (("pid", "pid"), ("created", since), ("id", "lock ID"))
               if info.get(key) not in (None, "")]
    return f"{info.get('who') or 'an unknown holder'} ({', '.join(details)})"


def _stale(saved: dict, current) -> list[str]:
    reasons = []
    if saved.get("head", {}).get("spec_digest") != current.spec_digest:
        reasons.append("the specs changed since the plan was made")
    old, new = saved.get("baseline", {}), current.baseline
    if old.get("kind") != "state":
        reasons.append("the plan was made against a git revision, not the environment's state")
    elif (old.get("lineage"), old.get("serial"), old.get("state_digest")) != (
            new.lineage, new.serial, new.state_digest):
        how = (f"serial {old.get('serial')} -> {new.serial}" if old.get("serial") != new.serial else
               f"by a command other than apply: a promote, train, rollout or drift --retrain; serial {new.serial}")
        reasons.append(f"the environment's state changed since the plan was made ({how})")
    if saved.get("environment") != current.environment:
        reasons.append(f"the plan is for environment '{saved.get('environment')}'")
    if saved.get("artifact_digests") != current.artifact_digests:
        reasons.append("the generated files would differ from the plan's")
    if saved.get("selection", []) != current.selection:
        reasons.append("the plan was made for another --select")
    if bool(saved.get("full_refresh")) != current.full_refresh:
        reasons.append("the plan was made without --full-refresh")
    return reasons


@click.command()
@click.argument("path", required=False, default=".", type=Given(exists=True, path_type=Path))
@click.argument("planfile", required=False, type=Given(dir_okay=False, exists=True, path_type=Path))
@env_option
@select_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--full-refresh", is_flag=True, help="Rebuild every transform (every selected one, with --select: a "
              "backfill) from scratch, incremental models included, and what depends on it, as dbt's --full-refresh.")
@click.option("--no-cache", is_flag=True, help="Changes nothing: apply reads no cache (docs/state.md); accepted "
              "for symmetry with plan.")
@guarded
def apply(path: Path, planfile: Path | None, env: str | None, select: tuple[str, ...], exclude: tuple[str, ...],
          yes: bool, full_refresh: bool, no_cache: bool) -> None:
    """Run what the plan needs, in graph order: dbt build, train and register models, roll out deployments.

    Takes a lock on the environment and records state in .specops/state/<env>.json. A file given
    alone (`specops apply plan.json`) is a plan saved by `specops plan --out`, for the current folder.
    """
    from compiler.apply.context import RunContext
    from compiler.apply.runner import rollouts_without_version, run
    from compiler.plan.render import render_text
    from compiler.speed import Speed

    if planfile is None and path.is_file():
        path, planfile = Path("."), path  # `specops apply PLANFILE`, as with terraform
    # apply acts on what it computes from the files and the state, never on a cache entry (docs/state.md);
    # worker processes still help, and --no-cache is accepted for symmetry with plan
    speed = Speed.for_run(use_cache=False)
    with batch_gc():  # not around training: that runs the user's code
        project = speed.with_digests(load_project(path, speed=speed, to_stderr=True))
    saved = None
    if planfile is not None:
        from compiler.apply.planfile import load_saved_plan

        saved = load_saved_plan(planfile)
        env = env or saved.get("environment")
        full_refresh = full_refresh or bool(saved.get("full_refresh"))  # as planned and approved
    env_name = environment(project, env)
    selected = selection(project, select, exclude)  # a usage error before anything is created or locked
    from compiler.apply.statebackend import open_backend

    with interruptible("apply"), open_backend(project, env_name) as store, locked(project, env_name, path, store):
        if saved is not None and selected is None and saved.get("selection"):
            selected = set(saved["selection"])  # apply what was planned and approved, not more
        with batch_gc():
            compiled, result = _plan(speed, project, env_name, None, selected, for_apply=True,
                                     full_refresh=full_refresh, store=store)
        if saved is not None:
            reasons = _stale(saved, result)
            if reasons:
                raise SpecopsError("the saved plan is stale: " + "; ".join(reasons) + ". Run `specops plan` again.")
        if not result.has_changes:
            click.echo(f"No changes. Environment '{env_name}' is up to date (state serial {result.baseline.serial}).")
            return
        click.echo(render_text(result, color=sys.stdout.isatty()), nl=False)
        state = store.load(env_name)
        from compiler.plan.baseline import head_sha

        ctx = RunContext(project, project.environments[env_name], compiled.output_dir(), click.echo,
                         head_sha(project.root), store)
        refused = rollouts_without_version(ctx, state, compiled, result)
        if refused:
            raise SpecopsError(f"refusing to apply: {refused}")
        if not yes and saved is None:
            if not sys.stdin.isatty():
                raise SpecopsError("refusing to apply without confirmation: pass --yes (or a saved PLANFILE)")
            click.confirm(f"Apply these changes to '{env_name}'?", abort=True)
        outcome = run(ctx, state, compiled, result)
    _report(project, env_name, outcome, result, ctx.scrub)


def _report(project, env_name: str, outcome, plan, scrub) -> None:
    """What apply did, each failure with no data value of a PII or restricted dataset (`scrub`: the run's; dbt's
    messages quote them)."""
    from compiler.plan.render import left_in_place

    click.echo("")
    for address, why in sorted(outcome.failed.items()):
        click.echo(scrub(f"FAILED   {address}: {why}"))
    for address, why in sorted(outcome.skipped.items()):
        click.echo(scrub(f"SKIPPED  {address}: {why}"))
    for text in outcome.warned:
        click.echo(scrub(f"WARNED   {text}"))
    for change in plan.resource_changes:  # destroyed specs: what apply did not remove, said once more
        if change.action == "delete" and (left := left_in_place(change)) is not None:
            click.echo(f"REMOVED  {change.address} from the specs: {left}")
    env = project.environments[env_name]
    warned = f", {len(outcome.warned)} check(s) warned" if outcome.warned else ""
    click.echo(f"Apply to '{env_name}': {len(outcome.done)} done, {len(outcome.failed)} failed, "
               f"{len(outcome.skipped)} skipped{warned}.")
    if env.warehouse.type == "duckdb":
        click.echo(f"  warehouse: {env.warehouse.get('path')} (duckdb; tables in schema main)")
    for name, info in sorted(outcome.models.items()):
        decided = f" ({info['decision']})" if info.get("decision") else ""
        click.echo(f"  model {name}: {info['registered_model']} version {info['candidate_version']}{decided}, alias "
                   f"'{info['alias']}' -> version {info['alias_version']}")
    if outcome.models and env.remote_tracking:
        click.echo(f"  MLflow: {env.tracking_uri}")
    elif outcome.models:
        click.echo(f"  MLflow UI: mlflow ui --backend-store-uri {env.tracking_uri}")
    if outcome.manifests is not None:
        click.echo(f"  manifests: {outcome.manifests}")
    if not outcome.ok:
        raise ReportedFailure(EXIT_INVALID)


@click.command()
@click.argument("lock_id")
@path_argument
@guarded
def force_unlock(lock_id: str, path: Path) -> None:
    """Remove a stale environment lock, given its ID (shown when an apply is refused): LOCK_ID [PATH]."""
    from compiler.apply.state import force_unlock as unlock
    from compiler.apply.state import unreadable_locks
    from compiler.cli.common import repo_root
    from compiler.paths import shown

    root = repo_root(path)
    env = unlock(root, lock_id)
    if env is not None:
        click.echo(f"lock {lock_id} on environment '{env}' removed")
        return
    # environments whose state (and lock) is kept in a remote backend: end the session holding the lock
    from compiler.apply.state import StateError
    from compiler.apply.statebackend import open_backend
    from compiler.front.check import check_repository

    project, _ = check_repository(root)
    unchecked = []
    for name, spec in sorted(project.environments.items()) if project is not None else []:
        if spec.state is None or spec.state.type == "local":
            continue
        try:
            with open_backend(project, name) as store:
                holder = store.force_unlock(lock_id)
        except StateError as exc:
            unchecked.append(f"{name} ({exc})")
            continue
        if holder is not None:
            click.echo(f"lock {lock_id} on environment '{name}' released: its session ({holder}) was ended")
            return
    more = f"; not checked: {'; '.join(unchecked)}" if unchecked else ""
    damaged = "".join(f"; {shown(p)} holds no lock ID ({why}): if no apply or train is running there, remove "
                      f"it with `rm {shown(p)}`" for p, why in unreadable_locks(root))
    raise SpecopsError(f"no lock has ID {lock_id}{damaged}{more}")
