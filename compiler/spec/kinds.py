"""The kinds of the spec language and how their names are spelled."""

from __future__ import annotations

import hashlib
import re

API_VERSIONS: tuple[str, ...] = ("specops/v1",)

# kind as written in YAML -> address prefix (lower snake case) and schema file stem
KINDS: dict[str, str] = {
    "Project": "project",
    "Environment": "environment",
    "Dataset": "dataset",
    "QualityRule": "quality_rule",
    "Transform": "transform",
    "Model": "model",
    "Deployment": "deployment",
}
SNAKE_TO_KIND: dict[str, str] = {v: k for k, v in KINDS.items()}

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def address(kind: str, name: str) -> str:
    """`dataset.orders` for kind Dataset, name orders."""
    return f"{KINDS[kind]}.{name}"


def k8s_name(name: str) -> str:
    """Kubernetes object names derived from spec names: `_` becomes `-`. A DNS-1123 name ends with a letter or
    digit: a spec name ending with `_` (which names allow) ends with a digest of itself instead, so that
    `api_` and `api` stay apart."""
    out = name.replace("_", "-")
    if out.endswith("-"):
        out = f"{out.rstrip('-')[:56].rstrip('-')}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"  # 63 at most
    return out


def kind_from_user(text: str) -> str | None:
    """Accept Dataset, dataset, quality_rule, QualityRule, quality-rule; None when unknown."""
    if text in KINDS:
        return text
    snake = text.replace("-", "_").lower()
    if snake in SNAKE_TO_KIND:
        return SNAKE_TO_KIND[snake]
    for kind in KINDS:
        if kind.lower() == text.lower():
            return kind
    return None
