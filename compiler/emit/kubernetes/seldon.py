"""runtime seldon: a Seldon Core 2 Model (mlops.seldon.io/v1alpha1), loaded on a shared MLServer.

Objects: Model (storageUri, requirements [mlflow], replicas or minReplicas/maxReplicas), a NetworkPolicy and,
when alerts are set, a PrometheusRule. The pods belong to the Seldon Server of the installation, so no
ServiceAccount, PDB or monitor is emitted for them (the installation scrapes its agents). Inference requests
reach every model of a namespace through the installation's mesh (the seldon-envoy pods, behind the
seldon-mesh Service): the NetworkPolicy `<name>-mesh` admits `network.allow_from_namespaces` (and
Prometheus, from the monitoring namespace) to those pods' data port. The mesh is shared, so what reaches it
is the union of what every policy selecting it admits: the allow-lists of all Seldon deployments of the
namespace. It restricts ingress only (policyTypes Ingress): the mesh's own egress (servers, scheduler) is the
installation's business.
With `rollout.canary_percent`, a second Model `<name>-candidate` serves the version holding the
`challenger` alias, and an Experiment `<name>-canary` with `default: <name>` sends canary_percent of
the traffic to the candidate and the rest to the default model. Promote by moving the model's
alias to the challenger's version; delete the candidate by removing the canary from the spec.
"""

from __future__ import annotations

from typing import Any

from compiler.emit.kubernetes import monitoring, network
from compiler.emit.kubernetes.target import Served
from compiler.emit.serving_metrics import request_series
from compiler.spec.k8snames import candidate_name, experiment_name, mesh_policy_name

API = "mlops.seldon.io/v1alpha1"


MESH_LABELS = {"app.kubernetes.io/name": "seldon-envoy"}  # Seldon Core 2's envoy pods (operator's labels)
MESH_PORT, MESH_STATS_PORT = 9000, 9003  # their `http` (seldon-mesh:80) and `envoy-stats` container ports


def objects(s: Served) -> list[dict[str, Any]]:
    d = s.deployment
    out = [model(s, s.name, s.ref.storage_uri, s.ref.annotations()), mesh_policy(s)]
    names = [s.name]
    if d.canary_percent is not None:
        candidate = candidate_name(s.name)
        names.append(candidate)
        out.append(model(s, candidate, s.ref.candidate_uri, {}))
        out.append(experiment(s, candidate, d.canary_percent))
    series = request_series(d, s.target.namespace)
    assert series[1] == ("model", "=~", "|".join(names))  # the objects made here are the ones selected
    rules = monitoring.serving_alerts(d, s.target.env, series)
    if rules:
        out.append(monitoring.prometheus_rule(s.meta(monitoring=True), f"specops.{d.name}", rules))
    return out


def mesh_policy(s: Served) -> dict[str, Any]:
    """Who may send requests to the namespace's Seldon mesh: this deployment's allow-list and Prometheus."""
    policy = network.network_policy(
        s.meta(mesh_policy_name(s.name)), {"matchLabels": dict(MESH_LABELS)},
        network.serving_ingress(s.deployment.allow_from_namespaces, [MESH_PORT], [MESH_STATS_PORT]), [])
    policy["spec"]["policyTypes"] = ["Ingress"]
    del policy["spec"]["egress"]
    return policy


def model(s: Served, name: str, storage_uri: str, annotations: dict[str, str]) -> dict[str, Any]:
    d = s.deployment
    spec: dict[str, Any] = {"storageUri": storage_uri, "requirements": ["mlflow"]}
    memory = dict(d.requests).get("memory")
    if memory:
        spec["memory"] = memory
    if d.autoscaling is not None:
        spec.update({"replicas": d.autoscaling.min_replicas, "minReplicas": d.autoscaling.min_replicas,
                     "maxReplicas": d.autoscaling.max_replicas})
    else:
        spec["replicas"] = d.replicas
    return {"apiVersion": API, "kind": "Model", "metadata": s.meta(name, annotations=annotations), "spec": spec}


def experiment(s: Served, candidate: str, percent: int) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Experiment", "metadata": s.meta(experiment_name(s.name)), "spec": {
        "default": s.name,
        "candidates": [{"name": s.name, "weight": 100 - percent}, {"name": candidate, "weight": percent}],
    }}
