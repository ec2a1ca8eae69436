"""Container image names shared by the docker, kubernetes and github backends.

Images are `<image_registry>/<name with ->-<component>:<tag>`; the tag is derived from what goes into the
image (compiler.spec.images), so it changes exactly when a rebuild is needed. `builds` lists the images the
manifests name, with their build contexts (the apply workflow's image job and the compiled README use it).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from compiler.spec import placement
from compiler.spec.ir import Model
from compiler.spec.landing import cron_landed
from compiler.spec.project import SpecProject
from compiler.spec.runners import retrain_runner, training_environments, transform_runner

DEFAULT_REGISTRY = "registry.local"


def registry(project: SpecProject) -> str:
    return (project.project.image_registry or f"{DEFAULT_REGISTRY}/{project.project.k8s_name}").rstrip("/")


def train_image(project: SpecProject, model: Model) -> str:
    """The training image: specops and the model's framework; runs `specops train` and `specops drift` in the spec
    repository its job fetched."""
    return f"{registry(project)}/{model.k8s_name}-train:{project.image_tag('train', model.name)}"


def serve_image(project: SpecProject, model: Model) -> str:
    """The serving image: loads the registered model at start-up, so only the framework shapes it."""
    return f"{registry(project)}/{model.k8s_name}-serve:{project.image_tag('serve', model.name)}"


def dbt_image(project: SpecProject) -> str:
    """The image that runs scheduled transforms: dbt and specops, which compiles the fetched specs' dbt project."""
    return f"{registry(project)}/{project.project.k8s_name}-dbt:{project.image_tag('dbt')}"


@dataclass(frozen=True, slots=True)
class Build:
    image: str  # registry/name:tag
    context: str  # the build context, relative to the spec repository's root
    dockerfile: str  # relative to the spec repository's root
    stages_specops: bool  # the training and dbt images install specops from a wheel staged in <context>/dist
    owners: tuple[str, ...]
    environments: tuple[str, ...]


def builds(project: SpecProject) -> list[Build]:
    """Every image the environments' manifests and pipelines name, once each, in a stable order."""
    out = project.project.output
    found: dict[str, Build] = {}

    def add(image: str, context: str, dockerfile: str, stages: bool, owner: str, env: str) -> None:
        old = found.get(image)
        owners = tuple(sorted({owner, *(old.owners if old else ())}))
        envs = tuple(sorted({env, *(old.environments if old else ())}))
        found[image] = Build(image, context, posixpath.join(context, dockerfile), stages, owners, envs)

    def add_train(model: Model, env: str) -> None:
        add(train_image(project, model), posixpath.join(out, "docker", model.name), "Dockerfile.train", True,
            model.address, env)

    for env in sorted(project.environments.values(), key=lambda e: e.name):
        if env.namespace is None:
            continue
        deployed = sorted((d for d in project.deployments.values() if d.environment == env.name),
                          key=lambda d: d.name)
        for d in deployed:
            model = project.models.get(d.model)
            if model is not None and d.runtime == "mlflow" and placement.in_cluster(env, "serving"):
                add(serve_image(project, model), posixpath.join(out, "docker", model.name),
                    "Dockerfile.serve", False, d.address, env.name)
        for name in sorted({d.model for d in deployed}):
            model = project.models.get(name)
            if model is None:
                continue
            # a training image runs the kubernetes runner's retraining (a CronJob; kubeflow's: below); github and
            # airflow train on their own workers
            runner = retrain_runner(model, project.deployments_of(model.name), project.environments)
            retrain = runner == "kubernetes" and placement.in_cluster(env, "retrain")
            drift = model.drift is not None and model.drift.schedule and placement.in_cluster(env, "drift")
            if retrain or drift:
                add_train(model, env.name)
        for ds in cron_landed(project.kafka_datasets(), env):
            add(land_image(project), posixpath.join(out, "docker", "land"), "Dockerfile", True, ds.address, env.name)
        scheduled = sorted(t.address for t in project.transforms.values() if transform_runner(t) == "kubernetes")
        if scheduled and placement.in_cluster(env, "transform"):
            for address in scheduled:
                add(dbt_image(project), posixpath.join(out, "docker", "dbt"), "Dockerfile", True, address,
                    env.name)
    for model in sorted(project.models.values(), key=lambda m: m.name):  # a pipeline's steps run the image
        deployments = project.deployments_of(model.name)
        if retrain_runner(model, deployments, project.environments) == "kubeflow":
            for env_name in training_environments(model, deployments, project.environments,
                                                  project.default_environment):
                add_train(model, env_name)
    return sorted(found.values(), key=lambda b: b.image)


def environments_needing_images(project: SpecProject) -> set[str]:
    return {e for b in builds(project) for e in b.environments}


def land_image(project: SpecProject) -> str:
    """The landing image: the Kafka client and specops; runs `specops land` in the spec repository its job
    fetched."""
    return f"{registry(project)}/{project.project.k8s_name}-land:{project.image_tag('land')}"
