"""Writing compiled output: atomically, and checking it for drift.

The output folder is built beside the old one and swapped in, so a failed or killed compile
leaves the previous output as it was. Generated workflows live in a folder users share with
their own workflows, so there each `specops-*` file is replaced on its own and stale ones removed.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from compiler.emit.base import Artifact
from compiler.output.scratch import abandoned, scratch_prefix, sweep
from compiler.paths import blocked, shown
from compiler.spec.diagnostics import UserError

WORKFLOW_PREFIX = "specops-"
WORKFLOW_SCRATCH = ".specops-tmp-"  # a workflow being written (then renamed into place)
# folders dbt creates when it runs inside the output; never ours to delete or report
RUNTIME_DIRS = ("dbt/target", "dbt/logs", "dbt/dbt_packages")
RUNTIME_FILES = ("dbt/.user.yml", "dbt/package-lock.yml")


@dataclass
class Drift:
    stale: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)  # left by a killed compile: the next compile repairs

    @property
    def clean(self) -> bool:
        return not (self.stale or self.missing or self.extra or self.interrupted)


def _scratch(out: Path, kind: str) -> str:
    """Prefix of the folders a compile keeps beside `out` (scratch_prefix adds the pid: whose they are)."""
    return f".{out.name}.specops-{kind}-"


def interrupted(out: Path) -> list[Path]:
    """What compiles that were killed left beside `out` (folders of a compile still running are not)."""
    return sorted(abandoned(out.parent, _scratch(out, "old")) + abandoned(out.parent, _scratch(out, "new")))


def _recover(out: Path) -> None:
    """Undo what a killed compile left beside `out`.

    Killed between its two renames, it left the previous output aside as `-old-`: put it back.
    Killed while writing, it left a half-written `-new-` folder: remove it. Folders of a compile
    that is still running (its pid is alive) are left alone.
    """
    old = sorted(abandoned(out.parent, _scratch(out, "old")), key=lambda p: (p.stat().st_mtime, p.name))
    if not out.exists() and old:
        os.replace(old.pop(), out)
    for path in old + abandoned(out.parent, _scratch(out, "new")):
        _remove(path)


def _remove(path: Path) -> None:
    """Remove a folder of ours that was moved aside, also when its folders were made read-only (`chmod -R a-w
    build`, or a container's umask): they are made writable first, as their owner may. What is still left (another
    user's files) is an error naming it: the next compile would fail the same way, and `compile --check` forever."""
    shutil.rmtree(path, ignore_errors=True)
    if not os.path.lexists(path):
        return
    folders = [str(path)]
    while folders:
        folder = folders.pop()
        try:
            os.chmod(folder, os.lstat(folder).st_mode & 0o7777 | 0o700)
            with os.scandir(folder) as entries:
                folders.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
        except OSError:
            continue
    try:
        shutil.rmtree(path)
    except OSError as exc:
        raise OutputFolderError(f"{shown(path)}, a previous output moved aside, cannot be removed "
                                f"({exc.strerror}: {exc.filename}): remove it (it may belong to another user)"
                                ) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _keep_runtime(old: Path, new: Path) -> None:
    """Carry over what dbt keeps inside the output (target/, logs/, ...): state, not output."""
    for rel in (*RUNTIME_DIRS, *RUNTIME_FILES):
        src = old / rel
        if src.exists() and not (new / rel).exists():
            (new / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, new / rel)


def _ours(out: Path) -> bool:
    """Whether `out` holds a manifest.json that specops wrote (not just any file of that name): one that parses as
    specops' manifest, or one damaged after it was written (a merge conflict in a committed build folder) that
    still holds both its `"tool": "specops"` and `"artifacts"` lines."""
    import json

    try:
        text = (out / "manifest.json").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return '\n  "tool": "specops",\n' in text and '\n  "artifacts": [' in text
    return isinstance(data, dict) and data.get("tool") == "specops" and "artifacts" in data


class OutputFolderError(UserError):
    """The output folder holds files specops did not write: it is never replaced."""


FileGroups = list[list[tuple[str, bytes]]]  # files (path, content) by folder


def write_groups(groups: FileGroups) -> None:
    """Write every group's files (their folders exist)."""
    for group in groups:
        write_group(group)


def write_output(out: Path, artifacts: list[Artifact], *, guard: bool = True,
                 write: Callable[[FileGroups], None] = write_groups) -> None:
    """Replace `out` with exactly these output artifacts (dbt's runtime folders are kept).

    With `guard`, an existing folder is replaced only if it is empty or holds a specops
    manifest.json: a mistyped --out or Project output never wipes user files. `write` writes the
    files, grouped by folder (compiler.speed may pass one that uses several processes).
    """
    out = out.resolve()
    if out.exists() and not out.is_dir():  # a file, a device (--out /dev/null): never moved aside
        raise OutputFolderError(f"{out} exists and is not a folder; refusing to replace it: choose an output "
                                "folder (a new one, or one specops wrote)")
    out.parent.mkdir(parents=True, exist_ok=True)
    _recover(out)
    if guard and out.is_dir() and any(out.iterdir()) and not _ours(out):
        raise OutputFolderError(f"{out} exists and was not written by specops (it has no specops manifest.json "
                                "that can be read); refusing to replace it: choose another output folder or empty "
                                "this one")
    tmp = Path(tempfile.mkdtemp(prefix=scratch_prefix(_scratch(out, "new")), dir=out.parent))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it 0700; the output is an ordinary folder
        write(_by_folder([(os.path.join(tmp, art.path), art.content) for art in artifacts if art.base == "output"]))
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=scratch_prefix(_scratch(out, "old")), dir=out.parent))
            old.rmdir()
            try:
                os.replace(out, old)
            except OSError as exc:
                if exc.errno in (errno.EBUSY, errno.EXDEV, errno.EPERM, errno.EACCES):
                    raise OutputFolderError(
                        f"{out} cannot be moved aside ({exc.strerror}): a compile replaces its output folder whole, "
                        "by renaming, which a mount point (a container volume, a CI cache) or a folder it may not "
                        "rename does not allow; compile into a folder inside it (--out) or mount its parent "
                        "instead") from None
                raise
            os.replace(tmp, out)
            _keep_runtime(old, out)
            _remove(old)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _by_folder(files: list[tuple[str, bytes]]) -> FileGroups:
    """The files grouped by folder, each folder made (one mkdir per folder, before any file is written)."""
    folders: dict[str, list[tuple[str, bytes]]] = {}
    for path, content in files:
        folders.setdefault(os.path.dirname(path), []).append((path, content))
    for folder in sorted(folders):
        os.makedirs(folder, exist_ok=True)
    return [folders[k] for k in sorted(folders)]


