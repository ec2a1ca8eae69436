"""NetworkPolicies: deny by default, then allow exactly what a workload needs.

Ingress: from the namespaces a Deployment lists in `network.allow_from_namespaces` (matched on the
`kubernetes.io/metadata.name` label every namespace carries) on the serving port, and from the
`monitoring` namespace (where Prometheus runs; MONITORING_NAMESPACE) on the serving and metrics
ports. An empty list means no client namespace: reach the API with `kubectl port-forward`.
Egress: DNS (53 UDP and TCP) and HTTPS (443) for the MLflow registry and artifact store, plus the
port of an http(s) MLflow tracking URI or of the warehouse when it is not 443.
Both policyTypes are always set (kube-score pod-networkpolicy; checkov CKV2_K8S_6).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

MONITORING_NAMESPACE = "monitoring"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
HTTPS = 443
_DEFAULT_PORTS = {"http": 80, "https": 443}


def uri_port(uri: str) -> int | None:
    """The TCP port a URI connects to (None for files, sqlite and unknown schemes)."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    if port is not None:
        return port
    return _DEFAULT_PORTS.get(parts.scheme)


def from_namespaces(namespaces: Iterable[str], ports: Iterable[int]) -> dict[str, Any]:
    """An ingress rule admitting pods of the given namespaces on the given TCP ports."""
    return {"from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: ns}}} for ns in namespaces],
            "ports": [{"protocol": "TCP", "port": p} for p in sorted(set(ports))]}


def egress(extra_tcp_ports: Iterable[int] = ()) -> list[dict[str, Any]]:
    """DNS, HTTPS and the extra TCP ports, to any destination."""
    tcp = sorted({HTTPS, *extra_tcp_ports})
    return [
        {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"ports": [{"protocol": "TCP", "port": p} for p in tcp]},
    ]


def network_policy(metadata: dict[str, Any], pod_selector: dict[str, Any], ingress: list[dict[str, Any]],
                   egress_rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata,
        "spec": {"podSelector": pod_selector, "policyTypes": ["Ingress", "Egress"],
                 "ingress": ingress, "egress": egress_rules},
    }


def serving_ingress(allow_from: Iterable[str], serving_ports: Iterable[int],
                    metrics_ports: Iterable[int]) -> list[dict[str, Any]]:
    """Clients on the serving ports, Prometheus on the serving and metrics ports."""
    rules = []
    clients = sorted(set(allow_from) - {MONITORING_NAMESPACE})
    if clients:
        rules.append(from_namespaces(clients, serving_ports))
    rules.append(from_namespaces([MONITORING_NAMESPACE], [*serving_ports, *metrics_ports]))
    return rules
