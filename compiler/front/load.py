"""Stage 1: the repository's files -> their documents, each file read and processed on its own.

`load_repository` reads specops.yaml, finds the spec files of the Project's folders, and hands every
file to a `FileWork`: a function that runs the per-file steps (read, then process: a pure function of
the path and bytes) over a list of files. The default runs them one after the other; the CLI may pass
one that reuses earlier results or uses other cores (compiler.speed), which gives the same outcomes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from compiler.front.discover import PROJECT_FILE, spec_files
from compiler.front.documents import Document, FileOutcome, FileResult, LoadResult, file_key
from compiler.front.parse import parse_file, read_spec
from compiler.spec.diagnostics import Diagnostic, Related

Process = Callable[[str, bytes], FileResult]


@dataclass(frozen=True)
class FileSteps:
    """The two steps of one file's work: `read` (its bytes, or the outcome of a file that cannot be read),
    then `process` (the path and bytes -> FileResult, pure)."""

    root: Path
    process: Process
    links: frozenset[str] = frozenset()  # files found through a symlink: their path is checked again

    def read(self, rel: str) -> bytes | FileOutcome:
        return read_spec(self.root, rel, checked=rel not in self.links)

    def outcome(self, rel: str) -> FileOutcome:
        """Both steps, here and now."""
        raw = self.read(rel)
        if isinstance(raw, FileOutcome):
            return raw
        return FileOutcome(rel, found=self.process(rel, raw), key=file_key(rel, raw))


FileWork = Callable[[Sequence[str], FileSteps], list[FileOutcome]]


def each_file(rels: Sequence[str], steps: FileSteps) -> list[FileOutcome]:
    """Every file's outcome, in order, one after the other."""
    return [steps.outcome(rel) for rel in rels]


def load_repository(root: Path, process: Process = parse_file, files: FileWork = each_file) -> LoadResult:
    """Find specops.yaml under `root`, then every spec file of its folders; never raises on bad input.

    `process` is what each file goes through (parsed, by default; compiler.front.check also validates).
    """
    root = root.resolve()
    result = LoadResult(root, None, [], [])
    diags = result.diagnostics
    project_path = root / PROJECT_FILE
    if os.path.lexists(project_path) and not project_path.is_file():
        diags.append(Diagnostic("no-project", f"{PROJECT_FILE} is not a regular file (a folder, a device or a link "
                                "to nothing)", PROJECT_FILE, 1, 1, hint="make it the file holding the Project"))
        return result
    if not project_path.is_file():
        other = next((n for n in ("specops.yml", "specops.YAML", "specops.YML", "Specops.yaml")
                      if (root / n).is_file()), None)
        hint = (f"rename {other} to {PROJECT_FILE}: the Project file has that exact name" if other else
                "run `specops init DIR` to scaffold a repository, or pass its root")
        diags.append(Diagnostic("no-project", f"no {PROJECT_FILE} in {root} or any folder above it", None,
                                hint=hint))
        return result
    project_docs = result.merge(FileSteps(root, process).outcome(PROJECT_FILE))
    projects = [d for d in project_docs if d.kind == "Project"]
    for doc in project_docs:
        if doc.kind != "Project":
            line, col = doc.locate(("kind",))
            diags.append(Diagnostic("project-file", f"{PROJECT_FILE} may only hold the Project document, "
                                    f"found {doc.kind}", doc.file, line, col, doc.address,
                                    "move it under one of the spec folders"))
    if len(projects) > 1:
        extra = projects[1]
        diags.append(Diagnostic("project-file", f"{PROJECT_FILE} holds more than one Project",
                                extra.file, extra.parsed.line, extra.parsed.col, extra.address))
    if projects:
        result.project = projects[0]
    elif not any(d.severity == "error" for d in diags):
        diags[:] = [d for d in diags if d.code not in ("empty-file", "empty-document")]  # said once, as an error
        diags.append(Diagnostic("project-file", f"{PROJECT_FILE} has no Project document", PROJECT_FILE, 1, 1,
                                hint="it holds the Project: apiVersion, kind: Project, metadata.name and spec"))
    links: set[str] = set()
    rels = spec_files(root, result, links)
    for outcome in files(rels, FileSteps(root, process, frozenset(links))):
        result.documents.extend(result.merge(outcome))
    _check_duplicates(result)
    return result


def _check_duplicates(result: LoadResult) -> None:
    """Each definition of a name used twice within a kind is reported, pointing at the others."""
    groups: dict[tuple[str, str], list[Document]] = {}
    for doc in result.documents:
        if not doc.name.startswith("<"):
            groups.setdefault((doc.kind, doc.name), []).append(doc)
    for (kind, name), docs in groups.items():
        if len(docs) < 2:
            continue
        where = {id(doc): doc.locate(("metadata", "name")) for doc in docs}
        for doc in docs:
            line, col = where[id(doc)]
            others = [d for d in docs if d is not doc]
            related = tuple(Related("also defined here", d.file, *where[id(d)]) for d in others)
            result.diagnostics.append(Diagnostic(
                "duplicate-name", f"{kind} '{name}' is defined {len(docs)} times", doc.file, line, col, doc.address,
                "names are unique within a kind: rename or remove all but one", related=related))
