"""`specops compile`: the checked project through every backend, plus the manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from compiler.emit import Artifact, emit_all
from compiler.emit.manifest import manifest_artifact, sha256
from compiler.front.schemas import schema_digest
from compiler.spec.project import SpecProject


@dataclass(frozen=True)
class Compiled:
    project: SpecProject
    artifacts: list[Artifact]  # every file, the manifest included
    known_digests: dict[str, str] = field(default_factory=dict)  # artifact key -> sha256, where already known

    def digest(self, art: Artifact) -> str:
        return self.known_digests.get(art.key) or sha256(art.content)

    def output_dir(self, override: Path | None = None) -> Path:
        return override if override is not None else self.project.root / self.project.project.output

    @property
    def workflows_dir(self) -> Path:
        return self.project.root / self.project.project.workflows_dir

    def by_key(self) -> dict[str, Artifact]:
        return {a.key: a for a in self.artifacts}


def compile_project(project: SpecProject) -> Compiled:
    """Pure: the same project gives the same artifacts, byte for byte."""
    artifacts = emit_all(project)
    manifest = manifest_artifact(project, artifacts, schema_digest())
    return Compiled(project, sorted([*artifacts, manifest], key=lambda a: a.key))


def compile_for_plan(project: SpecProject, environment: str | None, cache_folder: Path | None = None) -> Compiled:
    """What a plan compares: every artifact but the manifest, and only `environment`'s manifests.

    The same bytes as compile_project's for those files (tests/test_plan_unit.py holds it to that).
    With a `cache_folder`, the results of backend units whose inputs did not change are reused from
    there (compiler.speed.incremental; the same bytes again, tests/test_incremental.py).
    """
    if cache_folder is None:
        return Compiled(project, emit_all(project, environment=environment))
    from compiler.speed.incremental import emit_incremental
    from compiler.speed.tracking import UntrackedRead
    from compiler.speed.unitstore import UnitStore, store_folder

    try:
        artifacts, digests = emit_incremental(project, environment, UnitStore(store_folder(cache_folder,
                                                                                          project.root)))
    except UntrackedRead:  # a backend reads something units cannot track (a bug): never a wrong result
        return Compiled(project, emit_all(project, environment=environment))
    return Compiled(project, artifacts, digests)
