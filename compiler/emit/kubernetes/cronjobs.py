"""Scheduled jobs (batch/v1 CronJob): model retraining, drift checks and dbt transforms.

- `<model>-retrain` when Model.training.schedule is set and its runner is kubernetes
  (compiler.spec.runners): `specops train <model> --env <env>` in the training image, with the training
  resources (cpu/memory requested and limited alike, gpu as nvidia.com/gpu), in every environment the
  model is deployed to.
- `<model>-drift` when Model.monitoring.drift.schedule is set: `specops drift <model> --env <env>`
  in the training image, in the same environments; a PrometheusRule `<model>-drift` alerts on
  specops_drift_score (see monitoring). With monitoring.drift.retrain the job runs
  `specops drift <model> --env <env> --retrain`, which retrains when it finds drift: it then gets
  the training resources and deadline. When the environment sets monitoring.pushgateway, the job gets it as
  SPECOPS_PUSHGATEWAY and pushes its score there (compiler.apply.pushgateway).
- `<transform>-dbt` when Transform.schedule is set and its runner is kubernetes (the default; with runner
  airflow its schedule's Airflow DAG runs it instead): `specops compile` then `dbt build --select <output>`
  in the dbt image, in every environment with a Kubernetes namespace.
Jobs whose environment keeps its warehouse or registry in a local file are not emitted (compiler.spec.placement).

Images hold no specs: every job first fetches the spec repository at the revision apply applied (an init
container running git-sync, one shallow clone into an emptyDir), and runs in it. Where from comes from the
ConfigMap `<project>-source` of the environment (repository, revision), which `specops apply` renders with
the Project's repository.url (else the apply workflow's repository) and the commit it applied; compile
writes `known-after-apply` there. A private repository is fetched with the token in the key
`repository.token_env` of the Secret `<project>-secrets`.
Schedules are read in UTC (timeZone Etc/UTC), runs never overlap (concurrencyPolicy Forbid), a run
that cannot start within 5 minutes is skipped, a failed pod is retried once, and a run has a deadline.
Images run `args` through their entrypoint. Secrets (compiler.spec.secrets) are mounted as files under
SPECOPS_SECRETS_DIR, only the keys the job uses (never as env values: checkov CKV_K8S_35); the image's
entrypoint exports them (a key file as its path).
One NetworkPolicy `<project>-jobs` denies all ingress to the job pods and allows DNS, HTTPS (the git host,
MLflow, cloud warehouses), the MLflow and warehouse ports, and the Pushgateway (the port and namespace of
monitoring.pushgateway, when its host names a cluster Service: network.service_namespace; without it 9091 in
the monitoring namespace).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from compiler import __version__
from compiler.emit import images
from compiler.emit.kubernetes import monitoring, network
from compiler.emit.kubernetes.labels import COMPONENT, PART_OF, Identity, metadata, selector
from compiler.emit.kubernetes.pod import container, pod_spec, service_account
from compiler.emit.kubernetes.resolved import KNOWN_AFTER_APPLY
from compiler.emit.kubernetes.resources import requirements
from compiler.emit.kubernetes.target import Target
from compiler.spec.images import model_tag
from compiler.spec.ir import Model, Resource, Transform
from compiler.spec.k8snames import project_object_name, scheduled_jobs
from compiler.spec.secrets import Secret, cluster_secrets, secret_object

SECRETS_DIR = "/var/run/secrets/specops"
SECRETS_VOLUME = "specops-secrets"
FETCH_SECRET_DIR = "/var/run/secrets/specops-fetch"
FETCH_SECRET_VOLUME = "fetch-secret"
PUSHGATEWAY_PORT = 9091  # the Pushgateway's own; the port of monitoring.pushgateway when it is set
PUSHGATEWAY_ENV = "SPECOPS_PUSHGATEWAY"  # read by `specops drift --pushgateway`
SOURCE_DIR, SOURCE_LINK, SOURCE_VOLUME = "/src", "repo", "source"
# kubernetes-sigs/git-sync, one sync (--one-time) into the source volume; its own image, by tag (CKV_K8S_43 noted)
GIT_SYNC_IMAGE = "registry.k8s.io/git-sync/git-sync:v4.7.1"
GIT_USERNAME = "x-access-token"  # what GitHub (PATs, app tokens) and GitLab (PATs) accept with a token
BUILD_DIR = "/tmp/specops-build"  # where a dbt job compiles the fetched specs
COMPONENTS = ("retrain", "drift", "transform")
DEADLINES = {"retrain": 4 * 3600, "drift": 3600, "transform": 3600}


def scheduled(t: Target) -> Iterator[tuple[str, Resource, str]]:
    """(component, resource, job name) of every scheduled job of the environment that can run in its cluster."""
    return scheduled_jobs(t.project, t.env)


def source_config(t: Target) -> str:
    """The ConfigMap naming the repository and revision the jobs fetch."""
    return project_object_name(t.project.project, "source")


def source_workdir(t: Target) -> str:
    """Where the spec repository is in the fetched tree (its folder, in a monorepo)."""
    base = f"{SOURCE_DIR}/{SOURCE_LINK}"
    return f"{base}/{t.project.project.repository_path}" if t.project.project.repository_path else base


def source_config_map(t: Target, repository: str | None, revision: str | None) -> dict[str, Any]:
    """`<project>-source`: the repository and revision the environment's jobs fetch (known after apply)."""
    name = source_config(t)
    ident = Identity(app=t.part_of, instance=name, component="source", version=__version__, part_of=t.part_of,
                     resource=t.env)
    repository = repository or t.project.project.repository_url
    known = bool(repository and revision)
    annotations = {} if known else {"specops.dev/revision": KNOWN_AFTER_APPLY}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": metadata(ident, name, t.namespace, extra_annotations=annotations or None),
            "data": {"repository": repository or KNOWN_AFTER_APPLY, "revision": revision or KNOWN_AFTER_APPLY,
                     "path": t.project.project.repository_path or ""}}


