"""Where a model's scheduled retraining runs: exactly one runner per model, so it is emitted once.

`spec.training.runner` names it; without it, `kubernetes` when the model is deployed to an
environment that has a Kubernetes namespace (the CronJob goes there), else `github`. Each
backend emits retraining only for the models whose runner it is:

    kubernetes  compiler/emit/kubernetes/cronjobs.py   a `<model>-retrain` CronJob per deployed environment
    github      compiler/emit/github                   `specops-retrain-<model>.yml`
    airflow     compiler/emit/airflow                  a `..._retrain_<model>` DAG per environment it trains in
    kubeflow    compiler/emit/kubeflow                 a Kubeflow Pipelines pipeline (IR YAML) per environment it
                                                       trains in, run on the model's schedule by a KFP recurring run

To add a runner (e.g. kubeflow): add it to RUNNERS, to the enum of `training.runner` in
schemas/model.schema.json, to `needs_namespace` if it runs in a cluster, and emit it from its backend.

A scheduled Transform has one runner too (`spec.runner`, default kubernetes):

    kubernetes  compiler/emit/kubernetes/cronjobs.py   a `<transform>-dbt` CronJob per environment with a namespace
    airflow     compiler/emit/airflow                  the `..._schedule_<cron>` DAG of its schedule, per environment
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from compiler.spec import placement
from compiler.spec.ir import Deployment, Environment, Model, Transform

RUNNERS: tuple[str, ...] = ("kubernetes", "github", "airflow", "kubeflow")
TRANSFORM_RUNNERS: tuple[str, ...] = ("kubernetes", "airflow")
DEFAULT_IN_CLUSTER = "kubernetes"
DEFAULT_ELSEWHERE = "github"


def cluster_environments(model: Model, deployments: Iterable[Deployment],
                         environments: Mapping[str, Environment]) -> list[str]:
    """The environments with a Kubernetes namespace the model is deployed to whose cluster can run its retraining
    (not laptop-only: compiler.spec.placement), by name."""
    names = {d.environment for d in deployments if d.model == model.name}
    return sorted(n for n in names if n in environments and environments[n].namespace is not None
                  and placement.in_cluster(environments[n], "retrain"))


def retrain_runner(model: Model, deployments: Iterable[Deployment],
                   environments: Mapping[str, Environment]) -> str | None:
    """The runner of the model's scheduled retraining, or None when it has no training.schedule."""
    tr = model.training
    if tr is None or not tr.schedule:
        return None
    if tr.runner:
        return tr.runner
    return DEFAULT_IN_CLUSTER if cluster_environments(model, deployments, environments) else DEFAULT_ELSEWHERE


def needs_namespace(runner: str) -> bool:
    """Whether the runner runs in the cluster of the model's environments."""
    return runner == "kubernetes"


def training_environments(model: Model, deployments: Iterable[Deployment], environments: Mapping[str, Environment],
                          default_environment: str | None) -> list[str]:
    """Where scheduled retraining runs: the environments the model is deployed to, else the default one (by name)."""
    names = {d.environment for d in deployments if d.model == model.name and d.environment in environments}
    if not names and default_environment in environments:
        names = {default_environment}
    return sorted(names)


def transform_runner(transform: Transform) -> str | None:
    """The runner of a scheduled transform (as written, default kubernetes), or None when it has no schedule."""
    if not transform.schedule:
        return None
    return transform.runner or DEFAULT_IN_CLUSTER
