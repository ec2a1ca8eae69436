"""Kubernetes object names: how the kubernetes backend names every object it emits into an environment's
namespace, and the objects each environment gets, by kind and name (`namespace_objects`).

The backend (compiler.emit.kubernetes) names its objects with these functions only, and validate checks
`namespace_objects` for two resources claiming one object (compiler.front.rules.k8s_names): the names a suffix
derives (`<model>-retrain`, `<deployment>-candidate`, `<project>-jobs`, ...) are computed once, here.
tests/test_k8s_names.py holds `namespace_objects` equal to what the backend emits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from compiler.spec import placement
from compiler.spec.ir import Dataset, Deployment, Environment, Project, Resource
from compiler.spec.landing import connector_lands, cron_landed
from compiler.spec.runners import retrain_runner, transform_runner

if TYPE_CHECKING:
    from compiler.spec.project import SpecProject

JOB_NAME_LIMIT = 52  # the Job controller appends 11 characters to a CronJob's name
SERVED_NAME_LIMITS = {"kserve": 45, "triton": 45}  # KServe appends -predictor (and more) to the names it derives
# the suffix of each scheduled job's name, by component
JOB_SUFFIXES = {"retrain": "retrain", "drift": "drift", "transform": "dbt", "land": "land"}


def fit_name(name: str, limit: int = 63) -> str:
    """A DNS-1123 name of at most `limit` characters; longer names keep a prefix and a short hash."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{name[:limit - 9].rstrip('-')}-{digest}"


def served_name(d: Deployment) -> str:
    """The name of a deployment's objects (its Deployment, InferenceService or Seldon Model, and the rest)."""
    return fit_name(d.k8s_name, SERVED_NAME_LIMITS.get(d.runtime, 63))


def candidate_name(served: str) -> str:
    """A canary's candidate (a second Deployment, or Seldon Model) beside the served one."""
    return fit_name(f"{served}-candidate")


def mesh_policy_name(served: str) -> str:
    """The NetworkPolicy of a Seldon deployment, selecting the namespace's mesh."""
    return fit_name(f"{served}-mesh")


def experiment_name(served: str) -> str:
    """The Seldon Experiment splitting a canary's traffic."""
    return fit_name(f"{served}-canary")


def job_name(res: Resource, component: str) -> str:
    """The CronJob (and its ServiceAccount) of a scheduled job: `<resource>-<suffix>` (JOB_SUFFIXES)."""
    return fit_name(f"{res.k8s_name}-{JOB_SUFFIXES[component]}", JOB_NAME_LIMIT)


def project_object_name(project: Project, role: str) -> str:
    """An object of the whole project in each namespace: `<project>-source` (ConfigMap), `<project>-jobs` and
    `<project>-land` (NetworkPolicies)."""
    return fit_name(f"{project.k8s_name}-{role}")


def sink_name(ds: Dataset) -> str:
    """The KafkaConnector landing a kafka source."""
    return fit_name(f"{ds.k8s_name}-sink")


def manifest_file(kind: str, name: str) -> str:
    """The file of one object in its environment's folder: `<name>.<kind>.yaml`."""
    return f"{name}.{kind.lower()}.yaml"


def scheduled_jobs(project: SpecProject, env: Environment) -> Iterator[tuple[str, Resource, str]]:
    """(component, resource, job name) of every scheduled job of the environment that can run in its cluster:
    the retraining and drift jobs of the models deployed there, and the dbt job of every scheduled transform."""
    retrain, drift = placement.in_cluster(env, "retrain"), placement.in_cluster(env, "drift")
    names = {d.model for d in project.deployments.values() if d.environment == env.name}
    for model in (project.models[n] for n in sorted(names) if n in project.models):
        if retrain and retrain_runner(model, project.deployments_of(model.name), project.environments) == "kubernetes":
            yield "retrain", model, job_name(model, "retrain")
        if drift and model.drift is not None and model.drift.schedule:
            yield "drift", model, job_name(model, "drift")
    if not placement.in_cluster(env, "transform"):
        return
    for tr in sorted(project.transforms.values(), key=lambda x: x.name):
        if transform_runner(tr) == "kubernetes":
            yield "transform", tr, job_name(tr, "transform")


