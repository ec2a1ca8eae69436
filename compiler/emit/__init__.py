"""Backends: pure functions from the checked project to generated files.

A backend never writes to disk and never reads the clock or the environment: the same specs give
the same bytes. Each returns Artifacts; `compile` writes them, `plan` diffs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from compiler.spec.project import SpecProject

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
        from compiler.spec.diagnostics import did_you_mean

        hint = did_you_mean(name, registry) or f"known backends: {', '.join(sorted(registry))}"
        raise UnknownBackendError(f"unknown backend '{name}'; {hint}")
    return registry[name]


# the backends' rough relative cost at scale (measured at 10,000 specs, shared digests computed), to balance
# processes; the Kubernetes backend's is shared between the environments it renders
_COST = {"dbt": 1.1, "docker": 0.2, "kubernetes": 1.1, "github": 0.06}
_DBT_MODELS_SHARE = 0.55  # the transforms' models, of the dbt backend's cost
_DIGESTS_COST = 0.38  # every resource's digest (image tags follow them), on the same scale
_NO_DIGESTS = frozenset({"dbt"})  # backends that never read a resource's digest


def emit_all(project: SpecProject, names: Iterable[str] | None = None,
             environment: str | None = None) -> list[Artifact]:
    """Every artifact of the selected backends (all by default), sorted, with unique paths.

    With `environment`, the Kubernetes manifests of that environment only (a plan's scope).
    With more than one usable core, backends (Kubernetes: each environment) run in forked processes
    (compiler.speed.parallel) when the project is large enough for that to pay; the result is the same.
    """
    from functools import partial

    from compiler.emit.dbt import emit as dbt_emit
    from compiler.emit.kubernetes import render
    from compiler.speed.parallel import parallel_map

    work: list[tuple[str, Backend, float]] = []
    for name in sorted(names) if names is not None else backend_names():
        if name == "kubernetes":  # one item per environment
            envs = [e for e in sorted(project.environments) if environment in (None, e)]
            share = _COST[name] / max(1, len(project.environments))  # one environment's, even when it is alone
            work += [(name, partial(render, resolved=None, only=e), share) for e in envs]
        elif name == "dbt":  # the heaviest backend, in two halves
            work += [(name, partial(dbt_emit, part="models"), _COST[name] * _DBT_MODELS_SHARE),
                     (name, partial(dbt_emit, part="others"), _COST[name] * (1 - _DBT_MODELS_SHARE))]
        else:
            work.append((name, get_backend(name), _COST.get(name, 1.0)))
    large = len(project.datasets) + len(project.models) + len(project.deployments) >= PARALLEL_MIN_RESOURCES
    if large:
        work = _schedule_digests(project, work)
    outputs = parallel_map(lambda item: list(item[1](project)), work, weights=[cost for _, _, cost in work],
                           worth_it=large)
    chosen = [name for name, _, _ in work]
    artifacts: dict[str, Artifact] = {}
    for name, output in zip(chosen, outputs, strict=True):
        for art in output:
            if art.key in artifacts:
                raise ValueError(f"two artifacts claim {art.key} (backend {name})")
            artifacts[art.key] = art
    return [artifacts[k] for k in sorted(artifacts)]


def _schedule_digests(project: SpecProject, work: list[tuple[str, Backend, float]]) -> list[tuple[str, Backend, float]]:
    """Where the resources' digests get computed, which all backends but dbt read (through image tags).

    When the backends that read them weigh, digests included, about what the others do (a plan's one
    environment), they become one item: the heaviest, so this process runs it and computes the digests
    along the way (the plan needs them here too) while another process renders dbt, which needs none.
    Otherwise (a compile's every environment) all processes compute a share of the digests first.
    """
    if all("digest" in r.__dict__ for r in project.resources()):
        return work  # known already (compiler.speed.digests): the backends are balanced as they are
    plain = [w for w in work if w[0] in _NO_DIGESTS]
    tagged = [w for w in work if w[0] not in _NO_DIGESTS]
    together = sum(cost for _, _, cost in tagged) + _DIGESTS_COST
    if tagged and plain and max(cost for _, _, cost in plain) <= together <= 1.25 * sum(c for _, _, c in plain):
        def render_tagged(p: SpecProject) -> list[Artifact]:
            return [art for _, backend, _ in tagged for art in backend(p)]

        return [("+".join(name for name, _, _ in tagged), render_tagged, together), *plain]
    share_digests(project)  # what several backends derive from the whole project: once, before the processes part
    return work


def share_digests(project: SpecProject) -> None:
    """Every resource's digest, computed by all processes (each a share) and kept on the resources.

    Digests are cached properties of immutable resources: filling them in from another process's
    computation gives the same values the properties would compute here.
    """
    from compiler.speed.parallel import parallel_map

    resources = [project.project, *project.resources()]
    pending = [r for r in resources if "digest" not in r.__dict__]
    for res, digest in zip(pending, parallel_map(lambda r: r.digest, pending, min_items=PARALLEL_MIN_RESOURCES),
                           strict=True):
        res.__dict__.setdefault("digest", digest)
