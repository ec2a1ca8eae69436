"""The `specops` command line: thin commands over the pipeline stages."""

from __future__ import annotations

import functools
import json
import os
import shlex
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from compiler import __version__
from compiler.paths import shown
from compiler.spec.diagnostics import Diagnostic, SpecError, UserError
from compiler.speed.gc import batch_gc

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class SpecopsError(click.ClickException):
    """A domain error: shown without a traceback, exit code 1."""

    exit_code = EXIT_INVALID


class ReportedFailure(click.exceptions.Exit):
    """The failure was already printed; exit with the code."""


path_argument = click.argument(
    "path", required=False, default=".", type=click.Path(file_okay=False, path_type=Path),
)
select_option = click.option(
    "--select", "-s", "select", multiple=True,
    help="dbt-style selector: name, +name, name+, kind:model, tag:x, path:..., a,b (intersection); repeatable.",
)


def guarded(func: F) -> F:
    """Turn unexpected exceptions into a one-line message (set SPECOPS_DEBUG=1 for the traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except SpecError as exc:
            _print_diagnostics(Path("."), exc.diagnostics, "text")
            raise ReportedFailure(EXIT_INVALID) from None
        except UserError as exc:
            raise SpecopsError(str(exc)) from None
        except OSError as exc:  # a path the user gave that cannot be written or read
            where = f" ({exc.filename})" if exc.filename else ""
            raise SpecopsError(f"{exc.strerror or exc}{where}") from None
        except Exception as exc:
            if os.environ.get("SPECOPS_DEBUG"):
                raise
            raise SpecopsError(f"internal error: {type(exc).__name__}: {exc} "
                               "(set SPECOPS_DEBUG=1 to see the traceback, and please report it)") from None

    return wrapper  # type: ignore[return-value]


def _print_diagnostics(root: Path, diags: list[Diagnostic], fmt: str, summary: str | None = None,
                       err: bool = False) -> None:
    from compiler.cli.report import RENDERERS

    click.echo(RENDERERS[fmt](root, diags, summary), nl=False, err=err)


def _root(path: Path) -> Path:
    if not path.exists():
        raise click.BadParameter(f"'{path}' does not exist", param_hint="PATH")
    return path.resolve()


def load_project(path: Path, fmt: str = "text", use_cache: bool = False, to_stderr: bool = False):
    """The checked project; on errors, print them all and exit 1.

    Commands whose standard output is data (plan --format json, graph -f json) pass `to_stderr`,
    so that warnings and errors never corrupt it.
    """
    from compiler.front.check import check_repository

    root = _root(path)
    project, diags = check_repository(root, use_cache)
    if project is None:
        _print_diagnostics(root, diags, fmt, err=to_stderr)
        raise ReportedFailure(EXIT_INVALID)
    if diags and fmt == "text":
        _print_diagnostics(root, diags, fmt, summary="", err=to_stderr)
    return project


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="specops")
def main() -> None:
    """specops: declarative GitOps specs for datasets, quality rules, transforms, models and deployments.

    \b
    Typical use:
      specops validate            check every spec (schema, references, graph, policy)
      specops graph -s +model:x   show the dependency graph
      specops schema Dataset      print a kind's JSON Schema (for editors)
      specops init my-repo        scaffold a new repository
    """


@main.command()
@path_argument
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
              show_default=True, help="Output format: text, json, github (workflow annotations) or sarif.")
@guarded
@batch_gc()
def validate(path: Path, fmt: str) -> None:
    """Check the spec repository at PATH; report every error with file:line:col.

    Exit codes: 0 valid, 1 invalid, 2 usage error.
    """
    from compiler.front.check import check_repository

    root = _root(path)
    project, diags = check_repository(root)
    summary = None
    if project is not None and fmt in ("text", "github"):
        counts = Counter(r.PREFIX for r in project.resources())
        detail = ", ".join(f"{n} {k.replace('_', ' ')}{'s' if n != 1 else ''}" for k, n in sorted(counts.items()))
        summary = f"valid: {sum(counts.values())} resources ({detail})"
    _print_diagnostics(root, diags, fmt, summary)
    if project is None:
        raise ReportedFailure(EXIT_INVALID)


@main.command()
@path_argument
@select_option
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "dot", "mermaid", "json"]), default="text",
              show_default=True, help="Output format.")
@guarded
@batch_gc()
def graph(path: Path, select: tuple[str, ...], fmt: str) -> None:
    """Print the dependency graph of the repository at PATH (dependencies first)."""
    from compiler.cli.graph_formats import RENDERERS
    from compiler.spec.selection import SelectionError
    from compiler.spec.selection import select as run_select

    project = load_project(path, to_stderr=True)
    try:
        nodes = run_select(project, select)
    except SelectionError as exc:
        raise click.BadParameter(str(exc), param_hint="--select") from None
    if select and not nodes:
        click.echo(f"warning: the selection {' '.join(select)!r} matched no resource", err=True)
    click.echo(RENDERERS[fmt](project, nodes), nl=False)


@main.command()
@click.argument("kind", required=False)
@click.option("--all", "all_", is_flag=True, help="Every kind's schema (with --out).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write the files into this folder.")
@guarded
def schema(kind: str | None, all_: bool, out: Path | None) -> None:
    """Print the JSON Schema of KIND (Dataset, QualityRule, ..., or plan), or write all of them with --all --out DIR.

    Point your editor's YAML language server at them, e.g. a first line
    `# yaml-language-server: $schema=schemas/dataset.schema.json`.
    """
    from compiler.shipped import data_dir
    from compiler.spec.diagnostics import did_you_mean
    from compiler.spec.kinds import KINDS, kind_from_user

    folder = data_dir("schemas")
    if all_:
        if kind:
            raise click.UsageError("give either KIND or --all, not both")
        if out is None:
            for name, stem in KINDS.items():
                click.echo(f"{name}: {folder / (stem + '.schema.json')}")
            return
        out.mkdir(parents=True, exist_ok=True)
        for stem in [*KINDS.values(), "plan"]:
            (out / f"{stem}.schema.json").write_bytes((folder / f"{stem}.schema.json").read_bytes())
        click.echo(f"wrote {len(KINDS) + 1} schemas to {out} (one per kind, and the JSON plan's)")
        return
    if not kind:
        raise click.UsageError(f"name a kind ({', '.join(KINDS)}), or plan, or pass --all")
    if kind.lower() == "plan":  # the JSON plan's own schema (specops plan --format json)
        text = (folder / "plan.schema.json").read_text(encoding="utf-8")
        click.echo(json.dumps(json.loads(text), indent=2))
        return
    resolved = kind_from_user(kind)
    if resolved is None:
        hint = did_you_mean(kind, list(KINDS) + list(KINDS.values()))
        raise click.BadParameter(f"unknown kind '{kind}'" + (f"; {hint}" if hint else f"; one of {', '.join(KINDS)}"),
                                 param_hint="KIND")
    text = (folder / f"{KINDS[resolved]}.schema.json").read_text(encoding="utf-8")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{KINDS[resolved]}.schema.json").write_text(text, encoding="utf-8")
        click.echo(f"wrote {out / (KINDS[resolved] + '.schema.json')}")
    else:
        click.echo(json.dumps(json.loads(text), indent=2), nl=True)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Project name (default: the folder's name, in snake case).")
@guarded
def init(directory: Path, name: str | None) -> None:
    """Scaffold a small, valid spec repository in DIRECTORY."""
    from compiler.cli.scaffold import ScaffoldError, scaffold

    try:
        written = scaffold(directory, name)
    except ScaffoldError as exc:
        raise SpecopsError(str(exc)) from None
    for rel in written:
        click.echo(f"  created {directory / rel}")
    click.echo(f"Next: cd {shlex.quote(str(directory))} && specops validate && specops graph")


@main.command(name="compile")
@path_argument
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: the Project's spec.output, e.g. build/).")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 listing stale, missing and extra generated files (CI drift check).")
@guarded
@batch_gc()
def compile_cmd(path: Path, out: Path | None, check: bool) -> None:
    """Validate, then emit the dbt project, Dockerfiles, Kubernetes manifests and workflows.

    The output folder is replaced atomically; files no longer produced are removed.
    """
    from compiler.emit.compile import compile_project
    from compiler.output.write import check_drift, write_output, write_workflows

    project = load_project(path)
    compiled = compile_project(project)
    out_dir = compiled.output_dir(out.resolve() if out else None)
    _refuse_spec_folders(project, out_dir)
    if check:
        drift = check_drift(out_dir, compiled.workflows_dir, compiled.artifacts)
        if drift.clean:
            if out_dir.is_dir():
                click.echo(f"up to date: {len(compiled.artifacts)} generated files match the specs")
            else:
                click.echo(f"up to date: the generated workflows match the specs ({shown(out_dir)} is not kept "
                           "here, so only the workflows were compared)")
            return
        for label, items in (("stale", drift.stale), ("missing", drift.missing), ("extra", drift.extra)):
            for item in items:
                click.echo(f"{label:>8}  {item}")
        click.echo(f"generated files are out of date ({len(drift.stale)} stale, {len(drift.missing)} missing, "
                   f"{len(drift.extra)} extra); run `specops compile`")
        raise ReportedFailure(EXIT_INVALID)
    write_output(out_dir, compiled.artifacts)
    write_workflows(compiled.workflows_dir, compiled.artifacts)
    counts = Counter(a.path.split("/", 1)[0] if a.base == "output" else "workflows" for a in compiled.artifacts)
    detail = ", ".join(f"{k}: {n}" for k, n in sorted(counts.items()))
    click.echo(f"compiled {len(compiled.artifacts)} files into {shown(out_dir)} ({detail})")


@main.command()
@path_argument
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="The compiled output to check (default: compile afresh into the Project's output folder).")
@click.option("--only", multiple=True, help="Run only this validator (repeatable): dbt, kubernetes-validate, "
              "hadolint, actionlint, zizmor, checkov, 'specops k8s policy'.")
@guarded
@batch_gc()
def verify(path: Path, out: Path | None, only: tuple[str, ...]) -> None:
    """Run the installed validators over the compiled output and report their findings together.

    dbt parse, kubernetes-validate --strict, hadolint, actionlint, zizmor --offline and checkov;
    a validator that is not installed is skipped with a note. Exit 1 when any reports findings.
    """
    from compiler.emit.compile import compile_project
    from compiler.output.verify import VALIDATORS, Target
    from compiler.output.verify import verify as run_verify
    from compiler.output.write import write_output, write_workflows

    project = load_project(path)
    compiled = compile_project(project)
    out_dir = out.resolve() if out else compiled.output_dir()
    if out is None:
        write_output(out_dir, compiled.artifacts)
        write_workflows(compiled.workflows_dir, compiled.artifacts)
    workflows = sorted(compiled.workflows_dir / a.path for a in compiled.artifacts if a.base == "workflows")
    known = {label for label, _, _ in VALIDATORS} | {binary for _, binary, _ in VALIDATORS if binary}
    unknown = sorted(set(only) - known)
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


def _refuse_spec_folders(project, out_dir: Path) -> None:
    """The output is replaced as a whole: it may not be the repository or overlap a spec folder."""
    from compiler.paths import output_overlap

    problem = output_overlap(project.root, out_dir, project.project.specs)
    if problem:
        raise click.BadParameter(f"{shown(out_dir)}: {problem}, and compile replaces its output folder as a "
                                 "whole", param_hint="--out")


def _register_operations() -> None:
    """plan/apply/train live in their own module; importing it registers them on `main`."""
    import compiler.cli.ops  # noqa: F401


_register_operations()
