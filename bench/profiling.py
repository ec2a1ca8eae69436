"""Where the time goes: pyinstrument over whole specops runs, summarised by function and package."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import OUT, ROOT, base_env, drop_cache, edit_description, git, progress, specops_argv
from generate import generate

from scripts import SEED_STATE_SCRIPT


def profile_size(n: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """pyinstrument over validate, compile and plan at N; the hottest functions of each."""
    try:
        from pyinstrument.session import Session
    except ImportError:
        progress("pyinstrument is not installed (.venv/bin/pip install pyinstrument): skipping the profile")
        return {}
    size_dir = work / f"profile-n{n}"
    repo_dir = size_dir / "repo"
    size_dir.mkdir(parents=True)
    generate(n, repo_dir, args.seed)
    git(repo_dir, "init", "-q")
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-q", "-m", "base")
    OUT.mkdir(exist_ok=True)
    env = {**base_env(args.source_dir), "SPECOPS_JOBS": "1"}  # one process: the profile shows all the work
    dataset_file = sorted((repo_dir / "specs" / "datasets").glob("*.yaml"))[0]

    def warm_plan() -> None:
        """plan is profiled warm, like it is timed: fill the cache, then change one file."""
        subprocess.run([*specops_argv(args.source_dir), "plan", str(repo_dir), "--env", "dev"], env=env,
                       capture_output=True, check=True, cwd=size_dir)
        edit_description(dataset_file, "profiled")

    def seeded_plan() -> None:
        """plan against the state an apply of the current specs leaves, warm, then one file changed."""
        seed = size_dir / "seed_state.py"
        seed.write_text(SEED_STATE_SCRIPT, encoding="utf-8")
        subprocess.run([sys.executable, str(seed), str(repo_dir), "dev"], cwd=size_dir, env=env, capture_output=True,
                       check=True)
        warm_plan()

    commands = {
        "validate": (["validate", str(repo_dir)], lambda: drop_cache(repo_dir)),
        "compile": (["compile", str(repo_dir), "--out", str(size_dir / "out")], lambda: drop_cache(repo_dir)),
        "plan": (["plan", str(repo_dir), "--env", "dev"], warm_plan),
        "plan-applied": (["plan", str(repo_dir), "--env", "dev"], seeded_plan),
    }
    found: dict[str, Any] = {}
    for name, (cli_args, before) in commands.items():
        before()
        session_file = size_dir / f"{name}.pyisession"
        progress(f"profiling specops {name} at N={n}")
        subprocess.run([sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session_file),
                        "-m", "compiler", *cli_args], env=env, capture_output=True, check=True, cwd=size_dir)
        text = OUT / f"profile-{name}-{n}.txt"
        subprocess.run([sys.executable, "-m", "pyinstrument", "--load", str(session_file), "-r", "text",
                        "--no-color", "--show-all", "-p", "processor_options.filter_threshold=0.005",
                        "-o", str(text)], env=env, capture_output=True, check=True)
        try:
            found[name] = summarise(Session.load(str(session_file)), text)
        except Exception as exc:  # a profile is a bonus: never lose the timings over it
            progress(f"could not summarise the {name} profile: {exc}")
    return found


def _where(path: str, line: int) -> str:
    if "/compiler/" in path and "site-packages" not in path:  # the checkout or the benchmark's snapshot
        return "compiler/" + path.split("/compiler/", 1)[1] + f":{line}"
    for base in (str(ROOT) + "/", str(Path(sys.prefix)) + "/"):
        if path.startswith(base):
            path = path[len(base):]
    path = re.sub(r"^.*/lib/python3\.\d+/(site-packages/)?", "", path)
    return f"{path}:{line}"


def _package(path: str) -> str:
    """compiler modules by file; libraries by top-level package; the standard library by module."""
    where = _where(path, 0).rsplit(":", 1)[0]
    if where.startswith("compiler/"):
        return where
    if where.startswith("<"):
        return where
    return re.split(r"[/.]", where, maxsplit=1)[0]


def summarise(session: Any, text_file: Path, top: int = 12) -> dict[str, Any]:
    """Cumulative and self time per function (recursion counted once), as shares of the whole run.

    Also: self time per package (a C built-in's time goes to the package that called it) and the time
    spent importing modules (outermost `<module>` frames below the entry script).
    """
    root = session.root_frame()
    total = root.time or 1e-9
    cumulative: dict[tuple[str, str, int], float] = {}
    own: dict[tuple[str, str, int], float] = {}
    by_package: dict[str, float] = {}
    imports = [0.0]

    def walk(frame: Any, on_stack: frozenset, caller_package: str, importing: bool) -> None:
        if frame.identifier.startswith("["):  # pyinstrument's synthetic [self] / [await] leaves
            return
        path = frame.file_path or "?"
        key = (frame.function or "?", path, frame.line_no or 0)
        if key not in on_stack:
            cumulative[key] = cumulative.get(key, 0.0) + frame.time
        own[key] = own.get(key, 0.0) + frame.total_self_time
        package = caller_package if path.startswith("<built-in>") else _package(path)
        by_package[package] = by_package.get(package, 0.0) + frame.total_self_time
        if frame.function == "<module>" and not importing and not path.endswith(("__main__.py", "runpy>", "<string>")):
            imports[0] += frame.time
            importing = True
        for child in frame.children:
            walk(child, on_stack | {key}, package, importing)

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    walk(root, frozenset(), "?", False)

    def entry(k: tuple[str, str, int], v: float) -> dict[str, Any]:
        return {"function": k[0], "where": _where(k[1], k[2]), "seconds": round(v, 2), "share": round(v / total, 3)}

    # our functions, without the CLI entry chain (click's wrapper and the command: ~100% each)
    ours = [(k, v) for k, v in cumulative.items()
            if "/compiler/" in k[1] and not k[1].endswith("__main__.py") and v / total < 0.95]
    ours.sort(key=lambda kv: -kv[1])
    hot_self = sorted(own.items(), key=lambda kv: -kv[1])
    packages = sorted(by_package.items(), key=lambda kv: -kv[1])
    return {
        "total_s": round(total, 2),
        "imports_s": round(imports[0], 2),
        "imports_share": round(imports[0] / total, 3),
        "text_report": str(text_file.relative_to(ROOT)) if text_file.is_relative_to(ROOT) else str(text_file),
        "cumulative": [entry(k, v) for k, v in ours[:top]],
        "self": [entry(k, v) for k, v in hot_self[:top]],
        "packages": [{"package": k, "seconds": round(v, 2), "share": round(v / total, 3)} for k, v in packages[:10]],
    }
