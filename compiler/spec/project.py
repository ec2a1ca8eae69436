"""The checked project: every resource of a repository, resolved into one graph."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from compiler.spec.diagnostics import Diagnostic
from compiler.spec.graph import SpecGraph
from compiler.spec.ir import (
    Dataset,
    Deployment,
    Environment,
    Model,
    Project,
    QualityRule,
    Resource,
    Transform,
)

T = TypeVar("T")


@dataclass(frozen=True)
class SpecProject:
    """What the front half of the pipeline hands to backends, plan and apply."""

    root: Path
    project: Project
    environments: dict[str, Environment]
    datasets: dict[str, Dataset]
    rules: dict[str, QualityRule]
    transforms: dict[str, Transform]
    models: dict[str, Model]
    deployments: dict[str, Deployment]
    graph: SpecGraph
    warnings: tuple[Diagnostic, ...] = ()
    # address -> what the resource was built from (compiler.front.check._fingerprint), where known
    fingerprints: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _by_address: dict[str, Resource] = field(default_factory=dict, repr=False)
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        # a fresh index and memo per instance: dataclasses.replace() must not share the old ones
        index = {r.address: r for r in self._all()}
        object.__setattr__(self, "_by_address", dict(sorted(index.items())))
        object.__setattr__(self, "_memo", {})

    def memo(self, key: Any, compute: Callable[[], T]) -> T:
        """Compute a value derived from this (immutable) project once; backends share it."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def _all(self) -> list[Resource]:
        out: list[Resource] = [self.project]
        for group in (self.environments, self.datasets, self.rules, self.transforms, self.models,
                      self.deployments):
            out.extend(group.values())
        return out

    def resources(self) -> list[Resource]:
        """Every resource but the Project, sorted by address."""
        found = self.memo("resources", lambda: tuple(r for a, r in self._by_address.items()
                                                     if a != self.project.address))
        return list(found)

    def get(self, address: str) -> Resource | None:
        return self._by_address.get(address)

    def external_datasets(self) -> list[Dataset]:
        """Datasets with a source (table, file or external), in name order."""
        return list(self.memo("external", lambda: tuple(d for d in self.datasets.values() if d.source is not None)))

    def deployments_of(self, model: str) -> list[Deployment]:
        """The model's deployments, in name order."""
        return list(self._grouped("deployments_of", self.deployments, "model").get(model, ()))

    def _grouped(self, key: str, group: dict[str, T], attribute: str) -> dict[str, list[T]]:
        """The group's resources by the value of one attribute, in name order (memoised under `key`)."""
        def index() -> dict[str, list[T]]:
            out: dict[str, list[T]] = {}
            for res in group.values():
                out.setdefault(getattr(res, attribute), []).append(res)
            return out

        return self.memo(key, index)

    def image_tag(self, kind: str, name: str = "") -> str:
        """The tag of a built image: `train` (of model `name`) or `dbt` (compiler.emit.images)."""
        from compiler.emit.images import compute_tag

        return self.memo(("image_tag", kind, name), lambda: compute_tag(self, kind, name))

    def producer(self, dataset: str) -> Transform | None:
        producers = self.memo("producers", lambda: {t.output: t for t in reversed(self.transforms.values())})
        return producers.get(dataset)

    def rules_for(self, dataset: str) -> list[QualityRule]:
        return list(self._grouped("rules_for", self.rules, "dataset").get(dataset, ()))

    @property
    def default_environment(self) -> str | None:
        if self.project.default_environment:
            return self.project.default_environment
        if "dev" in self.environments:
            return "dev"
        return next(iter(self.environments), None)

    @property
    def spec_digest(self) -> str:
        """One digest of every resource's normalised content."""

        def compute() -> str:
            h = hashlib.sha256()
            for address, res in self._by_address.items():
                h.update(f"{address}={res.digest}\n".encode())
            return h.hexdigest()

        return self.memo("spec_digest", compute)
