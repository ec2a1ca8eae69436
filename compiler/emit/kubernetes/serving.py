"""runtime mlflow: the specops serving image on a plain Kubernetes Deployment.

Objects: ServiceAccount, Deployment, Service (ClusterIP, port `http`), HorizontalPodAutoscaler
(when `autoscaling` is set; the Deployment then has no `replicas`), PodDisruptionBudget,
NetworkPolicy, ServiceMonitor and, when alerts are set, a PrometheusRule.
The container (compiler/emit/docker/serve_app.py) gets MODEL_URI, MLFLOW_TRACKING_URI, PORT and
SPECOPS_MODEL_TASK (how it counts predictions), and answers
GET /health (readiness: 200 once the model is loaded), GET /livez (liveness and startup: 200 while
the process serves, so a slow model load never gets the pod killed) and GET /metrics on that port.

With `rollout.canary_percent`, a second Deployment `<name>-candidate` (with its own PodDisruptionBudget and
NetworkPolicy) serves the version holding the `challenger` alias, beside the stable one; the Service selects
both by the label specops.dev/serves (on every server pod, so turning a canary on never empties the Service),
so the canary's share of requests is its share of the pods (Kubernetes' replica-ratio canary,
Deployment.canary_pods): approximate with few replicas (validate warns), and with autoscaling it shrinks as
the stable Deployment scales out. The candidate loads its model when its pods start; apply names the
challenger's version in it, so moving the alias replaces its pods. Promote by moving the model's alias to the
challenger's version; remove the candidate by removing the canary from the spec.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from compiler.emit import images
from compiler.emit.kubernetes import monitoring, network
from compiler.emit.kubernetes.cronjobs import SECRETS_DIR, SECRETS_VOLUME, secret_env, secret_volume
from compiler.emit.kubernetes.labels import INSTANCE, selector
from compiler.emit.kubernetes.pod import container, pod_spec, service_account
from compiler.emit.kubernetes.resolved import CANDIDATE_ALIAS
from compiler.emit.kubernetes.resources import requirements
from compiler.emit.kubernetes.target import Served
from compiler.emit.serving_metrics import request_series
from compiler.spec.k8snames import candidate_name
from compiler.spec.secrets import TOKEN_VARIABLE, cluster_secrets

PORT_NAME = "http"
SERVES = "specops.dev/serves"  # every server pod carries it; a canary's Service selects by it


def objects(s: Served) -> list[dict[str, Any]]:
    """Every object of one runtime-mlflow deployment."""
    d = s.deployment
    sel = selector(s.ident)
    out = [service_account(s.meta()), deployment(s), service(s)]
    if d.autoscaling is not None:
        out.append(horizontal_pod_autoscaler(s))
    out.append(pod_disruption_budget(s.meta(), sel))
    out.append(_network_policy(s, s.name, sel))
    if d.canary_percent is not None:
        candidate = _candidate(s)
        out += [deployment(candidate, uri=s.ref.candidate_uri, replicas=d.canary_pods()[1], account=s.name),
                pod_disruption_budget(candidate.meta(), selector(candidate.ident)),
                _network_policy(candidate, candidate.name, selector(candidate.ident))]
    out.append(monitoring.service_monitor(s.meta(monitoring=True), sel, PORT_NAME))
    rules = monitoring.serving_alerts(d, s.target.env, request_series(d, s.target.namespace))
    if rules:
        out.append(monitoring.prometheus_rule(s.meta(monitoring=True), f"specops.{d.name}", rules))
    return out


def _candidate(s: Served) -> Served:
    """The canary's candidate: the same deployment under its own name and instance label."""
    name = candidate_name(s.name)
    return replace(s, name=name, ident=replace(s.ident, instance=name, version=CANDIDATE_ALIAS))


def _network_policy(s: Served, name: str, pods: dict[str, str]) -> dict[str, Any]:
    d = s.deployment
    return network.network_policy(s.meta(name), {"matchLabels": pods},
                                  network.serving_ingress(d.allow_from_namespaces, [d.port], []),
                                  network.egress(_tracking_ports(s)))


