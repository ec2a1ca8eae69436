"""Prometheus Operator objects: what to scrape, and the alerts of a deployment.

Metrics the alerts read (one name per idea, whatever the runtime):

    runtime mlflow (compiler/emit/docker/serve_app.py in the serving image, scraped through its Service, port `http`)
      specops_serving_request_duration_seconds{route}   histogram, seconds per POST /invocations
      specops_serving_requests_total{route, method, code}   counter, requests by HTTP status code
    runtime kserve (MLServer, scraped by a PodMonitor on port 8082, /metrics)
      rest_server_request_duration_seconds, rest_server_requests_total{status_code}
    runtime seldon (the Seldon agent, scraped by the Seldon installation's own monitors)
      seldon_model_infer_api_seconds{model}, seldon_model_infer_total{model, code}
    drift jobs (`specops drift` prints it; pushed to a Pushgateway with these grouping labels)
      specops_drift_score{model, environment}   the worst feature's drift statistic (PSI or KS)
    kube-state-metrics
      kube_job_status_failed{namespace, job_name}   `specops drift` exits 1 when it finds drift

Alerts: p95 latency above `monitoring.alerts.p95_latency_ms` (histogram_quantile over the request
histogram, 5 minute rate, for 10 minutes), error rate (5xx / all scoring requests) above `monitoring.alerts.error_rate`
(for 5 minutes), drift above the Model's `monitoring.drift.threshold`, and a failed drift run. Severity is `warning` in
the dev environment and `critical` elsewhere. `monitoring.labels` go on every monitor and rule so the
Prometheus `serviceMonitorSelector`/`ruleSelector` picks them up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from compiler.spec.ir import Deployment, Environment, Model

API = "monitoring.coreos.com/v1"
METRICS_PATH = "/metrics"
SCRAPE_INTERVAL = "30s"
MLSERVER_METRICS_PORT = 8082
DRIFT_METRIC = "specops_drift_score"


# compiler.emit.docker.serve_app's (the serving app stands alone, and importing it here would load an HTTP server for
# nothing): tests/test_serving.py holds the two equal
METRIC_PREFIX = "specops_serving"


@dataclass(frozen=True, slots=True)
class RuntimeMetrics:
    """The request metrics a runtime exposes, and how its series are told apart."""

    histogram: str  # without the _bucket suffix
    counter: str
    status_label: str


REQUEST_METRICS = {
    "mlflow": RuntimeMetrics(f"{METRIC_PREFIX}_request_duration_seconds", f"{METRIC_PREFIX}_requests_total",
                             "code"),
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


def drift_alerts(model: Model, env: Environment, namespace: str, job: str) -> list[dict[str, Any]]:
    """Drift above the threshold, from the pushed score or from the failed run (`specops drift` exits 1)."""
    assert model.drift is not None
    labels = {"severity": _severity(env), "specops_model": model.name, "specops_environment": env.name}
    score = matchers(("model", "=", model.name), ("environment", "=", env.name))
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
