"""NetworkPolicies: deny by default, then allow exactly what a workload needs.

Ingress: from the namespaces a Deployment lists in `network.allow_from_namespaces` (matched on the
`kubernetes.io/metadata.name` label every namespace carries) on the serving port, and from the
`monitoring` namespace (where Prometheus runs; MONITORING_NAMESPACE) on the serving and metrics
ports. An empty list means no client namespace: reach the API with `kubectl port-forward`.
Egress: DNS (53 UDP and TCP) and HTTPS (443) for the MLflow registry and artifact store, plus the
port of an http(s) MLflow tracking URI or of the warehouse when it is not 443.
Both policyTypes are always set (kube-score pod-networkpolicy; checkov CKV2_K8S_6).

Whether a URL's host names a Service of the cluster (service_namespace) follows a pod's resolver, which tries
the cluster's search domains first: `<service>` is in the pod's own namespace; `<service>.<namespace>.svc` and
`<service>.<namespace>.svc.<cluster domain>` are in `<namespace>`; so is `<service>.<namespace>`, two labels,
when it can be one (a DNS-1035 service name, a DNS-1123 namespace name) and its last label is none of
NOT_NAMESPACES: the generic top-level domains of RFC 1591 (com, net, org, edu, gov, mil, int) and the names
reserved outside the public DNS (test, example, invalid, localhost, local, onion, arpa, internal). Two labels
are ambiguous (`pushgateway.monitoring`, `metrics.io`): a fully qualified name, ending with a dot, is never
looked up in the search domains, so `metrics.io.` is outside the cluster. IP addresses and other hosts are
outside it too.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

MONITORING_NAMESPACE = "monitoring"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
HTTPS = 443
_DEFAULT_PORTS = {"http": 80, "https": 443}
# the last label of a two-label host that is not a namespace: RFC 1591's generic top-level domains, then the
# special-use names (RFC 6761 test, example, invalid, localhost; RFC 6762 local; RFC 7686 onion; RFC 8375
# home.arpa) and the top-level domain ICANN reserved for private networks (internal)
NOT_NAMESPACES = frozenset({"com", "net", "org", "edu", "gov", "mil", "int",
                            "test", "example", "invalid", "localhost", "local", "onion", "arpa", "internal"})
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # a DNS-1123 label
_SERVICE = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")  # a DNS-1035 label


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


def service_namespace(host: str, own_namespace: str) -> str | None:
    """The namespace of the cluster Service `host` names (`own_namespace` for a bare service name), or None
    when `host` is outside the cluster (module docstring)."""
    name = host.lower().removesuffix(".")
    labels = name.split(".")
    if not all(labels) or _is_ip(name):
        return None
    if len(labels) > 2 and labels[2] == "svc":  # <service>.<namespace>.svc[.<cluster domain>]
        return labels[1]
    if host.endswith("."):  # fully qualified: not in the search domains
        return None
    if len(labels) == 1:
        return own_namespace
    service, namespace = labels if len(labels) == 2 else ("", "")
    if _SERVICE.fullmatch(service) and _NAMESPACE.fullmatch(namespace) and namespace not in NOT_NAMESPACES:
        return namespace
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


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
