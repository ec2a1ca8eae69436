"""Commands that produce files: `compile` and `verify`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from compiler.cli.common import (
    EXIT_INVALID,
    Given,
    LateHelpOption,
    ReportedFailure,
    compile_all,
    guarded,
    load_project,
    path_argument,
)
from compiler.paths import shown
from compiler.speed.gc import batch_gc


@click.command(name="compile")
@path_argument
@click.option("--out", type=Given(file_okay=False, path_type=Path),
              help="Output folder (default: the Project's spec.output, e.g. build/).")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 listing stale, missing and extra generated files (CI drift check).")
@guarded
@batch_gc()
def compile_cmd(path: Path, out: Path | None, check: bool) -> None:
    """Validate, then emit the dbt project, Dockerfiles, Kubernetes manifests and workflows.

    The output folder is replaced atomically; files no longer produced are removed.
    """
    from compiler.output.localdir import warehouse_folders
    from compiler.output.write import check_drift, check_workflows, write_output, write_workflows
    from compiler.speed import Speed

    speed = Speed.for_run(use_cache=False)
    project = load_project(path, speed=speed)
    compiled = compile_all(project, speed)
    out_dir = compiled.output_dir(out.resolve() if out else None)
    _refuse_spec_folders(project, out_dir)
    if check:
        drift = check_drift(out_dir, compiled.workflows_dir, compiled.artifacts, compiled.workflow_prefix)
        if drift.clean:
            if out_dir.is_dir():
                click.echo(f"up to date: {len(compiled.artifacts)} generated files match the specs")
            else:
                click.echo(f"up to date: the generated workflows match the specs ({shown(out_dir)} is not kept "
                           "here, so only the workflows were compared)")
            return
        for label, items in (("stale", drift.stale), ("missing", drift.missing), ("extra", drift.extra),
                             ("interrupted", drift.interrupted)):
            for item in items:
                click.echo(f"{label:>8}  {item}")
        killed = (f", {len(drift.interrupted)} left by an interrupted compile (the next compile puts the previous "
                  "output back or removes them)") if drift.interrupted else ""
        click.echo(f"generated files are out of date ({len(drift.stale)} stale, {len(drift.missing)} missing, "
                   f"{len(drift.extra)} extra{killed}); run `specops compile`")
        raise ReportedFailure(EXIT_INVALID)
    check_workflows(compiled.workflows_dir, compiled.artifacts)  # all or nothing: what is in the way, first
    warehouse_folders(project, make=False)
    write_output(out_dir, compiled.artifacts, write=speed.write_groups)
    write_workflows(compiled.workflows_dir, compiled.artifacts, compiled.workflow_prefix)
    warehouse_folders(project)  # plain `dbt build` of the output must work before any apply
    counts = Counter(a.path.split("/", 1)[0] if a.base == "output" else "workflows" for a in compiled.artifacts)
    detail = ", ".join(f"{k}: {n}" for k, n in sorted(counts.items()))
    click.echo(f"compiled {len(compiled.artifacts)} files into {shown(out_dir)} ({detail})")


@click.command()
@path_argument
@click.option("--out", type=Given(file_okay=False, path_type=Path),
              help="The compiled output to check (default: compile afresh into the Project's output folder).")
@click.option("--only", multiple=True, cls=LateHelpOption, late_help=lambda: _only_help())
@click.option("--install-hint", is_flag=True,
              help="Only list the validators: where each one was found, or how to install it.")
@guarded
@batch_gc()
def verify(path: Path, out: Path | None, only: tuple[str, ...], install_hint: bool) -> None:
    """Run the installed validators over the compiled output and report their findings together.

    Every validator of --only (dbt parse, kubernetes-validate --strict, zizmor --offline, ...); one
    that is not installed is skipped with a note saying how to get it (all of them: --install-hint).
    Exit 1 when any reports findings.
    """
    from compiler.output.verify import Target, tool_report
    from compiler.output.verify import verify as run_verify
    from compiler.output.write import write_output, write_workflows
    from compiler.speed import Speed

    if install_hint:
        for label, found, how in tool_report():
            click.echo(f"{label:<20} {found}\n{'':<20} to install: {how}")
        click.echo("specops k8s policy   built in")
        return

    speed = Speed.for_run(use_cache=False)
    project = load_project(path, speed=speed)
    compiled = compile_all(project, speed)
    out_dir = out.resolve() if out else compiled.output_dir()
    if out is None:
        write_output(out_dir, compiled.artifacts, write=speed.write_groups)
        write_workflows(compiled.workflows_dir, compiled.artifacts, compiled.workflow_prefix)
    workflows = sorted(compiled.workflows_dir / a.path for a in compiled.artifacts if a.base == "workflows")
    known = validator_names()
    unknown = sorted(set(only) - set(known))
    if unknown:
        raise click.BadParameter(f"unknown validator {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                                 param_hint="--only")
    if out is not None and not out_dir.is_dir():
        raise click.BadParameter(f"{out} is not a folder; compile first, or leave --out out", param_hint="--out")
    results = run_verify(Target(project, out_dir, workflows), set(only) or None)
    failed = 0
    for r in results:
        mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[r.status]
        click.echo(f"{mark}  {r.tool:<20} {len(r.findings)} finding(s)" + (f"  ({r.note})" if r.note else ""))
        for f in r.findings[:50]:
            click.echo(f"        {f}")
        failed += r.status == "failed"
    ran = sum(r.status != "skipped" for r in results)
    click.echo(f"verify: {ran} validator(s) ran, {failed} reported findings, "
               f"{len(results) - ran} skipped")
    if failed:
        raise ReportedFailure(EXIT_INVALID)


def validator_names() -> list[str]:
    """What `verify --only` accepts: each validator's name, and the program it runs where that differs."""
    from compiler.output.verify import VALIDATORS

    return [*(label for label, _, _ in VALIDATORS),
            *(binary for label, binary, _ in VALIDATORS if binary and binary != label)]


def _only_help() -> str:
    from compiler.output.verify import VALIDATORS

    names = [label if binary in (None, label) else f"{label} (or {binary})" for label, binary, _ in VALIDATORS]
    return f"Run only this validator (repeatable; quote a name with spaces): {', '.join(names)}."


def _refuse_spec_folders(project, out_dir: Path) -> None:
    """The output is replaced as a whole: it may not be the repository or overlap a spec folder."""
    from compiler.paths import output_overlap

    problem = output_overlap(project.root, out_dir, project.project.specs)
    if problem:
        raise click.BadParameter(f"{shown(out_dir)}: {problem}, and compile replaces its output folder as a "
                                 "whole", param_hint="--out")
