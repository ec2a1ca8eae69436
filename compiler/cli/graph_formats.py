"""Rendering the dependency graph: text, dot, mermaid and json."""

from __future__ import annotations

import json

from compiler.spec.ir import Dataset, Deployment, Model, Resource, Transform
from compiler.spec.project import SpecProject

_SHAPES = {
    "environment": "house", "dataset": "cylinder", "quality_rule": "note", "transform": "box",
    "model": "component", "deployment": "box3d",
}


def describe(res: Resource) -> str:
    """A few words on a resource, for listings."""
    if isinstance(res, Dataset):
        if res.source is None:
            return "produced"
        return {"table": "source table", "file": "source file", "external": "external files", "dvc": "DVC file",
                "kafka": "Kafka topic"}[res.source.type]
    if isinstance(res, Transform):
        return res.materialization + (f", schedule {res.schedule}" if res.schedule else "")
    if isinstance(res, Model):
        return f"{res.task}, {res.framework}"
    if isinstance(res, Deployment):
        return f"{res.runtime} in {res.environment}"
    return res.PREFIX.replace("_", " ")


def render_text(project: SpecProject, nodes: set[str]) -> str:
    graph = project.graph
    lines = []
    for addr in graph.topological(nodes):
        res = project.get(addr)
        detail = describe(res) if res else ""
        lines.append(f"{addr}  ({detail})")
        parents = [p for p in graph.parents(addr) if p in nodes]
        if parents:
            lines.append(f"    <- {', '.join(parents)}")
    lines.append(f"{len(nodes)} resource(s), {sum(1 for a, b in graph.edges if a in nodes and b in nodes)} edge(s)")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_dot(project: SpecProject, nodes: set[str]) -> str:
    out = ["digraph specops {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for addr in sorted(nodes):
        kind = addr.split(".", 1)[0]
        out.append(f"  {_quote(addr)} [shape={_SHAPES.get(kind, 'box')}];")
    for a, b in project.graph.edges:
        if a in nodes and b in nodes:
            out.append(f"  {_quote(a)} -> {_quote(b)};")
    out.append("}")
    return "\n".join(out) + "\n"


def render_mermaid(project: SpecProject, nodes: set[str]) -> str:
    ids = {addr: f"n{i}" for i, addr in enumerate(sorted(nodes))}
    shapes = {"dataset": ("[(", ")]"), "transform": ("[", "]"), "model": ("[[", "]]"),
              "deployment": ("{{", "}}"), "environment": ("[/", "/]"), "quality_rule": (">", "]")}
    out = ["flowchart LR"]
    for addr, ident in ids.items():
        left, right = shapes.get(addr.split(".", 1)[0], ("[", "]"))
        out.append(f'  {ident}{left}"{addr}"{right}')
    for a, b in project.graph.edges:
        if a in ids and b in ids:
            out.append(f"  {ids[a]} --> {ids[b]}")
    return "\n".join(out) + "\n"


def _columns(project: SpecProject, ds: Dataset) -> list[dict]:
    """A dataset's columns with their lineage: the input columns each derives from, and whether it is PII."""
    lineage = project.lineage
    return [{"name": c.name, "type": c.type, "pii": c.pii or lineage.is_pii(ds.name, c.name),
             "sources": [f"{d}.{col}" for d, col in lineage.sources_of(ds.name, c.name)]} for c in ds.columns]


def render_json(project: SpecProject, nodes: set[str]) -> str:
    doc = {
        "nodes": [
            {
                "address": addr,
                "kind": addr.split(".", 1)[0],
                "name": addr.split(".", 1)[1],
                "file": res.loc.file if (res := project.get(addr)) else None,
                "line": res.loc.line if res else None,
                "tags": list(res.meta.tags) if res else [],
                "description": describe(res) if res else None,
                **({"columns": _columns(project, res)} if isinstance(res, Dataset) else {}),
            }
            for addr in sorted(nodes)
        ],
        "edges": [[a, b] for a, b in project.graph.edges if a in nodes and b in nodes],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


RENDERERS = {"text": render_text, "dot": render_dot, "mermaid": render_mermaid, "json": render_json}
