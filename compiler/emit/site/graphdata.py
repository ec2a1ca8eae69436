"""The graph as the page reads it: `data.js`, columnar (node i is index i of every array), strings interned.

JSON cannot be fetched by a page opened from disk (file://), so the data is a script that sets
`window.SPECOPS_DATA`. Columns keep it small at 10,000 resources (about 0.6 MB).
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from compiler.emit.site.layout import layered_layout
from compiler.emit.site.planview import ACTIONS, CATEGORIES, WORKS, PlanView
from compiler.spec.project import SpecProject

# kinds in stage order: the legend and the page's colours follow it
KINDS = ("environment", "dataset", "quality_rule", "transform", "model", "deployment")
COLLAPSE_AT = 1500  # from this many resources the page opens collapsed (groups of resources)
XSTEP, YSTEP = 260, 34  # pixels between layers and between rows


def _sorted_interned(values: set[str]) -> tuple[list[str], dict[str, int]]:
    ordered = sorted(values)
    return ordered, {v: i for i, v in enumerate(ordered)}


def graph_data(project: SpecProject, plan: PlanView | None = None) -> dict[str, Any]:
    """The page's data: nodes (sorted by address), their layout, edges, and the plan's marks."""
    graph = project.graph
    ids = graph.nodes
    index = {a: i for i, a in enumerate(ids)}
    res = [project.get(a) for a in ids]
    files, file_ix = _sorted_interned({r.loc.file for r in res if r is not None})
    owners, owner_ix = _sorted_interned({r.meta.owner for r in res if r is not None and r.meta.owner})
    tags, tag_ix = _sorted_interned({t for r in res if r is not None for t in r.meta.tags})
    edges = graph.edges
    folder = {a: posixpath.dirname(r.loc.file) if r is not None else "" for a, r in zip(ids, res, strict=True)}
    place = layered_layout(ids, edges, start_key=lambda a: (folder[a],))
    data: dict[str, Any] = {
        "format": 1,
        "project": {"name": project.project.name, "description": project.project.meta.description or ""},
        "kinds": list(KINDS),
        "files": files, "owners": owners, "tags": tags,
        "xstep": XSTEP, "ystep": YSTEP,
        "collapse": "folder" if len(ids) >= COLLAPSE_AT else "none",
        "id": ids,
        "kind": [KINDS.index(a.split(".", 1)[0]) for a in ids],
        "file": [file_ix[r.loc.file] if r is not None else -1 for r in res],
        "owner": [owner_ix[r.meta.owner] if r is not None and r.meta.owner else -1 for r in res],
        # tags in the order written: the first is a resource's primary tag (grouping by tag uses it)
        "tag": [[tag_ix[t] for t in r.meta.tags] if r is not None else [] for r in res],
        # the files a resource is built from besides its spec (SQL, training, data): `path:` selects by them too
        "inputs": [sorted({posixpath.normpath(f) for f in r.input_files()}) if r is not None else [] for r in res],
        "layer": [place[a][0] for a in ids],
        "row": [place[a][1] for a in ids],
        "edges": [i for a, b in edges for i in (index[a], index[b])],
        "plan": None,
    }
    if plan is not None:
        data["plan"] = _plan_marks(plan, ids, index, edges)
        data["plan"]["stale"] = plan.spec_digest is not None and plan.spec_digest != project.spec_digest
    return data


def _plan_marks(plan: PlanView, ids: list[str], index: dict[str, int],
                edges: list[tuple[str, str]]) -> dict[str, Any]:
    act, cat, work = [0] * len(ids), [0] * len(ids), [0] * len(ids)
    deleted = []
    for c in plan.changes:
        i = index.get(c.address)
        if i is None:
            deleted.append({"address": c.address, "action": c.action, "category": c.category})
            continue
        act[i] = ACTIONS.index(c.action) + 1
        cat[i] = CATEGORIES.index(c.category) + 1
    on_path: set[tuple[str, str]] = set()
    for item in plan.impacts:
        i = index.get(item.address)
        if i is not None:
            work[i] = WORKS.index(item.work) + 1
        on_path.update(zip(item.path, item.path[1:], strict=False))
    edge_index = {e: k for k, e in enumerate(edges)}
    return {
        "actions": list(ACTIONS), "categories": list(CATEGORIES), "works": list(WORKS),
        "environment": plan.environment, "baseline": plan.baseline, "summary_line": plan.summary_line,
        "complete": plan.complete,
        "act": act, "cat": cat, "work": work,
        "impact_edges": sorted(edge_index[e] for e in on_path if e in edge_index),
        "deleted": deleted,
        "lists": {w: plan.by_work(w) for w in WORKS},
    }


def data_js(data: dict[str, Any]) -> bytes:
    """The data as a classic script; ASCII JSON with sorted keys, so the bytes are stable."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return f"window.SPECOPS_DATA={text};\n".encode("ascii")


__all__ = ["COLLAPSE_AT", "KINDS", "data_js", "graph_data"]
