"""The kubernetes backend on examples/churn: files, structure, hardening, resolved versions, validators."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import served_dev

from compiler.emit import images
from compiler.emit.base import Artifact
from compiler.emit.kubernetes import ResolvedModel, emit, render
from compiler.emit.kubernetes.labels import fit_name, label_value
from compiler.emit.kubernetes.resources import requirements
from compiler.front.check import require_project
from compiler.output.k8s_policy import check_files
from compiler.spec.project import SpecProject

REPO = Path(__file__).resolve().parent.parent
STANDARD_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
                   "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "app.kubernetes.io/version")
WORKLOADS = ("Deployment", "CronJob", "InferenceService")

Objects = dict[str, dict[tuple[str, str], dict[str, Any]]]  # env -> (kind, name) -> object


@pytest.fixture(scope="module")
def project(example_root: Path) -> SpecProject:
    """examples/churn with dev on servers: the laptop dev of the example gets no manifests (see
    test_laptop_only_workloads_are_left_out)."""
    return served_dev(require_project(example_root))


@pytest.fixture(scope="module")
def artifacts(project: SpecProject) -> list[Artifact]:
    return emit(project)


def objects_of(arts: list[Artifact]) -> Objects:
    out: Objects = {}
    for a in arts:
        env = a.path.split("/")[1]
        doc = yaml.safe_load(a.content)
        out.setdefault(env, {})[(doc["kind"], doc.get("metadata", {}).get("name", ""))] = doc
    return out


@pytest.fixture(scope="module")
def objects(artifacts: list[Artifact]) -> Objects:
    return objects_of(artifacts)


def kinds(objs: dict[tuple[str, str], dict[str, Any]]) -> set[str]:
    return {k for k, _ in objs}


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def write_tree(arts: list[Artifact], root: Path) -> Path:
    for a in arts:
        target = root / a.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(a.content)
    return root / "k8s"


# --- files ---------------------------------------------------------------------------------------


def test_one_folder_per_environment_with_a_kustomization(artifacts: list[Artifact], objects: Objects):
    assert set(objects) == {"dev", "prod"}
    for a in artifacts:
        assert re.fullmatch(r"k8s/(dev|prod)/[a-z0-9.-]+\.yaml", a.path), a.path
        assert a.base == "output"
    for env, namespace in (("dev", "ml-dev"), ("prod", "ml-prod")):
        kustomization = objects[env][("Kustomization", "")]
        files = sorted(a.path.rsplit("/", 1)[1] for a in artifacts if a.path.startswith(f"k8s/{env}/"))
        assert kustomization["namespace"] == namespace
        assert kustomization["resources"] == [f for f in files if f != "kustomization.yaml"]


def test_object_list_per_environment(objects: Objects):
    assert set(objects["dev"]) - {("Kustomization", "")} == {
        ("ServiceAccount", "churn-api-dev"), ("Deployment", "churn-api-dev"), ("Service", "churn-api-dev"),
        ("PodDisruptionBudget", "churn-api-dev"), ("NetworkPolicy", "churn-api-dev"),
        ("ServiceMonitor", "churn-api-dev"), ("PrometheusRule", "churn-api-dev"),
        *JOBS,
    }
    assert set(objects["prod"]) - {("Kustomization", "")} == {
        ("ServiceAccount", "churn-api"), ("InferenceService", "churn-api"), ("PodDisruptionBudget", "churn-api"),
        ("NetworkPolicy", "churn-api"), ("PodMonitor", "churn-api"), ("PrometheusRule", "churn-api"),
        *JOBS,
    }


JOBS = {
    ("CronJob", "churn-retrain"), ("ServiceAccount", "churn-retrain"),
    ("CronJob", "churn-drift"), ("ServiceAccount", "churn-drift"), ("PrometheusRule", "churn-drift"),
    ("CronJob", "build-customer-activity-dbt"), ("ServiceAccount", "build-customer-activity-dbt"),
    ("CronJob", "build-customer-features-dbt"), ("ServiceAccount", "build-customer-features-dbt"),
    ("NetworkPolicy", "churn-analytics-jobs"), ("ConfigMap", "churn-analytics-source"),
}


def test_owners_start_with_the_resource_the_file_comes_from(artifacts: list[Artifact]):
    by_path = {a.path: a.owners for a in artifacts}
    assert by_path["k8s/dev/churn-api-dev.deployment.yaml"][0] == "deployment.churn_api_dev"
    assert by_path["k8s/prod/churn-api.inferenceservice.yaml"][0] == "deployment.churn_api"
    assert by_path["k8s/prod/churn-retrain.cronjob.yaml"] == ("model.churn", "environment.prod")
    assert by_path["k8s/prod/churn-analytics-source.configmap.yaml"] == ("project.churn_analytics", "environment.prod")
    assert by_path["k8s/dev/build-customer-features-dbt.cronjob.yaml"][0] == "transform.build_customer_features"
    assert by_path["k8s/prod/kustomization.yaml"][0] == "environment.prod"


def test_emitting_twice_gives_the_same_bytes_and_plain_yaml(project: SpecProject, artifacts: list[Artifact]):
    again = emit(project)
    assert [(a.path, a.content, a.owners) for a in again] == [(a.path, a.content, a.owners) for a in artifacts]
    for a in artifacts:
        assert a.content.startswith(b"# Generated by specops")
        assert not re.search(rb"[&*]id\d", a.content), f"YAML anchors in {a.path}"


# --- labels and namespaces ------------------------------------------------------------------------


def test_every_object_is_labelled_and_namespaced(objects: Objects):
    namespaces = {"dev": "ml-dev", "prod": "ml-prod"}
    for env, objs in objects.items():
        for (kind, name), obj in objs.items():
            if kind == "Kustomization":
                continue
            meta = obj["metadata"]
            assert meta["namespace"] == namespaces[env], (kind, name)
            for key in STANDARD_LABELS:
                assert key in meta["labels"], (kind, name, key)
            assert meta["labels"]["app.kubernetes.io/managed-by"] == "specops"
            assert meta["labels"]["app.kubernetes.io/part-of"] == "churn-analytics"
            assert meta["annotations"]["specops.dev/address"]
            if "specops.dev/owner" in meta["annotations"]:
                assert meta["labels"]["specops.dev/owner"] == label_value(meta["annotations"]["specops.dev/owner"])


def test_owner_labels_are_sanitised_and_user_labels_kept(objects: Objects):
    isvc = objects["prod"][("InferenceService", "churn-api")]
    assert isvc["metadata"]["labels"]["specops.dev/owner"] == "acme-ml"
    assert isvc["metadata"]["annotations"]["specops.dev/owner"] == "@acme/ml"
    assert isvc["metadata"]["labels"]["cost_center"] == "42"
    assert isvc["metadata"]["labels"]["specops.dev/address"] == "deployment.churn_api"


@pytest.mark.parametrize(("raw", "label"), [
    ("@acme/ml", "acme-ml"), ("team", "team"), ("@a//b c", "a-b-c"), ("@" + "x" * 80, "x" * 63), ("@@", ""),
])
def test_label_value(raw: str, label: str):
    assert label_value(raw) == label


def test_long_names_are_shortened_stably():
    name = "a" * 70
    short = fit_name(name, 52)
    assert len(short) == 52 and short == fit_name(name, 52) and short != fit_name("a" * 71, 52)
    assert fit_name("short", 52) == "short"


# --- runtime mlflow (dev) --------------------------------------------------------------------------


def test_dev_deployment(project: SpecProject, objects: Objects):
    dev = objects["dev"]
    assert "HorizontalPodAutoscaler" not in kinds(dev)
    dep = dev[("Deployment", "churn-api-dev")]
    spec = dep["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    pod_labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"] == {k: v for k, v in pod_labels.items() if k != "specops.dev/serves"}
    assert pod_labels["specops.dev/serves"] == "churn-api-dev"  # what a canary's Service would select by
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "churn-api-dev" and pod["automountServiceAccountToken"] is False
    term = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term == {"labelSelector": {"matchLabels": spec["selector"]["matchLabels"]},
                    "topologyKey": "kubernetes.io/hostname"}
    (server,) = pod["containers"]
    assert server["image"] == images.serve_image(project, project.models["churn"])
    assert server["imagePullPolicy"] == "Always"
    env = {e["name"]: e["value"] for e in server["env"]}
    assert env["MODEL_URI"] == "models:/churn@champion"
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow.ml-dev.svc:5000"
    assert env["PORT"] == "8000"
    assert server["readinessProbe"]["httpGet"]["path"] == "/health"
    assert server["livenessProbe"]["httpGet"]["path"] != server["readinessProbe"]["httpGet"]["path"]
    assert server["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi", "ephemeral-storage": "256Mi"},
                                   "limits": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "1Gi"}}


def test_dev_service_pdb_network_policy_and_monitoring(objects: Objects):
    dev = objects["dev"]
    selector = dev[("Deployment", "churn-api-dev")]["spec"]["selector"]["matchLabels"]
    svc = dev[("Service", "churn-api-dev")]["spec"]
    assert svc["type"] == "ClusterIP" and svc["selector"] == selector
    assert svc["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]
    pdb = dev[("PodDisruptionBudget", "churn-api-dev")]["spec"]
    assert pdb == {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow",
                   "selector": {"matchLabels": selector}}
    net = dev[("NetworkPolicy", "churn-api-dev")]["spec"]
    assert net["policyTypes"] == ["Ingress", "Egress"] and net["podSelector"] == {"matchLabels": selector}
    assert [r["from"] for r in net["ingress"]] == [
        [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]]
    monitor = dev[("ServiceMonitor", "churn-api-dev")]["spec"]
    assert monitor["selector"]["matchLabels"] == selector
    assert monitor["endpoints"][0]["port"] == "http" and monitor["endpoints"][0]["path"] == "/metrics"
    rules = dev[("PrometheusRule", "churn-api-dev")]["spec"]["groups"][0]["rules"]
    exprs = {r["alert"]: r["expr"] for r in rules}
    assert "histogram_quantile(0.95" in exprs["SpecopsServingLatencyHigh"]
    assert exprs["SpecopsServingLatencyHigh"].endswith("> 0.5")
    assert exprs["SpecopsServingErrorRateHigh"].endswith("> 0.05")
    assert {r["labels"]["severity"] for r in rules} == {"warning"}


# --- runtime kserve (prod) -------------------------------------------------------------------------


def test_prod_inference_service(objects: Objects):
    prod = objects["prod"]
    assert not kinds(prod) & {"HorizontalPodAutoscaler", "Deployment", "Service"}
    isvc = prod[("InferenceService", "churn-api")]
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    ann = isvc["metadata"]["annotations"]
    assert ann["serving.kserve.io/deploymentMode"] == "Standard"
    assert ann["serving.kserve.io/autoscalerClass"] == "hpa"
    assert ann["specops.dev/storage-uri"] == "known-after-apply"
    pred = isvc["spec"]["predictor"]
    assert "canaryTrafficPercent" not in pred  # the example has no canary (KServe's Standard mode ignores it)
    assert (pred["minReplicas"], pred["maxReplicas"], pred["scaleMetric"], pred["scaleTarget"]) == (2, 6, "cpu", 70)
    assert pred["serviceAccountName"] == "churn-api" and pred["automountServiceAccountToken"] is False
    model = pred["model"]
    assert model["modelFormat"] == {"name": "mlflow"} and model["protocolVersion"] == "v2"
    assert model["storageUri"] == "models:/churn@champion"
    assert model["resources"]["requests"]["cpu"] == "250m"
    assert ("ServiceAccount", "churn-api") in prod


def test_prod_pdb_network_policy_and_monitoring_select_the_predictor(objects: Objects):
    prod = objects["prod"]
    pods = {"serving.kserve.io/inferenceservice": "churn-api", "component": "predictor"}
    assert prod[("PodDisruptionBudget", "churn-api")]["spec"]["selector"] == {"matchLabels": pods}
    net = prod[("NetworkPolicy", "churn-api")]["spec"]
    assert net["podSelector"] == {"matchLabels": pods}
    gateway = net["ingress"][0]
    assert gateway["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}}}]
    monitor = prod[("PodMonitor", "churn-api")]
    assert monitor["spec"]["selector"] == {"matchLabels": pods}
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    rule = prod[("PrometheusRule", "churn-api")]
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    exprs = [r["expr"] for r in rule["spec"]["groups"][0]["rules"]]
    assert exprs[0].endswith("> 0.3") and exprs[1].endswith("> 0.01")
    assert all('pod=~"churn-api-predictor-.*"' in e for e in exprs)


# --- CronJobs ------------------------------------------------------------------------------------------


def test_cron_jobs(project: SpecProject, objects: Objects):
    churn = project.models["churn"]
    for env in ("dev", "prod"):
        objs = objects[env]
        retrain = objs[("CronJob", "churn-retrain")]
        drift = objs[("CronJob", "churn-drift")]
        dbt = objs[("CronJob", "build-customer-features-dbt")]
        assert retrain["spec"]["schedule"] == "0 3 * * 1" and drift["spec"]["schedule"] == "0 6 * * *"
        for job in (retrain, drift, dbt):
            spec = job["spec"]
            assert spec["concurrencyPolicy"] == "Forbid" and spec["startingDeadlineSeconds"] == 300
            assert spec["successfulJobsHistoryLimit"] and spec["failedJobsHistoryLimit"]
            jt = spec["jobTemplate"]["spec"]
            assert jt["backoffLimit"] == 1 and jt["activeDeadlineSeconds"] > 0
            assert "ttlSecondsAfterFinished" not in jt
            pod = pod_spec(job)
            assert pod["restartPolicy"] == "Never"
            assert pod["serviceAccountName"] == job["metadata"]["name"]
            assert ("ServiceAccount", job["metadata"]["name"]) in objs
        (c,) = pod_spec(retrain)["containers"]
        assert c["image"] == images.train_image(project, churn)
        assert c["args"] == ["specops", "train", "churn", "--env", env]
        assert c["resources"]["requests"]["cpu"] == "2" and c["resources"]["limits"]["memory"] == "4Gi"
        assert pod_spec(drift)["containers"][0]["args"] == ["specops", "drift", "churn", "--env", env]
        assert pod_spec(dbt)["containers"][0]["image"] == images.dbt_image(project)
        script = ('specops compile --out /tmp/specops-build && exec dbt build --select "$1" --target "$2" '
                  "--project-dir /tmp/specops-build/dbt --profiles-dir /tmp/specops-build/dbt")
        assert pod_spec(dbt)["containers"][0]["args"] == ["sh", "-c", script, "dbt-job", "customer_features", env]
        for job in (retrain, drift, dbt):  # every job runs in the spec repository its init container fetched
            pod = pod_spec(job)
            (fetch,) = pod["initContainers"]
            assert fetch["image"].startswith("registry.k8s.io/git-sync/git-sync:v4.")
            fenv = {e["name"]: e.get("value", e.get("valueFrom")) for e in fetch["env"]}
            assert fenv["GITSYNC_ONE_TIME"] == "true" and fenv["GITSYNC_ROOT"] == "/src"
            assert fenv["GITSYNC_REF"] == {"configMapKeyRef": {"name": "churn-analytics-source", "key": "revision"}}
            assert fenv["GITSYNC_REPO"] == {"configMapKeyRef": {"name": "churn-analytics-source", "key": "repository"}}
            assert pod["containers"][0]["workingDir"] == "/src/repo"
            assert {"name": "source", "emptyDir": {}} in pod["volumes"]
        source = objs[("ConfigMap", "churn-analytics-source")]
        assert source["data"] == {"repository": "known-after-apply", "revision": "known-after-apply", "path": ""}
        assert source["metadata"]["annotations"]["specops.dev/revision"] == "known-after-apply"


def test_secrets_are_mounted_as_files_only_where_needed(objects: Objects):
    prod_pod = pod_spec(objects["prod"][("CronJob", "build-customer-features-dbt")])
    dev_pod = pod_spec(objects["dev"][("CronJob", "build-customer-features-dbt")])
    secret = [v for v in prod_pod["volumes"] if "secret" in v]
    assert secret and secret[0]["secret"]["secretName"] == "churn-analytics-secrets"
    # only the keys the dbt job uses: the warehouse password, not the MLflow token
    assert secret[0]["secret"]["items"] == [{"key": "WAREHOUSE_PASSWORD", "path": "WAREHOUSE_PASSWORD"}]
    retrain = pod_spec(objects["prod"][("CronJob", "churn-retrain")])
    keys = [i["key"] for v in retrain["volumes"] if "secret" in v for i in v["secret"]["items"]]
    assert keys == ["MLFLOW_TRACKING_TOKEN", "WAREHOUSE_PASSWORD"]
    assert not [v for v in dev_pod["volumes"] if "secret" in v]
    for obj in objects["prod"].values():
        assert "secretKeyRef" not in json.dumps(obj) and "envFrom" not in json.dumps(obj)
    jobs_net = objects["prod"][("NetworkPolicy", "churn-analytics-jobs")]["spec"]
    assert jobs_net["ingress"] == []
    assert {"protocol": "TCP", "port": 5432} in [p for r in jobs_net["egress"] for p in r["ports"]]


def test_laptop_only_workloads_are_left_out(example_root: Path):
    """The example's dev keeps its warehouse and registry in local files: none of its workloads could start in a
    cluster, so none is emitted (and dev, an environment named so, is not warned about: compile's README says so)."""
    laptop = require_project(example_root)
    paths = {a.path for a in emit(laptop)}
    assert not [p for p in paths if p.startswith("k8s/dev/")]
    assert "k8s/prod/churn-retrain.cronjob.yaml" in paths
    assert not [w for w in laptop.warnings if w.code == "laptop-only"]


def test_a_server_registry_with_a_local_warehouse_keeps_serving_only(project: SpecProject):
    import dataclasses

    from compiler.spec.ir import Warehouse

    dev = dataclasses.replace(project.environments["dev"], warehouse=Warehouse("duckdb", (("path", ".specops/d.duckdb"),)))
    mixed = dataclasses.replace(project, environments={**project.environments, "dev": dev})
    dev_objects = objects_of(emit(mixed))["dev"]
    assert ("Deployment", "churn-api-dev") in dev_objects
    assert not [k for k in dev_objects if k[0] in ("CronJob", "ConfigMap")]


def test_the_serving_pod_gets_the_token_as_mlflow_tracking_token(project: SpecProject):
    import dataclasses

    dev = dataclasses.replace(project.environments["dev"], token_env="DEV_MLFLOW_TOKEN")
    with_token = dataclasses.replace(project, environments={**project.environments, "dev": dev})
    pod = pod_spec(objects_of(emit(with_token))["dev"][("Deployment", "churn-api-dev")])
    (volume,) = [v for v in pod["volumes"] if "secret" in v]
    assert volume["secret"]["items"] == [{"key": "DEV_MLFLOW_TOKEN", "path": "MLFLOW_TRACKING_TOKEN"}]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["SPECOPS_SECRETS_DIR"] == "/var/run/secrets/specops"


def test_rendered_with_the_applied_revision(project: SpecProject):
    from compiler.emit.kubernetes import SourceRef

    arts = render(project, None, only="prod", source=SourceRef("https://github.com/acme/specs.git", "a" * 40))
    source = objects_of(arts)["prod"][("ConfigMap", "churn-analytics-source")]
    assert source["data"] == {"repository": "https://github.com/acme/specs.git", "revision": "a" * 40, "path": ""}
    assert "specops.dev/revision" not in source["metadata"].get("annotations", {})


def test_seldon_admits_the_allowed_namespaces_to_the_mesh(project: SpecProject):
    import dataclasses

    dep = dataclasses.replace(project.deployments["churn_api"], runtime="seldon")
    seldon = dataclasses.replace(project, deployments={**project.deployments, "churn_api": dep})
    policy = objects_of(emit(seldon))["prod"][("NetworkPolicy", "churn-api-mesh")]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "seldon-envoy"}}
    assert policy["policyTypes"] == ["Ingress"]
    sources = [(r["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
                [p["port"] for p in r["ports"]]) for r in policy["ingress"]]
    assert sources == [("gateway", [9000]), ("monitoring", [9000, 9003])]


def test_drift_rule(objects: Objects):
    rules = objects["prod"][("PrometheusRule", "churn-drift")]["spec"]["groups"][0]["rules"]
    assert rules[0]["expr"] == 'max(specops_drift_score{model="churn", environment="prod"}) > 0.2'
    assert "kube_job_status_failed" in rules[1]["expr"]


# --- hardening and validators ------------------------------------------------------------------------


def test_every_pod_is_hardened(objects: Objects, artifacts: list[Artifact]):
    for objs in objects.values():
        for (kind, _name), obj in objs.items():
            if kind in ("Deployment", "CronJob"):
                pod = pod_spec(obj)
            elif kind == "InferenceService":
                pod = obj["spec"]["predictor"]
            else:
                continue
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]
            containers = pod.get("containers") or [pod["model"]]
            for c in containers:
                sc = c["securityContext"]
                assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
                assert sc["capabilities"] == {"drop": ["ALL"]}
                assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
                for side in ("requests", "limits"):
                    assert set(c["resources"][side]) >= {"cpu", "memory", "ephemeral-storage"}
    assert check_files((a.path, a.content) for a in artifacts) == []


