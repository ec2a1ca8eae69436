"""The files of a git revision on disk, for a plan's baseline: linked from the working tree where git says
they are the same, written from git's objects where they differ.

A `git worktree add` writes every file of the repository; a PR plan's base differs from the head in a few
files, so this takes a fraction of the time (hard links to the working tree's files, which are only read).
It declines (returns False) where it cannot be exact: symbolic links, files git is told not to look at
(assume-unchanged, skip-worktree: `git diff` would call them unchanged), checkouts that convert content
(core.autocrlf, core.eol, .gitattributes), a failed git command; the caller then checks the revision out as a
worktree, which git converts as it would any checkout. Either way, `submodules` then writes the files of the
submodules checked out here, at the commits the revision records (the working tree reads their specs too).
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
    flagged = _run(["ls-files", "-v", "-z", "--", where], top)
    if listed is None or changed is None or flagged is None or _converts(top, listed, sha, rel):
        return False
    if any(e[:1] == b"S" or e[:1].islower() for e in flagged.split(b"\0") if e):
        return False  # skip-worktree or assume-unchanged: the working tree may differ where git diff says not
    differ = {p for p in changed.split(b"\0") if p}
    wanted: list[tuple[bytes, bytes]] = []  # (blob, path) to write from git's objects
    made: set[Path] = set()
    for entry in filter(None, listed.split(b"\0")):
        meta, _, path = entry.partition(b"\t")
        mode, kind, blob = meta.split(b" ")
        if kind == b"commit":
            continue  # a submodule: written by `submodules`
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


def submodules(top: Path, sha: str, rel: Path, dest: Path) -> list[str]:
    """Write the files of the submodules under `rel` (as `sha` records them) into `dest`, for those checked out
    here: the working tree reads their specs, so the baseline must too. Returns the submodules whose recorded
    commit their repository here does not have (it must be fetched)."""
    where = rel.as_posix() if rel.parts else "."
    listed = _run(["ls-tree", "-r", "-z", "--full-tree", sha, "--", where], top) or b""
    missing: list[str] = []
    for entry in filter(None, listed.split(b"\0")):
        meta, _, raw = entry.partition(b"\t")
        _, kind, commit = meta.split(b" ")
        path = os.fsdecode(raw)
        sub = top / path
        if kind != b"commit" or not (sub / ".git").exists():
            continue  # a file, or a submodule not checked out here: its folder is empty on both sides
        target = dest / path
        if _run(["cat-file", "-e", f"{commit.decode()}^{{commit}}"], sub) is None:
            missing.append(path)
            continue
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        if not materialize(sub, commit.decode(), Path(), target) and not _checkout(sub, commit.decode(), target):
            missing.append(path)
            continue
        missing += [f"{path}/{m}" for m in submodules(sub, commit.decode(), Path(), target)]
    return missing


def _checkout(repo: Path, commit: str, dest: Path) -> bool:
    """The files of `commit` written into `dest` as a checkout writes them (symbolic links, conversions), through a
    temporary index: neither the repository's index nor its working tree is touched."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    index = dest.parent / f".{dest.name}.index"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    try:
        for args in (["read-tree", commit], ["checkout-index", "--all", "--force", f"--prefix={dest}/"]):
            if subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, check=False).returncode != 0:
                return False
        return True
    finally:
        index.unlink(missing_ok=True)


def _converts(top: Path, listed: bytes, sha: str, rel: Path) -> bool:
    """Whether a checkout would not write a blob's bytes as they are (line endings, filters): attributes under
    `rel`, in the folders above it (a monorepo's root .gitattributes, Git LFS's), in the repository's
    info/attributes or the user's attributes file."""
    for key in ("core.autocrlf", "core.eol"):
        value = _run(["config", "--get", key], top)
        if value is not None and value.strip().lower() in (b"true", b"crlf"):
            return True
    if _run(["config", "--get", "core.attributesFile"], top) is not None:
        return True
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    if (config_home / "git" / "attributes").is_file():  # the user's attributes when core.attributesFile is unset
        return True
    info = _run(["rev-parse", "--git-path", "info/attributes"], top)
    if info is not None and (top / os.fsdecode(info.strip())).is_file():
        return True
    above = [(parent / ".gitattributes").as_posix() for parent in rel.parents]  # rel's parents end with "."
    if above and _run(["ls-tree", "--name-only", "-z", sha, "--", *above], top):
        return True
    return any(e.endswith(b"/.gitattributes") or e.endswith(b"\t.gitattributes") for e in listed.split(b"\0"))


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
