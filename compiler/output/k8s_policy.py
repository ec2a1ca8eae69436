"""Our own hardening check of Kubernetes manifests, including the CRDs the linters do not read.

checkov and kube-score only look inside the pod templates of core workload kinds; KServe
InferenceServices (spec.predictor/transformer/explainer: PodSpec fields inline, the model
container under its framework key) and Seldon Servers (spec.podSpec) are skipped, and
kubernetes-validate only warns "schema not found" on them. This module applies the same rules to
every pod spec it can find (research/ml-deploy.md, pod checklist; linter anchors per rule in RULES).
Container settings inherit from the pod's securityContext where Kubernetes does (runAsNonRoot,
runAsUser, runAsGroup, seccompProfile).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

RULES: dict[str, str] = {
    "namespace": "metadata.namespace is set and not 'default' (CKV_K8S_21)",
    "service-account": "pods run as a dedicated ServiceAccount, not 'default' (CKV_K8S_41/42)",
    "automount-token": "automountServiceAccountToken is false (CKV_K8S_38)",
    "host-namespace": "no hostNetwork, hostPID or hostIPC (CKV_K8S_17/18/19)",
    "host-path": "no hostPath volume",
    "host-port": "no hostPort (CKV_K8S_26)",
    "run-as-non-root": "runAsNonRoot is true (CKV_K8S_23, kube-linter run-as-non-root)",
    "run-as-user": "runAsUser is at least 10000 (CKV_K8S_40, kube-score user-group-id)",
    "run-as-group": "runAsGroup is at least 10000 (kube-score user-group-id)",
    "seccomp": "seccompProfile type RuntimeDefault or Localhost (CKV_K8S_31)",
    "read-only-root-fs": "readOnlyRootFilesystem is true (CKV_K8S_22)",
    "privilege-escalation": "allowPrivilegeEscalation is false (CKV_K8S_20)",
    "privileged": "not privileged (CKV_K8S_16)",
    "capabilities": "capabilities drop ALL and add none (CKV_K8S_25/28/37/39)",
    "resources": "cpu, memory and ephemeral-storage requests and limits (CKV_K8S_10-13, kube-score)",
}

MIN_ID = 10000
RESOURCE_KEYS = ("cpu", "memory", "ephemeral-storage")
CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "PriorityClass", "IngressClass", "RuntimeClass", "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration", "APIService", "ClusterServingRuntime", "ClusterStorageContainer",
})
_TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"})
_KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
# InferenceService component keys holding the serving container
_KSERVE_CONTAINER_KEYS = ("model", "sklearn", "xgboost", "lightgbm", "tensorflow", "pytorch", "triton", "onnx",
                          "pmml", "paddle", "huggingface", "art", "alibi")


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    file: str
    kind: str
    name: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.kind}/{self.name}: {self.message} [{self.rule}]"


@dataclass(frozen=True, slots=True)
class Pod:
    """A pod spec found in a manifest: where it is, its fields, and its containers by path."""

    path: str
    spec: dict[str, Any]
    containers: tuple[tuple[str, dict[str, Any]], ...]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _containers(spec: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            if isinstance(c, dict):
                out.append((f"{path}.{key}[{c.get('name', i)}]", c))
    return out


def pods(doc: dict[str, Any]) -> Iterator[Pod]:
    """Every pod spec of a manifest: core workloads, CronJobs, KServe components, Seldon Servers."""
    kind, spec = doc.get("kind"), _dict(doc.get("spec"))
    found: list[tuple[str, dict[str, Any]]] = []
    if kind == "Pod":
        found.append(("spec", spec))
    elif kind == "PodTemplate":
        found.append(("template.spec", _dict(_dict(doc.get("template")).get("spec"))))
    elif kind in _TEMPLATE_KINDS:
        found.append(("spec.template.spec", _dict(_dict(spec.get("template")).get("spec"))))
    elif kind == "CronJob":
        job = _dict(_dict(spec.get("jobTemplate")).get("spec"))
        found.append(("spec.jobTemplate.spec.template.spec", _dict(_dict(job.get("template")).get("spec"))))
    elif kind == "InferenceService":
        for comp in _KSERVE_COMPONENTS:
            if isinstance(spec.get(comp), dict):
                pod = spec[comp]
                path = f"spec.{comp}"
                extra = [(f"{path}.{k}", pod[k]) for k in _KSERVE_CONTAINER_KEYS if isinstance(pod.get(k), dict)]
                yield Pod(path, pod, tuple(extra + _containers(pod, path)))
        return
    elif kind == "Server" and isinstance(spec.get("podSpec"), dict):
        found.append(("spec.podSpec", spec["podSpec"]))
    for path, pod in found:
        yield Pod(path, pod, tuple(_containers(pod, path)))


def _pod_findings(pod: Pod) -> Iterator[tuple[str, str]]:
    spec = pod.spec
    if spec.get("automountServiceAccountToken") is not False:
        yield "automount-token", f"{pod.path}.automountServiceAccountToken must be false"
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if not account or account == "default":
        yield "service-account", f"{pod.path}.serviceAccountName must name a dedicated ServiceAccount"
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            yield "host-namespace", f"{pod.path}.{key} must not be true"
    for vol in spec.get("volumes") or []:
        if isinstance(vol, dict) and "hostPath" in vol:
            yield "host-path", f"{pod.path}.volumes[{vol.get('name')}] is a hostPath volume"
    psc = _dict(spec.get("securityContext"))
    for path, container in pod.containers:
        yield from _container_findings(path, container, psc)


def _container_findings(path: str, c: dict[str, Any], psc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    csc = _dict(c.get("securityContext"))

    def effective(key: str) -> Any:
        return csc[key] if key in csc else psc.get(key)

    if effective("runAsNonRoot") is not True:
        yield "run-as-non-root", f"{path}: runAsNonRoot must be true"
    for key, rule in (("runAsUser", "run-as-user"), ("runAsGroup", "run-as-group")):
        value = effective(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < MIN_ID:
            yield rule, f"{path}: {key} must be at least {MIN_ID} (is {value!r})"
    if _dict(effective("seccompProfile")).get("type") not in ("RuntimeDefault", "Localhost"):
        yield "seccomp", f"{path}: seccompProfile.type must be RuntimeDefault"
    if csc.get("readOnlyRootFilesystem") is not True:
        yield "read-only-root-fs", f"{path}: readOnlyRootFilesystem must be true"
    if csc.get("allowPrivilegeEscalation") is not False:
        yield "privilege-escalation", f"{path}: allowPrivilegeEscalation must be false"
    if csc.get("privileged") is True:
        yield "privileged", f"{path}: privileged must not be true"
    caps = _dict(csc.get("capabilities"))
    if "ALL" not in (caps.get("drop") or []) or caps.get("add"):
        yield "capabilities", f"{path}: capabilities must drop ALL and add none"
    for port in c.get("ports") or []:
        if isinstance(port, dict) and port.get("hostPort"):
            yield "host-port", f"{path}: hostPort {port['hostPort']} must not be set"
    res = _dict(c.get("resources"))
    for side in ("requests", "limits"):
        missing = [k for k in RESOURCE_KEYS if k not in _dict(res.get(side))]
        if missing:
            yield "resources", f"{path}: resources.{side} lacks {', '.join(missing)}"


def _namespaced(doc: dict[str, Any]) -> bool:
    api = str(doc.get("apiVersion", ""))
    return doc.get("kind") not in CLUSTER_SCOPED and not api.startswith("kustomize.config.k8s.io")


def check_manifests(docs: Iterable[dict[str, Any]], file: str = "") -> list[Finding]:
    """Every hardening finding of the given manifests (`file` names where they come from)."""
    out: list[Finding] = []
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        kind = str(doc.get("kind", "?"))
        meta = _dict(doc.get("metadata"))
        name = str(meta.get("name", "?"))

        def add(rule: str, message: str, kind: str = kind, name: str = name) -> None:
            out.append(Finding(file, kind, name, rule, message))

        if _namespaced(doc) and meta.get("namespace") in (None, "", "default"):
            add("namespace", f"metadata.namespace must be set and not 'default' (is {meta.get('namespace')!r})")
        if kind == "ServiceAccount" and doc.get("automountServiceAccountToken") is not False:
            add("automount-token", "automountServiceAccountToken must be false")
        for pod in pods(doc):
            for rule, message in _pod_findings(pod):
                add(rule, message)
    return out


def check_files(files: Iterable[tuple[str, bytes | str]]) -> list[Finding]:
    """Findings of YAML files (path, content), each possibly holding several documents."""
    out: list[Finding] = []
    for path, content in files:
        text = content.decode("utf-8") if isinstance(content, bytes) else content
        out += check_manifests([d for d in yaml.safe_load_all(text) if d], file=path)
    return sorted(out)
