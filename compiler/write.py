"""Writing compiled output: atomically, and checking it for drift.

The output folder is built beside the old one and swapped in, so a failed or killed compile
leaves the previous output as it was. Generated workflows live in a folder users share with
their own workflows, so there each `specops-*` file is replaced on its own and stale ones removed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from compiler.emit import Artifact

WORKFLOW_PREFIX = "specops-"
# folders dbt creates when it runs inside the output; never ours to delete or report
RUNTIME_DIRS = ("dbt/target", "dbt/logs", "dbt/dbt_packages")
RUNTIME_FILES = ("dbt/.user.yml", "dbt/package-lock.yml")


@dataclass
class Drift:
    stale: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.stale or self.missing or self.extra)


def _recover(out: Path) -> None:
    """Put back an output folder left aside by a compile killed between its two renames."""
    if out.exists():
        return
    leftovers = sorted(out.parent.glob(f".{out.name}.specops-old-*"))
    if leftovers:
        os.replace(leftovers[-1], out)


def write_output(out: Path, artifacts: list[Artifact]) -> None:
    """Replace `out` with exactly these output artifacts."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    _recover(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.specops-new-", dir=out.parent))
    try:
        for art in artifacts:
            if art.base != "output":
                continue
            target = tmp / art.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(art.content)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.specops-old-", dir=out.parent))
            old.rmdir()
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_workflows(folder: Path, artifacts: list[Artifact]) -> None:
    """Write the generated workflow files one by one (each atomically) and remove stale ones."""
    wanted = {a.path: a for a in artifacts if a.base == "workflows"}
    if not wanted and not folder.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for path, art in sorted(wanted.items()):
        target = folder / path
        if target.is_file() and target.read_bytes() == art.content:
            continue
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
        with os.fdopen(fd, "wb") as handle:
            handle.write(art.content)
        os.replace(tmp, target)
    for existing in sorted(folder.glob(f"{WORKFLOW_PREFIX}*")):
        if existing.is_file() and existing.name not in wanted:
            existing.unlink()


def _ignored(rel: str) -> bool:
    return rel in RUNTIME_FILES or any(rel == d or rel.startswith(d + "/") for d in RUNTIME_DIRS)


def check_drift(out: Path, workflows: Path, artifacts: list[Artifact]) -> Drift:
    """Compare what compile would write with what is on disk."""
    drift = Drift()
    wanted: dict[Path, Artifact] = {}
    for art in artifacts:
        base = out if art.base == "output" else workflows
        wanted[base / art.path] = art
    for path, art in sorted(wanted.items(), key=lambda kv: str(kv[0])):
        shown = _shown(path)
        if not path.is_file():
            drift.missing.append(shown)
        elif path.read_bytes() != art.content:
            drift.stale.append(shown)
    if out.is_dir():
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            rel = path.relative_to(out).as_posix()
            if path not in wanted and not _ignored(rel):
                drift.extra.append(_shown(path))
    if workflows.is_dir():
        for path in sorted(workflows.glob(f"{WORKFLOW_PREFIX}*")):
            if path.is_file() and path not in wanted:
                drift.extra.append(_shown(path))
    return drift


def _shown(path: Path) -> str:
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel
