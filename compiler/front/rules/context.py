"""What every cross-file rule reads: the resources by kind, their documents and the graph."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from compiler.front.documents import Document, YamlPath
from compiler.spec.diagnostics import Diagnostic, Related
from compiler.spec.graph import SpecGraph
from compiler.spec.ir import Dataset, Deployment, Environment, Model, Project, QualityRule, Resource, Transform
from compiler.spec.lineage import Lineage


@dataclass
class Context:
    project: Project
    environments: dict[str, Environment]
    datasets: dict[str, Dataset]
    rules: dict[str, QualityRule]
    transforms: dict[str, Transform]
    models: dict[str, Model]
    deployments: dict[str, Deployment]
    docs: dict[str, Document]  # address -> document
    graph: SpecGraph
    invalid: frozenset[str] = frozenset()  # addresses of documents that failed the schema
    claimed_outputs: frozenset[str] = frozenset()  # outputs of transforms that failed the schema
    root: Path | None = None  # the repository, for rules about paths (symlinks)
    lineage: Lineage = field(default_factory=Lineage)  # column lineage (compiler.front.sql), made before the rules

    def at(self, res: Resource, path: YamlPath, code: str, message: str, hint: str | None = None,
           *, key: bool = False, severity: str = "error", related: tuple[Related, ...] = ()) -> Diagnostic:
        doc = self.docs[res.address]
        line, col = doc.locate_key(path) if key else doc.locate(path)
        return Diagnostic(code, message, doc.file, line, col, res.address, hint, severity,  # type: ignore[arg-type]
                          related)

    def related(self, res: Resource, path: YamlPath, message: str) -> Related:
        """Another place a diagnostic is about: `res`'s node at `path`."""
        doc = self.docs[res.address]
        return Related(message, doc.file, *doc.locate(path))

    def by_kind(self) -> dict[str, dict[str, Resource]]:
        return {
            "environment": self.environments, "dataset": self.datasets, "quality_rule": self.rules,
            "transform": self.transforms, "model": self.models, "deployment": self.deployments,
        }


Rule = Callable[[Context], Iterable[Diagnostic]]
