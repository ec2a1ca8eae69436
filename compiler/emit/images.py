"""Container image names shared by the docker, kubernetes and github backends.

Images are `<image_registry>/<name with ->-<component>:<tag>`; the tag is derived from the inputs
that go into the image, so it changes exactly when a rebuild is needed, and never from the clock.
"""

from __future__ import annotations

import hashlib

from compiler import __version__
from compiler.spec.ir import Model
from compiler.spec.project import SpecProject

DEFAULT_REGISTRY = "registry.local"


def registry(project: SpecProject) -> str:
    return (project.project.image_registry or f"{DEFAULT_REGISTRY}/{project.project.k8s_name}").rstrip("/")


def _tag(*parts: bytes | str) -> str:
    h = hashlib.sha256(__version__.encode())
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode("utf-8"))
        h.update(b"\0")
    return "sha-" + h.hexdigest()[:12]


def model_tag(model: Model) -> str:
    """What a model's images are built from changes with: the training code, framework and the tool."""
    assert model.training is not None
    return _tag(model.framework, model.training.entrypoint_source)


def _python(project: SpecProject) -> str:
    return project.project.python_version


def train_image(project: SpecProject, model: Model) -> str:
    """The training image: runs `specops train` (and `specops drift`) for this model from a copy of the specs.

    It holds every spec and the files they name (`specops train` checks the whole repository), so
    its tag follows the whole project's digest: an image is never pushed twice under one tag with
    different specs in it.
    """
    return f"{registry(project)}/{model.k8s_name}-train:{project.image_tag('train', model.name)}"


def serve_image(project: SpecProject, model: Model) -> str:
    """The serving image: loads the registered model at start-up, so only the framework shapes it."""
    return f"{registry(project)}/{model.k8s_name}-serve:{_tag(_python(project), model.framework)}"


def dbt_image(project: SpecProject) -> str:
    """The image that runs the compiled dbt project (scheduled transforms)."""
    return f"{registry(project)}/{project.project.k8s_name}-dbt:{project.image_tag('dbt')}"


def compute_tag(project: SpecProject, kind: str, name: str) -> str:
    """What SpecProject.image_tag gives: from the inputs that go into the image (see the functions above)."""
    if kind == "train":
        return _tag(_python(project), model_tag(project.models[name]), project.spec_digest)
    if kind == "dbt":
        return _tag(*(f"{r.address}={r.digest}" for r in project.resources()
                      if r.address.startswith(("dataset.", "transform.", "quality_rule.", "environment."))))
    raise ValueError(f"unknown image kind {kind!r}")
