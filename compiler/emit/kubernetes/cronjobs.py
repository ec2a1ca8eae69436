"""Scheduled jobs (batch/v1 CronJob): model retraining, drift checks and dbt transforms.

- `<model>-retrain` when Model.training.schedule is set and its runner is kubernetes
  (compiler.spec.runners): `specops train <model> --env <env>` in the training image, with the training
  resources (cpu/memory requested and limited alike, gpu as nvidia.com/gpu), in every environment the
  model is deployed to.
- `<model>-drift` when Model.monitoring.drift.schedule is set: `specops drift <model> --env <env>`
  in the training image, in the same environments; a PrometheusRule `<model>-drift` alerts on
  specops_drift_score (see monitoring). With monitoring.drift.retrain the job runs
  `specops drift <model> --env <env> --retrain`, which retrains when it finds drift: it then gets
  the training resources and deadline.
- `<transform>-dbt` when Transform.schedule is set: `dbt build --select <output>` in the dbt image,
  in every environment with a Kubernetes namespace.
Schedules are read in UTC (timeZone Etc/UTC), runs never overlap (concurrencyPolicy Forbid), a run
that cannot start within 5 minutes is skipped, a failed pod is retried once, and a run has a deadline.
Images run `args` through their entrypoint. When the warehouse names credentials (`*_env` settings),
the Secret `<project>-warehouse` is mounted as files under SPECOPS_SECRETS_DIR (one file per
variable name, never as env values: checkov CKV_K8S_35); the image's entrypoint exports them.
One NetworkPolicy `<project>-jobs` denies all ingress to the job pods and allows DNS, HTTPS, the
MLflow and warehouse ports, and the Pushgateway (9091, monitoring namespace) for drift scores.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from compiler import __version__
from compiler.emit import images
from compiler.emit.kubernetes import monitoring, network
from compiler.emit.kubernetes.labels import COMPONENT, PART_OF, Identity, fit_name, metadata, selector
from compiler.emit.kubernetes.pod import container, pod_spec, service_account
from compiler.emit.kubernetes.resources import requirements
from compiler.emit.kubernetes.target import Target
from compiler.spec.images import model_tag
from compiler.spec.ir import Model, Resource, Transform
from compiler.spec.runners import retrain_runner

NAME_LIMIT = 52  # the Job controller appends 11 characters to a CronJob's name
SECRETS_DIR = "/var/run/secrets/specops"
SECRETS_VOLUME = "specops-secrets"
PUSHGATEWAY_PORT = 9091
DBT_DIR = "/app/dbt"
COMPONENTS = ("retrain", "drift", "transform")
DEADLINES = {"retrain": 4 * 3600, "drift": 3600, "transform": 3600}


def deployed_models(t: Target) -> list[Model]:
    """Models with a Deployment in this environment, by name."""
    names = {d.model for d in t.project.deployments.values() if d.environment == t.env.name}
    return [t.project.models[n] for n in sorted(names)]


def scheduled(t: Target) -> Iterator[tuple[str, Resource, str]]:
    """(component, resource, job name) of every scheduled job of the environment."""
    for model in deployed_models(t):
        if retrain_runner(model, t.project.deployments_of(model.name), t.project.environments) == "kubernetes":
            yield "retrain", model, fit_name(f"{model.k8s_name}-retrain", NAME_LIMIT)
        if model.drift is not None and model.drift.schedule:
            yield "drift", model, fit_name(f"{model.k8s_name}-drift", NAME_LIMIT)
    for tr in sorted(t.project.transforms.values(), key=lambda x: x.name):
        if tr.schedule:
            yield "transform", tr, fit_name(f"{tr.k8s_name}-dbt", NAME_LIMIT)


def secret_name(t: Target) -> str:
    return fit_name(f"{t.part_of}-warehouse")


def _secret_keys(t: Target) -> list[str]:
    return sorted({str(v) for k, v in t.env.warehouse.settings if k.endswith("_env") and v})


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
    """Image, args and env of a job."""
    env = t.env.name
    if isinstance(res, Transform):
        output = t.project.datasets[res.output].name
        args = ["dbt", "build", "--select", output, "--target", env, "--profiles-dir", DBT_DIR,
                "--project-dir", DBT_DIR]
        return images.dbt_image(t.project), args, {}
    assert isinstance(res, Model)
    verb = "train" if component == "retrain" else "drift"
    args = ["specops", verb, res.name, "--env", env]
    if _retrains(component, res):
        args.append("--retrain")
    return images.train_image(t.project, res), args, {"MLFLOW_TRACKING_URI": t.env.tracking_uri}


def _retrains(component: str, res: Resource) -> bool:
    """A drift job that retrains when it finds drift (monitoring.drift.retrain)."""
    return component == "drift" and isinstance(res, Model) and res.drift is not None and res.drift.retrain


def _resources(component: str, res: Resource) -> dict[str, Any]:
    if (component == "retrain" or _retrains(component, res)) and isinstance(res, Model) and res.training is not None:
        spec = {"cpu": res.training.cpu, "memory": res.training.memory}
        return requirements(spec, spec, res.training.gpu)
    return requirements({}, {})


def cron_job(t: Target, ident: Identity, component: str, res: Resource, name: str) -> dict[str, Any]:
    image, args, env = _command(t, component, res)
    mounts, volumes = [], []
    if _secret_keys(t):
        env["SPECOPS_SECRETS_DIR"] = SECRETS_DIR
        mounts.append({"name": SECRETS_VOLUME, "mountPath": SECRETS_DIR, "readOnly": True})
        volumes.append({"name": SECRETS_VOLUME, "secret": {"secretName": secret_name(t), "defaultMode": 0o440}})
    job = container(component, image, _resources(component, res), args=args, env=env, mounts=mounts)
    sel = selector(ident)
    schedule = res.schedule if isinstance(res, Transform) else _model_schedule(res, component)
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
                    "activeDeadlineSeconds": DEADLINES["retrain" if _retrains(component, res) else component],
                    "template": {"metadata": {"labels": sel},
                                 "spec": pod_spec(name, [job], volumes=volumes, restartPolicy="Never")},
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
    name = fit_name(f"{t.part_of}-jobs")
    # not tied to one image: versioned by the specops release that wrote it
    ident = Identity(app=t.part_of, instance=name, component="jobs", version=__version__, part_of=t.part_of,
                     resource=t.env)
    ports = [p for p in (network.uri_port(t.env.tracking_uri), _warehouse_port(t)) if p is not None]
    egress = network.egress(ports)
    if "drift" in components:
        egress.append({"to": [{"namespaceSelector": {"matchLabels": {
            network.NAMESPACE_LABEL: network.MONITORING_NAMESPACE}}}],
            "ports": [{"protocol": "TCP", "port": PUSHGATEWAY_PORT}]})
    pods = {"matchLabels": {PART_OF: t.part_of},
            "matchExpressions": [{"key": COMPONENT, "operator": "In", "values": list(COMPONENTS)}]}
    return network.network_policy(metadata(ident, name, t.namespace), pods, [], egress)


def _warehouse_port(t: Target) -> int | None:
    wh = t.env.warehouse
    if wh.type == "postgres":
        return int(wh.get("port", 5432))
    if wh.type in ("snowflake", "bigquery"):
        return network.HTTPS
    return None