def write_group(files: list[tuple[str, bytes]]) -> None:
    for path, content in files:
        write_file(path, content)


def write_file(path: str, content: bytes) -> None:
    """One new file, with the umask's permissions (lower-level than Path.write_bytes: it counts at 20,000 files)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def check_writable_folder(folder: Path, what: str) -> None:
    """OutputFolderError, naming the culprit, when `folder` cannot be made (or used) as a folder."""
    culprit = blocked(folder)
    if culprit is not None:
        where = "" if culprit == folder else f" (in {shown(folder)})"
        raise OutputFolderError(f"{shown(culprit)} is not a folder, so the {what}{where} cannot be written there: "
                                "move it away, or choose another folder")


def check_workflows(folder: Path, artifacts: list[Artifact]) -> None:
    """What write_workflows needs, checked before anything is written (compile writes nothing when it fails)."""
    wanted = [folder / a.path for a in artifacts if a.base == "workflows"]
    if not wanted:
        return
    check_writable_folder(folder, "workflows folder")
    for target in wanted:
        if target.exists() and not target.is_file():
            raise OutputFolderError(f"{shown(target)} is not a file, so the generated workflow cannot be written "
                                    "there: move it away")


def write_workflows(folder: Path, artifacts: list[Artifact], prefix: str = WORKFLOW_PREFIX) -> None:
    """Write the generated workflow files one by one (each atomically) and remove stale ones (named `prefix*`)."""
    wanted = {a.path: a for a in artifacts if a.base == "workflows"}
    if not wanted and not folder.exists():
        return
    check_workflows(folder, artifacts)
    folder.mkdir(parents=True, exist_ok=True)
    sweep(folder, WORKFLOW_SCRATCH)
    for path, art in sorted(wanted.items()):
        target = folder / path
        if target.is_file() and target.read_bytes() == art.content:
            continue
        fd, tmp = tempfile.mkstemp(prefix=scratch_prefix(WORKFLOW_SCRATCH), dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(art.content)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; workflows are ordinary committed files
            os.replace(tmp, target)
        except OSError as exc:
            raise OutputFolderError(f"cannot write {shown(target)}: {exc.strerror}") from None
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
    for existing in sorted(folder.glob(f"{prefix}*")):
        if existing.is_file() and existing.name not in wanted:
            existing.unlink()


def _ignored(rel: str) -> bool:
    return rel in RUNTIME_FILES or any(rel == d or rel.startswith(d + "/") for d in RUNTIME_DIRS)


def check_drift(out: Path, workflows: Path, artifacts: list[Artifact], prefix: str = WORKFLOW_PREFIX) -> Drift:
    """Compare what compile would write with what is on disk.

    When the output folder does not exist (teams that do not commit it), only the generated
    workflows, which must be committed to run, are compared. What a killed compile left (the previous
    output set aside, a half-written folder or workflow) is listed as interrupted.
    """
    drift = Drift()
    drift.interrupted = [shown(p) for p in interrupted(out)]
    if workflows.is_dir():
        drift.interrupted += [shown(p) for p in abandoned(workflows, WORKFLOW_SCRATCH)]
    wanted: dict[Path, Artifact] = {}
    for art in artifacts:
        if art.base == "output" and not out.is_dir():
            continue  # the output is not kept in this repository: only the workflows are checked
        base = out if art.base == "output" else workflows
        wanted[base / art.path] = art
    for path, art in sorted(wanted.items(), key=lambda kv: str(kv[0])):
        where = shown(path)
        if not path.is_file():
            drift.missing.append(where)
        elif path.read_bytes() != art.content:
            drift.stale.append(where)
    if out.is_dir():
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            rel = path.relative_to(out).as_posix()
            if path not in wanted and not _ignored(rel):
                drift.extra.append(shown(path))
    if workflows.is_dir():
        for path in sorted(workflows.glob(f"{prefix}*")):
            if path.is_file() and path not in wanted:
                drift.extra.append(shown(path))
    return drift
