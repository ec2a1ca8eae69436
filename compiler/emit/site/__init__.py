"""The docs site backend: the whole graph as a static web site (`specops docs`).

    index.html          the graph (Cytoscape.js), search, selectors, focus, the plan overlay
    data.js             the graph's data, read by index.html (compiler.emit.site.graphdata)
    r/<address>.html    one page per resource: contract, checks, SQL, training, serving, its plan
    resources.html      every resource, listed (for reading without JavaScript)
    plan.html           with a plan: changes, impact, generated-file diffs
    static/             the page's code and the vendored JavaScript with its licenses
    manifest.json       what specops wrote (so a later run may replace the folder)

A pure function, like every backend: the checked project (and a plan's JSON, and what a model
registry said, when given) in, files out; the same inputs give the same bytes. It is not part of
`compile` (a site is not a deployable artifact), so it is not in the backend registry, and nothing
on the validate or compile path imports it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from compiler import __version__
from compiler.emit.base import Artifact
from compiler.emit.site.facts import ColumnLineage, LineageSource, ModelVersion, sql_column_lineage
from compiler.emit.site.graphdata import data_js, graph_data
from compiler.emit.site.pages import index_page, plan_page, resource_page, resources_page
from compiler.emit.site.planview import PlanView, plan_view, read_plan
from compiler.emit.site.static import static_files
from compiler.spec.project import SpecProject

SITE_KIND = "docs-site"  # manifest.json's kind: tells a site from compile's output

__all__ = ["SITE_KIND", "ColumnLineage", "LineageSource", "ModelVersion", "build_site", "read_plan"]


def build_site(project: SpecProject, plan: Mapping[str, Any] | None = None,
               registry: Mapping[str, ModelVersion] | None = None,
               lineage: LineageSource = sql_column_lineage) -> list[Artifact]:
    """Every file of the site. `plan` is a plan's JSON as read_plan returned it; `registry` maps a model's
    name to what its registry said (specops docs --registry ENV); `lineage` gives transforms' column lineage."""
    view: PlanView | None = plan_view(dict(plan)) if plan is not None else None
    data = graph_data(project, view)
    files: list[tuple[str, bytes, tuple[str, ...]]] = [
        ("index.html", index_page(project, view is not None), ()),
        ("data.js", data_js(data), ()),
        ("resources.html", resources_page(project, view is not None), ()),
    ]
    files += [(path, content, ()) for path, content in static_files()]
    if view is not None:
        files.append(("plan.html", plan_page(project, view, bool(data["plan"]["stale"])), ()))
    for res in project.resources():
        files.append((f"r/{res.address}.html", resource_page(project, res, view, registry, lineage),
                      (res.address,)))
    manifest = {
        "tool": "specops", "kind": SITE_KIND, "version": __version__,
        "artifacts": {path: hashlib.sha256(content).hexdigest() for path, content, _ in sorted(files)},
    }
    files.append(("manifest.json", (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode(), ()))
    return [Artifact(path, content, owners) for path, content, owners in sorted(files)]
