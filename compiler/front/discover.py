"""Finding the files of a spec repository: specops.yaml, then the spec files of the Project's folders."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from compiler.front.documents import Document, LoadResult, YamlPath
from compiler.paths import repo_path_problem
from compiler.spec.diagnostics import Diagnostic

PROJECT_FILE = "specops.yaml"
SPEC_SUFFIXES = (".yaml", ".yml")  # in any case: churn.YAML is a spec file too (a file system may not care)


def find_root(start: Path) -> Path | None:
    """The folder holding specops.yaml: `start` or the closest folder above it (as git and dbt look for
    theirs), or None when there is none up to the file system's root."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if os.path.lexists(folder / PROJECT_FILE):  # a folder or a broken link too: said there, not skipped
            return folder
    return None


def _spec_folders(project: Document | None) -> list[tuple[str, YamlPath]]:
    spec = project.data.get("spec") if project else None
    folders = spec.get("specs") if isinstance(spec, dict) else None
    if not isinstance(folders, list) or not folders:
        return [("specs", ("spec", "specs"))]
    return [(f, ("spec", "specs", i)) for i, f in enumerate(folders) if isinstance(f, str)]


def _excluded_dirs(project: Document | None) -> set[str]:
    spec = project.data.get("spec") if project else None
    out = spec.get("output", "build") if isinstance(spec, dict) else "build"
    return {posixpath.normpath(out)} if isinstance(out, str) and out else set()


def _submodules_checked_out(project: Document | None) -> bool:
    """Whether the Project says its CI checks out git submodules (repository.submodules)."""
    spec = project.data.get("spec") if project else None
    repository = spec.get("repository") if isinstance(spec, dict) else None
    return isinstance(repository, dict) and repository.get("submodules") is True


def spec_files(root: Path, result: LoadResult, links: set[str] | None = None) -> list[str]:
    """The spec files under the Project's folders, sorted; symlinked ones are also added to `links`."""
    files: set[str] = set()
    excluded = _excluded_dirs(result.project)
    submodules = _submodules_checked_out(result.project)
    walked = [os.path.realpath(root / folder) for folder, _ in _spec_folders(result.project)]
    for folder, ypath in _spec_folders(result.project):
        problem = repo_path_problem(root, folder, must_exist=True)
        if problem:
            line, col = result.project.locate(ypath) if result.project else (1, 1)
            result.diagnostics.append(Diagnostic("bad-path", f"spec folder '{folder}': {problem}",
                                                 PROJECT_FILE, line, col, "project"))
            continue
        base = root / folder
        if base.is_file():
            files.add(folder)
            continue
        real_root = os.path.realpath(root)
        pending = [str(base)]
        while pending:  # scandir, not os.walk: an entry says whether it is a symlink without another stat
            dirpath = pending.pop()
            rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
            try:
                entries = sorted(os.scandir(dirpath), key=lambda e: e.name)
            except OSError as exc:  # its specs would be taken for removed: their resources destroyed by apply
                result.diagnostics.append(Diagnostic(
                    "unreadable", f"cannot read folder '{rel_dir}': {exc.strerror or exc}", rel_dir, 1, 1,
                    hint="let specops read it (its permissions), or move it out of the spec folders"))
                continue
            if not submodules and rel_dir != "." and any(e.name == ".git" for e in entries):
                result.diagnostics.append(Diagnostic(
                    "submodule-not-checked-out", f"folder '{rel_dir}' is a git submodule (a repository of its own): "
                    "its specs are read here, but the generated workflows' checkout leaves it empty, so CI would "
                    "validate and plan without them", rel_dir, 1, 1, hint="set `repository: {submodules: true}` in "
                    "specops.yaml (the workflows then check submodules out), or move the specs into this "
                    "repository", severity="warning"))
            for entry in entries:
                name = entry.name
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    if name.startswith(".") or rel in excluded:
                        continue
                    if entry.is_symlink():
                        real = os.path.realpath(entry.path)
                        if not (real == real_root or real.startswith(real_root + os.sep)):
                            result.diagnostics.append(Diagnostic(
                                "bad-path", f"folder '{rel}' is a symlink that leaves the repository", rel, 1, 1))
                        elif not any(real == w or real.startswith(w + os.sep) for w in walked):
                            target = os.path.relpath(real, real_root).replace(os.sep, "/")
                            result.diagnostics.append(Diagnostic(
                                "symlinked-folder", f"folder '{rel}' is a symlink to '{target}': the specs in it are "
                                "not read here (each spec is read through one path)", rel, 1, 1,
                                hint=f"add '{target}' to the Project's specs folders if its specs are meant to be "
                                "read", severity="warning"))
                        continue  # symlinked folders are never walked: one file, one path
                    pending.append(entry.path)
                elif name.lower().endswith(SPEC_SUFFIXES) and not name.startswith(".") and rel != PROJECT_FILE:
                    files.add(rel)
                    if links is not None and entry.is_symlink():
                        links.add(rel)
    return sorted(files)
