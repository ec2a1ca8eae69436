"""Container image names shared by the docker, kubernetes and github backends.

Images are `<image_registry>/<name with ->-<component>:<tag>`; the tag is derived from the inputs
that go into the image (compiler.spec.images), so it changes exactly when a rebuild is needed.
"""

from __future__ import annotations

from compiler.spec.images import tag
from compiler.spec.ir import Model
from compiler.spec.project import SpecProject

DEFAULT_REGISTRY = "registry.local"


def registry(project: SpecProject) -> str:
    return (project.project.image_registry or f"{DEFAULT_REGISTRY}/{project.project.k8s_name}").rstrip("/")


def train_image(project: SpecProject, model: Model) -> str:
    """The training image: runs `specops train` (and `specops drift`) for this model from a copy of the specs."""
    return f"{registry(project)}/{model.k8s_name}-train:{project.image_tag('train', model.name)}"


def serve_image(project: SpecProject, model: Model) -> str:
    """The serving image: loads the registered model at start-up, so only the framework shapes it."""
    return f"{registry(project)}/{model.k8s_name}-serve:{tag(project.project.python_version, model.framework)}"


def dbt_image(project: SpecProject) -> str:
    """The image that runs the compiled dbt project (scheduled transforms)."""
    return f"{registry(project)}/{project.project.k8s_name}-dbt:{project.image_tag('dbt')}"


def land_image(project: SpecProject) -> str:
    """The landing image: runs `specops land` (kafka sources) from a copy of the specs, so its tag follows the whole
    project's digest, like a training image's."""
    land_tag = tag(project.project.python_version, "land", project.spec_digest)
    return f"{registry(project)}/{project.project.k8s_name}-land:{land_tag}"
