"""What a model's training image holds: the specs `specops train` and `specops drift` need for that
model, and the files those specs name.

The set is closed at file granularity, so that the copy loads as a valid repository of its own:
it starts from the Project's file, every Environment's file and the model's file; then every
resource defined in a chosen file brings the files of what it references (what is upstream of it
in the graph, and a Transform's output), until nothing is added. A file holding several documents
is copied whole, and its other documents' references come along with it.

The image's tag follows these resources' digests (images.train_image), so an edit elsewhere in the
repository neither changes the image nor re-tags it.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.model import Dataset, Model, Resource, Transform
from compiler.spec import SpecProject


@dataclass(frozen=True)
class TrainContext:
    spec_files: tuple[str, ...]  # repository-relative spec files, sorted (specops.yaml among them)
    resources: tuple[Resource, ...]  # every resource those files define, sorted by address
    named_files: tuple[str, ...]  # the SQL files, file sources and training code they name, sorted


def train_context(project: SpecProject, model: Model) -> TrainContext:
    return project.memo(("train_context", model.name), lambda: _closure(project, model))


def named_files(resource: Resource) -> list[str]:
    """Files of the repository that loading `resource` reads, besides its spec file."""
    if isinstance(resource, Transform) and resource.sql_file:
        return [resource.sql_file]
    if isinstance(resource, Model) and resource.training is not None:
        return [resource.training.entrypoint]
    if isinstance(resource, Dataset) and resource.source is not None and resource.source.path:
        return [resource.source.path]
    return []


def _by_file(project: SpecProject) -> dict[str, list[Resource]]:
    def index() -> dict[str, list[Resource]]:
        out: dict[str, list[Resource]] = {}
        for res in [project.project, *project.resources()]:
            out.setdefault(res.loc.file, []).append(res)
        return out

    return project.memo("resources_by_file", index)


def _closure(project: SpecProject, model: Model) -> TrainContext:
    by_file = _by_file(project)
    files: set[str] = set()
    pending: list[str] = []

    def add_file(name: str) -> None:
        if name not in files:
            files.add(name)
            pending.extend(r.address for r in by_file.get(name, ()))

    for start in (project.project, *project.environments.values(), model):
        add_file(start.loc.file)
    seen: set[str] = set()
    while pending:
        address = pending.pop()
        if address in seen:
            continue
        seen.add(address)
        res = project.get(address)
        referenced = list(project.graph.parents(address)) if address in project.graph else []
        if isinstance(res, Transform) and res.output in project.datasets:
            referenced.append(project.datasets[res.output].address)
        for other in referenced:
            found = project.get(other)
            if found is not None:
                add_file(found.loc.file)  # queues every resource of that file, `other` among them
    resources = sorted((r for name in files for r in by_file.get(name, ())), key=lambda r: r.address)
    named = sorted({f for r in resources for f in named_files(r)})
    return TrainContext(tuple(sorted(files)), tuple(resources), tuple(named))
