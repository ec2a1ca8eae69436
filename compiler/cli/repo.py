"""Commands that read the repository: `validate`, `graph`, `schema` and `init`."""

from __future__ import annotations

import json
import shlex
from collections import Counter
from pathlib import Path

import click

from compiler.cli.common import (
    EXIT_INVALID,
    Given,
    ReportedFailure,
    SpecopsError,
    guarded,
    load_project,
    path_argument,
    print_diagnostics,
    repo_root,
    select_option,
    selection,
)
from compiler.speed.gc import batch_gc


@click.command()
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
    from compiler.speed import Speed

    root = repo_root(path)
    speed = Speed.for_run(use_cache=False)
    project, diags = check_repository(root, speed.files, speed.sql)
    summary = None
    if project is not None and fmt in ("text", "github"):
        counts = Counter(r.PREFIX for r in project.resources())
        detail = ", ".join(f"{n} {k.replace('_', ' ')}{'s' if n != 1 else ''}" for k, n in sorted(counts.items()))
        summary = f"valid: {sum(counts.values())} resources ({detail})"
    print_diagnostics(root, diags, fmt, summary)
    if project is None:
        raise ReportedFailure(EXIT_INVALID)


@click.command()
@path_argument
@select_option
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "dot", "mermaid", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--columns", is_flag=True, help="Column-level lineage (text or json): what each column derives from; "
              "select columns as dataset.column (x.col+ what reads it, +x.col its sources).")
@guarded
@batch_gc()
def graph(path: Path, select: tuple[str, ...], exclude: tuple[str, ...], fmt: str, columns: bool) -> None:
    """Print the dependency graph of the repository at PATH (dependencies first)."""
    from compiler.cli.graph_formats import RENDERERS

    project = load_project(path, to_stderr=True)
    if columns:
        from compiler.cli.graph_columns import (
            ColumnSelectorError,
            column_report,
            column_selectors,
            render_columns_json,
            render_columns_text,
        )

        if fmt not in ("text", "json"):
            raise click.BadParameter("--columns prints text or json", param_hint="--format")
        try:
            chosen, select = column_selectors(project, select)
        except ColumnSelectorError as exc:
            raise click.BadParameter(str(exc), param_hint="--select") from None
        nodes = selection(project, select, exclude)
        report = column_report(project, set(project.graph.nodes) if nodes is None else nodes, chosen)
        click.echo((render_columns_json if fmt == "json" else render_columns_text)(report), nl=False)
        return
    nodes = selection(project, select, exclude)
    click.echo(RENDERERS[fmt](project, set(project.graph.nodes) if nodes is None else nodes), nl=False)


@click.command()
@click.argument("kind", required=False)
@click.option("--all", "all_", is_flag=True, help="Every schema (with --out: write them into DIR).")
@click.option("--out", type=Given(file_okay=False, path_type=Path), help="Write the files into this folder.")
@guarded
def schema(kind: str | None, all_: bool, out: Path | None) -> None:
    """Print the JSON Schema of KIND (Dataset, QualityRule, ...; `any` for the one schema that accepts every
    kind; `plan` for the JSON plan's), or write all of them with --all --out DIR.

    \b
    For your editor's YAML language server (completion and checks as you type):
      specops schema --all --out schemas
    then, in the editor's settings (VS Code: settings.json), map the spec files to the
    schema that accepts every kind:
      "yaml.schemas": {"./schemas/specops.schema.json": ["specops.yaml", "specs/**/*.yaml"]}
    or start a file with a modeline; its path is relative to that file, e.g. in specs/datasets/:
      # yaml-language-server: $schema=../../schemas/specops.schema.json
    More in docs/editors.md.
    """
    from compiler.front.schema_bundle import BUNDLE_FILE
    from compiler.shipped import data_dir
    from compiler.spec.diagnostics import did_you_mean
    from compiler.spec.kinds import KINDS, kind_from_user

    folder = data_dir("schemas")
    files = [f"{stem}.schema.json" for stem in KINDS.values()] + [BUNDLE_FILE, "plan.schema.json"]
    if all_:
        if kind:
            raise click.UsageError("give either KIND or --all, not both")
        if out is None:
            for name, stem in KINDS.items():
                click.echo(f"{name}: {folder / (stem + '.schema.json')}")
            click.echo(f"any kind: {folder / BUNDLE_FILE}")
            click.echo(f"plan: {folder / 'plan.schema.json'}")
            return
        out.mkdir(parents=True, exist_ok=True)
        for name in files:
            (out / name).write_bytes((folder / name).read_bytes())
        click.echo(f"wrote {len(files)} schemas to {out} (one per kind, {BUNDLE_FILE} for any kind, and the JSON "
                   "plan's)")
        return
    if not kind:
        raise click.UsageError(f"name a kind ({', '.join(KINDS)}), or any, or plan, or pass --all")
    if kind.lower() in ("plan", "any"):
        name = "plan.schema.json" if kind.lower() == "plan" else BUNDLE_FILE
    else:
        resolved = kind_from_user(kind)
        if resolved is None:
            hint = did_you_mean(kind, [*KINDS, *KINDS.values(), "any", "plan"])
            raise click.BadParameter(f"unknown kind '{kind}'" + (f"; {hint}" if hint else
                                                                 f"; one of {', '.join(KINDS)}, any, plan"),
                                     param_hint="KIND")
        name = f"{KINDS[resolved]}.schema.json"
    text = (folder / name).read_text(encoding="utf-8")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out / name}")
    else:
        click.echo(json.dumps(json.loads(text), indent=2), nl=True)


@click.command()
@click.argument("directory", type=Given(file_okay=False, path_type=Path))
@click.option("--name", help="Project name (default: the folder's name, in snake case).")
@guarded
def init(directory: Path, name: str | None) -> None:
    """Scaffold a starting repository in DIRECTORY: a dataset loaded from a CSV file, a transform, a quality
    rule, a model with its training code, its deployments, and the environments dev and prod. It validates, and
    `specops apply --env dev --yes` runs it end to end on the embedded DuckDB and MLflow."""
    from compiler.cli.scaffold import ScaffoldError, scaffold

    try:
        written = scaffold(directory, name)
    except ScaffoldError as exc:
        raise SpecopsError(str(exc)) from None
    for rel in written:
        click.echo(f"  created {directory / rel}")
    # plan --against and the workflows compare git revisions: outside a repository, make one first
    git = "" if any((p / ".git").exists() for p in (directory.resolve(), *directory.resolve().parents)) else (
        "git init && git add -A && git commit -m 'specops scaffold' && ")
    click.echo(f"Next: cd {shlex.quote(str(directory))} && {git}specops validate && specops apply --env dev --yes "
               "(README.md there says more)")
