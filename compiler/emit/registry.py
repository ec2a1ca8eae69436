"""The backends, in one table: name -> how to cut its work into units, and what that work costs.

A backend is a package of pure functions from the checked project to Artifacts (compiler.emit.base).
It never writes to disk and never reads the clock or the environment: the same specs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from compiler.emit import airflow, dbt, docker, github, grafana, gx, kubeflow, kubernetes, lineage, readme
from compiler.emit.base import Artifact, Part, Unit, unique
from compiler.spec.diagnostics import did_you_mean
from compiler.spec.project import SpecProject


@dataclass(frozen=True)
class Backend:
    name: str
    parts: Callable[[SpecProject, str | None], list[Part]]
    reads_digests: bool  # whether its files name images, whose tags follow resources' digests

    def emit(self, project: SpecProject) -> list[Artifact]:
        """Every file of this backend, sorted."""
        return collect((self.name, part.run(project)) for part in self.parts(project, None))


def _one(name: str, units: Callable[[SpecProject], list[Unit]], cost: float) -> Callable[..., list[Part]]:
    return lambda project, environment: [Part(name, units, cost)]


BACKENDS: tuple[Backend, ...] = (
    Backend("airflow", _one("airflow", airflow.units, airflow.COST), reads_digests=False),
    Backend("dbt", dbt.parts, reads_digests=False),
    Backend("docker", _one("docker", docker.units, docker.COST), reads_digests=True),
    Backend("github", _one("github", github.units, github.COST), reads_digests=True),
    Backend("grafana", _one("grafana", grafana.units, grafana.COST), reads_digests=False),
    Backend("gx", _one("gx", gx.units, gx.COST), reads_digests=False),
    Backend("kubeflow", _one("kubeflow", kubeflow.units, kubeflow.COST), reads_digests=True),
    Backend("kubernetes", kubernetes.parts, reads_digests=True),
    Backend("lineage", lineage.parts, reads_digests=False),
    Backend("readme", _one("readme", readme.units, readme.COST), reads_digests=True),
)
BY_NAME = {b.name: b for b in BACKENDS}


class UnknownBackendError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def get_backend(name: str) -> Backend:
    if name not in BY_NAME:
        hint = did_you_mean(name, BY_NAME) or f"known backends: {', '.join(BY_NAME)}"
        raise UnknownBackendError(f"unknown backend '{name}'; {hint}")
    return BY_NAME[name]


def parts(project: SpecProject, names: Iterable[str] | None = None, environment: str | None = None) -> list[Part]:
    """The selected backends' parts (all by default); the per-environment files (Kubernetes manifests, lineage) of
    `environment` only when given."""
    chosen = [get_backend(n) for n in sorted(names)] if names is not None else list(BACKENDS)
    return [part for backend in chosen for part in backend.parts(project, environment)]


def units(project: SpecProject, environment: str | None = None) -> list[Unit]:
    """Every backend's units; of the per-environment files, `environment`'s only (all when None)."""
    return [unit for part in parts(project, environment=environment) for unit in part.units(project)]


def collect(outputs: Iterable[tuple[str, list[Artifact]]]) -> list[Artifact]:
    """The artifacts of several parts, sorted by key; two parts may not claim one file."""
    artifacts: dict[str, Artifact] = {}
    for _, made in outputs:
        unique(made, artifacts)
    return [artifacts[k] for k in sorted(artifacts)]


def emit_all(project: SpecProject, names: Iterable[str] | None = None,
             environment: str | None = None) -> list[Artifact]:
    """Every artifact of the selected backends (all by default), sorted, with unique paths.

    With `environment`, of the per-environment files (manifests, lineage) that environment's only (a plan's
    scope).
    """
    return collect((part.backend, part.run(project)) for part in parts(project, names, environment))
