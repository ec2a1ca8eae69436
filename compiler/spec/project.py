"""The checked project: every resource of a repository, resolved into one graph."""

from __future__ import annotations

import functools
import hashlib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from compiler.spec.diagnostics import Diagnostic
from compiler.spec.graph import SpecGraph
from compiler.spec.images import dbt_tag, land_tag, serve_tag, train_tag
from compiler.spec.ir import (
    Check,
    Dataset,
    Deployment,
    Environment,
    Model,
    Project,
    QualityRule,
    Resource,
    Transform,
)
from compiler.spec.lineage import Lineage
from compiler.spec.relationships import RelationshipOrder, relationship_order

T = TypeVar("T")


@dataclass(frozen=True)
class SpecProject:
    """What the front half of the pipeline hands to backends, plan and apply.

    Immutable. Values derived from the whole project (indexes, the spec digest, image tags) are computed
    when first asked for and kept (functools.cached_property). Resource digests come from `known_digests`
    when given there (computed elsewhere, the same values: see `with_digests`), else from the resources.
    """

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
    # address -> what the resource was built from (compiler.front.check.fingerprint), where known
    fingerprints: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    known_digests: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    # column lineage of the transforms' SQL, checks and models (compiler.front.sql)
    lineage: Lineage = field(default_factory=Lineage, compare=False, repr=False)

    def with_digests(self, digests: Mapping[str, str]) -> SpecProject:
        """The same project, its resources' digests known (address -> Resource.digest, e.g. remembered)."""
        return replace(self, known_digests=digests)

    def digest(self, address: str) -> str:
        """The resource's digest (Resource.digest)."""
        known = self.known_digests.get(address)
        return known if known is not None else self.by_address[address].digest

    @functools.cached_property
    def by_address(self) -> dict[str, Resource]:
        """Every resource, the Project included, sorted by address."""
        index: dict[str, Resource] = {self.project.address: self.project}
        for group in (self.environments, self.datasets, self.rules, self.transforms, self.models, self.deployments):
            for res in group.values():
                index[res.address] = res
        return dict(sorted(index.items()))

    @functools.cached_property
    def _resources(self) -> tuple[Resource, ...]:
        return tuple(r for a, r in self.by_address.items() if a != self.project.address)

    def resources(self) -> list[Resource]:
        """Every resource but the Project, sorted by address."""
        return list(self._resources)

    def get(self, address: str) -> Resource | None:
        return self.by_address.get(address)

    @functools.cached_property
    def _external(self) -> tuple[Dataset, ...]:
        return tuple(d for d in self.datasets.values() if d.source is not None)

    def external_datasets(self) -> list[Dataset]:
        """Datasets with a source (table, file or external), in name order."""
        return list(self._external)

    @functools.cached_property
    def _secrets(self) -> dict[str, tuple[Any, ...]]:
        from compiler.spec.secrets import environment_secrets  # the table reads the project: made once

        return {name: tuple(environment_secrets(self, env)) for name, env in self.environments.items()}

    def secrets_of(self, environment: str) -> tuple[Any, ...]:
        """Every secret the environment needs (compiler.spec.secrets.Secret), by name."""
        return self._secrets[environment]

    def kafka_datasets(self) -> list[Dataset]:
        """Datasets with a kafka source, in name order."""
        return [ds for ds in self._external if ds.source is not None and ds.source.kafka is not None]

    @functools.cached_property
    def _deployments_of(self) -> dict[str, list[Deployment]]:
        return _grouped(self.deployments, "model")

    def deployments_of(self, model: str) -> list[Deployment]:
        """The model's deployments, in name order."""
        return list(self._deployments_of.get(model, ()))

    @functools.cached_property
    def _rules_for(self) -> dict[str, list[QualityRule]]:
        return _grouped(self.rules, "dataset")

    def rules_for(self, dataset: str) -> list[QualityRule]:
        return list(self._rules_for.get(dataset, ()))

    @functools.cached_property
    def _producers(self) -> dict[str, Transform]:
        return {t.output: t for t in reversed(self.transforms.values())}

    def producer(self, dataset: str) -> Transform | None:
        return self._producers.get(dataset)

    @functools.cached_property
    def relationships(self) -> RelationshipOrder:
        """The build order relationship checks need to run in the DAG (compiler.spec.relationships)."""
        return relationship_order(self.datasets, self.rules, self.transforms)

    def rule_check(self, address: str, name: object) -> Check | None:
        """The check named `name` of the quality rule at `address` (None when there is none: not a rule's check)."""
        rule = self.rules.get(address.removeprefix("quality_rule.")) if address.startswith("quality_rule.") else None
        return next((c for c in rule.checks if c.name == name), None) if rule is not None else None

    def build_after(self, dataset: str) -> tuple[str, ...]:
        """The datasets a transform's output must be built after besides its inputs: the other side of its
        relationship checks (compiler.spec.relationships)."""
        return self.relationships.build_after.get(dataset, ())

    @functools.cached_property
    def input_files(self) -> tuple[str, ...]:
        """The repository files that loading reads besides the spec files (SQL, training code, data), sorted."""
        return tuple(sorted({posixpath.normpath(f) for r in self._resources for f in r.input_files()}))

    def image_tag(self, kind: str, name: str = "") -> str:
        """The tag of a built image: `train` or `serve` (of model `name`), `dbt` or `land` (compiler.spec.images):
        a digest of what the image holds (base image, requirements, specops), never of the specs."""
        if kind == "dbt":
            return self._dbt_tag
        if kind == "train":
            return train_tag(self.project.python_version, self.models[name], self.warehouse_types,
                             self.project.specops)
        if kind == "serve":
            return serve_tag(self.project.python_version, self.models[name])
        if kind == "land":
            return land_tag(self.project.python_version, self.warehouse_types, self.project.specops)
        raise ValueError(f"unknown image kind {kind!r}")

    @functools.cached_property
    def warehouse_types(self) -> tuple[str, ...]:
        """The environments' warehouse types, sorted: which drivers and dbt adapters the images hold."""
        return tuple(sorted({e.warehouse.type for e in self.environments.values()}))

    @functools.cached_property
    def _dbt_tag(self) -> str:
        return dbt_tag(self.project.python_version, self.warehouse_types, self.project.specops)

    @property
    def default_environment(self) -> str | None:
        return default_environment(self.project, self.environments)

    @functools.cached_property
    def spec_digest(self) -> str:
        """One digest of every resource's normalised content."""
        h = hashlib.sha256()
        for address in self.by_address:
            h.update(f"{address}={self.digest(address)}\n".encode())
        return h.hexdigest()


def default_environment(project: Project, environments: Mapping[str, Environment]) -> str | None:
    """The Project's default_environment; without one, `dev` if there is one, else the first environment."""
    if project.default_environment:
        return project.default_environment
    if "dev" in environments:
        return "dev"
    return next(iter(environments), None)


def _grouped(group: dict[str, T], attribute: str) -> dict[str, list[T]]:
    """The group's resources by the value of one attribute, in name order."""
    out: dict[str, list[T]] = {}
    for res in group.values():
        out.setdefault(getattr(res, attribute), []).append(res)
    return out
