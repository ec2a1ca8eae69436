"""runtime kserve: an InferenceService (serving.kserve.io/v1beta1) in Standard (raw Kubernetes) mode.

Objects: ServiceAccount, InferenceService, PodDisruptionBudget, NetworkPolicy, PodMonitor and, when
alerts are set, a PrometheusRule. No HorizontalPodAutoscaler: KServe creates it from minReplicas,
maxReplicas, scaleMetric and scaleTarget (autoscalerClass hpa; `none` when the spec sets a fixed
replica count). The predictor gets the same hardened pod and container settings as every other
workload (the linters do not read this CRD: compiler.output.k8s_policy checks it).
The model is served by the `kserve-mlserver` runtime (modelFormat mlflow, protocol v2, HTTP on 8080,
metrics on 8082). storageUri is `models:/...` until `specops apply` resolves the version's artifact
URI (annotation specops.dev/storage-uri: known-after-apply). canaryTrafficPercent is emitted as
written in the spec, but KServe honours it in Serverless mode only (v0.20 brought Standard-mode canaries
through another field, spec.canary, which the v0.19 CRD specops targets lacks): validate warns.
"""

from __future__ import annotations

from typing import Any

from compiler.emit.kubernetes import monitoring, network
from compiler.emit.kubernetes.pod import (
    container_security_context,
    env_list,
    pod_security_context,
    service_account,
    tmp_mount,
    tmp_volume,
)
from compiler.emit.kubernetes.resources import requirements
from compiler.emit.kubernetes.serving import pod_disruption_budget
from compiler.emit.kubernetes.target import Served
from compiler.emit.serving_metrics import request_series

API = "serving.kserve.io/v1beta1"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
HTTP_PORT = 8080


def pod_labels(s: Served) -> dict[str, str]:
    """Labels KServe puts on the predictor pods of this InferenceService."""
    return {ISVC_LABEL: s.name, "component": "predictor"}


def objects(s: Served) -> list[dict[str, Any]]:
    d = s.deployment
    out = [service_account(s.meta()), inference_service(s), pod_disruption_budget(s.meta(), pod_labels(s))]
    out.append(network.network_policy(
        s.meta(), {"matchLabels": pod_labels(s)},
        network.serving_ingress(d.allow_from_namespaces, [HTTP_PORT], [monitoring.MLSERVER_METRICS_PORT]),
        network.egress(),
    ))
    out.append(monitoring.mlserver_pod_monitor(s.meta(monitoring=True), pod_labels(s)))
    rules = monitoring.serving_alerts(d, s.target.env, request_series(d, s.target.namespace))
    if rules:
        out.append(monitoring.prometheus_rule(s.meta(monitoring=True), f"specops.{d.name}", rules))
    return out


def inference_service(s: Served, model: dict[str, Any] | None = None,
                      annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """The InferenceService; `model` replaces the predictor's format, runtime and storage (runtime triton), and
    `annotations` the model reference's."""
    d = s.deployment
    auto = d.autoscaling
    annotations = {"serving.kserve.io/deploymentMode": "Standard",
                   "serving.kserve.io/autoscalerClass": "hpa" if auto else "none",
                   **(s.ref.annotations() if annotations is None else annotations)}
    predictor: dict[str, Any] = {}
    if auto is not None:
        predictor.update({"minReplicas": auto.min_replicas, "maxReplicas": auto.max_replicas,
                          "scaleMetric": "cpu", "scaleTarget": auto.target_cpu_percent})
    else:
        predictor.update({"minReplicas": d.replicas, "maxReplicas": d.replicas})
    if d.canary_percent is not None:
        predictor["canaryTrafficPercent"] = d.canary_percent
    predictor.update({
        "serviceAccountName": s.name,
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(),
        "volumes": [tmp_volume()],
        "model": {
            **(model or {"modelFormat": {"name": "mlflow"}, "protocolVersion": "v2", "storageUri": s.ref.storage_uri}),
            "env": env_list({"HOME": "/tmp"}),
            "resources": requirements(dict(d.requests), dict(d.limits)),
            "securityContext": container_security_context(),
            "volumeMounts": [tmp_mount()],
        },
    })
    return {"apiVersion": API, "kind": "InferenceService", "metadata": s.meta(annotations=annotations),
            "spec": {"predictor": predictor}}
