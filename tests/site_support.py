"""Shared by the docs-site tests: the example repositories, plans of them, and a headless Chromium.

The repositories a site is built from: examples/* (each example folder with a specops.yaml) and the
benchmark generator's repository (bench/generate.py), the second example until another is added.

The browser is Debian's Chromium driven by Playwright (the `playwright` package of the dev extra,
`executable_path=/usr/bin/chromium`; nothing is downloaded). Where either is missing, browser tests skip
with the reason; CI (.ci/run) installs both, so there they run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
BENCH_N = 300  # the generated second example: big enough for every kind and a deep DAG, quick to build


def example_roots() -> list[Path]:
    """Every example repository under examples/ (a folder with a specops.yaml), sorted."""
    return sorted(p for p in EXAMPLES.iterdir() if (p / "specops.yaml").is_file())


def bench_generator():
    """bench/generate.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_generate", REPO_ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_generate", module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def generated_repo(dest: Path, n: int = BENCH_N, seed: int = 1) -> Path:
    return bench_generator().generate(n, dest, seed=seed).root


def git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)


def churn_with_a_breaking_change(dest: Path) -> tuple[Path, Path]:
    """A copy of examples/churn committed to git, then one column dropped from dataset.customers and a
    row added to its CSV (a seed change: rows the site must never show). Returns (root, plan file)."""
    from click.testing import CliRunner

    from compiler.cli.main import main

    shutil.copytree(EXAMPLES / "churn", dest, ignore=shutil.ignore_patterns(".specops", "build", "__pycache__"))
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "base")
    spec = dest / "specs/datasets/customers.yaml"
    text = spec.read_text(encoding="utf-8")
    dropped = ("    - name: marketing_opt_in\n      type: boolean\n"
               "      description: Whether the customer agreed to receive marketing e-mail.\n      required: true\n")
    assert dropped in text, "examples/churn changed: update this helper"
    spec.write_text(text.replace(dropped, ""), encoding="utf-8")
    with (dest / "data/customers.csv").open("a", encoding="utf-8") as f:
        f.write(f"999999,{SECRET_ROW_EMAIL},Zed Secretrow,US,consumer,2020-01-01,true\n")
    plan = dest / "plan.json"
    result = CliRunner().invoke(main, ["plan", str(dest), "--against", "HEAD", "--out", str(plan)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return dest, plan


SECRET_ROW_EMAIL = "zed.secretrow@example.com"  # a data value that must never reach a site


def until(page, expression: str, timeout: float = 30) -> None:
    """Poll the page until the JavaScript expression is true. (Playwright's wait_for_function evaluates its
    predicate with eval, which the site's Content-Security-Policy forbids.)"""
    import time

    end = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > end:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.02)


def chromium() -> str | None:
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


def browser_missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing (pip install -e '.[dev]')"
    if chromium() is None:
        return "Chromium is missing (apt-get install chromium, or scripts/install-chromium.sh as root)"
    return None


def browser_skip_reason() -> str | None:
    """Why browser tests skip here, or None. With SPECOPS_REQUIRE_BROWSER=1 (set by .ci/run) they never skip:
    a missing browser fails them instead (browser_missing)."""
    return None if os.environ.get("SPECOPS_REQUIRE_BROWSER") else browser_missing()
