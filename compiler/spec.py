"""The checked project: every resource of a repository, resolved into one graph."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from compiler.diagnostics import Diagnostic
from compiler.graph import SpecGraph
from compiler.model import (
    Dataset,
    Deployment,
    Environment,
    Model,
    Project,
    QualityRule,
    Resource,
    Transform,
)


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
    _by_address: dict[str, Resource] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # a fresh index per instance: dataclasses.replace() must not share (and overwrite) the old one
        index = {r.address: r for r in self._all()}
        object.__setattr__(self, "_by_address", dict(sorted(index.items())))

    def _all(self) -> list[Resource]:
        out: list[Resource] = [self.project]
        for group in (self.environments, self.datasets, self.rules, self.transforms, self.models,
                      self.deployments):
            out.extend(group.values())
        return out

    def resources(self) -> list[Resource]:
        """Every resource but the Project, sorted by address."""
        return [r for a, r in self._by_address.items() if a != self.project.address]

    def get(self, address: str) -> Resource | None:
        return self._by_address.get(address)

    def producer(self, dataset: str) -> Transform | None:
        for t in self.transforms.values():
            if t.output == dataset:
                return t
        return None

    def rules_for(self, dataset: str) -> list[QualityRule]:
        return [r for r in self.rules.values() if r.dataset == dataset]

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
        h = hashlib.sha256()
        for address, res in self._by_address.items():
            h.update(f"{address}={res.digest}\n".encode())
        return h.hexdigest()