def test_one_suppression_only_on_workloads(objects: Objects):
    skips = set()
    for objs in objects.values():
        for (kind, _), obj in objs.items():
            ann = obj.get("metadata", {}).get("annotations", {})
            found = {k: v for k, v in ann.items() if k.startswith("checkov.io/")}
            if kind in ("Deployment", "CronJob"):
                assert list(found) == ["checkov.io/skip1"]
            else:
                assert not found, kind
            skips |= {v.split("=", 1)[0] for v in found.values()}
            assert all(v.count("=") == 1 for v in found.values())  # checkov splits on '='
    assert skips == {"CKV_K8S_43"}


def _tool(name: str, env_var: str | None = None, venv: str = ".venv") -> str | None:
    if env_var and os.environ.get(env_var) and Path(os.environ[env_var]).exists():
        return os.environ[env_var]
    for candidate in (Path(sys.executable).parent / name, REPO / venv / "bin" / name):
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


def test_kubernetes_validate_strict(project: SpecProject, artifacts: list[Artifact], tmp_path: Path):
    tool = _tool("kubernetes-validate")
    if tool is None:
        pytest.skip("kubernetes-validate is not installed")
    root = write_tree(artifacts, tmp_path)
    files = sorted(str(p) for p in root.rglob("*.yaml"))
    version = f"{project.project.kubernetes_version}.0"
    run = subprocess.run([tool, "--strict", "-k", version, *files], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    passed = set(re.findall(r"passed for resource (\w+)/", run.stdout))
    assert passed >= {"deployment", "service", "serviceaccount", "poddisruptionbudget", "networkpolicy", "cronjob"}
    unknown = set(re.findall(r"Couldn't find schema for kind (\w+)", run.stdout))
    assert unknown <= {"InferenceService", "ServiceMonitor", "PodMonitor", "PrometheusRule", "Kustomization"}


@pytest.mark.slow
def test_checkov_finds_nothing(artifacts: list[Artifact], tmp_path: Path):
    tool = _tool("checkov", "SPECOPS_CHECKOV", ".venv-checkov")
    if tool is None:
        pytest.skip("checkov is not installed")
    root = write_tree(artifacts, tmp_path)
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    run = subprocess.run([tool, "--skip-download", "--framework", "kubernetes", "-d", str(root), "-o", "json"],
                         capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    report = json.loads(run.stdout)
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] > 0 and report["summary"]["parsing_errors"] == 0
    assert {c["check_id"] for c in report["results"]["skipped_checks"]} == {"CKV_K8S_43"}


# --- resolved versions ----------------------------------------------------------------------------------


def test_render_with_resolved_versions(project: SpecProject):
    resolved = {"churn": ResolvedModel(version=7, storage_uri="s3://mlflow/1/abc/artifacts/model")}
    objs = objects_of(render(project, resolved))
    dep = objs["dev"][("Deployment", "churn-api-dev")]
    env = {e["name"]: e["value"] for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MODEL_URI"] == "models:/churn/7"
    assert dep["metadata"]["labels"]["app.kubernetes.io/version"] == "7"
    isvc = objs["prod"][("InferenceService", "churn-api")]
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "s3://mlflow/1/abc/artifacts/model"
    assert "specops.dev/storage-uri" not in isvc["metadata"]["annotations"]
    assert isvc["metadata"]["labels"]["app.kubernetes.io/version"] == "7"
    # selectors never carry the version, so a new version never changes an immutable selector
    assert dep["spec"]["selector"] == objects_of(emit(project))["dev"][("Deployment", "churn-api-dev")]["spec"][
        "selector"]


def test_a_pinned_version_wins_over_another_resolved_version(edit):
    edit.replace("specs/deployments/churn_api_dev.yaml", "alias: champion", "version: 3")
    project = served_dev(require_project(edit.root))
    dep = objects_of(render(project, {"churn": ResolvedModel(5, "s3://x")}))["dev"][("Deployment", "churn-api-dev")]
    env = {e["name"]: e["value"] for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MODEL_URI"] == "models:/churn/3"


# --- other runtimes and environments ----------------------------------------------------------------------


def test_runtime_mlflow_with_autoscaling_has_an_hpa_and_no_replicas(edit):
    edit.replace("specs/deployments/churn_api.yaml", "runtime: kserve", "runtime: mlflow")
    prod = objects_of(emit(require_project(edit.root)))["prod"]
    dep = prod[("Deployment", "churn-api")]
    assert "replicas" not in dep["spec"]
    hpa = prod[("HorizontalPodAutoscaler", "churn-api")]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "churn-api"}
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] == 6
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    ingress = prod[("NetworkPolicy", "churn-api")]["spec"]["ingress"]
    assert ingress[0]["ports"] == [{"protocol": "TCP", "port": 8000}]
    egress_ports = {p["port"] for r in prod[("NetworkPolicy", "churn-api")]["spec"]["egress"] for p in r["ports"]}
    assert egress_ports == {53, 443}


def test_runtime_mlflow_with_a_canary_serves_the_challenger_on_a_share_of_the_pods(edit):
    """SPEC's Deployment example: runtime mlflow with rollout.canary_percent (Kubernetes' replica-ratio canary)."""
    edit.replace("specs/deployments/churn_api.yaml", "runtime: kserve", "runtime: mlflow")
    edit.replace("specs/deployments/churn_api.yaml", "  network:", "  rollout: {canary_percent: 10}\n  network:")
    prod = objects_of(emit(require_project(edit.root)))["prod"]
    stable, candidate = prod[("Deployment", "churn-api")], prod[("Deployment", "churn-api-candidate")]
    service = prod[("Service", "churn-api")]["spec"]["selector"]

    def pod_labels(dep):
        return dep["spec"]["template"]["metadata"]["labels"]

    def selects(sel, labels):
        return all(labels.get(k) == v for k, v in sel.items())

    assert selects(service, pod_labels(stable)) and selects(service, pod_labels(candidate))
    # the two Deployments never select each other's pods (a Deployment selector is immutable: the stable one's
    # is what it was without a canary)
    assert not selects(stable["spec"]["selector"]["matchLabels"], pod_labels(candidate))
    assert not selects(candidate["spec"]["selector"]["matchLabels"], pod_labels(stable))
    env = {e["name"]: e.get("value") for e in candidate["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MODEL_URI"].endswith("@challenger")
    assert candidate["spec"]["replicas"] == 1  # 10% beside min_replicas 2: one pod, at least
    assert candidate["metadata"]["labels"]["app.kubernetes.io/version"] == "challenger"
    assert candidate["spec"]["template"]["spec"]["serviceAccountName"] == "churn-api"
    for kind in ("PodDisruptionBudget", "NetworkPolicy"):  # the candidate's pods are covered too
        sel = prod[(kind, "churn-api-candidate")]["spec"]["selector" if kind == "PodDisruptionBudget"
                                                         else "podSelector"]["matchLabels"]
        assert selects(sel, pod_labels(candidate))


@pytest.mark.parametrize("runtime", ["mlflow", "seldon"])
def test_apply_names_the_challengers_version_so_the_candidate_is_replaced_when_the_alias_moves(edit, runtime):
    """The candidate loads its model when its pods start: naming the challenger's version (not the alias) in it
    makes a moved alias a changed pod template (or Seldon Model), which Kubernetes rolls out."""
    from compiler.apply.steps.deploy import state_versions

    edit.replace("specs/deployments/churn_api.yaml", "runtime: kserve", f"runtime: {runtime}")
    edit.replace("specs/deployments/churn_api.yaml", "  network:", "  rollout: {canary_percent: 10}\n  network:")
    project = require_project(edit.root)
    versions = state_versions(project, {"churn": {"alias_version": 4, "candidate_version": 6}, "gone": {}})
    assert versions == {"churn": (4, "models:/churn/4", 6)}

    def candidate_uri(challenger):
        resolved = {"churn": ResolvedModel(4, "s3://x", challenger=challenger)}
        prod = objects_of(render(project, resolved))["prod"]
        if runtime == "seldon":
            return prod[("Model", "churn-api-candidate")]["spec"]["storageUri"]
        container = prod[("Deployment", "churn-api-candidate")]["spec"]["template"]["spec"]["containers"][0]
        return {e["name"]: e.get("value") for e in container["env"]}["MODEL_URI"]

    assert candidate_uri(6) == "models:/churn/6" and candidate_uri(7) == "models:/churn/7"
    assert candidate_uri(None) == "models:/churn@challenger"  # nothing trained yet: the alias


def test_runtime_seldon_with_a_canary_experiment(edit):
    edit.replace("specs/deployments/churn_api.yaml", "runtime: kserve", "runtime: seldon")
    edit.replace("specs/deployments/churn_api.yaml", "  network:", "  rollout: {canary_percent: 10}\n  network:")
    prod = objects_of(emit(require_project(edit.root)))["prod"]
    model = prod[("Model", "churn-api")]
    assert model["apiVersion"] == "mlops.seldon.io/v1alpha1"
    assert model["spec"]["storageUri"] == "models:/churn@champion" and model["spec"]["requirements"] == ["mlflow"]
    assert (model["spec"]["minReplicas"], model["spec"]["maxReplicas"]) == (2, 6)
    candidate = prod[("Model", "churn-api-candidate")]
    assert candidate["spec"]["storageUri"] == "models:/churn@challenger"
    experiment = prod[("Experiment", "churn-api-canary")]["spec"]
    assert experiment["default"] == "churn-api"
    assert experiment["candidates"] == [{"name": "churn-api", "weight": 90},
                                        {"name": "churn-api-candidate", "weight": 10}]
    assert not kinds(prod) & {"InferenceService", "HorizontalPodAutoscaler", "Deployment"}


def test_an_environment_without_namespace_gets_nothing(edit):
    edit.append_docs("specs/environments.yaml", {
        "apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "staging"},
        "spec": {"warehouse": {"type": "duckdb"}}})
    arts = emit(require_project(edit.root))
    assert {a.path.split("/")[1] for a in arts} == {"prod"}  # dev: laptop-only


@pytest.mark.parametrize(("requests", "limits", "expected"), [
    ({}, {}, ({"cpu": "100m", "memory": "256Mi", "ephemeral-storage": "256Mi"},
              {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"})),
    ({"memory": "2Gi"}, {}, ({"cpu": "100m", "memory": "2Gi", "ephemeral-storage": "256Mi"},
                             {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "1Gi"})),
    ({}, {"cpu": "50m", "ephemeral_storage": "100Mi"},
     ({"cpu": "50m", "memory": "256Mi", "ephemeral-storage": "100Mi"},
      {"cpu": "50m", "memory": "1Gi", "ephemeral-storage": "100Mi"})),
], ids=["defaults", "request-above-default-limit", "limit-below-default-request"])
def test_resource_defaults_stay_consistent(requests, limits, expected):
    got = requirements(requests, limits)
    assert (got["requests"], got["limits"]) == expected


def test_a_bigquery_key_reaches_the_jobs_as_a_file_path(project: SpecProject):
    import dataclasses

    from compiler.spec.ir import Warehouse

    prod = dataclasses.replace(project.environments["prod"], state=None, warehouse=Warehouse(
        "bigquery", (("dataset", "analytics"), ("keyfile_env", "GCP_KEY"), ("project", "acme"))))
    bigquery = dataclasses.replace(project, environments={**project.environments, "prod": prod})
    pod = pod_spec(objects_of(emit(bigquery))["prod"][("CronJob", "churn-retrain")])
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["SPECOPS_SECRET_FILES"] == "GCP_KEY"  # the entrypoint exports the file's path, not its content
    keys = [i["key"] for v in pod["volumes"] if "secret" in v for i in v["secret"]["items"]]
    assert "GCP_KEY" in keys


def test_a_spec_name_ending_with_an_underscore_still_gives_a_dns_1123_name():
    """Names may end with `_` (^[a-z][a-z0-9_]{0,62}$); Kubernetes names must end with a letter or digit."""
    import re

    from compiler.spec.kinds import k8s_name

    dns = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    names = ["api_", "api__", "api", "a__b", "churn_api_dev", "a" * 62 + "_", "b" * 57 + "_" * 6]
    made = [k8s_name(n) for n in names]
    assert all(dns.match(m) and len(m) <= 63 for m in made), made
    assert len(set(made)) == len(made)  # still one name per spec name
    assert made[2:5] == ["api", "a--b", "churn-api-dev"]  # names without a trailing `_` are as before


@pytest.mark.parametrize(("replicas", "percent", "pods", "warned"), [
    (2, 10, (2, 1), True), (9, 10, (9, 1), False), (4, 50, (4, 4), False), (2, 99, (2, 18), False),
    (3000000, 99, (3000000, 1000), True)])
def test_a_replica_ratio_canary_is_as_close_as_pods_allow_and_says_when_it_is_not(edit, validate_cli, replicas,
                                                                                 percent, pods, warned):
    edit.replace("specs/deployments/churn_api.yaml", "runtime: kserve", "runtime: mlflow")
    edit.replace("specs/deployments/churn_api.yaml", "autoscaling: {min_replicas: 2, max_replicas: 6, target_cpu_percent: 70}",
                 f"replicas: {replicas}")
    edit.replace("specs/deployments/churn_api.yaml", "  network:", f"  rollout: {{canary_percent: {percent}}}\n  network:")
    assert require_project(edit.root).deployments["churn_api"].canary_pods() == pods
    result = validate_cli(edit.root)
    assert result.exit_code == 0, result.output
    assert ("[canary-share]" in result.output) is warned, result.output


def test_a_port_set_for_a_runtime_that_does_not_use_it_is_a_warning(tmp_path: Path):
    """port is runtime mlflow's container port: KServe and the others serve on their own, so validate says a port
    written for them is not used (the churn example wrote one for years)."""
    from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

    from compiler.front.check import check_repository

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).replace("specs/deployments/churn_api.yaml", "  runtime: kserve\n", "  runtime: kserve\n  port: 9000\n")
    project, diags = check_repository(root)
    assert project is not None
    (unused,) = [d for d in diags if d.code == "unused-setting"]
    assert unused.severity == "warning" and unused.address == "deployment.churn_api" and "not used" in unused.message
    text = (root / "specs/deployments/churn_api.yaml").read_text(encoding="utf-8").splitlines()
    assert text[unused.line - 1].strip() == "port: 9000"
    mlflow = copy_repository(EXAMPLE_ROOT, tmp_path / "dev")
    assert "port: 8000" in (mlflow / "specs/deployments/churn_api_dev.yaml").read_text(encoding="utf-8")
    assert not [d for d in check_repository(mlflow)[1] if d.code == "unused-setting"]  # runtime mlflow uses it


@pytest.mark.parametrize(("runtime", "extra", "unused"), [
    ("kserve", "  rollout: {canary_percent: 10}\n", ["rollout: {canary_percent: 10}"]),
    ("triton", "  rollout: {canary_percent: 10}\n", ["rollout: {canary_percent: 10}"]),
    ("mlflow", "  rollout: {canary_percent: 50}\n", []),  # a replica-ratio canary: used
    ("seldon", "", ["requests: {cpu: 250m, memory: 512Mi}", 'limits: {cpu: "1", memory: 1Gi}',
                    "autoscaling: {min_replicas: 2, max_replicas: 6, target_cpu_percent: 70}"]),
    ("seldon", "  rollout: {canary_percent: 10}\n", ["requests: {cpu: 250m, memory: 512Mi}",
                                                      'limits: {cpu: "1", memory: 1Gi}',
                                                      "autoscaling: {min_replicas: 2, max_replicas: 6, target_cpu_percent: 70}"]),
])
def test_settings_a_runtime_ignores_are_warnings_where_they_are_written(tmp_path: Path, runtime: str, extra: str,
                                                                       unused: list[str]):
    """KServe's Standard mode (what specops emits) ignores canaryTrafficPercent, and a Seldon Model states only a
    memory requirement: a spec promising a 10% canary, or a CPU request, on them is told so."""
    from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

    from compiler.front.check import check_repository

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.replace("specs/deployments/churn_api.yaml", "  runtime: kserve\n", f"  runtime: {runtime}\n{extra}")
    if runtime == "triton":  # serves TorchScript, and has no monitoring of its own
        ed.replace("specs/models/churn.yaml", "framework: sklearn", "framework: pytorch")
        ed.replace("specs/deployments/churn_api.yaml", "    alerts: {p95_latency_ms: 300, error_rate: 0.01}\n", "")
    project, diags = check_repository(root)
    assert project is not None, diags
    found = [d for d in diags if d.code == "unused-setting" and d.address == "deployment.churn_api"]
    assert all(d.severity == "warning" for d in found)
    text = (root / "specs/deployments/churn_api.yaml").read_text(encoding="utf-8").splitlines()
    assert sorted(text[d.line - 1].strip() for d in found) == sorted(unused), [d.message for d in found]
