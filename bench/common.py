"""What the benchmark's parts share: paths, the environment commands run in, and small helpers."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
BIN = Path(sys.executable).parent
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1"}


def specops_argv(source: Path | None) -> list[str]:
    """`python -m compiler` on the snapshot (PYTHONPATH, see base_env), else the installed `specops`."""
    exe = BIN / "specops"
    return [str(exe)] if source is None and exe.exists() else [sys.executable, "-m", "compiler"]


def snapshot_source(work: Path) -> Path:
    """Copy the package and its data: the tree may be edited while the benchmark runs, the copy is not."""
    dest = work / "src"
    for name in ("compiler", "schemas", "templates"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def dbt_executable() -> str | None:
    exe = BIN / "dbt"
    return str(exe) if exe.exists() else shutil.which("dbt")


def base_env(source: Path | None = None) -> dict[str, str]:
    drop = ("DBT_", "SPECOPS_", "PYTHONPROFILE", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1", "DBT_USE_COLORS": "false",
                "NO_COLOR": "1"})
    if source is not None:
        env["PYTHONPATH"] = str(source)  # commands run outside the checkout, so the snapshot comes first
    return env


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args], cwd=repo,
                   env={**os.environ, **GIT_ENV}, check=True, capture_output=True)


def drop_cache(repo: Path) -> None:
    shutil.rmtree(repo / ".specops" / "cache", ignore_errors=True)


def edit_description(path: Path, tag: str) -> None:
    """Change the first `description:` of a dataset file (one file, one line)."""
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(r"^(  description: )(.*?)( \(edit \w+\))?$", rf"\1\2 (edit {tag})", text, count=1,
                         flags=re.MULTILINE)
    assert count == 1, f"no description line in {path}"
    path.write_text(new, encoding="utf-8")


def progress(message: str) -> None:
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)
