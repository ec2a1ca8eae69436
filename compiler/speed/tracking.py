"""What a unit of backend work reads from the project, recorded, and checked against the project now.

A unit (compiler.emit.base.Unit) runs on a `ProjectView`: the SpecProject API, reading through to the
real project and recording every read in a `Trace` as (read key, value), where the value is what
`Facts` computes for that key: a resource's fingerprint (compiler.front.check, which covers everything
the resource was built from), a digest of a kind's names, of a derived list (a dataset's rules, a
model's deployments, the external datasets), or the repository files the specs name. Reading anything the view
does not offer is an error, so no read can go unrecorded. A unit whose every recorded read has the same value
now reads the same things, so it would produce the same artifacts.

Image tags follow what the images hold (compiler.spec.images: the Project's python_version and specops
source, the frameworks, the environments' warehouse types), so a unit that names an image would depend on
those too: the view hands out a placeholder of the tag's length instead, records it in the trace, and the
caller puts the real tag in afterwards (`Tags`). Placeholders contain a random nonce, so no spec text can
spell one by chance.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from compiler.spec.ir import Resource
from compiler.spec.project import SpecProject

ReadKey = tuple[str, ...]


ABSENT = "-"
_GROUPS = {"environment": "environments", "dataset": "datasets", "quality_rule": "rules", "transform": "transforms",
           "model": "models", "deployment": "deployments"}


class UntrackedRead(AttributeError):
    """A unit asked the view for something it cannot record (a backend outgrew the view: a bug here)."""


def _digest(parts: Iterator[str] | list[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


class Facts:
    """The value of every read key for the project as it is now (computed when first asked)."""

    def __init__(self, project: SpecProject, unknown: str):
        self.project = project
        self.unknown = unknown  # a resource without a fingerprint: a value no recorded read can have
        self._values: dict[ReadKey, str] = {}

    def value(self, key: ReadKey) -> str:
        found = self._values.get(key)
        if found is None:
            found = self._values[key] = self._compute(key)
        return found

    def _compute(self, key: ReadKey) -> str:
        p, tag = self.project, key[0]
        if tag == "res":
            res = p.get(key[1])
            return ABSENT if res is None else p.fingerprints.get(key[1]) or self.unknown
        if tag == "names":
            return _digest(list(getattr(p, _GROUPS[key[1]])))
        if tag == "all":
            return _digest([f"{a}={self.value(('res', a))}" for a in p.by_address])
        if tag == "rules_for":
            return self._list(p.rules_for(key[1]))
        if tag == "build_after":
            return repr(p.build_after(key[1]))
        if tag == "deployments_of":
            return self._list(p.deployments_of(key[1]))
        if tag == "external":
            return self._list(p.external_datasets())
        if tag == "kafka":
            return self._list(p.kafka_datasets())
        if tag == "secrets":
            return _digest([repr(s) for s in p.secrets_of(key[1])])
        if tag == "default_environment":
            return repr(p.default_environment)
        if tag == "input_files":
            return _digest(list(p.input_files))
        if tag == "warehouse_types":
            return repr(p.warehouse_types)
        raise KeyError(key)

    def _list(self, resources: list[Any]) -> str:
        return _digest([f"{r.address}={self.value(('res', r.address))}" for r in resources])


@dataclass
class Trace:
    reads: dict[ReadKey, str] = field(default_factory=dict)
    tags: set[tuple[str, str]] = field(default_factory=set)  # (kind, name) of the placeholders handed out


class Tags:
    """Image tag placeholders: the same length as a real tag (`sha-` and 12 hex digits), but with letters
    no hex digest has, and a nonce; `put` replaces them with the project's real tags."""

    LETTERS = "ghijklmnopqrstuvwxyz"

    def __init__(self, nonce: str):
        self.nonce = nonce
        self._made: dict[tuple[str, str], str] = {}  # a memo: placeholders are a pure function of their key
        self._pairs: dict[tuple[str, str], tuple[bytes, bytes]] = {}  # (placeholder, tag), for one project

    def placeholder(self, kind: str, name: str) -> str:
        found = self._made.get((kind, name))
        if found is None:
            digest = hashlib.sha256(f"{self.nonce}\0{kind}\0{name}".encode()).digest()
            found = "sha-" + self.nonce + "".join(self.LETTERS[b % 20] for b in digest[:12 - len(self.nonce)])
            self._made[kind, name] = found
        return found

    def put(self, project: SpecProject, content: bytes, used: set[tuple[str, str]] | frozenset) -> bytes:
        for key in sorted(used):
            pair = self._pairs.get(key)
            if pair is None:
                pair = self._pairs[key] = (self.placeholder(*key).encode(), project.image_tag(*key).encode())
            content = content.replace(*pair)
        return content


