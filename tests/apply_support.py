"""What the tests that run `specops apply` for real share (dbt + DuckDB, MLflow with a SQLite registry).

The commands run as subprocesses, exactly as a user or CI runs them. `make_applied` makes examples/churn a
git repository applied once to dev; conftest's session fixture `applied_churn` does it once per test
process, and each test that changes something works on its own copy (`fork_of`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import EXAMPLE_ROOT, copy_repository

REPO_ROOT = Path(__file__).resolve().parent.parent
SPECOPS = [sys.executable, "-m", "compiler"]
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p),
    "PYTHONUNBUFFERED": "1",  # the kill test reads the log as it is written
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
}
ENV.pop("SPECOPS_DEBUG", None)

MODEL = "specs/models/churn.yaml"
PLAN_SCHEMA = json.loads((REPO_ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
TABLES = ("customers", "subscriptions", "support_tickets", "customer_activity", "customer_features", "daily_kpis")


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    output: str

    def explain(self) -> str:
        return f"specops {' '.join(self.args)} exited {self.code}:\n{self.output[-6000:]}"


def specops(root: Path, *args: str, timeout: float = 600) -> Run:
    proc = subprocess.run([*SPECOPS, *args], cwd=root, env=ENV, capture_output=True, text=True, timeout=timeout,
                          check=False)
    return Run(args, proc.returncode, proc.stdout + proc.stderr)


def ok(root: Path, *args: str) -> Run:
    run = specops(root, *args)
    assert run.code == 0, run.explain()
    return run


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "user.name=specops-tests", "-c", "user.email=tests@specops.invalid",
                           "-c", "commit.gpgsign=false", *args], cwd=root, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def plan_json(root: Path) -> dict[str, Any]:
    """`specops plan --format json`, checked against schemas/plan.schema.json."""
    import jsonschema

    data = json.loads(ok(root, "plan", "--format", "json").output)
    errors = list(jsonschema.Draft202012Validator(PLAN_SCHEMA).iter_errors(data))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors]
    return data


def state(root: Path) -> dict[str, Any]:
    return json.loads((root / ".specops" / "state" / "dev.json").read_text(encoding="utf-8"))


def lock_file(root: Path) -> Path:
    return root / ".specops" / "locks" / "dev.lock"


def client(root: Path):
    from mlflow import MlflowClient

    return MlflowClient(f"sqlite:///{root / '.specops' / 'mlflow.db'}")


def champion(root: Path) -> int:
    return int(client(root).get_model_version_by_alias("churn", "champion").version)


def versions(root: Path) -> list[int]:
    return sorted(int(v.version) for v in client(root).search_model_versions("name='churn'"))


def row_counts(root: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(root / ".specops" / "dev.duckdb"), read_only=True)
    try:
        return {t: con.execute(f'select count(*) from "main"."{t}"').fetchone()[0] for t in TABLES}
    finally:
        con.close()


def deployed_version(root: Path) -> int:
    """The version the rollout resolved: dev is laptop-only (no manifests), so what apply recorded for it."""
    return int(state(root)["models"]["churn"]["alias_version"])


@dataclass(frozen=True)
class Applied:
    root: Path
    output: str
    sha: str


def make_applied(root: Path) -> Applied:
    """examples/churn copied to `root`, made a git repository and applied once to dev (dbt build, training,
    rollout)."""
    copy_repository(EXAMPLE_ROOT, root)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "churn specs")
    run = ok(root, "apply", "--yes")
    return Applied(root, run.output, git(root, "rev-parse", "HEAD"))


def fork_of(applied: Applied, dest: Path) -> Path:
    """A private copy of the applied repository: specs, git, warehouse, registry, state."""
    return Path(shutil.copytree(applied.root, dest, symlinks=True))


def record_applied(root: Path, env: str) -> Path:
    """What a successful apply of `env` leaves: state (snapshots, artifact digests) and the applied tree, made
    without running dbt, MLflow or kubectl (as bench/scripts.py does); the state file's path."""
    from compiler import __version__
    from compiler.apply.state import load_state, save_state, state_path
    from compiler.emit.compile import compile_project
    from compiler.emit.manifest import sha256
    from compiler.front.check import require_project
    from compiler.output.write import write_output
    from compiler.plan.baseline import applied_dir
    from compiler.plan.scope import artifact_in_scope, head_snapshots

    project = require_project(root)
    compiled = compile_project(project)
    state = load_state(root, env, project.project.name)
    kept = [a for a in compiled.artifacts if artifact_in_scope(a.key, env)]
    state.resources = head_snapshots(project, env)
    state.artifacts = {a.key: sha256(a.content) for a in kept}
    state.serial += 1
    state.tool_version = __version__
    save_state(root, state)
    write_output(applied_dir(root, env), [type(a)(a.key.replace(":", "/", 1), a.content, a.owners, "output")
                                          for a in kept], guard=False)
    return state_path(root, env)
