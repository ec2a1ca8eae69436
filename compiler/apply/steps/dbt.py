"""Running the compiled dbt project: seeds, models and their tests, streamed to the terminal."""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from compiler.apply.children import run_streamed
from compiler.apply.context import RunContext, StepFailed


@dataclass
class DbtResult:
    ok: bool
    failed_nodes: set[str] = field(default_factory=set)  # dataset names whose model/seed/tests failed
    counts: dict[str, int] = field(default_factory=dict)


def dbt_executable() -> str:
    beside = Path(sys.executable).with_name("dbt")
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise StepFailed("dbt is not installed: pip install 'specops[run]' (dbt-core and dbt-duckdb)")
    return found


def run_dbt(ctx: RunContext, command: str, select: list[str] | None) -> DbtResult:
    """`dbt <command> [--select ...]` for the environment's target; lines are streamed as they come."""
    project_dir = ctx.out_dir / "dbt"
    work = ctx.root / ".specops" / "dbt" / ctx.env.name
    args = [dbt_executable(), command, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
            "--target", ctx.env.name, "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    if select:
        args += ["--select", *select]
    env = {**os.environ, "SPECOPS_ROOT": str(ctx.root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "DBT_USE_COLORS": "false"}
    wh = ctx.env.warehouse
    if wh.type == "duckdb":
        (ctx.root / str(wh.get("path"))).parent.mkdir(parents=True, exist_ok=True)
    # dbt runs in apply's process group, dies with apply and is waited for when apply is interrupted
    code = run_streamed(args, project_dir, env, lambda line: ctx.echo(f"   dbt | {line}"))
    return _results(work / "target", code)


def _results(target: Path, code: int) -> DbtResult:
    result = DbtResult(ok=code == 0)
    try:
        run = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        if code != 0:
            raise StepFailed(f"dbt exited with code {code} and wrote no results") from None
        return result
    nodes = manifest.get("nodes", {})
    for item in run.get("results", []):
        uid, status = item["unique_id"], item["status"]
        result.counts[status] = result.counts.get(status, 0) + 1
        if status not in ("error", "fail", "skipped", "runtime error"):
            continue
        node = nodes.get(uid, {})
        if node.get("resource_type") == "test":
            for dep in node.get("depends_on", {}).get("nodes", []):
                result.failed_nodes.add(dep.rsplit(".", 1)[-1])
        else:
            result.failed_nodes.add(uid.rsplit(".", 1)[-1])
    return result
