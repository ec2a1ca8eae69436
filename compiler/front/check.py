"""The front half of the pipeline: files -> documents -> IR -> graph -> checked SpecProject."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from compiler.front.build import Builder
from compiler.front.documents import Document, FileResult, LoadResult
from compiler.front.load import FileWork, each_file, load_repository
from compiler.front.parse import parse_file
from compiler.front.rules import RULES, Context, check_references
from compiler.front.sql import SqlWork, analyze_each
from compiler.front.sql.project import build_lineage
from compiler.front.validate import validate_file
from compiler.spec.diagnostics import Diagnostic, SpecError, errors_only
from compiler.spec.graph import SpecGraph
from compiler.spec.ir import Dataset, Deployment, Environment, Model, Project, QualityRule, Resource, Transform
from compiler.spec.kinds import NAME_RE
from compiler.spec.project import SpecProject


def check_file(rel: str, raw: bytes) -> FileResult:
    """Everything one file's path and bytes say on their own: parsed, then every document validated."""
    return validate_file(parse_file(rel, raw), raw)


def check_repository(root: Path, files: FileWork = each_file, sql: SqlWork = analyze_each
                     ) -> tuple[SpecProject | None, list[Diagnostic]]:
    """Run every check; return the project (None when any error was found) and all diagnostics.

    `files` runs check_file over the spec files (compiler.front.load), `sql` analyses the transforms' SQL
    (compiler.front.sql); the result is the same whichever runs them.
    """
    root = root.resolve()
    loaded = load_repository(root, check_file, files)
    diags = list(loaded.diagnostics)
    project_doc = loaded.project
    docs = ([project_doc] if project_doc else []) + loaded.documents
    valid = [d for d in docs if (d.file, d.index) not in loaded.invalid]
    invalid = frozenset(d.address for d in docs if (d.file, d.index) in loaded.invalid) | frozenset(loaded.unloaded)
    failed = [d for d in docs if (d.file, d.index) in loaded.invalid]
    claimed = frozenset(_output_of(d) for d in failed if d.kind == "Transform") - {None}
    if project_doc is not None and project_doc not in valid:
        # an invalid Project must not hide the other errors: check the rest against its defaults
        valid = [_project_standin(project_doc), *valid]
    project = _resolve(loaded, valid, diags, invalid, claimed, sql) if project_doc is not None else None
    diags.sort(key=Diagnostic.sort_key)
    if errors_only(diags):
        return None, diags
    return project, diags


def require_project(root: Path, files: FileWork = each_file, sql: SqlWork = analyze_each) -> SpecProject:
    """The checked project, or SpecError with every diagnostic."""
    project, diags = check_repository(root, files, sql)
    if project is None:
        raise SpecError(diags)
    return project


def _project_standin(doc: Document) -> Document:
    """The Project document reduced to what every Project has, so that resolution can go on."""
    from compiler.front.yamlparse import ParsedDocument

    meta = doc.data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not NAME_RE.match(name):
        name = "project"
    data = {"apiVersion": doc.data.get("apiVersion"), "kind": "Project", "metadata": {"name": name}, "spec": {}}
    parsed = ParsedDocument(data, doc.parsed.line, doc.parsed.col, doc.parsed.positions, doc.parsed.key_positions)
    return Document(doc.file, doc.index, "Project", name, parsed)


def _output_of(doc: Document) -> str | None:
    spec = doc.data.get("spec")
    output = spec.get("output") if isinstance(spec, dict) else None
    return output if isinstance(output, str) else None


