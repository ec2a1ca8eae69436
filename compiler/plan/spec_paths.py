"""Attribute paths as a user writes them in YAML, from the IR's field names used by snapshots."""

from __future__ import annotations

import re

# (kind, IR path prefix) -> the spec's own path; longest prefixes first
_RENAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "Environment": (
        ("spec.warehouse.settings.", "spec.warehouse."),
        ("spec.tracking_uri", "spec.mlflow.tracking_uri"),
        ("spec.namespace", "spec.kubernetes.namespace"),
        ("spec.context", "spec.kubernetes.context"),
        ("spec.required_approval", "spec.protection.required_approval"),
        ("spec.allow_pii", "spec.protection.allow_pii"),
    ),
    "Model": (
        ("spec.training.entrypoint_source", "spec.training.entrypoint (file content)"),
        ("spec.training.cpu", "spec.training.resources.cpu"),
        ("spec.training.memory", "spec.training.resources.memory"),
        ("spec.training.gpu", "spec.training.resources.gpu"),
        ("spec.registry_name", "spec.registry.name"),
        ("spec.alias", "spec.registry.alias"),
        ("spec.metrics", "spec.validation.metrics"),
        ("spec.max_regression", "spec.validation.max_regression"),
        ("spec.drift", "spec.monitoring.drift"),
        ("spec.allow_pii_features", "spec.governance.allow_pii_features"),
    ),
    "Deployment": (
        ("spec.requests", "spec.resources.requests"),
        ("spec.limits", "spec.resources.limits"),
        ("spec.canary_percent", "spec.rollout.canary_percent"),
        ("spec.allow_from_namespaces", "spec.network.allow_from_namespaces"),
        ("spec.p95_latency_ms", "spec.monitoring.alerts.p95_latency_ms"),
        ("spec.error_rate", "spec.monitoring.alerts.error_rate"),
        ("spec.monitoring_labels", "spec.monitoring.labels"),
    ),
    "Dataset": (("spec.source.content", "spec.source.path (file content)"),),
}


def spec_path(kind: str, path: str, spec: object = None) -> str:
    """`spec.monitoring_labels.release` of a Deployment reads `spec.monitoring.labels.release`; a transform's SQL
    read from its `sql_file` (its snapshot's `spec`) reads `spec.sql_file (sql/x.sql)`."""
    if kind == "Transform" and path == "spec.sql" and isinstance(spec, dict) and spec.get("sql_file"):
        return f"spec.sql_file ({spec['sql_file']})"
    for ir, spec in _RENAMES.get(kind, ()):
        if path == ir or (path.startswith(ir) and (ir.endswith(".") or path[len(ir)] in ".[")):
            path = spec + path[len(ir):]
            break
    # the content digest of a file appears as `.sha256` / `.size` under the renamed path
    path = re.sub(r" \(file content\)\.sha256$", " (file content)", path)
    return re.sub(r" \(file content\)\.size$", " (file size)", path)
