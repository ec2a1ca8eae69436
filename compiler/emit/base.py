"""What every backend produces: Artifacts (generated files), made by Units (pieces of a backend's work)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from compiler.spec.diagnostics import UserError

if TYPE_CHECKING:
    from compiler.spec.project import SpecProject

Base = Literal["output", "workflows"]


@dataclass(frozen=True, slots=True)
class Artifact:
    """One generated file: its path under its base folder, its bytes, and the resources it comes from."""

    path: str
    content: bytes
    owners: tuple[str, ...]
    base: Base = "output"

    @property
    def key(self) -> str:
        """Unique across bases: `workflows:` paths are kept apart from output paths."""
        return self.path if self.base == "output" else f"{self.base}:{self.path}"


@dataclass(frozen=True)
class Unit:
    """The part of a backend's work that one resource (or one project-wide file) needs, named by `key`
    (stable from run to run). Running every unit of a backend gives exactly the backend's artifacts; `run`
    reads the project only through the SpecProject it is given."""

    key: tuple[str, ...]
    run: Callable[[SpecProject], list[Artifact]]


@dataclass(frozen=True)
class Part:
    """A share of a backend's work that can run on its own (e.g. one environment's manifests)."""

    backend: str
    units: Callable[[SpecProject], list[Unit]]
    cost: float  # rough relative cost at scale, to balance processes (compiler.speed.emitting)
    # files computed from the units' artifacts (e.g. a kustomization listing them): never stored on their own
    finish: Callable[[SpecProject, list[Artifact]], list[Artifact]] | None = None

    def complete(self, project: SpecProject, made: list[Artifact]) -> list[Artifact]:
        return self.finish(project, made) if self.finish is not None else made

    def run(self, project: SpecProject) -> list[Artifact]:
        return self.complete(project, run_units(project, self.units(project)))


def run_units(project: SpecProject, units: list[Unit]) -> list[Artifact]:
    return [art for unit in units for art in unit.run(project)]


class ArtifactClash(UserError):
    """Two generated files with one path: the resources they come from are named, never a traceback (validate
    refuses the names that would cause it: compiler.front.rules.k8s_names)."""

    def __init__(self, first: Artifact, second: Artifact):
        def owners(art: Artifact) -> str:
            return ", ".join(art.owners) or "the project"

        super().__init__(f"two generated files would both be {first.key}: one from {owners(first)}, the other from "
                         f"{owners(second)}; rename one of those resources")


def unique(artifacts: Iterable[Artifact], into: dict[str, Artifact] | None = None) -> dict[str, Artifact]:
    """The artifacts by key (added to `into`); ArtifactClash when two have the same key."""
    out = {} if into is None else into
    for art in artifacts:
        if art.key in out:
            raise ArtifactClash(out[art.key], art)
        out[art.key] = art
    return out