def secret_name(t: Target) -> str:
    return secret_object(t.project)


def _identity(t: Target, component: str, res: Resource, name: str) -> Identity:
    version = model_tag(res) if isinstance(res, Model) else images.dbt_image(t.project).rsplit(":", 1)[1]
    return Identity(app=res.k8s_name, instance=name, component=component, version=version,
                    part_of=t.part_of, resource=res)


def job_objects(t: Target, component: str, res: Resource, name: str) -> list[dict[str, Any]]:
    """ServiceAccount and CronJob of one scheduled job (plus the drift alert rule)."""
    ident = _identity(t, component, res, name)
    meta = metadata(ident, name, t.namespace)
    out = [service_account(meta), cron_job(t, ident, component, res, name)]
    if component == "drift":
        assert isinstance(res, Model)
        labels = {k: v for d in t.project.deployments_of(res.name)
                  if d.environment == t.env.name for k, v in d.monitoring_labels}
        out.append(monitoring.prometheus_rule(metadata(ident, name, t.namespace, extra_labels=labels),
                                              f"specops.{res.name}.drift",
                                              monitoring.drift_alerts(res, t.env, t.namespace, name)))
    return out


def _command(t: Target, component: str, res: Resource) -> tuple[str, list[str], dict[str, str]]:
    """Image, args and env of a job (which runs in the fetched spec repository)."""
    env = t.env.name
    if isinstance(res, Transform):
        output = t.project.datasets[res.output].name
        dbt = f"{BUILD_DIR}/dbt"
        script = (f'specops compile --out {BUILD_DIR} && exec dbt build --select "$1" --target "$2" '
                  f"--project-dir {dbt} --profiles-dir {dbt}")
        # paths the dbt profile resolves (an embedded warehouse) are the fetched repository's
        return images.dbt_image(t.project), ["sh", "-c", script, "dbt-job", output, env], {
            "SPECOPS_ROOT": source_workdir(t)}
    assert isinstance(res, Model)
    verb = "train" if component == "retrain" else "drift"
    args = ["specops", verb, res.name, "--env", env]
    if _retrains(component, res):
        args.append("--retrain")
    env_vars = {"MLFLOW_TRACKING_URI": t.env.tracking_uri}
    if component == "drift" and t.env.pushgateway:
        env_vars[PUSHGATEWAY_ENV] = t.env.pushgateway  # what `specops drift` reads the spec for, made visible
    return images.train_image(t.project, res), args, env_vars