def landing_jobs(project: SpecProject, env: Environment) -> Iterator[tuple[Dataset, str]]:
    """(dataset, CronJob name) of every kafka source landed by specops' CronJob in this environment."""
    for ds in cron_landed(project.kafka_datasets(), env):
        yield ds, job_name(ds, "land")


@dataclass(frozen=True, slots=True)
class Named:
    """One object an environment's manifests hold: its kind and name, the resource it comes from, and where that
    resource's spec asks for it (for diagnostics)."""

    kind: str
    name: str
    owner: Resource
    path: tuple[str, ...]
    what: str  # e.g. "its retraining job"


_SERVED_KINDS = {
    "mlflow": ("ServiceAccount", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"),
    "kserve": ("ServiceAccount", "InferenceService", "PodDisruptionBudget", "NetworkPolicy", "PodMonitor"),
    "triton": ("ServiceAccount", "InferenceService", "PodDisruptionBudget", "NetworkPolicy", "PodMonitor"),
    "seldon": ("Model",),
}
_JOB_WHAT = {"retrain": "its retraining job", "drift": "its drift job", "transform": "its dbt job",
             "land": "its landing job"}
_JOB_PATHS = {"retrain": ("spec", "training", "schedule"), "drift": ("spec", "monitoring", "drift", "schedule"),
              "transform": ("spec", "schedule"), "land": ("spec", "source", "schedule")}


def deployment_objects(d: Deployment) -> list[Named]:
    """Every object of one deployment (compiler.emit.kubernetes: serving, kserve, triton, seldon)."""
    name, base, canary = served_name(d), ("metadata", "name"), ("spec", "rollout", "canary_percent")
    out = [Named(kind, name, d, base, "its serving objects") for kind in _SERVED_KINDS[d.runtime]]
    if d.runtime == "mlflow" and d.autoscaling is not None:
        out.append(Named("HorizontalPodAutoscaler", name, d, base, "it"))
    if d.runtime != "triton" and (d.p95_latency_ms is not None or d.error_rate is not None):
        out.append(Named("PrometheusRule", name, d, ("spec", "monitoring", "alerts"), "its alerts"))
    if d.runtime == "seldon":
        out.append(Named("NetworkPolicy", mesh_policy_name(name), d, base, "its mesh policy"))
    if d.canary_percent is not None and d.runtime in ("mlflow", "seldon"):
        candidate = candidate_name(name)
        kinds = ("Deployment", "PodDisruptionBudget", "NetworkPolicy") if d.runtime == "mlflow" else ("Model",)
        out += [Named(kind, candidate, d, canary, "its canary's candidate") for kind in kinds]
        if d.runtime == "seldon":
            out.append(Named("Experiment", experiment_name(name), d, canary, "its canary's experiment"))
    return out


def namespace_objects(project: SpecProject, env: Environment) -> list[Named]:
    """Every object the kubernetes backend emits into the environment's namespace (none without a namespace)."""
    if env.namespace is None:
        return []
    out: list[Named] = []
    if placement.in_cluster(env, "serving"):
        for d in sorted(project.deployments.values(), key=lambda x: x.name):
            if d.environment == env.name and d.runtime in _SERVED_KINDS:
                out += deployment_objects(d)
    top = project.project
    jobs = list(scheduled_jobs(project, env))
    for component, res, name in jobs:
        kinds = ("ServiceAccount", "CronJob", *(("PrometheusRule",) if component == "drift" else ()))
        out += [Named(kind, name, res, _JOB_PATHS[component], _JOB_WHAT[component]) for kind in kinds]
    if jobs:
        out.append(Named("NetworkPolicy", project_object_name(top, "jobs"), top, ("metadata", "name"),
                         "the scheduled jobs' network policy"))
    landing = list(landing_jobs(project, env))
    if jobs or landing:
        out.append(Named("ConfigMap", project_object_name(top, "source"), top, ("metadata", "name"),
                         "the jobs' source repository"))
    for ds, name in landing:
        out += [Named(kind, name, ds, _JOB_PATHS["land"], _JOB_WHAT["land"]) for kind in ("ServiceAccount", "CronJob")]
    if landing:
        out.append(Named("NetworkPolicy", project_object_name(top, "land"), top, ("metadata", "name"),
                         "the landing jobs' network policy"))
    for ds in project.kafka_datasets():
        if connector_lands(ds, env):
            out.append(Named("KafkaConnector", sink_name(ds), ds, ("spec", "source", "connect"), "its connector"))
    return out
