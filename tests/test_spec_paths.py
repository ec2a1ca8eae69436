"""Plans show attribute paths as the user writes them, not the IR's field names."""

from __future__ import annotations

import pytest

from compiler.plan.spec_paths import spec_path


@pytest.mark.parametrize(("kind", "ir", "shown"), [
    ("Deployment", "spec.monitoring_labels.release", "spec.monitoring.labels.release"),
    ("Deployment", "spec.canary_percent", "spec.rollout.canary_percent"),
    ("Deployment", "spec.requests.cpu", "spec.resources.requests.cpu"),
    ("Deployment", "spec.replicas", "spec.replicas"),
    ("Model", "spec.alias", "spec.registry.alias"),
    ("Model", "spec.metrics[0].min", "spec.validation.metrics[0].min"),
    ("Model", "spec.training.entrypoint_source.sha256", "spec.training.entrypoint (file content)"),
    ("Model", "spec.training.cpu", "spec.training.resources.cpu"),
    ("Model", "spec.alias_other", "spec.alias_other"),  # a prefix of a name is not the name
    ("Environment", "spec.warehouse.settings.path", "spec.warehouse.path"),
    ("Environment", "spec.allow_pii", "spec.protection.allow_pii"),
    ("Dataset", "spec.source.content.size", "spec.source.path (file size)"),
    ("Dataset", "spec.columns[email].type", "spec.columns[email].type"),
    ("Transform", "spec.sql", "spec.sql"),
], ids=lambda v: str(v))
def test_spec_path(kind: str, ir: str, shown: str) -> None:
    assert spec_path(kind, ir) == shown


def test_sql_read_from_its_file_is_named_by_the_file():
    assert spec_path("Transform", "spec.sql", {"sql_file": "sql/x.sql"}) == "spec.sql_file (sql/x.sql)"
    assert spec_path("Transform", "spec.sql", {"sql": "select 1"}) == "spec.sql"
