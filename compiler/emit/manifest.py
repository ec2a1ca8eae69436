"""manifest.json: what was compiled from what, with digests, for plan, apply and drift checks."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from compiler import __version__
from compiler.emit.base import Artifact
from compiler.spec.project import SpecProject

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
            {"address": r.address, "kind": r.KIND, "file": r.loc.file, "line": r.loc.line,
             "digest": project.digest(r.address)}
            for r in [project.project, *project.resources()]
        ],
        "edges": [list(e) for e in project.graph.edges],
        "artifacts": [
            {"path": a.path, "base": a.base, "owner": a.owners[0] if a.owners else None, "owners": list(a.owners),
             "sha256": sha256(a.content), "size": len(a.content)}
            for a in artifacts
        ],
    }


def dump_manifest(data: dict[str, Any]) -> bytes:
    """Readable and fast: one line per resource, edge and artifact (json's C encoder, no indent)."""
    def line(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))

    parts = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, list) and value:
            body = ",\n".join(f"    {line(item)}" for item in value)
            parts.append(f'  {line(key)}: [\n{body}\n  ]')
        else:
            parts.append(f"  {line(key)}: {line(value)}")
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")


def manifest_artifact(project: SpecProject, artifacts: list[Artifact], schema_digest: str) -> Artifact:
    data = build_manifest(project, artifacts, schema_digest)
    return Artifact(MANIFEST, dump_manifest(data), (project.project.address,))
