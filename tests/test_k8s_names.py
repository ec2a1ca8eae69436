"""Kubernetes names two resources would both claim (compiler.front.rules.k8s_names): a suffixed name of one
resource (`<model>-retrain`, `<deployment>-candidate`, `<project>-jobs`, ...) equal to another's, and two
environments in one namespace of one cluster. Validate refuses them; compile never crashes on two files with one
path. And the objects validate checks (compiler.spec.k8snames.namespace_objects) are the ones the kubernetes
backend emits, on every example."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES, parse_text_report, served_dev

from compiler.emit import kubernetes
from compiler.emit.base import Artifact
from compiler.emit.registry import collect
from compiler.front.check import require_project

EXTRA = "specs/deployments/extra.yaml"
ENVS = "specs/environments.yaml"


def _deployment(name: str, runtime: str = "mlflow", **spec: object) -> dict:
    return {"apiVersion": "specops/v1", "kind": "Deployment", "metadata": {"name": name, "owner": "@acme/ml"},
            "spec": {"model": "churn", "environment": "prod", "runtime": runtime, **spec}}


def _clashes(result) -> list:
    return [d for d in parse_text_report(result.output) if d.code == "k8s-name-clash"]


CANARY = {"rollout": {"canary_percent": 20}, "replicas": 4}
CASES = {
    # name: (deployments added to prod, the two addresses named, an object they both make)
    "retrain-job": ([_deployment("churn_retrain")], ("deployment.churn_retrain", "model.churn"),
                    "ServiceAccount churn-retrain"),
    "drift-job": ([_deployment("churn_drift")], ("deployment.churn_drift", "model.churn"),
                  "ServiceAccount churn-drift"),
    "dbt-job": ([_deployment("build_customer_activity_dbt")],
                ("deployment.build_customer_activity_dbt", "transform.build_customer_activity"),
                "ServiceAccount build-customer-activity-dbt"),
    "canary-candidate": ([_deployment("a", **CANARY), _deployment("a_candidate")],
                         ("deployment.a", "deployment.a_candidate"), "Deployment a-candidate"),
    "jobs-policy": ([_deployment("churn_analytics_jobs", network={"allow_from_namespaces": ["x"]})],
                    ("deployment.churn_analytics_jobs", "project.churn_analytics"),
                    "NetworkPolicy churn-analytics-jobs"),
    "seldon-candidate": ([_deployment("s", "seldon", **CANARY), _deployment("s_candidate", "seldon")],
                         ("deployment.s", "deployment.s_candidate"), "Model s-candidate"),
    "seldon-mesh": ([_deployment("s", "seldon"), _deployment("s_mesh")], ("deployment.s", "deployment.s_mesh"),
                    "NetworkPolicy s-mesh"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_suffixed_name_equal_to_another_resources_name_is_refused(edit, validate_cli, case):
    deployments, addresses, obj = CASES[case]
    edit.write(EXTRA, "")
    edit.append_docs(EXTRA, *deployments)
    result = validate_cli(edit.root)
    assert result.exit_code == 1, result.output
    found = _clashes(result)
    assert len(found) == 1, result.output
    message = found[0].message
    assert all(a in message for a in addresses) and obj in message and "environment prod" in message, message
    assert "rename" in result.output and "related" not in message
    # at the one written later (file order), pointing at the other
    later, earlier = sorted(addresses, key=lambda a: _file_of(edit.root, a), reverse=True)
    assert message.startswith(f"{later}:") and found[0].is_in(_file_of(edit.root, later)[0]), result.output
    assert f"  {earlier} makes " in result.output


def _file_of(root: Path, address: str) -> tuple[str, int]:
    kind, name = address.split(".")
    if kind == "project":
        return ("specops.yaml", 0)
    if kind == "deployment" and name not in ("churn_api", "churn_api_dev"):
        order = [n for c in CASES.values() for d in c[0] for n in [d["metadata"]["name"]]]
        return (EXTRA, order.index(name))
    folder = {"model": "models", "transform": "transforms"}[kind]
    hits = sorted(str(p.relative_to(root)) for p in (root / "specs" / folder).glob("*.yaml")
                  if f"name: {name}\n" in p.read_text())
    return (hits[0], 0)


def test_the_same_name_for_objects_of_different_kinds_is_fine(edit, validate_cli):
    # a Seldon Model s-mesh beside the NetworkPolicy s-mesh of deployment s: Kubernetes tells them apart
    edit.write(EXTRA, "")
    edit.append_docs(EXTRA, _deployment("s", "seldon"), _deployment("s_mesh", "seldon"))
    result = validate_cli(edit.root)
    assert _clashes(result) == [], result.output


def test_compile_names_both_owners_of_one_file_instead_of_crashing():
    from compiler.emit.base import ArtifactClash

    one = Artifact("k8s/prod/m-retrain.serviceaccount.yaml", b"a", ("model.m", "environment.prod"))
    two = Artifact("k8s/prod/m-retrain.serviceaccount.yaml", b"b", ("deployment.m_retrain", "environment.prod"))
    with pytest.raises(ArtifactClash) as caught:
        collect([("kubernetes", [one]), ("kubernetes", [two])])
    assert "model.m" in str(caught.value) and "deployment.m_retrain" in str(caught.value)


def _staging(namespace: str, context: str | None) -> dict:
    kubernetes_spec = {"namespace": namespace, **({"context": context} if context else {})}
    return {"apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "staging"},
            "spec": {"warehouse": {"type": "postgres", "host": "db-staging", "database": "a", "user": "u",
                                   "password_env": "PGPW2"}, "kubernetes": kubernetes_spec}}


@pytest.mark.parametrize(("namespace", "context", "refused"), [
    ("ml-prod", "prod-cluster", True),  # prod's namespace and context
    ("ml-dev", None, True),  # dev's namespace, and neither names a context
    ("ml-prod", None, False),  # prod names its cluster, staging does not: not known to be the same
    ("ml-prod", "staging-cluster", False),
    ("ml-staging", "prod-cluster", False),
], ids=["same-context", "no-context", "one-context", "other-context", "other-namespace"])
def test_two_environments_in_one_namespace_of_one_cluster_are_refused(edit, validate_cli, namespace, context,
                                                                    refused):
    edit.append_docs(ENVS, _staging(namespace, context))
    result = validate_cli(edit.root)
    found = [d for d in parse_text_report(result.output) if d.code == "shared-namespace"]
    if not refused:
        assert found == [] and result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    other = "prod" if namespace == "ml-prod" else "dev"
    assert len(found) == 1 and found[0].message.startswith("environment.staging:"), result.output
    assert f"'staging' and '{other}'" in found[0].message and namespace in found[0].message
    assert f"environment '{other}' uses it here: " in result.output
    assert "give each environment its own kubernetes.namespace" in result.output


def _emitted(project) -> set[tuple[str, str, str]]:
    out = set()
    for art in kubernetes.emit(project):
        if not art.path.endswith("/kustomization.yaml"):
            obj = yaml.safe_load(art.content)
            out.add((art.path.split("/")[1], obj["kind"], obj["metadata"]["name"]))
    return out


def _listed(project) -> set[tuple[str, str, str]]:
    from compiler.spec.k8snames import namespace_objects

    return {(env.name, o.kind, o.name) for env in project.environments.values()
            for o in namespace_objects(project, env)}


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if (p / "specops.yaml").exists()))
def test_the_objects_validate_checks_are_the_ones_emitted(example):
    project = require_project(EXAMPLES / example)
    variants = [project] + ([served_dev(project)] if project.environments["dev"].namespace else [])
    for p in variants:
        assert _listed(p) == _emitted(p)


def test_the_objects_validate_checks_are_the_ones_emitted_for_every_runtime(edit):
    alerts = {"monitoring": {"alerts": {"p95_latency_ms": 300}}}
    auto = {"autoscaling": {"min_replicas": 2, "max_replicas": 4, "target_cpu_percent": 70}}
    edit.write(EXTRA, "")
    edit.append_docs(EXTRA, _deployment("m1", **CANARY, **alerts, **auto), _deployment("s1", "seldon", **CANARY,
                                                                                       **alerts),
                     _deployment("s2", "seldon"), _deployment("k1", "kserve"), _deployment("m2"))
    project = served_dev(require_project(edit.root))
    assert {("prod", "Experiment", "s1-canary"), ("prod", "HorizontalPodAutoscaler", "m1")} <= _emitted(project)
    assert _listed(project) == _emitted(project)
