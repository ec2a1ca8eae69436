"""Backends: pure functions from the checked project to generated files.

A backend never writes to disk and never reads the clock or the environment: the same specs give
the same bytes. Each returns Artifacts; `compile` writes them, `plan` diffs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from compiler.spec import SpecProject

Base = Literal["output", "workflows"]
PARALLEL_MIN_RESOURCES = 300  # below this, forking costs more than the backends take


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


Backend = Callable[[SpecProject], Iterable[Artifact]]


class UnknownBackendError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def _registry() -> dict[str, Backend]:
    """Backend name -> emit function; imported here so that `validate` never pays for the backends."""
    from compiler.emit import docker, github, kubernetes
    from compiler.emit.dbt import emit as dbt_emit

    return {"dbt": dbt_emit, "docker": docker.emit, "github": github.emit, "kubernetes": kubernetes.emit}


def backend_names() -> list[str]:
    return sorted(_registry())


def get_backend(name: str) -> Backend:
    registry = _registry()
    if name not in registry:
        from compiler.diagnostics import did_you_mean

        hint = did_you_mean(name, registry) or f"known backends: {', '.join(sorted(registry))}"
        raise UnknownBackendError(f"unknown backend '{name}'; {hint}")
    return registry[name]


# the backends' rough cost at scale, heaviest first: parallel_map deals them round-robin to processes
_COST_ORDER = ("kubernetes", "dbt", "docker", "github")


def emit_all(project: SpecProject, names: Iterable[str] | None = None,
             environment: str | None = None) -> list[Artifact]:
    """Every artifact of the selected backends (all by default), sorted, with unique paths.

    With `environment`, the Kubernetes manifests of that environment only (a plan's scope).
    With more than one usable core, backends run in forked processes (compiler.parallel) when the
    project is large enough for that to pay; the result is the same either way.
    """
    from functools import partial

    from compiler.parallel import parallel_map

    chosen = sorted(names) if names is not None else backend_names()
    chosen.sort(key=lambda n: (_COST_ORDER.index(n) if n in _COST_ORDER else len(_COST_ORDER), n))
    backends = [get_backend(name) for name in chosen]
    if environment is not None and "kubernetes" in chosen:
        from compiler.emit.kubernetes import render

        backends[chosen.index("kubernetes")] = partial(render, resolved=None, only=environment)
    large = len(project.datasets) + len(project.models) + len(project.deployments) >= PARALLEL_MIN_RESOURCES
    outputs = parallel_map(lambda backend: list(backend(project)), backends, min_items=2 if large else 10**9)
    artifacts: dict[str, Artifact] = {}
    for name, output in zip(chosen, outputs, strict=True):
        for art in output:
            if art.key in artifacts:
                raise ValueError(f"two artifacts claim {art.key} (backend {name})")
            artifacts[art.key] = art
    return [artifacts[k] for k in sorted(artifacts)]
