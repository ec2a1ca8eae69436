"""Helpers for the tests of the integration targets (Airflow, GX, OpenLineage, Grafana/Prometheus, CRDs).

The heavy tools live in their own virtual environments (scripts/install-tools.sh, `make tools`); a
test that needs one that is missing skips with the reason. Third-party schemas and CRDs are read from
the shared `thirdparty/` folder (SPECOPS_THIRDPARTY, else the first `shared/thirdparty` found above
this checkout).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from dbt_support import DBT, compile_repo

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"
EXAMPLE_NAMES = ("churn", "fraud", "clickstream")
# the examples that train and serve models (clickstream has none: no alert rules, no serving custom resources)
SERVING_EXAMPLES = ("churn", "fraud")


def tool_python(venv: str, env_var: str) -> Path:
    """The Python of a tool venv (`.venv-airflow`, `.venv-gx`), or skip the test."""
    override = os.environ.get(env_var)
    path = Path(override) if override else REPO_ROOT / venv / "bin" / "python"
    if not path.is_file():
        pytest.skip(f"{venv} is not installed (make tools, or set {env_var})")
    return path


def thirdparty(*parts: str) -> Path:
    """A file or folder of the third-party data (the repository's copy in tests/thirdparty, else SPECOPS_THIRDPARTY),
    or skip the test."""
    override = os.environ.get("SPECOPS_THIRDPARTY")
    bases = [REPO_ROOT / "tests" / "thirdparty", *([Path(override)] if override else [])]
    for base in bases:
        if (base / Path(*parts)).exists():
            return base / Path(*parts)
    pytest.skip(f"thirdparty/{'/'.join(parts)} not found (set SPECOPS_THIRDPARTY)")


def compiled_copy(example: str, dest: Path) -> Path:
    """A copy of examples/<example> under dest, compiled; returns the repository root."""
    root = dest / example
    shutil.copytree(EXAMPLES / example, root, ignore=shutil.ignore_patterns("build", ".specops", "__pycache__"))
    compile_repo(root)
    return root


def dbt_parse(root: Path, target: str = "dev") -> Path:
    """`dbt parse` of the compiled project, as a deployment would run it: writes <output>/dbt/target/manifest.json."""
    if DBT is None:
        pytest.skip("dbt is not installed")
    project = root / "build" / "dbt"
    env = {**os.environ, "SPECOPS_ROOT": str(root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    proc = subprocess.run([DBT, "parse", "--project-dir", str(project), "--profiles-dir", str(project), "--target",
                           target, "--no-version-check", "--quiet"], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return project / "target" / "manifest.json"
