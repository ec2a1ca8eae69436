"""compiler.output.k8s_policy: generated manifests pass; a manifest missing any hardening item is flagged."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import served_dev

from compiler.emit.kubernetes import emit
from compiler.front.check import require_project
from compiler.output.k8s_policy import RULES, Finding, check_files, check_manifests, pods

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def generated(example_root: Path) -> dict[str, Doc]:
    """Every generated object of examples/churn (its dev on servers, so that dev has a Deployment) by path."""
    return {a.path: yaml.safe_load(a.content) for a in emit(served_dev(require_project(example_root)))}


@pytest.fixture
def deployment(generated: dict[str, Doc]) -> Doc:
    return copy.deepcopy(generated["k8s/dev/churn-api-dev.deployment.yaml"])


def _pod(doc: Doc) -> Doc:
    return doc["spec"]["template"]["spec"]


def _container(doc: Doc) -> Doc:
    return _pod(doc)["containers"][0]


def _csc(doc: Doc) -> Doc:
    return _container(doc)["securityContext"]


def _set(path: Callable[[Doc], Doc], key: str, value: Any) -> Callable[[Doc], None]:
    return lambda doc: path(doc).__setitem__(key, value)


def _drop(path: Callable[[Doc], Doc], key: str) -> Callable[[Doc], None]:
    return lambda doc: path(doc).pop(key)


def _root_everywhere(doc: Doc) -> None:
    _pod(doc)["securityContext"]["runAsUser"] = 0
    _csc(doc)["runAsUser"] = 0


# one or more ways to break each rule, on the generated dev Deployment
BREAKS: list[tuple[str, str, Callable[[Doc], None]]] = [
    ("namespace", "missing", _drop(lambda d: d["metadata"], "namespace")),
    ("namespace", "default", _set(lambda d: d["metadata"], "namespace", "default")),
    ("service-account", "missing", _drop(_pod, "serviceAccountName")),
    ("service-account", "default", _set(_pod, "serviceAccountName", "default")),
    ("automount-token", "missing", _drop(_pod, "automountServiceAccountToken")),
    ("automount-token", "true", _set(_pod, "automountServiceAccountToken", True)),
    ("host-namespace", "hostNetwork", _set(_pod, "hostNetwork", True)),
    ("host-namespace", "hostPID", _set(_pod, "hostPID", True)),
    ("host-namespace", "hostIPC", _set(_pod, "hostIPC", True)),
    ("host-path", "volume", lambda d: _pod(d)["volumes"].append({"name": "h", "hostPath": {"path": "/"}})),
    ("host-port", "port", lambda d: _container(d)["ports"][0].__setitem__("hostPort", 8000)),
    ("run-as-non-root", "container-false", _set(_csc, "runAsNonRoot", False)),
    ("run-as-non-root", "nowhere", lambda d: (_csc(d).pop("runAsNonRoot"),
                                              _pod(d)["securityContext"].pop("runAsNonRoot"))),
    ("run-as-user", "low-uid", _set(_csc, "runAsUser", 1000)),
    ("run-as-user", "root", _root_everywhere),
    ("run-as-group", "low-gid", _set(_csc, "runAsGroup", 0)),
    ("seccomp", "unconfined", _set(_csc, "seccompProfile", {"type": "Unconfined"})),
    ("seccomp", "nowhere", lambda d: (_csc(d).pop("seccompProfile"), _pod(d)["securityContext"].pop("seccompProfile"))),
    ("read-only-root-fs", "missing", _drop(_csc, "readOnlyRootFilesystem")),
    ("read-only-root-fs", "false", _set(_csc, "readOnlyRootFilesystem", False)),
    ("privilege-escalation", "missing", _drop(_csc, "allowPrivilegeEscalation")),
    ("privilege-escalation", "true", _set(_csc, "allowPrivilegeEscalation", True)),
    ("privileged", "true", _set(_csc, "privileged", True)),
    ("capabilities", "no-drop", _set(_csc, "capabilities", {})),
    ("capabilities", "add", _set(_csc, "capabilities", {"drop": ["ALL"], "add": ["NET_ADMIN"]})),
    ("resources", "no-cpu-limit", lambda d: _container(d)["resources"]["limits"].pop("cpu")),
    ("resources", "no-memory-request", lambda d: _container(d)["resources"]["requests"].pop("memory")),
    ("resources", "no-ephemeral-request",
     lambda d: _container(d)["resources"]["requests"].pop("ephemeral-storage")),
    ("resources", "no-ephemeral-limit", lambda d: _container(d)["resources"]["limits"].pop("ephemeral-storage")),
    ("resources", "none", _drop(_container, "resources")),
]


def test_the_generated_manifests_pass(generated: dict[str, Doc]):
    assert [f for path, doc in generated.items() for f in check_manifests([doc], file=path)] == []


def test_every_rule_has_a_negative_case():
    assert {rule for rule, _, _ in BREAKS} == set(RULES)


@pytest.mark.parametrize(("rule", "breaking"), [(r, b) for r, _, b in BREAKS],
                         ids=[f"{r}-{case}" for r, case, _ in BREAKS])
def test_a_manifest_missing_a_hardening_item_is_flagged(deployment: Doc, rule: str, breaking):
    assert check_manifests([deployment]) == []
    breaking(deployment)
    found = check_manifests([deployment], file="k8s/dev/churn-api-dev.deployment.yaml")
    assert rule in {f.rule for f in found}, found
    hit = next(f for f in found if f.rule == rule)
    assert (hit.file, hit.kind, hit.name) == ("k8s/dev/churn-api-dev.deployment.yaml", "Deployment", "churn-api-dev")
    assert str(hit).startswith("k8s/dev/churn-api-dev.deployment.yaml: Deployment/churn-api-dev: ")
    assert str(hit).endswith(f"[{rule}]")


def test_pod_level_settings_are_inherited_and_container_settings_override(deployment: Doc):
    for key in ("runAsNonRoot", "runAsUser", "runAsGroup", "seccompProfile"):
        _csc(deployment).pop(key)
    assert check_manifests([deployment]) == []
    _csc(deployment)["runAsNonRoot"] = False
    assert {f.rule for f in check_manifests([deployment])} == {"run-as-non-root"}


def test_init_containers_are_checked(deployment: Doc):
    _pod(deployment)["initContainers"] = [{"name": "init", "image": "busybox:1"}]
    found = check_manifests([deployment])
    assert {f.rule for f in found} >= {"read-only-root-fs", "capabilities", "resources"}
    assert all("initContainers[init]" in f.message for f in found)


def test_inference_service_predictor_and_model_container_are_checked(generated: dict[str, Doc]):
    isvc = copy.deepcopy(generated["k8s/prod/churn-api.inferenceservice.yaml"])
    assert [p.path for p in pods(isvc)] == ["spec.predictor"]
    predictor = isvc["spec"]["predictor"]
    del predictor["securityContext"], predictor["automountServiceAccountToken"]
    del predictor["model"]["resources"]["limits"]
    predictor["model"]["securityContext"].pop("runAsNonRoot")
    found = check_manifests([isvc], file="isvc.yaml")
    assert {f.rule for f in found} == {"automount-token", "run-as-non-root", "resources"}
    assert {(f.kind, f.name) for f in found} == {("InferenceService", "churn-api")}
    assert any("spec.predictor.model" in f.message for f in found)


def test_cron_job_pods_are_checked(generated: dict[str, Doc]):
    job = copy.deepcopy(generated["k8s/prod/churn-retrain.cronjob.yaml"])
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    pod["hostNetwork"] = True
    pod["containers"][0]["securityContext"]["privileged"] = True
    assert {(f.kind, f.rule) for f in check_manifests([job])} == {("CronJob", "host-namespace"),
                                                                  ("CronJob", "privileged")}


def test_seldon_models_need_a_namespace_and_servers_a_hardened_pod():
    model = {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "metadata": {"name": "m"},
             "spec": {"storageUri": "gs://x", "requirements": ["mlflow"]}}
    assert [f.rule for f in check_manifests([model])] == ["namespace"]
    server = {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Server", "metadata": {"name": "s", "namespace": "n"},
              "spec": {"serverConfig": "mlserver", "podSpec": {"containers": [{"name": "mlserver"}]}}}
    assert "run-as-non-root" in {f.rule for f in check_manifests([server])}


def test_service_accounts_must_not_automount_and_cluster_objects_need_no_namespace():
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "n"}}
    assert [f.rule for f in check_manifests([sa])] == ["automount-token"]
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": []}
    assert check_manifests([ns, kustomization]) == []


def test_check_files_reads_every_document_and_sorts(deployment: Doc):
    broken = copy.deepcopy(deployment)
    _pod(broken)["hostPID"] = True
    text = yaml.safe_dump_all([deployment, broken, None])
    found = check_files([("b.yaml", text), ("a.yaml", yaml.safe_dump(broken).encode())])
    assert found == [Finding("a.yaml", "Deployment", "churn-api-dev", "host-namespace",
                             "spec.template.spec.hostPID must not be true"),
                     Finding("b.yaml", "Deployment", "churn-api-dev", "host-namespace",
                             "spec.template.spec.hostPID must not be true")]
