"""The apply workflow's image job: build and push every image the manifests name, before any rollout uses it.

Which images: the serving image of each model a runtime-mlflow Deployment serves, the training image of
each model with a scheduled retraining or drift job, and the dbt image when a scheduled transform runs as a
CronJob (runner kubernetes), in environments whose manifests hold those workloads (compiler.spec.placement).
Tags are digests of what the images hold (compiler.spec.images), so an image whose tag the registry already
has is not built again.

The job is the only one that logs in to the registry and the only one with `packages: write` (for ghcr.io,
with the workflow's own token; other registries: the REGISTRY_USERNAME and REGISTRY_PASSWORD secrets). It
compiles the specs (so the build contexts exist whether or not the output is committed), stages the specops
wheel in the training and dbt contexts, and builds with BuildKit (the Dockerfiles bind-mount the builder
stage's wheels). No job is emitted without a Project `image_registry`: images named after the default
registry.local could not be pushed anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compiler.emit.github.pins import uses
from compiler.emit.images import builds, environments_needing_images
from compiler.spec.images import specops_requirement
from compiler.spec.project import SpecProject
from compiler.spec.secrets import REGISTRY_PASSWORD, REGISTRY_USERNAME

__all__ = ["JOB_ID", "environments_needing_images", "job", "owners"]

JOB_ID = "images"
Step = dict[str, Any]


def owners(project: SpecProject) -> set[str]:
    return {o for b in builds(project) for o in b.owners} if project.project.image_registry else set()


def _login(registry: str) -> Step:
    host = registry.split("/", 1)[0]
    if host == "ghcr.io":
        credentials = {"username": "${{ github.actor }}", "password": "${{ secrets.GITHUB_TOKEN }}"}
    else:
        credentials = {"username": f"${{{{ secrets.{REGISTRY_USERNAME} }}}}",
                       "password": f"${{{{ secrets.{REGISTRY_PASSWORD} }}}}"}
    return {"name": f"Log in to {host}", "uses": uses("docker/login-action"), "with": {"registry": host, **credentials}}


def job(project: SpecProject, checkout: Step, setup_python: Step, install: Step, here: Callable[[str], str],
        timeout: int) -> dict[str, Any] | None:
    """The `images` job, or None when nothing is to be built (or no registry is set)."""
    found = builds(project)
    registry = project.project.image_registry
    if not found or not registry:
        return None
    steps: list[Step] = [
        checkout, setup_python, install,
        {"name": "Compile", "run": "specops compile\n"},
        {"name": "Set up Docker Buildx", "uses": uses("docker/setup-buildx-action")},
        _login(registry),
    ]
    requirement = specops_requirement(project.project.specops)
    for number, build in enumerate(found, start=1):
        check = f"exists-{number}"
        missing = f"steps.{check}.outputs.exists != 'true'"
        steps.append({"name": f"Is {build.image} in the registry already?", "id": check,
                      "env": {"IMAGE": build.image},
                      "run": 'if docker buildx imagetools inspect "${IMAGE}" > /dev/null 2>&1; then\n'
                             '  echo "exists=true" >> "${GITHUB_OUTPUT}"\nelse\n'
                             '  echo "exists=false" >> "${GITHUB_OUTPUT}"\nfi\n'})
        if build.stages_specops:
            steps.append({"name": f"Stage specops in {build.context}", "if": missing,
                          "env": {"CONTEXT": build.context, "REQUIREMENT": requirement},
                          "run": 'python -m pip wheel --no-deps --wheel-dir "${CONTEXT}/dist" "${REQUIREMENT}"\n'})
        steps.append({"name": f"Build and push {build.image}", "if": missing, "uses": uses("docker/build-push-action"),
                      "with": {"context": here(build.context), "file": here(build.dockerfile), "tags": build.image,
                               "push": True}})
    permissions = {"contents": "read"}
    if registry.split("/", 1)[0] == "ghcr.io":
        permissions["packages"] = "write"
    return {"name": "build and push images", "if": "github.ref == 'refs/heads/main'", "runs-on": "ubuntu-latest",
            "permissions": permissions, "timeout-minutes": timeout, "steps": steps}
