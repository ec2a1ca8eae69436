"""The backends' parts (compiler.emit.registry) run on every core: the same artifacts as emit_all.

Parts are balanced between processes by their declared cost. Give it a project whose digests are
known (compiler.speed.digests.with_digests): each process would otherwise compute the digests its
image tags follow on its own.
"""

from __future__ import annotations

from compiler.emit.base import Artifact
from compiler.emit.registry import collect, parts
from compiler.spec.project import SpecProject
from compiler.speed.parallel import parallel_map

PARALLEL_MIN_RESOURCES = 300  # below this, forking costs more than the backends take


def emit_parallel(project: SpecProject, environment: str | None = None) -> list[Artifact]:
    chosen = parts(project, environment=environment)
    large = len(project.datasets) + len(project.models) + len(project.deployments) >= PARALLEL_MIN_RESOURCES
    outputs = parallel_map(lambda part: part.run(project), chosen, weights=[p.cost for p in chosen], worth_it=large)
    return collect((part.backend, made) for part, made in zip(chosen, outputs, strict=True))
