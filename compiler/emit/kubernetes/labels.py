"""Names, labels and annotations shared by every generated Kubernetes object.

Every object carries the recommended `app.kubernetes.io/*` labels, `specops.dev/owner` (the spec
owner made a valid label value: "@acme/ml" -> "acme-ml"), `specops.dev/address` when the address
fits in a label value, and the spec's own `metadata.labels`. The raw owner, the address and the
spec file are kept as annotations. Pod templates and selectors use only the stable identity labels
(`selector`), so a new image tag or model version never changes an immutable Deployment selector.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from compiler.spec.ir import Resource
from compiler.spec.k8snames import fit_name as fit_name  # re-exported: where the backend's modules found it

MANAGED_BY = "specops"
NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"
PART_OF = "app.kubernetes.io/part-of"
VERSION = "app.kubernetes.io/version"
OWNER = "specops.dev/owner"
ADDRESS = "specops.dev/address"
SOURCE = "specops.dev/source"

_NOT_LABEL_CHAR = re.compile(r"[^A-Za-z0-9._-]+")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def label_value(text: str) -> str:
    """`text` made a valid label value: invalid runs become '-', ends trimmed, at most 63 characters."""
    value = _NOT_LABEL_CHAR.sub("-", text).strip("-._")
    return value[:63].rstrip("-._")


def is_label_value(text: str) -> bool:
    return bool(_LABEL_VALUE.match(text))


@dataclass(frozen=True, slots=True)
class Identity:
    """Who an object belongs to: the application, this instance of it, its role and version."""

    app: str  # app.kubernetes.io/name, e.g. the model ("churn")
    instance: str  # app.kubernetes.io/instance, the workload's object name ("churn-api-dev")
    component: str  # server | retrain | drift | transform
    version: str  # image tag or model version
    part_of: str  # the project's k8s name
    resource: Resource  # the spec resource the object comes from


def selector(ident: Identity) -> dict[str, str]:
    """The stable labels that select a workload's pods (and label its pod template)."""
    return {NAME: ident.app, INSTANCE: ident.instance, COMPONENT: ident.component, PART_OF: ident.part_of,
            "app.kubernetes.io/managed-by": MANAGED_BY}


def labels(ident: Identity, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Every label of an object: the spec's labels, the standard ones, owner and address."""
    res = ident.resource
    out: dict[str, str] = dict(res.meta.labels)
    out.update(extra or {})
    out.update(selector(ident))
    if is_label_value(ident.version) and ident.version:
        out[VERSION] = ident.version
    owner = label_value(res.meta.owner or "")
    if owner:
        out[OWNER] = owner
    if is_label_value(res.address):
        out[ADDRESS] = res.address
    return dict(sorted(out.items()))


def annotations(ident: Identity, extra: dict[str, str] | None = None) -> dict[str, str]:
    res = ident.resource
    out = {ADDRESS: res.address, SOURCE: res.loc.file}
    if res.meta.owner:
        out[OWNER] = res.meta.owner
    out.update(extra or {})
    return dict(sorted(out.items()))


def metadata(ident: Identity, name: str, namespace: str, *, extra_labels: dict[str, str] | None = None,
             extra_annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """`metadata` of a namespaced object."""
    return {"name": name, "namespace": namespace, "labels": labels(ident, extra_labels),
            "annotations": annotations(ident, extra_annotations)}
