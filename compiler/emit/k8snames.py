"""Kubernetes object names, shared by the backends that name or select Kubernetes objects."""

from __future__ import annotations

import hashlib


def fit_name(name: str, limit: int = 63) -> str:
    """A DNS-1123 name of at most `limit` characters; longer names keep a prefix and a short hash."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{name[:limit - 9].rstrip('-')}-{digest}"
