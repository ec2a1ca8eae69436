"""Prometheus Operator objects: what to scrape, and the alerts of a deployment.

The metric names and series the alerts read are those of compiler.emit.serving_metrics (shared with the
Grafana dashboards): the scoring request histogram and counter of each runtime, specops_drift_score,
and kube-state-metrics' kube_job_status_failed{namespace, job_name} (`specops drift` exits 1 when it
finds drift).

Alerts: p95 latency above `monitoring.alerts.p95_latency_ms` (histogram_quantile over the request
histogram, 5 minute rate, for 10 minutes), error rate (5xx / all scoring requests) above `monitoring.alerts.error_rate`
(for 5 minutes), drift above the Model's `monitoring.drift.threshold`, and a failed drift run. Severity is `warning` in
the dev environment and `critical` elsewhere. `monitoring.labels` go on every monitor and rule so the
Prometheus `serviceMonitorSelector`/`ruleSelector` picks them up.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from compiler.emit.serving_metrics import (  # noqa: F401 (METRIC_PREFIX, RuntimeMetrics: this module's API)
    DRIFT_METRIC,
    METRIC_PREFIX,
    REQUEST_METRICS,
    RuntimeMetrics,
    drift_series,
    matchers,
    promql_string,
)
from compiler.spec.ir import Deployment, Environment, Model

API = "monitoring.coreos.com/v1"
METRICS_PATH = "/metrics"
SCRAPE_INTERVAL = "30s"
MLSERVER_METRICS_PORT = 8082


def service_monitor(metadata: dict[str, Any], match_labels: dict[str, str], port: str) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "ServiceMonitor", "metadata": metadata, "spec": {
        "selector": {"matchLabels": match_labels},
        "endpoints": [{"port": port, "path": METRICS_PATH, "interval": SCRAPE_INTERVAL}],
    }}


def mlserver_pod_monitor(metadata: dict[str, Any], match_labels: dict[str, str]) -> dict[str, Any]:
    """MLServer serves metrics on 8082, a port its ServingRuntime does not declare: the target's
    address is rewritten from the pod IP (one target per pod, from the kserve-container)."""
    return {"apiVersion": API, "kind": "PodMonitor", "metadata": metadata, "spec": {
        "selector": {"matchLabels": match_labels},
        "podMetricsEndpoints": [{
            "path": METRICS_PATH,
            "interval": SCRAPE_INTERVAL,
            "relabelings": [
                {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_name"],
                 "regex": "kserve-container"},
                {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_ip"], "regex": "(.+)",
                 "targetLabel": "__address__", "replacement": f"$1:{MLSERVER_METRICS_PORT}"},
            ],
        }],
    }}


def _severity(env: Environment) -> str:
    return "warning" if env.is_dev else "critical"


def _number(value: float) -> str:
    return f"{value:g}"


def serving_alerts(d: Deployment, env: Environment, series: Iterable[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Latency and error-rate alerts of one deployment, over the series `series` selects."""
    m = REQUEST_METRICS[d.runtime]
    sel = list(series)
    labels = {"severity": _severity(env), "specops_deployment": d.name, "specops_environment": env.name}
    rules: list[dict[str, Any]] = []
    if d.p95_latency_ms is not None:
        limit = _number(d.p95_latency_ms / 1000)
        rules.append({
            "alert": "SpecopsServingLatencyHigh",
            "expr": f"histogram_quantile(0.95, sum by (le) (rate({m.histogram}_bucket{matchers(*sel)}[5m])))"
                    f" > {limit}",
            "for": "10m",
            "labels": labels,
            "annotations": {"summary": f"p95 latency of {d.address} is above {_number(d.p95_latency_ms)} ms",
                            "description": "p95 request latency is {{ $value | humanizeDuration }}."},
        })
    if d.error_rate is not None:
        errors = matchers(*sel, (m.status_label, "=~", "5.."))
        rules.append({
            "alert": "SpecopsServingErrorRateHigh",
            "expr": f"sum(rate({m.counter}{errors}[5m])) / sum(rate({m.counter}{matchers(*sel)}[5m]))"
                    f" > {_number(d.error_rate)}",
            "for": "5m",
            "labels": labels,
            "annotations": {"summary": f"error rate of {d.address} is above {_number(d.error_rate)}",
                            "description": "{{ $value | humanizePercentage }} of requests fail with a 5xx."},
        })
    return rules


def drift_alerts(model: Model, env: Environment, namespace: str, job: str) -> list[dict[str, Any]]:
    """Drift above the threshold, from the pushed score or from the failed run (`specops drift` exits 1)."""
    assert model.drift is not None
    labels = {"severity": _severity(env), "specops_model": model.name, "specops_environment": env.name}
    score = matchers(*drift_series(model.name, env.name))
    runs = matchers(("namespace", "=", namespace), ("job_name", "=~", f"{job}-[0-9]+"))
    return [{
        "alert": "SpecopsModelDrift",
        "expr": f"max({DRIFT_METRIC}{score}) > {_number(model.drift.threshold)}",
        "labels": labels,
        "annotations": {"summary": f"{model.drift.method} drift of {model.address} is above "
                                   f"{_number(model.drift.threshold)}",
                        "description": "The last drift check scored {{ $value }}."},
    }, {
        "alert": "SpecopsDriftCheckFailed",
        "expr": f"max(kube_job_status_failed{runs}) > 0",
        "labels": labels,
        "annotations": {"summary": f"the drift check of {model.address} failed (drift found, or the job broke)",
                        "description": f"Read the logs of the failed Job of CronJob {job}."},
    }]


def prometheus_rule(metadata: dict[str, Any], group: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "PrometheusRule", "metadata": metadata,
            "spec": {"groups": [{"name": group, "rules": rules}]}}
