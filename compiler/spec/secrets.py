"""Every secret an environment needs, in one place: which GitHub Actions secrets its workflow jobs read, which
keys of its Kubernetes Secret its pods mount, and which variables the tasks of its Airflow DAGs read from the
workers' environment. The github and kubernetes backends, the compiled README and `specops secrets ENV` all
read this table, so they cannot disagree.

Secrets are named by the spec's `*_env` settings (the variable the value is read from); the same name is the
GitHub secret and the key of the Kubernetes Secret `<project>-secrets` in the environment's namespace. Pods
mount only the keys they use (as files under SPECOPS_SECRETS_DIR, exported by the images' entrypoint; a key
file is exported as its path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from compiler.spec import placement
from compiler.spec.ir import Environment
from compiler.spec.k8snames import project_object_name
from compiler.spec.landing import cron_landed
from compiler.spec.runners import retrain_runner, training_environments, transform_runner

# `project` below is a compiler.spec.project.SpecProject (or a view of one); not imported: the project makes its
# tables from this module (SpecProject.secrets_of)
SpecProject = Any

TOKEN_VARIABLE = "MLFLOW_TRACKING_TOKEN"  # what the MLflow client sends as a bearer token
KUBE_CONFIG = "KUBE_CONFIG"
REGISTRY_USERNAME, REGISTRY_PASSWORD = "REGISTRY_USERNAME", "REGISTRY_PASSWORD"


@dataclass(frozen=True, slots=True)
class Secret:
    name: str  # the variable it is read from: the GitHub secret and the Kubernetes Secret key
    purpose: str
    workflows: tuple[str, ...] = ()  # workflow jobs that read it: apply, train, images
    cluster: tuple[str, ...] = ()  # workloads that mount it: serving, retrain, drift, transform, land, fetch
    airflow: tuple[str, ...] = ()  # tasks of the environment's Airflow DAGs that read it: dbt, train, rollout
    as_file: bool = False  # a key file: processes get the path of a file holding it
    optional: bool = False  # used when set, not required


def secret_object(project: SpecProject) -> str:
    """The name of the Kubernetes Secret, in each environment's namespace, holding the keys below."""
    return project_object_name(project.project, "secrets")


def components(project: SpecProject, env: Environment) -> set[str]:
    """The workloads the environment's manifests hold (after the laptop-only rule)."""
    found = set()
    if env.namespace is None:
        return found
    deployed = [d for d in project.deployments.values() if d.environment == env.name]
    if any(d.runtime == "mlflow" for d in deployed) and placement.in_cluster(env, "serving"):
        found.add("serving")
    for model in (project.models[name] for name in sorted({d.model for d in deployed if d.model in project.models})):
        runner = retrain_runner(model, project.deployments_of(model.name), project.environments)
        if runner == "kubernetes" and placement.in_cluster(env, "retrain"):
            found.add("retrain")
        if model.drift is not None and model.drift.schedule and placement.in_cluster(env, "drift"):
            found.add("drift")
    if (any(transform_runner(t) == "kubernetes" for t in project.transforms.values())
            and placement.in_cluster(env, "transform")):
        found.add("transform")
    if cron_landed(project.kafka_datasets(), env):
        found.add("land")
    if found & {"retrain", "drift", "transform", "land"}:
        found.add("fetch")
    return found


def _github_trains(project: SpecProject, env: Environment) -> bool:
    """Whether a retraining workflow (a model whose training.runner is github) trains in the environment."""
    for model in project.models.values():
        deployments = project.deployments_of(model.name)
        if retrain_runner(model, deployments, project.environments) == "github" and env.name in training_environments(
                model, deployments, project.environments, project.default_environment):
            return True
    return False


