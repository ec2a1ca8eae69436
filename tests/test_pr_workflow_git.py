"""The generated pull-request workflow's plan step, run as GitHub Actions runs it: on the pull request's merge commit
(refs/pull/N/merge, what actions/checkout gives a pull_request event), fetched as shallow as the workflow asks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from apply_support import git
from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

from compiler.emit.compile import compile_project
from compiler.front.check import require_project


def _pr_workflow(root: Path) -> dict:
    compiled = compile_project(require_project(root))
    (pr,) = [a for a in compiled.artifacts if a.key.endswith("specops-pr.yml")]
    return yaml.safe_load(pr.content)


def test_the_plan_shows_the_pull_requests_changes_only_after_the_base_branch_moved_on(tmp_path):
    """main gets another commit after the pull request's merge commit was made (a queued runner, a re-run): the plan
    is still that of the pull request's own change, not of main's commit undone."""
    origin = copy_repository(EXAMPLE_ROOT, tmp_path / "origin")
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "base")
    git(origin, "checkout", "-qb", "pr")
    RepoEditor(origin).replace("sql/customer_activity.sql", "min(started_at) as first_started_on",
                               "max(started_at) as first_started_on")
    git(origin, "commit", "-qam", "the pull request's change")
    git(origin, "checkout", "-q", "--detach", "main")
    git(origin, "merge", "-q", "--no-ff", "-m", "Merge pr into main", "pr")
    git(origin, "update-ref", "refs/pull/1/merge", git(origin, "rev-parse", "HEAD"))
    git(origin, "checkout", "-q", "main")
    RepoEditor(origin).replace("specs/datasets/daily_kpis.yaml", 'owner: "@acme/analytics"', 'owner: "@acme/bi"')
    git(origin, "commit", "-qam", "another pull request, merged meanwhile")

    workflow = _pr_workflow(origin)
    checkout = workflow["jobs"]["plan"]["steps"][0]
    (step,) = [s for s in workflow["jobs"]["plan"]["steps"] if s.get("id") == "plan"]
    runner = tmp_path / "runner"
    runner.mkdir()
    git(runner, "init", "-q")
    depth = checkout["with"].get("fetch-depth", 1)  # as actions/checkout fetches: 0 is every branch, whole
    refs = ["+refs/heads/*:refs/remotes/origin/*"] if depth == 0 else []
    git(runner, "fetch", "-q", "--no-tags", *([f"--depth={depth}"] if depth else []), f"file://{origin}",
         *refs, "+refs/pull/1/merge:refs/remotes/pull/1/merge")
    git(runner, "checkout", "-q", "--detach", "refs/remotes/pull/1/merge")
    output, summary = tmp_path / "output", tmp_path / "summary"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary), "HEAD_SHA": "0" * 40,
           "BASE_REF": "main"}
    done = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], cwd=runner, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not output.exists() or "failed=true" not in output.read_text(), (runner / "plan.md").read_text()
    plan = json.loads((runner / "plan.json").read_text())
    assert [c["address"] for c in plan["resource_changes"]] == ["transform.build_customer_activity"]