def _retrains(component: str, res: Resource) -> bool:
    """A drift job that retrains when it finds drift (monitoring.drift.retrain)."""
    return component == "drift" and isinstance(res, Model) and res.drift is not None and res.drift.retrain


def _resources(component: str, res: Resource) -> dict[str, Any]:
    if (component == "retrain" or _retrains(component, res)) and isinstance(res, Model) and res.training is not None:
        spec = {"cpu": res.training.cpu, "memory": res.training.memory}
        return requirements(spec, spec, res.training.gpu)
    return requirements({}, {})


def secret_volume(t: Target, name: str, keys: list[Secret], renames: dict[str, str] | None = None) -> dict[str, Any]:
    """A volume of the keys of `<project>-secrets` a pod uses (each file named as its variable, or renamed)."""
    items = [{"key": s.name, "path": (renames or {}).get(s.name, s.name)} for s in keys]
    return {"name": name, "secret": {"secretName": secret_name(t), "defaultMode": 0o440, "items": items}}


def secret_env(keys: list[Secret]) -> dict[str, str]:
    """SPECOPS_SECRETS_DIR, and SPECOPS_SECRET_FILES naming the keys exported as file paths (key files)."""
    env = {"SPECOPS_SECRETS_DIR": SECRETS_DIR}
    files = [s.name for s in keys if s.as_file]
    if files:
        env["SPECOPS_SECRET_FILES"] = " ".join(files)
    return env


def fetch_container(t: Target) -> dict[str, Any]:
    """The init container that fetches the spec repository at the applied revision into the source volume."""
    env = {"GITSYNC_ROOT": SOURCE_DIR, "GITSYNC_LINK": SOURCE_LINK, "GITSYNC_ONE_TIME": "true", "GITSYNC_DEPTH": "1"}
    mounts = [{"name": SOURCE_VOLUME, "mountPath": SOURCE_DIR}]
    token = t.project.project.repository_token_env
    if token and any(s.name == token for s in cluster_secrets(t.project, t.env, "fetch")):
        env.update({"GITSYNC_USERNAME": GIT_USERNAME, "GITSYNC_PASSWORD_FILE": f"{FETCH_SECRET_DIR}/{token}"})
        mounts.append({"name": FETCH_SECRET_VOLUME, "mountPath": FETCH_SECRET_DIR, "readOnly": True})
    fetch = container("fetch-specs", GIT_SYNC_IMAGE, requirements({}, {}), env=env, mounts=mounts)
    config = source_config(t)
    fetch["env"] += [{"name": name, "valueFrom": {"configMapKeyRef": {"name": config, "key": key}}}
                     for name, key in (("GITSYNC_REPO", "repository"), ("GITSYNC_REF", "revision"))]
    return fetch