class ProjectView:
    """The SpecProject API on `project`, recording each read in `trace` (see the module docstring)."""

    def __init__(self, project: SpecProject, facts: Facts, trace: Trace, tags: Tags):
        self._p, self._facts, self._trace, self._tags = project, facts, trace, tags

    def _read(self, *key: str) -> None:
        self._trace.reads[key] = self._facts.value(key)

    def _res(self, res: Resource) -> Any:
        self._read("res", res.address)
        return res

    @property
    def project(self) -> Any:
        return self._res(self._p.project)

    @property
    def environments(self) -> _Group:
        return _Group(self, "environment", self._p.environments)

    @property
    def datasets(self) -> _Group:
        return _Group(self, "dataset", self._p.datasets)

    @property
    def rules(self) -> _Group:
        return _Group(self, "quality_rule", self._p.rules)

    @property
    def transforms(self) -> _Group:
        return _Group(self, "transform", self._p.transforms)

    @property
    def models(self) -> _Group:
        return _Group(self, "model", self._p.models)

    @property
    def deployments(self) -> _Group:
        return _Group(self, "deployment", self._p.deployments)

    def resources(self) -> list[Resource]:
        self._read("all")
        return self._p.resources()

    def get(self, address: str) -> Resource | None:
        self._read("res", address)
        return self._p.get(address)

    def rules_for(self, dataset: str) -> list[Any]:
        self._read("rules_for", dataset)
        return self._p.rules_for(dataset)

    def build_after(self, dataset: str) -> tuple[str, ...]:
        self._read("build_after", dataset)
        return self._p.build_after(dataset)

    def deployments_of(self, model: str) -> list[Any]:
        self._read("deployments_of", model)
        return self._p.deployments_of(model)

    def external_datasets(self) -> list[Any]:
        self._read("external")
        return self._p.external_datasets()

    def kafka_datasets(self) -> list[Any]:
        self._read("kafka")
        return self._p.kafka_datasets()

    def secrets_of(self, environment: str) -> tuple[Any, ...]:
        """The environment's secrets table, recorded as what it is (not as every read that made it)."""
        self._read("secrets", environment)
        return self._p.secrets_of(environment)

    @property
    def default_environment(self) -> str | None:
        self._read("default_environment")
        return self._p.default_environment

    @property
    def input_files(self) -> tuple[str, ...]:
        self._read("input_files")
        return self._p.input_files

    @property
    def lineage(self) -> _LineageView:
        """The column lineage of the SQL: only each transform's analysis (`lineage.sql.get(name)`) is offered."""
        return _LineageView(self)

    def sql_analysis(self, name: str) -> Any:
        """A transform's SQL analysis, recorded as reads of what it is made from: the transform, its inputs'
        columns, and the dialect (the Project's default environment and the environments' warehouses)."""
        p = self._p
        t = p.transforms.get(name)
        self._read("res", f"transform.{name}")
        for dataset in t.inputs if t is not None else ():
            self._read("res", f"dataset.{dataset}")
        self._read("res", p.project.address)
        self._read("names", "environment")
        for env in p.environments.values():
            self._read("res", env.address)
        return p.lineage.sql.get(name)

    @property
    def warehouse_types(self) -> tuple[str, ...]:
        self._read("warehouse_types")
        return self._p.warehouse_types

    def image_tag(self, kind: str, name: str = "") -> str:
        self._trace.tags.add((kind, name))
        return self._tags.placeholder(kind, name)

    def __getattr__(self, name: str) -> Any:
        raise UntrackedRead(f"backend units may not read SpecProject.{name} (compiler.speed.tracking)")


class _LineageView:
    """`project.lineage` seen through a ProjectView: `sql.get(name)` only."""

    def __init__(self, view: ProjectView):
        self.sql = _SqlAnalyses(view)

    def __getattr__(self, name: str) -> Any:
        raise UntrackedRead(f"backend units may not read SpecProject.lineage.{name} (compiler.speed.tracking)")


class _SqlAnalyses:
    def __init__(self, view: ProjectView):
        self._view = view

    def get(self, name: str, default: Any = None) -> Any:
        found = self._view.sql_analysis(name)
        return default if found is None else found


class _Group(Mapping[str, Any]):
    """One kind's resources by name: a name looked up reads that resource; going through them reads
    their names and each of them."""

    def __init__(self, view: ProjectView, kind: str, items: dict[str, Any]):
        self._view, self._kind, self._items = view, kind, items

    def __getitem__(self, name: str) -> Any:
        self._view._read("res", f"{self._kind}.{name}")
        return self._items[name]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        self._view._read("res", f"{self._kind}.{name}")
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        self._view._read("names", self._kind)
        return iter(self._items)

    def __len__(self) -> int:
        self._view._read("names", self._kind)
        return len(self._items)

    def values(self) -> Any:
        self._view._read("names", self._kind)
        for res in self._items.values():
            self._view._read("res", res.address)
        return self._items.values()

    def items(self) -> Any:
        self.values()
        return self._items.items()
