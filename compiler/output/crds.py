"""Custom resources checked against their CustomResourceDefinition's openAPIV3Schema, unknown fields as errors.

`kubernetes-validate` has no schema for custom resources and only warns. The API server would accept such
an object and silently prune every field its CRD does not declare (structural schemas), so a misspelt
field never takes effect: here it is an error. An object schema that lists `properties` gets
`additionalProperties: false` unless it has `x-kubernetes-preserve-unknown-fields: true`; `nullable` allows
null; ObjectMeta (`metadata`, which CRDs leave open) is not checked here.

CRDs are not shipped with specops (Seldon Core's are under the Business Source License): point
SPECOPS_CRDS_DIR, or `crd_folder`, at a folder of CRD YAML files, e.g. the ones your cluster runs
(`kubectl get crd inferenceservices.serving.kserve.io -o yaml > crds/isvc.yaml`).
"""

from __future__ import annotations

import copy
import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Key = tuple[str, str]  # (apiVersion, kind)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # KServe's CRD is 1 MB of YAML


@dataclass(frozen=True)
class Finding:
    file: str
    kind: str
    name: str
    message: str


def load_crds(folder: Path) -> dict[Key, dict[str, Any]]:
    """(apiVersion, kind) -> the strict JSON Schema of that version, from every CRD in the folder's YAML files
    (`*.yaml`, `*.yml`, and gzipped `*.yaml.gz`)."""
    schemas: dict[Key, dict[str, Any]] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml"), *folder.glob("*.yaml.gz")]):
        data = path.read_bytes()
        if path.suffix == ".gz":  # large CRDs (KServe's) are often kept compressed
            data = gzip.decompress(data)
        for doc in yaml.load_all(data.decode("utf-8"), Loader=_LOADER):
            for crd in _crds(doc):
                spec = crd["spec"]
                for version in spec.get("versions", []):
                    schema = (version.get("schema") or {}).get("openAPIV3Schema")
                    if schema:
                        schemas[f"{spec['group']}/{version['name']}", spec["names"]["kind"]] = strict(schema)
    return schemas


def _crds(doc: Any) -> Iterable[dict[str, Any]]:
    if not isinstance(doc, dict):
        return []
    if doc.get("kind") == "CustomResourceDefinition":
        return [doc]
    if doc.get("kind") == "List":
        return [item for item in doc.get("items", []) if item.get("kind") == "CustomResourceDefinition"]
    return []


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The openAPIV3Schema as a JSON Schema that rejects what structural pruning would drop."""
    out = copy.deepcopy(schema)
    _tighten(out, root=True)
    return out


def _tighten(node: Any, root: bool = False) -> None:
    if isinstance(node, list):
        for item in node:
            _tighten(item)
        return
    if not isinstance(node, dict):
        return
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    if root and isinstance(node.get("properties"), dict) and "metadata" in node["properties"]:
        node["properties"]["metadata"] = {"type": "object"}  # ObjectMeta: the API server checks it
    if "properties" in node and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        node["additionalProperties"] = False
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            for child in value.values():
                _tighten(child)
        elif key in ("items", "additionalProperties", "not") or key in ("allOf", "anyOf", "oneOf"):
            _tighten(value)


def check_objects(objects: Iterable[tuple[str, dict[str, Any]]], schemas: dict[Key, dict[str, Any]],
                  builtin: frozenset[str] = frozenset()) -> tuple[list[Finding], list[Key]]:
    """Findings for each (file, object) whose CRD is known, and the custom kinds that had none.

    `builtin` lists apiVersion groups that are not custom resources (apps, batch, ...): skipped.
    """
    import jsonschema

    findings: list[Finding] = []
    missing: list[Key] = []
    for file, obj in objects:
        api, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        group = api.split("/", 1)[0] if "/" in api else ""
        if not group or group in builtin or "." not in group or group.endswith(".k8s.io"):
            continue
        schema = schemas.get((api, kind))
        if schema is None:
            if (api, kind) not in missing:
                missing.append((api, kind))
            continue
        name = str((obj.get("metadata") or {}).get("name", "?"))
        for error in sorted(jsonschema.Draft7Validator(schema).iter_errors(obj), key=lambda e: list(e.path)):
            where = ".".join(str(p) for p in error.absolute_path) or "(root)"
            findings.append(Finding(file, kind, name, f"{where}: {error.message[:300]}"))
    return findings, missing


def check_files(files: Iterable[Path], folder: Path) -> tuple[list[Finding], list[Key]]:
    """check_objects over the YAML documents of files, with the CRDs of folder."""
    schemas = load_crds(folder)
    objects = [(str(path), doc) for path in files
               for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(doc, dict)]
    return check_objects(objects, schemas)
