"""What a plan of one environment is about: its resources and generated files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from compiler.emit.manifest import MANIFEST
from compiler.spec.project import SpecProject


def in_scope(address: str, env: str | None, project: SpecProject) -> bool:
    """Resources that matter to one environment: not other environments or their deployments."""
    if env is None:
        return True
    kind, _, name = address.partition(".")
    if kind == "environment":
        return name == env
    if kind == "deployment":
        dep = project.deployments.get(name)
        return dep is None or dep.environment == env
    return True


def artifact_in_scope(key: str, env: str | None) -> bool:
    """Generated files a plan of `env` compares: all but the manifest, and of the files made per environment
    (k8s/<env>/, lineage/<env>.jsonl) only env's."""
    if key == MANIFEST:
        return False
    if env is None:
        return True
    if key.startswith("k8s/"):
        return key.startswith(f"k8s/{env}/")
    if key.startswith("lineage/"):
        return key == f"lineage/{env}.jsonl"
    return True


def head_snapshots(project: SpecProject, env: str | None) -> dict[str, dict]:
    """The snapshots a state records: every resource of `env`, and the Project (its settings make images and
    manifests)."""
    return {project.project.address: project.project.snapshot,
            **{r.address: r.snapshot for r in project.resources() if in_scope(r.address, env, project)}}


class LazySnapshots(Mapping[str, dict]):
    """head_snapshots, each made when asked for: a plan looks at the few whose digest changed."""

    def __init__(self, project: SpecProject, env: str | None):
        self.project = project
        self.addresses = [project.project.address,
                          *(r.address for r in project.resources() if in_scope(r.address, env, project))]
        self.known = frozenset(self.addresses)

    def __getitem__(self, address: str) -> dict:
        if address not in self.known:
            raise KeyError(address)
        return self.project.by_address[address].snapshot

    def __iter__(self) -> Iterator[str]:
        return iter(self.addresses)

    def __len__(self) -> int:
        return len(self.addresses)
