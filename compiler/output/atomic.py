"""One file written whole or not at all: through a temporary file beside it, renamed into place. A failure (a
full disk, a read-only folder) leaves the file as it was and names it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from compiler.output.scratch import scratch_prefix, sweep
from compiler.paths import blocked, shown
from compiler.spec.diagnostics import UserError


def atomic_write(path: Path, content: bytes) -> None:
    """Write through a temporary file renamed into place; temporary files of dead runs are swept first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep(path.parent, f".{path.name}.")
    fd, tmp = tempfile.mkstemp(prefix=scratch_prefix(f".{path.name}."), dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_file(path: Path, content: bytes) -> None:
    """atomic_write for a file a command was asked to write (--out): an OS error is a UserError naming it."""
    culprit = blocked(path.parent)
    if culprit is not None:
        raise UserError(f"cannot write {shown(path)}: {shown(culprit)} is not a folder")
    if path.is_dir():
        raise UserError(f"cannot write {shown(path)}: it is a folder")
    try:
        atomic_write(path, content)
    except OSError as exc:
        raise UserError(f"cannot write {shown(path)}: {exc.strerror or exc} (it was left as it was)") from None
