"""Grafana dashboards: one per deployment, a valid Grafana 11.6 model (grafana-foundation-sdk parses it back),
every panel query valid PromQL (promtool reads them as recording rules) over the metric names the serving
app exports and the alerts read."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import RepoEditor
from integrations import EXAMPLE_NAMES, EXAMPLES

from compiler.emit.grafana import emit
from compiler.emit.serving_metrics import DRIFT_METRIC, PREDICTIONS, REQUEST_METRICS
from compiler.front.check import require_project
from compiler.spec import placement

ENVIRONMENTS = "specs/environments.yaml"


def dashboards(example: str) -> dict[str, dict[str, Any]]:
    return {a.path: json.loads(a.content) for a in emit(require_project(EXAMPLES / example))}


def queries(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_a_dashboard_per_deployment_that_the_sdk_reads_back(example: str) -> None:
    from grafana_foundation_sdk.models.dashboard import Dashboard

    project = require_project(EXAMPLES / example)
    boards = dashboards(example)
    served = [d for d in project.deployments.values()
              if placement.in_cluster(project.environments[d.environment], "serving")]
    assert set(boards) == {f"grafana/{d.environment}/{d.name}.json" for d in served}
    for path, board in boards.items():
        model = Dashboard.from_json(board)
        assert model.uid == board["uid"] and len(model.uid) <= 40
        titles = [p["title"] for p in board["panels"]]
        assert titles[:3] == ["Traffic", "Request rate", "Error rate (5xx share)"], path
        assert any(t.startswith("Prediction distribution") for t in titles) and any(t.startswith("Drift") for t in
                                                                                    titles)


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_every_panel_has_its_own_id(example: str) -> None:
    """Grafana wants panel ids unique within a dashboard: rows (which the SDK leaves at 0) and panels alike."""
    for path, board in dashboards(example).items():
        panels = [q for p in board["panels"] for q in (p, *p.get("panels", []))]
        ids = [p.get("id") for p in panels]
        assert all(isinstance(i, int) and i > 0 for i in ids) and len(set(ids)) == len(ids), (path, ids)
        assert ids == list(range(1, len(ids) + 1)), path  # in dashboard order: the same specs, the same ids


def test_panels_read_the_alerts_metrics_and_thresholds(edit: RepoEditor) -> None:
    # dev with an MLflow server instead of its embedded store: its mlflow-runtime deployment is served in the cluster
    edit.replace(ENVIRONMENTS, "tracking_uri: sqlite:///.specops/mlflow.db", "tracking_uri: http://mlflow.dev:5000")
    project = require_project(edit.root)
    boards = {a.path: json.loads(a.content) for a in emit(project)}
    dev = boards["grafana/dev/churn_api_dev.json"]
    mlflow = REQUEST_METRICS["mlflow"]
    exprs = queries(dev)
    assert any(mlflow.counter in e and 'service="churn-api-dev"' in e for e in exprs)
    assert any(f"{mlflow.histogram}_bucket" in e and "histogram_quantile(0.95" in e for e in exprs)
    assert any(PREDICTIONS in e and "by (prediction)" in e for e in exprs)
    assert f'max({DRIFT_METRIC}{{model="churn", environment="dev"}})' in exprs
    latency = next(p for p in dev["panels"] if p["title"].startswith("Scoring latency"))
    steps = latency["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1]["value"] == project.deployments["churn_api_dev"].p95_latency_ms / 1000
    prod = boards["grafana/prod/churn_api.json"]  # KServe: MLServer's metrics, and no predictions
    assert any(REQUEST_METRICS["kserve"].counter in e and 'pod=~"churn-api-predictor-.*"' in e for e in queries(prod))
    assert any(p["type"] == "text" and "exports no predictions" in p["options"]["content"] for p in prod["panels"])


def test_no_dashboard_where_the_laptop_only_rule_keeps_serving_out_of_the_cluster() -> None:
    boards = dashboards("churn")  # dev's registry is a SQLite file: its deployment is served on the laptop
    assert sorted(boards) == ["grafana/prod/churn_api.json"]


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_every_panel_query_is_valid_promql(example: str, tmp_path: Path) -> None:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.skip("promtool is not installed")
    rules = [{"record": f"specops:panel_{i}", "expr": expr.replace("$__rate_interval", "5m")}
             for i, expr in enumerate(e for board in dashboards(example).values() for e in queries(board))]
    path = tmp_path / "panels.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}), encoding="utf-8")
    proc = subprocess.run([tool, "check", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and f"SUCCESS: {len(rules)} rules found" in proc.stdout, proc.stdout + proc.stderr
