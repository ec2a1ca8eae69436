"""Prometheus Operator objects: what to scrape, and the alerts of a deployment.

Metrics the alerts read (one name per idea, whatever the runtime):

    runtime mlflow (the specops serving image, scraped through its Service on port `http`, /metrics)
      specops_request_duration_seconds   histogram, seconds per HTTP request
      specops_requests_total{status}     counter, requests by HTTP status code
    runtime kserve (MLServer, scraped by a PodMonitor on port 8082, /metrics)
      rest_server_request_duration_seconds, rest_server_requests_total{status_code}
    runtime seldon (the Seldon agent, scraped by the Seldon installation's own monitors)
      seldon_model_infer_api_seconds{model}, seldon_model_infer_total{model, code}
    drift jobs (`specops drift` pushes one gauge per run to a Pushgateway)
      specops_drift_score{model, environment}   the drift statistic (e.g. PSI) of the last run

Alerts: p95 latency above `monitoring.alerts.p95_latency_ms` (histogram_quantile over the request
histogram, 5 minute rate, for 10 minutes), error rate (5xx / all) above `monitoring.alerts.error_rate`
(for 5 minutes), and drift above the Model's `monitoring.drift.threshold`. Severity is `warning` in
the dev environment and `critical` elsewhere. `monitoring.labels` go on every monitor and rule so the
Prometheus `serviceMonitorSelector`/`ruleSelector` picks them up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from compiler.model import Deployment, Environment, Model

API = "monitoring.coreos.com/v1"
METRICS_PATH = "/metrics"
SCRAPE_INTERVAL = "30s"
MLSERVER_METRICS_PORT = 8082
DRIFT_METRIC = "specops_drift_score"


@dataclass(frozen=True, slots=True)
class RuntimeMetrics:
    """The request metrics a runtime exposes, and how its series are told apart."""

    histogram: str  # without the _bucket suffix
    counter: str
    status_label: str


REQUEST_METRICS = {
    "mlflow": RuntimeMetrics("specops_request_duration_seconds", "specops_requests_total", "status"),
    "kserve": RuntimeMetrics("rest_server_request_duration_seconds", "rest_server_requests_total",
                             "status_code"),
    "seldon": RuntimeMetrics("seldon_model_infer_api_seconds", "seldon_model_infer_total", "code"),
}


def promql_string(text: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def matchers(*items: tuple[str, str, str]) -> str:
    """`{a="x", b=~"y"}` from (label, operator, value) triples."""
    return "{" + ", ".join(f"{label}{op}{promql_string(value)}" for label, op, value in items) + "}"


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


def drift_alerts(model: Model, env: Environment) -> list[dict[str, Any]]:
    assert model.drift is not None
    sel = matchers(("model", "=", model.registry_name or model.name), ("environment", "=", env.name))
    return [{
        "alert": "SpecopsModelDrift",
        "expr": f"max({DRIFT_METRIC}{sel}) > {_number(model.drift.threshold)}",
        "labels": {"severity": _severity(env), "specops_model": model.name, "specops_environment": env.name},
        "annotations": {"summary": f"{model.drift.method} drift of {model.address} is above "
                                   f"{_number(model.drift.threshold)}",
                        "description": "The last drift check scored {{ $value }}."},
    }]


def prometheus_rule(metadata: dict[str, Any], group: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "PrometheusRule", "metadata": metadata,
            "spec": {"groups": [{"name": group, "rules": rules}]}}