def _resolve(loaded: LoadResult, valid: list[Document], diags: list[Diagnostic],
             invalid: frozenset[str], claimed: frozenset[str], sql: SqlWork = analyze_each) -> SpecProject | None:
    builder = Builder(loaded.root, diags)
    built: dict[str, Resource] = {}
    docs: dict[str, Document] = {}
    fingerprints: dict[str, str] = {}
    for doc in valid:
        if doc.address in docs:
            continue  # a duplicate name, already reported: the first definition wins
        res = builder.build(doc)
        built[res.address] = res
        docs[res.address] = doc
        key = loaded.file_keys.get(doc.file)
        if key:
            fingerprints[res.address] = _fingerprint(key, str(doc.index), *(f"{f}\0{found}" for f, found in
                                                                             builder.reads))
    project = next((r for r in built.values() if isinstance(r, Project)), None)
    if project is None:
        return None

    groups: dict[type, dict[str, Resource]] = {cls: {} for cls in (Environment, Dataset, QualityRule, Transform,
                                                                      Model, Deployment)}
    for _, res in sorted(built.items()):  # by address: every group in name order
        group = groups.get(type(res))
        if group is not None:
            group[res.name] = res

    ctx = Context(
        project=project, environments=groups[Environment], datasets=groups[Dataset],  # type: ignore[arg-type]
        rules=groups[QualityRule], transforms=groups[Transform], models=groups[Model],  # type: ignore[arg-type]
        deployments=groups[Deployment], docs=docs, graph=SpecGraph(), invalid=invalid,  # type: ignore[arg-type]
        claimed_outputs=claimed, root=loaded.root,
    )
    diags.extend(check_references(ctx))
    ctx.deployments = {name: _resolve_alias(d, ctx.models) for name, d in ctx.deployments.items()}
    for d in ctx.deployments.values():  # the alias may come from the model's spec
        if d.address in fingerprints:
            fingerprints[d.address] = _fingerprint(fingerprints[d.address], "alias", str(d.alias))
    ctx.graph = build_graph(ctx)
    ctx.lineage = build_lineage(project, ctx.environments, ctx.datasets, ctx.transforms, ctx.rules, ctx.models, sql)
    for rule in RULES:
        diags.extend(rule(ctx))
    if errors_only(diags):
        return None
    warnings = tuple(d for d in diags if d.severity == "warning")
    return SpecProject(
        root=loaded.root, project=project, environments=ctx.environments, datasets=ctx.datasets,
        rules=ctx.rules, transforms=ctx.transforms, models=ctx.models, deployments=ctx.deployments,
        graph=ctx.graph, warnings=warnings, fingerprints=fingerprints, lineage=ctx.lineage,
    )


def _fingerprint(*parts: str) -> str:
    """What a resource was built from: its file's key, its place in the file, the files it read (and for a
    deployment, the alias it resolved). Equal fingerprints, equal resources (compiler.speed.digests relies on it)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]  # 128 bits: plenty to tell resources apart


def _resolve_alias(d: Deployment, models: dict[str, Model]) -> Deployment:
    """A deployment with neither alias nor version serves the model's registry alias."""
    if d.alias is None and d.version is None and d.model in models:
        return replace(d, alias=models[d.model].alias)
    return d


def build_graph(ctx: Context) -> SpecGraph:
    """Edges run from what is read to what reads it; dangling references are simply left out."""
    g = SpecGraph()
    for group in ctx.by_kind().values():
        for res in group.values():
            g.add_node(res.address)

    def edge(kind: str, name: str, downstream: str) -> None:
        if name in ctx.by_kind()[kind]:
            g.add_edge(f"{kind}.{name}", downstream)

    for t in ctx.transforms.values():
        for name in t.inputs:
            edge("dataset", name, t.address)
        if t.output in ctx.datasets:
            g.add_edge(t.address, f"dataset.{t.output}")
    for r in ctx.rules.values():
        edge("dataset", r.dataset, r.address)
        for c in r.checks:
            if c.to_dataset:
                edge("dataset", c.to_dataset, r.address)
    for m in ctx.models.values():
        assert m.training is not None
        edge("dataset", m.training.dataset, m.address)
    for d in ctx.deployments.values():
        edge("model", d.model, d.address)
        edge("environment", d.environment, d.address)
    return g
