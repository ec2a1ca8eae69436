"""Paths written in specs are relative to the repository root and must stay inside it."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from pathlib import Path, PurePosixPath


def repo_path_problem(root: Path, relative: str, *, must_exist: bool) -> str | None:
    """Why `relative` is not an acceptable repository path, or None when it is."""
    if not relative or relative.strip() != relative:
        return "the path is empty or has surrounding spaces"
    if "\\" in relative or "\0" in relative:
        return "use forward slashes only"
    pure = PurePosixPath(relative)
    if pure.is_absolute() or (len(relative) > 1 and relative[1] == ":"):
        return "absolute paths are not allowed; write it relative to the repository root"
    if ".." in pure.parts:
        return "'..' is not allowed: the path must stay inside the repository"
    target = root / relative
    links = [p for p in (target, *_parents_within(root, target)) if p.is_symlink()]
    if links:
        resolved = Path(os.path.realpath(target))
        if not _inside(Path(os.path.realpath(root)), resolved):
            return "it is a symlink that leaves the repository"
        absolute = absolute_link(links)
        if absolute:
            return absolute
    if must_exist and not target.exists():
        return "no such file"
    return None


def normal_repo_path(relative: str) -> str:
    """One spelling of the repository path `relative`: `.` segments, repeated and trailing slashes dropped
    (`./sql//x.sql` -> `sql/x.sql`, `./` -> `.`), so that two spellings of one file are the same path to plan,
    compile and the workflows' filters. A path that `repo_path_problem` refuses whatever its spelling (empty,
    surrounding spaces, backslashes, absolute, `..`) is returned as written, for its diagnostic to quote; without
    `..`, dropping `.` and slashes names the same file whatever symlinks it goes through."""
    if not relative or relative.strip() != relative or "\\" in relative or "\0" in relative:
        return relative
    pure = PurePosixPath(relative)
    if pure.is_absolute() or (len(relative) > 1 and relative[1] == ":") or ".." in pure.parts:
        return relative
    return posixpath.normpath(relative)


MAX_HOPS = 40  # as the kernel's limit on symbolic links followed


def absolute_link(links: Iterable[Path]) -> str | None:
    """Why a symlink to an absolute path is refused even when it points inside the repository: another checkout
    (a CI runner, a colleague's clone, the base revision of `plan --against`) is in another folder, where the
    link points somewhere else or nowhere."""
    for first in links:
        link, seen = first, set()
        while link.is_symlink() and link not in seen and len(seen) < MAX_HOPS:  # each hop of a chain of links
            seen.add(link)
            try:
                pointed = os.readlink(link)
            except OSError:
                break
            if os.path.isabs(pointed):
                via = "" if link == first else f" (through '{first.name}')"
                return (f"'{link.name}'{via} is a symlink to the absolute path '{pointed}', which another checkout "
                        "of the repository (CI, `plan --against`) does not have; make the link relative (ln -sfr)")
            link = link.parent / pointed
    return None


def _parents_within(root: Path, target: Path) -> list[Path]:
    parents = []
    current = target.parent
    while current != root and root in current.parents:
        parents.append(current)
        current = current.parent
    return parents


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def shown(path: Path | str) -> str:
    """A path as a user will look for it: relative to the working directory when under it."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


# folders of a spec repository that compile's output may never be, hold or sit inside: git's, apply's state,
# and the conventional homes of SQL, training code and data (SPEC.md, "A user's repository")
PROTECTED_FOLDERS = (".git", ".specops", "sql", "training", "data")


def output_overlap(root: Path, out: Path, spec_folders: Iterable[str], home: str | None = None) -> str | None:
    """Why `out` cannot be a generated folder that is replaced as a whole (compile's output, the docs site), or
    None. `home` is a folder inside a protected one that is this output's own (the docs site's
    `.specops/docs`): `out` may be it or lie inside it."""
    root, out = root.resolve(), out.resolve()
    if out == root or out in root.parents:
        return "it is (or holds) the repository root"
    if home is not None and (out == (root / home).resolve() or (root / home).resolve() in out.parents):
        return None
    named = [(folder, f"the spec folder '{folder}'") for folder in spec_folders]
    named += [(folder, f"the '{folder}' folder") for folder in PROTECTED_FOLDERS]
    for folder, what in named:
        spec = (root / folder).resolve()
        if out == spec or spec in out.parents or out in spec.parents:
            return f"it overlaps {what}"
    return None


def git_root(root: Path, repository_path: str | None) -> Path:
    """The git repository's root: the spec repository's own root, or the folder `repository_path` climbs to."""
    if not repository_path:
        return root
    return root.parents[len(PurePosixPath(repository_path).parts) - 1]


def repository_path_problem(root: Path, repository_path: str) -> str | None:
    """Why `repository_path` (the spec repository's folder inside its git repository) does not describe `root`."""
    parts = PurePosixPath(repository_path).parts
    if len(parts) >= len(root.parts) or tuple(root.parts[-len(parts):]) != parts:
        return f"this repository is at {root}, which does not end with that folder"
    return None


def workflow_prefix(k8s_name: str, repository_path: str | None) -> str:
    """The prefix of generated workflow files: `specops-`, or `specops-<project>-` in a monorepo, where several
    spec repositories may share the git root's workflows folder (each removes only its own stale files)."""
    return f"specops-{k8s_name}-" if repository_path else "specops-"


def blocked(path: Path) -> Path | None:
    """The first of `path` and the folders above it that exists and is not a folder (so `path` cannot be made as
    a folder), or None."""
    for at in (path, *path.parents):
        if at.exists():
            return None if at.is_dir() else at
        if at.is_symlink():  # dangling: mkdir cannot go through it
            return at
    return None