def job_volumes(t: Target, component: str, env: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Mounts and volumes of a job's container: the fetched spec repository, and the keys of the one Secret the
    component uses (their variables added to `env`); plus the fetch's own key, for its init container."""
    mounts: list[dict[str, Any]] = [{"name": SOURCE_VOLUME, "mountPath": SOURCE_DIR}]
    volumes: list[dict[str, Any]] = [{"name": SOURCE_VOLUME, "emptyDir": {}}]
    keys = cluster_secrets(t.project, t.env, component)
    if keys:
        env.update(secret_env(keys))
        mounts.append({"name": SECRETS_VOLUME, "mountPath": SECRETS_DIR, "readOnly": True})
        volumes.append(secret_volume(t, SECRETS_VOLUME, keys))
    fetch_keys = cluster_secrets(t.project, t.env, "fetch")
    if fetch_keys:
        volumes.append(secret_volume(t, FETCH_SECRET_VOLUME, fetch_keys))
    return mounts, volumes


def cron_job(t: Target, ident: Identity, component: str, res: Resource, name: str) -> dict[str, Any]:
    image, args, env = _command(t, component, res)
    mounts, volumes = job_volumes(t, component, env)
    job = container(component, image, _resources(component, res), args=args, env=env, mounts=mounts,
                    workingDir=source_workdir(t))
    schedule = res.schedule if isinstance(res, Transform) else _model_schedule(res, component)
    assert schedule
    return fetching_cron_job(t, ident, name, schedule, DEADLINES["retrain" if _retrains(component, res) else component],
                             job, volumes)


def fetching_cron_job(t: Target, ident: Identity, name: str, schedule: str, deadline: int, job: dict[str, Any],
                      volumes: list[dict[str, Any]]) -> dict[str, Any]:
    """A CronJob whose one container runs in the spec repository its init container fetched: UTC, never two at
    once, a missed start dropped after 5 minutes, one retry, a deadline (shared with the landing job)."""
    sel = selector(ident)
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": metadata(ident, name, t.namespace), "spec": {
                "schedule": schedule,
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 300,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {"metadata": {"labels": sel}, "spec": {
                    "backoffLimit": 1,
                    "activeDeadlineSeconds": deadline,
                    "template": {"metadata": {"labels": sel},
                                 "spec": pod_spec(name, [job], volumes=volumes, restartPolicy="Never",
                                                  initContainers=[fetch_container(t)])},
                }},
            }}


def _model_schedule(res: Resource, component: str) -> str:
    assert isinstance(res, Model)
    if component == "retrain":
        assert res.training is not None and res.training.schedule
        return res.training.schedule
    assert res.drift is not None and res.drift.schedule
    return res.drift.schedule


def jobs_network_policy(t: Target, components: set[str]) -> dict[str, Any]:
    """Deny ingress to every job pod of the project; allow what the jobs call."""
    name = project_object_name(t.project.project, "jobs")
    # not tied to one image: versioned by the specops release that wrote it
    ident = Identity(app=t.part_of, instance=name, component="jobs", version=__version__, part_of=t.part_of,
                     resource=t.env)
    ports = [p for p in (network.uri_port(t.env.tracking_uri), _warehouse_port(t)) if p is not None]
    egress = network.egress(ports)
    if "drift" in components:
        egress.append(_pushgateway_egress(t))
    pods = {"matchLabels": {PART_OF: t.part_of},
            "matchExpressions": [{"key": COMPONENT, "operator": "In", "values": list(COMPONENTS)}]}
    return network.network_policy(metadata(ident, name, t.namespace), pods, [], egress)


def _pushgateway_egress(t: Target) -> dict[str, Any]:
    """To the Pushgateway: the port and namespace of monitoring.pushgateway (a cluster Service's host,
    network.service_namespace: `<service>`, in the jobs' namespace, or `<service>.<namespace>[.svc[.<domain>]]`;
    any other host anywhere, on its URL's port), else 9091 in the monitoring namespace. A policy sees a
    service's pod port, not the Service's: with a cluster service, the Pushgateway's own 9091 is allowed beside
    the URL's port."""
    url = t.env.pushgateway
    ports, namespace = {PUSHGATEWAY_PORT}, network.MONITORING_NAMESPACE
    if url:
        # None: not a cluster service name, so the URL's port to any destination
        namespace = network.service_namespace(urlsplit(url).hostname or "", t.namespace)
        explicit = urlsplit(url).port
        if namespace is None:
            ports = {explicit or network.uri_port(url) or PUSHGATEWAY_PORT}
        elif explicit:
            ports.add(explicit)
    rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": port} for port in sorted(ports)]}
    if namespace:
        rule = {"to": [{"namespaceSelector": {"matchLabels": {network.NAMESPACE_LABEL: namespace}}}], **rule}
    return rule


def _warehouse_port(t: Target) -> int | None:
    wh = t.env.warehouse
    if wh.type == "postgres":
        return int(wh.get("port", 5432))
    if wh.type in ("snowflake", "bigquery"):
        return network.HTTPS
    return None
