"""The metrics of served models, in one place: what the serving image exports, what the PrometheusRule
alerts read (compiler.emit.kubernetes.monitoring) and what the Grafana dashboards plot (compiler.emit.grafana).

    runtime mlflow (compiler/emit/docker/serve_app.py, scraped through the Service: labels namespace, service)
      specops_serving_request_duration_seconds{route}       histogram, seconds per POST /invocations
      specops_serving_requests_total{route, method, code}   counter, requests by HTTP status code
      specops_serving_predictions_total{prediction}         counter, predicted classes (classification)
      specops_serving_prediction_value                      histogram, predicted values (regression)
    runtime kserve (MLServer, scraped by a PodMonitor: labels namespace, pod)
      rest_server_request_duration_seconds, rest_server_requests_total{status_code}; no predictions
    runtime seldon (the Seldon agent: labels namespace, model)
      seldon_model_infer_api_seconds, seldon_model_infer_total{code}; no predictions
    drift jobs (`specops drift`, pushed to a Pushgateway by compiler.apply.pushgateway; grouping key model, environment)
      specops_drift_score{model, environment}               the worst feature's drift statistic

tests/test_serving.py holds the serving app's names equal to these; promtool and the dashboard tests
read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.spec.ir import Deployment
from compiler.spec.k8snames import candidate_name, served_name

METRIC_PREFIX = "specops_serving"
DRIFT_METRIC = "specops_drift_score"
PREDICTIONS = f"{METRIC_PREFIX}_predictions_total"  # label `prediction`: the predicted class
PREDICTION_VALUE = f"{METRIC_PREFIX}_prediction_value"  # histogram of predicted values
Series = list[tuple[str, str, str]]  # (label, operator, value) matchers


@dataclass(frozen=True, slots=True)
class RuntimeMetrics:
    """The request metrics a runtime exposes, and how its series are told apart."""

    histogram: str  # without the _bucket suffix
    counter: str
    status_label: str
    predictions: bool  # whether it exports the specops prediction metrics


REQUEST_METRICS = {
    "mlflow": RuntimeMetrics(f"{METRIC_PREFIX}_request_duration_seconds", f"{METRIC_PREFIX}_requests_total",
                             "code", True),
    "kserve": RuntimeMetrics("rest_server_request_duration_seconds", "rest_server_requests_total",
                             "status_code", False),
    "seldon": RuntimeMetrics("seldon_model_infer_api_seconds", "seldon_model_infer_total", "code", False),
}


def object_name(d: Deployment) -> str:
    """The name of a deployment's serving object (Deployment, InferenceService or Seldon Model)."""
    return served_name(d)


def request_series(d: Deployment, namespace: str) -> Series:
    """The matchers that select one deployment's scoring-request series."""
    name = object_name(d)
    if d.runtime == "kserve":
        return [("namespace", "=", namespace), ("pod", "=~", f"{name}-predictor-.*")]
    if d.runtime == "seldon":
        names = [name, candidate_name(name)] if d.canary_percent is not None else [name]
        return [("namespace", "=", namespace), ("model", "=~", "|".join(names))]
    return [("namespace", "=", namespace), ("service", "=", name), ("route", "=", "/invocations")]


def prediction_series(d: Deployment, namespace: str) -> Series:
    """The matchers of a deployment's prediction series (runtime mlflow)."""
    return [("namespace", "=", namespace), ("service", "=", object_name(d))]


def drift_series(model: str, environment: str) -> Series:
    return [("model", "=", model), ("environment", "=", environment)]


def promql_string(text: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def matchers(*items: tuple[str, str, str]) -> str:
    """`{a="x", b=~"y"}` from (label, operator, value) triples."""
    return "{" + ", ".join(f"{label}{op}{promql_string(value)}" for label, op, value in items) + "}"
