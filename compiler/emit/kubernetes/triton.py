"""runtime triton: a KServe InferenceService served by NVIDIA Triton (ServingRuntime `kserve-tritonserver`).

The same objects as runtime kserve (compiler.emit.kubernetes.kserve: ServiceAccount, InferenceService in Standard
mode, PodDisruptionBudget, NetworkPolicy, PodMonitor), with the predictor's model as Triton wants it:

    modelFormat  {name: pytorch}    a TorchScript model (Triton's libtorch backend)
    runtime      kserve-tritonserver
    protocolVersion  v2             the Open Inference Protocol: POST /v2/models/<model>/infer
    storageUri   the Triton model repository `specops apply` exported with the registered version: the
                 artifacts `triton/` of its MLflow run, holding `<model>/config.pbtxt` and `<model>/1/model.pt`
                 (compiler/apply/steps/triton.py). Unknown before apply: then `models:/...` and the annotation
                 specops.dev/storage-uri: known-after-apply, as for kserve.

Triton serves HTTP on 8080 and gRPC on 9000 (the runtime's arguments) and its Prometheus metrics on 8002 (scraped
by the PodMonitor). Alerts and dashboards are not emitted for it: Triton's nv_inference_* metrics have no
request-latency histogram nor status codes (the validation refuses monitoring.alerts with runtime triton).
"""

from __future__ import annotations

from typing import Any

from compiler.emit.kubernetes import kserve, monitoring, network
from compiler.emit.kubernetes.pod import service_account
from compiler.emit.kubernetes.resolved import KNOWN_AFTER_APPLY, STORAGE_URI_ANNOTATION
from compiler.emit.kubernetes.serving import pod_disruption_budget
from compiler.emit.kubernetes.target import Served

RUNTIME = "kserve-tritonserver"
MODEL_FORMAT = "pytorch"
HTTP_PORT = 8080
GRPC_PORT = 9000
METRICS_PORT = 8002


def repository_uri(s: Served) -> str | None:
    """The Triton model repository of the version served, once apply resolved it."""
    if s.resolved is None or not s.ref.resolved:
        return None
    return s.resolved.triton_uri


def objects(s: Served) -> list[dict[str, Any]]:
    d = s.deployment
    labels = kserve.pod_labels(s)
    repo = repository_uri(s)
    model = {"modelFormat": {"name": MODEL_FORMAT}, "runtime": RUNTIME, "protocolVersion": "v2",
             "storageUri": repo or s.ref.model_uri}
    annotations = {} if repo else {STORAGE_URI_ANNOTATION: KNOWN_AFTER_APPLY}
    return [
        service_account(s.meta()),
        kserve.inference_service(s, model, annotations),
        pod_disruption_budget(s.meta(), labels),
        network.network_policy(s.meta(), {"matchLabels": labels},
                               network.serving_ingress(d.allow_from_namespaces, [HTTP_PORT, GRPC_PORT],
                                                       [METRICS_PORT]),
                               network.egress()),
        pod_monitor(s.meta(monitoring=True), labels),
    ]


def pod_monitor(metadata: dict[str, Any], match_labels: dict[str, str]) -> dict[str, Any]:
    """Triton's metrics port, from the kserve-container of each predictor pod."""
    monitor = monitoring.mlserver_pod_monitor(metadata, match_labels)
    endpoint = monitor["spec"]["podMetricsEndpoints"][0]
    endpoint["relabelings"][1]["replacement"] = f"$1:{METRICS_PORT}"
    return monitor
