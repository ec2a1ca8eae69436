"""The files of a git revision on disk, for a plan's baseline: linked from the working tree where git says
they are the same, written from git's objects where they differ.

A `git worktree add` writes every file of the repository; a PR plan's base differs from the head in a few
files, so this takes a fraction of the time (hard links to the working tree's files, which are only read).
It declines (returns False) where it cannot be exact: symbolic links, submodules, a failed git command; the
caller then checks the revision out as a worktree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

_REGULAR = (b"100644", b"100755")


def materialize(top: Path, sha: str, rel: Path, dest: Path) -> bool:
    """Write the files under `rel` (relative to the repository's top) as they are at `sha` into `dest`/`rel`."""
    where = rel.as_posix() if rel.parts else "."
    listed = _run(["ls-tree", "-r", "-z", "--full-tree", sha, "--", where], top)
    changed = _run(["diff", "--name-only", "-z", "--no-renames", sha, "--", where], top)
    if listed is None or changed is None:
        return False
    differ = {p for p in changed.split(b"\0") if p}
    wanted: list[tuple[bytes, bytes]] = []  # (blob, path) to write from git's objects
    made: set[Path] = set()
    for entry in filter(None, listed.split(b"\0")):
        meta, _, path = entry.partition(b"\t")
        mode, kind, blob = meta.split(b" ")
        if kind == b"commit":
            continue  # a submodule: not part of this repository's files
        if mode not in _REGULAR or kind != b"blob":
            return False  # a symbolic link: a checkout handles it exactly
        target = dest / os.fsdecode(path)
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        if path in differ:
            wanted.append((blob, path))
            continue
        source = top / os.fsdecode(path)
        try:
            os.link(source, target)
        except OSError:
            try:
                shutil.copyfile(source, target)
            except OSError:
                wanted.append((blob, path))
    return _write_blobs(top, wanted, dest)


def _write_blobs(top: Path, wanted: list[tuple[bytes, bytes]], dest: Path) -> bool:
    if not wanted:
        return True
    proc = subprocess.run(["git", "cat-file", "--batch"], cwd=top, input=b"".join(b + b"\n" for b, _ in wanted),
                          capture_output=True, check=False)
    if proc.returncode != 0:
        return False
    out, pos = proc.stdout, 0
    for blob, path in wanted:
        end = out.index(b"\n", pos)
        header = out[pos:end].split(b" ")
        if len(header) != 3 or header[0] != blob or header[1] != b"blob":
            return False
        size = int(header[2])
        (dest / os.fsdecode(path)).write_bytes(out[end + 1:end + 1 + size])
        pos = end + 1 + size + 1  # the content, then a newline
    return True


def _run(args: list[str], cwd: Path) -> bytes | None:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    return proc.stdout if proc.returncode == 0 else None