def environment_secrets(project: SpecProject, env: Environment) -> list[Secret]:
    """Every secret the environment needs, by name (one entry per name, its uses merged)."""
    running = components(project, env)

    used, dag = _present(running), _present(airflow_tasks(project, env))

    wh = env.warehouse
    out: list[Secret] = []
    jobs = used("retrain", "drift", "transform", "land")
    workflows = ("apply", "train") if _github_trains(project, env) else ("apply",)  # specops-retrain-*.yml
    if wh.get("password_env"):
        out.append(Secret(str(wh.get("password_env")), f"{wh.type} warehouse password", workflows, jobs,
                          airflow=dag("dbt", "train")))
    if wh.get("keyfile_env"):
        out.append(Secret(str(wh.get("keyfile_env")), "BigQuery service-account key (JSON)", workflows, jobs,
                          as_file=True, airflow=dag("dbt", "train")))
    if env.remote_tracking:
        if env.token_env:
            out.append(Secret(env.token_env, "MLflow tracking server token", workflows,
                              used("serving", "retrain", "drift"), airflow=dag("train")))
        else:
            out.append(Secret(TOKEN_VARIABLE, "MLflow tracking server token (when the server requires one; set "
                              "mlflow.token_env to mount it in the cluster too)", workflows, optional=True,
                              airflow=dag("train")))
    # jobs that train (and record the version in the state, and send run events): retraining, and drift jobs
    # that retrain on drift (monitoring.drift.retrain)
    training = used("retrain", *(("drift",) if _drift_retrains(project, env) else ()))
    if env.state is not None and env.state.get("password_env"):
        out.append(Secret(str(env.state.get("password_env")), "state backend (postgres) password", workflows,
                          training, airflow=dag("train", "rollout")))
    if env.lineage is not None and env.lineage.api_key_env:
        out.append(Secret(env.lineage.api_key_env, "OpenLineage endpoint API key (run events of apply and train)",
                          workflows, training, airflow=dag("train")))
    # kafka credentials: read by apply (and `specops land`) and by the landing CronJobs of the sources they name
    landed_here = {ds.name for ds in cron_landed(project.kafka_datasets(), env)}
    for ds in project.kafka_datasets():
        kafka = ds.source.kafka if ds.source is not None else None
        if kafka is None:
            continue
        for key, name in kafka.security:
            if key.endswith("_env") and name:
                out.append(Secret(name, f"Kafka {key.removesuffix('_env')} of {ds.address}", ("apply",),
                                  ("land",) if ds.name in landed_here else ()))
    if env.context:
        out.append(Secret(KUBE_CONFIG, f"kubeconfig with the context {env.context}", ("apply",)))
    if project.project.repository_token_env and "fetch" in running:
        out.append(Secret(project.project.repository_token_env, "access token to fetch the spec repository",
                          cluster=("fetch",)))
    merged: dict[str, Secret] = {}
    for item in out:
        found = merged.get(item.name)
        if found is None:
            merged[item.name] = item
        else:
            merged[item.name] = replace(
                found, purpose=f"{found.purpose}; {item.purpose}",
                workflows=tuple(dict.fromkeys((*found.workflows, *item.workflows))),
                cluster=tuple(dict.fromkeys((*found.cluster, *item.cluster))),
                airflow=tuple(dict.fromkeys((*found.airflow, *item.airflow))),
                as_file=found.as_file or item.as_file, optional=found.optional and item.optional)
    return sorted(merged.values(), key=lambda s: s.name)


def _present(found: set[str]) -> Callable[..., tuple[str, ...]]:
    """`names` -> those of them in `found`, in the order given."""
    return lambda *names: tuple(n for n in names if n in found)


def airflow_tasks(project: SpecProject, env: Environment) -> set[str]:
    """The kinds of task the environment's Airflow DAGs run (compiler.emit.airflow): dbt when dbt builds
    something, train when a model trains, rollout when a deployment is in the environment."""
    found = set()
    if any(ds.source is None or ds.source.type == "file" for ds in project.datasets.values()):
        found.add("dbt")
    if project.models:
        found.add("train")
    if any(d.environment == env.name for d in project.deployments.values()):
        found.add("rollout")
    return found


def _drift_retrains(project: SpecProject, env: Environment) -> bool:
    """Whether a drift job of the environment retrains when it finds drift."""
    models = {d.model for d in project.deployments.values() if d.environment == env.name}
    return any(project.models[m].drift is not None and project.models[m].drift.retrain  # type: ignore[union-attr]
               for m in models if m in project.models)


def cluster_secrets(project: SpecProject, env: Environment, component: str) -> list[Secret]:
    """The keys a component's pods mount (from the project's table, made once per environment)."""
    return [s for s in project.secrets_of(env.name) if component in s.cluster]


def registry_secrets(registry: str) -> list[Secret]:
    """What the image job logs in to the registry with (ghcr.io: the workflow's own token)."""
    if registry.split("/", 1)[0] == "ghcr.io":
        return [Secret("GITHUB_TOKEN", "pushes to ghcr.io (the workflow's own token, packages: write)", ("images",))]
    return [Secret(REGISTRY_USERNAME, f"user that pushes to {registry.split('/', 1)[0]}", ("images",)),
            Secret(REGISTRY_PASSWORD, f"password or token that pushes to {registry.split('/', 1)[0]}", ("images",))]
