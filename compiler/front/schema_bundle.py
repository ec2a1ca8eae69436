"""One JSON Schema for every kind (schemas/specops.schema.json), for editors: a single `specs/**/*.yaml` glob
then covers a whole repository, files that mix kinds included (the YAML language server checks each document
of a file on its own).

It is made from the kinds' own schemas, so it cannot drift from them: each kind's schema goes under `$defs`
(its own `$defs` renamed `<kind>.<name>`, and its references with them), and the document's `kind` chooses
which one applies (if/then), so an error names the kind's own rule, not "valid under none of 7 schemas".
"""

from __future__ import annotations

import copy
import json
from typing import Any

from compiler.spec.kinds import KINDS

BUNDLE_FILE = "specops.schema.json"
BUNDLE_ID = "https://specops.dev/schemas/v1/" + BUNDLE_FILE


def bundle(schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The schema of any document, from each kind's schema (kind as written in YAML -> schema)."""
    defs: dict[str, Any] = {}
    branches = []
    for kind, stem in KINDS.items():
        own = copy.deepcopy(schemas[kind])
        for name, sub in sorted(own.pop("$defs", {}).items()):
            defs[f"{stem}.{name}"] = _renamed(sub, stem)
        for key in ("$schema", "$id"):
            own.pop(key, None)
        defs[stem] = _renamed(own, stem)
        branches.append({"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                         "then": {"$ref": f"#/$defs/{stem}"}})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BUNDLE_ID,
        "title": "specops document (any kind)",
        "description": "Any specops spec document: Project, Environment, Dataset, QualityRule, Transform, Model or "
                       "Deployment, checked against the schema of its kind. Generated from the kinds' schemas.",
        "type": "object",
        "properties": {
            "apiVersion": {"description": "Version of the specops spec language.", "const": "specops/v1"},
            "kind": {"description": "Kind of resource described by this document.", "enum": list(KINDS)},
        },
        "required": ["apiVersion", "kind"],
        "allOf": branches,
        "$defs": dict(sorted(defs.items())),
    }


def bundle_text(schemas: dict[str, dict[str, Any]]) -> str:
    """The bundle as it is written to schemas/specops.schema.json."""
    return json.dumps(bundle(schemas), indent=2, ensure_ascii=False) + "\n"


def _renamed(node: Any, stem: str) -> Any:
    """`#/$defs/x` -> `#/$defs/<stem>.x`, everywhere in `node`."""
    if isinstance(node, dict):
        out = {k: _renamed(v, stem) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out["$ref"] = f"#/$defs/{stem}.{ref[len('#/$defs/'):]}"
        return out
    if isinstance(node, list):
        return [_renamed(v, stem) for v in node]
    return node
