"""Temporary files and folders that carry their writer's pid, so that those of a killed run can be found and
swept by the next one while those of a run still going are left alone."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path


def scratch_prefix(prefix: str) -> str:
    """`prefix` followed by this process's pid: `<prefix><pid>-<random>` once tempfile adds its part."""
    return f"{prefix}{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (one of another user's counts as running)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def owner_pid(name: str, prefix: str) -> int | None:
    """The pid a scratch name made with scratch_prefix(prefix) carries, or None."""
    if not name.startswith(prefix):
        return None
    head = name[len(prefix):].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def abandoned(folder: Path, prefix: str) -> list[Path]:
    """Scratch files and folders in `folder` left by processes that are gone. This process's own count as
    left too: it sweeps before it makes new ones, so any found are of an earlier attempt that failed."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        pid = owner_pid(name, prefix)
        if pid is not None and (pid == os.getpid() or not pid_alive(pid)):
            found.append(folder / name)
    return found


def sweep(folder: Path, prefix: str) -> list[Path]:
    """Remove what `abandoned` finds; return what was removed."""
    gone = abandoned(folder, prefix)
    for path in gone:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return gone
