"""manifest.json: what was compiled from what, with digests, for plan, apply and drift checks."""

from __future__ import annotations

import hashlib
from typing import Any

from compiler import __version__
from compiler.emit import Artifact
from compiler.render import dump_json
from compiler.spec import SpecProject

MANIFEST = "manifest.json"
FORMAT_VERSION = "1.0"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def build_manifest(project: SpecProject, artifacts: list[Artifact], schema_digest: str) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "tool": "specops",
        "tool_version": __version__,
        "project": project.project.name,
        "spec_digest": project.spec_digest,
        "schema_digest": schema_digest,
        "resources": [
            {"address": r.address, "kind": r.KIND, "file": r.loc.file, "line": r.loc.line, "digest": r.digest}
            for r in [project.project, *project.resources()]
        ],
        "edges": [list(e) for e in project.graph.edges],
        "artifacts": [
            {"path": a.path, "base": a.base, "owner": a.owners[0] if a.owners else None, "owners": list(a.owners),
             "sha256": sha256(a.content), "size": len(a.content)}
            for a in artifacts
        ],
    }


def manifest_artifact(project: SpecProject, artifacts: list[Artifact], schema_digest: str) -> Artifact:
    data = build_manifest(project, artifacts, schema_digest)
    return Artifact(MANIFEST, dump_json(data), (project.project.address,))
