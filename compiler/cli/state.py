"""`specops state list|show|pull|push`: look at and move an environment's apply state, wherever its backend keeps
it (compiler.apply.statebackend), as `terraform state` does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compiler.cli.common import (
    EXIT_INVALID,
    Given,
    ReportedFailure,
    SpecopsError,
    env_option,
    environment,
    guarded,
    load_project,
    path_argument,
)


@click.group("state")
def state() -> None:
    """Inspect and move the apply state of environments: list, show, pull, push."""


@state.command("list")
@path_argument
@guarded
def list_(path: Path) -> None:
    """Every environment, where its state is kept, and its serial and lineage."""
    from compiler.apply.state import StateError, parse_state
    from compiler.apply.statebackend import open_backend
    from compiler.apply.statebackend.base import summarize_bytes
    from compiler.spec.diagnostics import SpecError

    project = load_project(path, to_stderr=True)
    failed = False
    for name in sorted(project.environments):
        backend = project.environments[name].state
        where = f"{backend.type} (not reached)" if backend is not None else "local file"
        try:
            with open_backend(project, name) as store:
                where = store.describe(name)
                raw = store.read(name)
                if raw is None:
                    click.echo(f"{name}\t(no state yet)\t{where}")
                    continue
                parse_state(raw, project.root, name, source=where)  # a damaged state is said so, located
                found = summarize_bytes(name, raw)
                updated = next((s.updated for s in store.stored() if s.environment == name), "")
        except (StateError, SpecError) as exc:
            why = str(exc) if isinstance(exc, StateError) else "; ".join(
                f"{d.message} (line {d.line})" if d.line else d.message for d in exc.diagnostics[:3])
            click.echo(f"{name}\t(cannot read its state: {why})\t{where}")  # the same columns as the others
            failed = True
            continue
        click.echo(f"{name}\tserial {found.serial}\tlineage {found.lineage or '-'}\t"
                   f"{('updated ' + updated + chr(9)) if updated else ''}{where}")
    if failed:
        raise ReportedFailure(EXIT_INVALID)


@state.command()
@path_argument
@env_option
@click.option("--address", help="Show the applied snapshot of this resource (e.g. model.churn).")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@guarded
def show(path: Path, env: str | None, address: str | None, fmt: str) -> None:
    """The environment's state: serial, lineage, applied resources, model versions, pending work."""
    from compiler.apply.statebackend import open_backend

    project = load_project(path, to_stderr=True)
    name = environment(project, env)
    with open_backend(project, name) as store:
        found = store.load(name)
        where = store.describe(name)
    if address is not None:
        snap = found.resources.get(address)
        if snap is None:
            raise SpecopsError(f"environment '{name}' has applied no resource {address}")
        click.echo(json.dumps(snap, indent=2, sort_keys=True) if fmt == "json" else _yaml(snap), nl=fmt == "json")
        return
    if fmt == "json":
        click.echo(json.dumps(found.to_json(), indent=2, sort_keys=True))
        return
    if found.empty:
        click.echo(f"environment '{name}' has no state yet ({where})")
        return
    kinds: dict[str, int] = {}
    for res in found.resources:
        kinds[res.split(".", 1)[0]] = kinds.get(res.split(".", 1)[0], 0) + 1
    click.echo(f"environment  {name}\nstored in    {where}\nlineage      {found.lineage}\nserial       "
               f"{found.serial}\nwritten by   specops {found.tool_version or '?'}")
    click.echo("resources    " + (", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"))
    for model, info in sorted(found.models.items()):
        click.echo(f"model        {model}: {info.get('registered_model')} version {info.get('candidate_version')}, "
                   f"alias '{info.get('alias')}' -> version {info.get('alias_version')}")
    for addr, item in sorted(found.pending.items()):
        click.echo(f"pending      {addr}: {item.get('work')}")


def _yaml(data: object) -> str:
    from compiler.emit.yamlemit import emit

    return emit(data)


@state.command()
@path_argument
@env_option
@click.option("--out", "out_file", type=Given(dir_okay=False, path_type=Path),
              help="Write the state here instead of to standard output.")
@guarded
def pull(path: Path, env: str | None, out_file: Path | None) -> None:
    """Print (or save) the environment's state, byte for byte as its backend keeps it."""
    from compiler.apply.statebackend import open_backend

    project = load_project(path, to_stderr=True)
    name = environment(project, env)
    with open_backend(project, name) as store:
        raw = store.read(name)
    if raw is None:
        raise SpecopsError(f"environment '{name}' has no state yet")
    if out_file is not None:
        from compiler.output.atomic import write_file

        write_file(out_file, raw)
        click.echo(f"wrote the state of '{name}' to {out_file}", err=True)
    else:
        sys.stdout.buffer.write(raw)


def _stored_state(raw: bytes, project, name: str, file: Path):
    """The stored state `push` would replace; unreadable, the error says --force replaces it anyway."""
    from dataclasses import replace

    from compiler.apply.state import StateError, parse_state
    from compiler.spec.diagnostics import SpecError

    remedy = f"pass --force to replace it with {file}"
    try:
        return parse_state(raw, project.root, name, project.project.name)
    except SpecError as exc:
        raise SpecError([replace(d, hint=f"the stored state cannot be read: {remedy}")
                         for d in exc.diagnostics]) from None
    except StateError as exc:
        raise StateError(f"{exc}; {remedy}") from None


@state.command()
@click.argument("file", type=Given(dir_okay=False, exists=True, path_type=Path))
@path_argument
@env_option
@click.option("--force", is_flag=True, help="Replace a state of another lineage, or of a higher serial.")
@guarded
def push(file: Path, path: Path, env: str | None, force: bool) -> None:
    """Store FILE (a state saved by `state pull`, or a local .specops/state/<env>.json) as the environment's state.

    Refused, unless --force, when the stored state has another lineage or a higher serial (the file is older
    than what is there). Takes the environment's lock while it writes.
    """
    from compiler.apply.state import parse_state
    from compiler.apply.statebackend import open_backend
    from compiler.cli.ops import locked
    from compiler.paths import shown

    project = load_project(path, to_stderr=True)
    name = environment(project, env)
    content = file.read_bytes()
    new = parse_state(content, file.parent, name, project.project.name, source=shown(file), pushed=True)
    if new.empty:
        raise SpecopsError(f"{file} holds no state (no lineage)")
    with open_backend(project, name) as store, locked(project, name, path, store):
        raw = store.read(name)
        if raw is not None and not force:
            old = _stored_state(raw, project, name, file)
            if old.lineage != new.lineage:
                raise SpecopsError(f"the stored state of '{name}' has lineage {old.lineage}, the file {new.lineage}: "
                                   "they are different histories (pass --force to replace it anyway)")
            if old.serial > new.serial:
                raise SpecopsError(f"the stored state of '{name}' has serial {old.serial}, newer than the file's "
                                   f"{new.serial} (pass --force to replace it anyway)")
        store.push(name, content)
        where = store.describe(name)
    click.echo(f"state of '{name}' (serial {new.serial}, lineage {new.lineage}) stored in {where}")
