"""What a plan of one environment is about: its resources and generated files."""

from __future__ import annotations

from compiler.emit.manifest import MANIFEST
from compiler.spec.project import SpecProject


def in_scope(address: str, env: str | None, project: SpecProject) -> bool:
    """Resources that matter to one environment: not other environments or their deployments."""
    if env is None:
        return True
    kind, _, name = address.partition(".")
    if kind == "environment":
        return name == env
    if kind == "deployment":
        dep = project.deployments.get(name)
        return dep is None or dep.environment == env
    return True


def artifact_in_scope(key: str, env: str | None) -> bool:
    if key == MANIFEST:
        return False
    if env is None or not key.startswith("k8s/"):
        return True
    return key.startswith(f"k8s/{env}/")


def head_snapshots(project: SpecProject, env: str | None) -> dict[str, dict]:
    return {r.address: r.snapshot for r in project.resources() if in_scope(r.address, env, project)}
