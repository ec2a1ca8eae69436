"""The kubernetes backend: manifests per Environment under k8s/<env>/, applied with kustomize.

Which environments: every Environment with a `kubernetes.namespace` that has at least one object.
Deployments go to their environment; a Model's retraining and drift CronJobs go to every
environment the model is deployed to; scheduled Transforms run in every environment with a
namespace (each environment keeps its own warehouse fresh). Environments without a namespace get
nothing, and workloads that need a warehouse or registry the environment keeps in a local file are
left out (compiler.spec.placement: a pod could never reach it). Scheduled jobs fetch the spec repository
named by the ConfigMap `<project>-source` (cronjobs).

Files: one object per file, `k8s/<env>/<object name>.<kind>.yaml`, plus `k8s/<env>/kustomization.yaml`
listing them and setting the namespace. Apply with `kubectl apply --server-side -k build/k8s/<env>`
into an existing namespace. Runtimes: `serving` (mlflow), `kserve`, `seldon`, `triton`; scheduled jobs:
`cronjobs`; alerts and the metric names they read: `monitoring`; hardening: `pod`; labels: `labels`.

Image digests are unknown at compile time (images are tagged by content, `sha-...`), so every
Deployment and CronJob carries the project's one checkov suppression,
`checkov.io/skip1: CKV_K8S_43=<reason>` (checkov does not read InferenceServices; compiler.output.k8s_policy does).
`render(project, resolved, source=...)` is what `specops apply` calls with the model versions it registered
and the revision it applied; `emit(project)` is `render(project, None)`.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from functools import partial
from typing import Any

from compiler.emit.base import Artifact, Part, Unit, run_units
from compiler.emit.kubernetes import cronjobs, kserve, landing, seldon, serving, triton
from compiler.emit.kubernetes.resolved import ResolvedModel, SourceRef
from compiler.emit.kubernetes.target import Target, served
from compiler.emit.render import GENERATED, comment_safe, dump_yaml
from compiler.spec import placement
from compiler.spec.ir import Environment
from compiler.spec.k8snames import manifest_file
from compiler.spec.project import SpecProject

__all__ = ["ResolvedModel", "SourceRef", "emit", "render"]

PREFIX = "k8s"
# checkov reads `<check id>=<reason>`; the reason must not contain '='
DIGEST_SKIP = {"checkov.io/skip1": "CKV_K8S_43=images are tagged by content at compile time; "
                                   "their digest exists only after the image build"}
Doc = tuple[dict[str, Any], tuple[str, ...], str]  # object, owners, spec file


COST = 1.1  # relative cost at 10,000 specs (compiler.emit.registry), shared between the environments


def parts(project: SpecProject, environment: str | None = None) -> list[Part]:
    """One part per environment with a namespace (only `environment`'s when given)."""
    share = COST / max(1, len(project.environments))  # one environment's, even when it is alone
    return [Part(PREFIX, partial(environment_units, env_name=env.name), share,
                 finish=partial(_finish, env_name=env.name))
            for env in sorted(project.environments.values(), key=lambda e: e.name)
            if env.namespace is not None and environment in (None, env.name)]


def _finish(project: SpecProject, made: list[Artifact], env_name: str) -> list[Artifact]:
    return with_kustomization(project.environments[env_name], made)


def emit(project: SpecProject) -> list[Artifact]:
    """Every manifest of every environment, for the versions the specs name (aliases)."""
    return render(project, None)


def render(project: SpecProject, resolved: Mapping[str, ResolvedModel] | None = None,
           only: str | None = None, source: SourceRef | None = None) -> list[Artifact]:
    """The manifests, with `resolved` model versions (by Model name) and the `source` revision the jobs fetch,
    where apply knows them.

    With `only`, just that environment's (what a plan of one environment compares).
    """
    out: list[Artifact] = []
    for env in sorted(project.environments.values(), key=lambda e: e.name):
        if env.namespace is None or (only is not None and env.name != only):
            continue
        made = run_units(project, environment_units(project, env.name, resolved, source))
        out.extend(with_kustomization(env, made))
    return out


def units(project: SpecProject, only: str | None = None) -> list[Unit]:
    """The pieces of every environment's manifests (of `only`'s); see `environment_units`."""
    return [unit for env in sorted(project.environments.values(), key=lambda e: e.name)
            if env.namespace is not None and only in (None, env.name)
            for unit in environment_units(project, env.name)]


def environment_units(project: SpecProject, env_name: str, resolved: Mapping[str, ResolvedModel] | None = None,
                      source: SourceRef | None = None) -> list[Unit]:
    """One unit per Deployment and per scheduled job of the environment, and the jobs' NetworkPolicy and source.

    Their artifacts, in this order, are the environment's objects; `with_kustomization` adds the
    kustomization that lists them (computed from them, never stored).
    """
    resolved = resolved or {}
    env = project.environments[env_name]
    t = Target(project, env, resolved)
    serving = placement.in_cluster(env, "serving")
    out = [Unit(("kubernetes", env_name, "deployment", d.name), partial(_deployment_unit, env=env_name, name=d.name,
                                                                        resolved=resolved))
           for d in sorted(project.deployments.values(), key=lambda x: x.name)
           if d.environment == env_name and serving]
    components: set[str] = set()
    for component, res, name in cronjobs.scheduled(t):
        components.add(component)
        out.append(Unit(("kubernetes", env_name, "job", component, res.address, name),
                        partial(_job_unit, env=env_name, component=component, address=res.address, name=name)))
    if components:
        out.append(Unit(("kubernetes", env_name, "jobs-policy", *sorted(components)),
                        partial(_jobs_policy_unit, env=env_name, components=frozenset(components))))
    if components or any(True for _ in landing.scheduled(t)):  # every job fetches the spec repository
        out.append(Unit(("kubernetes", env_name, "source", *(source.key() if source else ())),
                        partial(_source_unit, env=env_name, source=source)))
    return out + landing_units(project, env_name)


def landing_units(project: SpecProject, env_name: str) -> list[Unit]:
    """The kafka sources' landing CronJobs and their NetworkPolicy, and their KafkaConnectors (landing)."""
    t = Target(project, project.environments[env_name], {})
    jobs = list(landing.scheduled(t))
    out = [Unit(("kubernetes", env_name, "land", ds.name, name), partial(_land_unit, env=env_name, dataset=ds.name,
                                                                         name=name)) for ds, name in jobs]
    if jobs:
        names = tuple(sorted(ds.name for ds, _ in jobs))
        out.append(Unit(("kubernetes", env_name, "land-policy", *names),
                        partial(_land_policy_unit, env=env_name, datasets=names)))
    out += [Unit(("kubernetes", env_name, "connector", ds.name), partial(_connector_unit, env=env_name,
                                                                         dataset=ds.name))
            for ds in landing.connected(t)]
    return out


def _land_unit(project: SpecProject, env: str, dataset: str, name: str) -> list[Artifact]:
    t = Target(project, project.environments[env], {})
    ds = project.datasets[dataset]
    return [_artifact(t.env, _skip_digest(o), (ds.address, t.env.address), ds.loc.file)
            for o in landing.job_objects(t, ds, name)]


def _land_policy_unit(project: SpecProject, env: str, datasets: tuple[str, ...]) -> list[Artifact]:
    t = Target(project, project.environments[env], {})
    obj = landing.network_policy(t, [project.datasets[n] for n in datasets])
    return [_artifact(t.env, obj, (t.env.address, *(f"dataset.{n}" for n in datasets)), t.env.loc.file)]


def _connector_unit(project: SpecProject, env: str, dataset: str) -> list[Artifact]:
    t = Target(project, project.environments[env], {})
    ds = project.datasets[dataset]
    return [_artifact(t.env, landing.connector(t, ds), (ds.address, t.env.address), ds.loc.file)]


def _deployment_unit(project: SpecProject, env: str, name: str,
                     resolved: Mapping[str, ResolvedModel]) -> list[Artifact]:
    t = Target(project, project.environments[env], resolved)
    d = project.deployments[name]
    model = project.models[d.model]
    owners = (d.address, model.address, t.env.address)
    if d.runtime == "kserve":
        objs = kserve.objects(served(t, d))
    elif d.runtime == "seldon":
        objs = seldon.objects(served(t, d))
    elif d.runtime == "triton":
        objs = triton.objects(served(t, d))
    else:
        objs = serving.objects(served(t, d))
    return [_artifact(t.env, _skip_digest(o), owners, d.loc.file) for o in objs]


def _job_unit(project: SpecProject, env: str, component: str, address: str, name: str) -> list[Artifact]:
    t = Target(project, project.environments[env], {})
    res = project.get(address)
    assert res is not None
    owners = (res.address, t.env.address)
    return [_artifact(t.env, _skip_digest(o), owners, res.loc.file)
            for o in cronjobs.job_objects(t, component, res, name)]


def _jobs_policy_unit(project: SpecProject, env: str, components: frozenset[str]) -> list[Artifact]:
    t = Target(project, project.environments[env], {})
    return [_artifact(t.env, cronjobs.jobs_network_policy(t, set(components)), (t.env.address,), t.env.loc.file)]


def _source_unit(project: SpecProject, env: str, source: SourceRef | None) -> list[Artifact]:
    t = Target(project, project.environments[env], {})
    obj = cronjobs.source_config_map(t, source.repository if source else None, source.revision if source else None)
    return [_artifact(t.env, obj, (project.project.address, t.env.address), t.env.loc.file)]


# the reason, for a CronJob whose init container is git-sync's release (a tag of the Kubernetes project's registry)
GIT_SYNC_REASON = "; the fetch-specs container runs git-sync's release tag " + cronjobs.GIT_SYNC_IMAGE.rsplit(":", 1)[1]


def _skip_digest(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"):
        skip = dict(DIGEST_SKIP)
        if obj["kind"] == "CronJob" and any(c.get("image") == cronjobs.GIT_SYNC_IMAGE for c in obj["spec"][
                "jobTemplate"]["spec"]["template"]["spec"].get("initContainers", ())):
            skip["checkov.io/skip1"] += GIT_SYNC_REASON
        obj["metadata"]["annotations"] = dict(sorted({**obj["metadata"]["annotations"], **skip}.items()))
    return obj


def _unshared(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy sharing no sub-object, so the YAML has no anchors or aliases (kubectl reads them, people don't)."""
    return json.loads(json.dumps(obj))


def filename(obj: dict[str, Any]) -> str:
    return manifest_file(obj["kind"], obj["metadata"]["name"])


def _artifact(env: Environment, obj: dict[str, Any], owners: tuple[str, ...], source: str) -> Artifact:
    header = GENERATED.format(source=comment_safe(f"{source} ({owners[0]})"))
    return Artifact(f"{PREFIX}/{env.name}/{filename(obj)}", dump_yaml(_unshared(obj), header), owners)


def with_kustomization(env: Environment, made: list[Artifact]) -> list[Artifact]:
    """The environment's objects and the kustomization listing them (none when there is no object)."""
    if not made:
        return []
    owners_all: list[str] = [env.address]
    for art in made:
        owners_all += [o for o in art.owners if o not in owners_all]
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": env.namespace,
        "resources": sorted(posixpath.basename(art.path) for art in made),
    }
    return [*made, Artifact(f"{PREFIX}/{env.name}/kustomization.yaml",
                            dump_yaml(kustomization, GENERATED.format(source="the specs of this environment")),
                            tuple(owners_all))]
