"""Getting the exact version of a DVC-tracked file with the dvc command (never imported: it runs apart).

In this repository the version is the md5 the plan saw in the `.dvc` file: `dvc fetch` brings that object
into the DVC cache (from the remote, unless the cache has it already) and the object itself is read, checked
against the md5, without touching the working tree (no checkout, nothing overwritten). From another repository
(`repo` + `rev`), `dvc get` downloads the file as it is at that revision.

dvc is found through SPECOPS_DVC (a path or command), next to the running Python, or on PATH, and runs with
analytics off (DVC_NO_ANALYTICS=1: otherwise each command starts a daemon that calls home).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from compiler.apply.children import run_streamed
from compiler.apply.context import StepFailed
from compiler.spec.ir import Dataset

INSTALL = "pip install 'specops[dvc]' (or pipx install dvc), or set SPECOPS_DVC to the dvc command"


def dvc_command() -> list[str]:
    """How to run dvc here, or StepFailed saying how to get it."""
    override = os.environ.get("SPECOPS_DVC")
    if override:
        command = override.split()
        if shutil.which(command[0]) is None:
            raise StepFailed(f"SPECOPS_DVC={override} is not an executable; fix or unset it")
        return command
    beside = Path(sys.executable).with_name("dvc")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("dvc")
    if found:
        return [found]
    raise StepFailed(f"dvc is not installed: {INSTALL}")


def _run(args: list[str], cwd: Path, echo: Callable[[str], None], quiet: bool = False) -> list[str]:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "ITERATIVE_DO_NOT_TRACK": "1"}
    lines: list[str] = []

    def line(text: str) -> None:
        lines.append(text)
        if not quiet and text.strip():
            echo(f"   dvc | {text}")

    code = run_streamed([*dvc_command(), *args], cwd, env, line)
    if code != 0:
        said = [ln.strip() for ln in lines if ln.strip()]
        detail = next((ln for ln in said if ln.startswith("ERROR")), said[-1] if said else "")
        raise StepFailed(f"dvc {args[0]} exited with code {code}" + (f": {detail}" if detail else ""))
    return lines


def md5_of(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(root: Path, ds: Dataset, scratch: Path, echo: Callable[[str], None]) -> Path:
    """A local file holding the dataset's DVC version (an object of the DVC cache, or a download in `scratch`)."""
    src = ds.source
    assert src is not None and src.dvc is not None and src.path
    d = src.dvc
    if d.repo:
        scratch.mkdir(parents=True, exist_ok=True)
        out = scratch / f"{ds.name}.csv"
        out.unlink(missing_ok=True)
        args = ["get", "--quiet", "--out", str(out), "--force"]
        args += ["--rev", d.rev] if d.rev else []
        args += ["--remote", d.remote] if d.remote else []
        _run([*args, "--", d.repo, src.path], root, echo)
        if not out.is_file():
            raise StepFailed(f"dvc get wrote no file for {src.path} of {d.repo}")
        return out
    assert d.md5 is not None  # a dataset whose .dvc file could not be read does not validate
    cache = Path(_run(["cache", "dir"], root, echo, quiet=True)[-1].strip())
    obj = _object(cache, d.md5)
    if obj is None or not _matches(obj, d.md5, d.hash):
        args = ["fetch", "--quiet"] + (["--remote", d.remote] if d.remote else [])
        _run([*args, "--", f"{src.path}.dvc"], root, echo)
        obj = _object(cache, d.md5)
    if obj is None:
        remote = f"remote '{d.remote}'" if d.remote else "the default remote"
        raise StepFailed(f"version {d.md5} of {src.path} is neither in the DVC cache nor in {remote}: was it "
                         f"pushed? (dvc push {src.path}.dvc)")
    if not _matches(obj, d.md5, d.hash):
        raise StepFailed(f"the DVC cache object of {src.path} does not have md5 {d.md5}: the cache is corrupt "
                         f"(remove {obj} and apply again)")
    return obj


def _object(cache: Path, md5: str) -> Path | None:
    """The cache object of `md5`: DVC 3's layout (files/md5/ab/cdef...), else DVC 2's (ab/cdef...)."""
    for path in (cache / "files" / "md5" / md5[:2] / md5[2:], cache / md5[:2] / md5[2:]):
        if path.is_file():
            return path
    return None


def _matches(path: Path, md5: str, kind: str | None) -> bool:
    """Whether the object holds that version; DVC 2's md5 (text normalised to LF first) is DVC's to check."""
    return kind != "md5" or md5_of(path) == md5
