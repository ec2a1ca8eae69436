"""`specops compile`: the checked project through every backend, plus the manifest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from compiler.emit.base import Artifact
from compiler.emit.manifest import manifest_artifact, sha256
from compiler.emit.registry import emit_all
from compiler.front.schemas import schema_digest
from compiler.paths import git_root, workflow_prefix
from compiler.spec.project import SpecProject

# (project, environment or None for all) -> every artifact but the manifest, sorted: emit_all, or a faster
# equivalent (compiler.speed)
Emit = Callable[[SpecProject, "str | None"], list[Artifact]]


def emit_plain(project: SpecProject, environment: str | None = None) -> list[Artifact]:
    return emit_all(project, environment=environment)


@dataclass(frozen=True)
class Compiled:
    project: SpecProject
    artifacts: list[Artifact]  # every file (the manifest included, unless compiled for a plan)
    known_digests: dict[str, str] = field(default_factory=dict)  # artifact key -> sha256, where already known

    def digest(self, art: Artifact) -> str:
        return self.known_digests.get(art.key) or sha256(art.content)

    def output_dir(self, override: Path | None = None) -> Path:
        return override if override is not None else self.project.root / self.project.project.output

    @property
    def workflows_dir(self) -> Path:
        """The Project's workflows_dir, in the git repository's root (a monorepo's, when repository.path is set)."""
        spec = self.project.project
        return git_root(self.project.root, spec.repository_path) / spec.workflows_dir

    @property
    def workflow_prefix(self) -> str:
        return workflow_prefix(self.project.project.k8s_name, self.project.project.repository_path)

    def by_key(self) -> dict[str, Artifact]:
        return {a.key: a for a in self.artifacts}


def compile_project(project: SpecProject, emit: Emit = emit_plain) -> Compiled:
    """Pure: the same project gives the same artifacts, byte for byte."""
    artifacts = emit(project, None)
    manifest = manifest_artifact(project, artifacts, schema_digest())
    return Compiled(project, sorted([*artifacts, manifest], key=lambda a: a.key))


def compile_for_plan(project: SpecProject, environment: str | None) -> Compiled:
    """What a plan compares: every artifact but the manifest, and only `environment`'s manifests and lineage.

    The same bytes as compile_project's for those files (tests/test_plan_unit.py holds it to that).
    """
    return Compiled(project, emit_all(project, environment=environment))