def _tracking_ports(s: Served) -> list[int]:
    port = network.uri_port(s.target.env.tracking_uri)
    return [port] if port is not None else []


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": PORT_NAME}, "periodSeconds": period, "timeoutSeconds": 2,
            "failureThreshold": failures}


def deployment(s: Served, uri: str | None = None, replicas: int | None = None,
               account: str | None = None) -> dict[str, Any]:
    """The Deployment of the model's server: the stable one, or (`uri`, `replicas`, the stable one's service
    `account`) a canary's candidate."""
    d = s.deployment
    sel = selector(s.ident)
    pod_labels = {**sel, SERVES: d.k8s_name}  # always: a canary turned on later finds the stable pods selected
    env = {"MODEL_URI": uri or s.ref.model_uri, "MLFLOW_TRACKING_URI": s.target.env.tracking_uri,
           "PORT": str(d.port), "SPECOPS_MODEL_TASK": s.model.task}
    keys = cluster_secrets(s.target.project, s.target.env, "serving")
    mounts, volumes = [], []
    if keys:  # the tracking server's token, as the file MLFLOW_TRACKING_TOKEN (the serving app has no specops)
        env.update(secret_env(keys))
        mounts.append({"name": SECRETS_VOLUME, "mountPath": SECRETS_DIR, "readOnly": True})
        volumes.append(secret_volume(s.target, SECRETS_VOLUME, keys, {k.name: TOKEN_VARIABLE for k in keys}))
    server = container(
        "server", images.serve_image(s.target.project, s.model),
        requirements(dict(d.requests), dict(d.limits)),
        env=env, mounts=mounts,
        ports=[{"name": PORT_NAME, "containerPort": d.port, "protocol": "TCP"}],
        startupProbe=_probe("/livez", 5, 12),
        readinessProbe=_probe("/health", 10, 3),
        livenessProbe=_probe("/livez", 20, 3),
    )
    affinity = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
        "weight": 100,
        "podAffinityTerm": {"labelSelector": {"matchLabels": sel}, "topologyKey": "kubernetes.io/hostname"},
    }]}}
    spec: dict[str, Any] = {}
    if replicas is not None or d.autoscaling is None:
        spec["replicas"] = replicas if replicas is not None else d.replicas
    spec.update({
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": sel},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {
            "metadata": {"labels": pod_labels},
            "spec": pod_spec(account or s.name, [server], volumes=volumes, affinity=affinity),
        },
    })
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": s.meta(), "spec": spec}


def service(s: Served) -> dict[str, Any]:
    """The deployment's address; with a canary, it selects the stable and the candidate pods alike."""
    sel = selector(s.ident)
    if s.deployment.canary_percent is not None:
        sel = {**{k: v for k, v in sel.items() if k != INSTANCE}, SERVES: s.deployment.k8s_name}
    return {"apiVersion": "v1", "kind": "Service", "metadata": s.meta(), "spec": {
        "type": "ClusterIP",
        "selector": sel,
        "ports": [{"name": PORT_NAME, "port": s.deployment.port, "targetPort": PORT_NAME, "protocol": "TCP"}],
    }}


def horizontal_pod_autoscaler(s: Served) -> dict[str, Any]:
    auto = s.deployment.autoscaling
    assert auto is not None
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": s.meta(), "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": s.name},
        "minReplicas": auto.min_replicas,
        "maxReplicas": auto.max_replicas,
        "metrics": [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": auto.target_cpu_percent}}}],
    }}


def pod_disruption_budget(metadata: dict[str, Any], match_labels: dict[str, str]) -> dict[str, Any]:
    """At most one pod down at a time; unhealthy pods may always be evicted (kube-linter)."""
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": metadata, "spec": {
        "maxUnavailable": 1,
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
        "selector": {"matchLabels": match_labels},
    }}
