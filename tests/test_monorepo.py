"""A spec repository in a folder of a larger git repository (Project repository.path): its workflows go to the git
root's workflows folder under names of their own, run in the folder, trigger on it, and pass actionlint and
zizmor; compile, compile --check and apply work from the folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository
from test_github_backend import actionlint_findings, zizmor_findings

REPO_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "specops-churn-analytics-"


def specops(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """platform/ (the git root) with the spec repository in platform/analytics and another team's workflow."""
    root = tmp_path / "platform"
    spec_root = copy_repository(EXAMPLE_ROOT, root / "analytics")
    shutil.rmtree(spec_root / ".github", ignore_errors=True)  # whatever a local `make demo` left in the example
    RepoEditor(spec_root).replace("specops.yaml", "  kubernetes_version:", "  repository: {path: analytics}\n"
                                  "  kubernetes_version:")
    other = root / ".github" / "workflows" / "specops-billing-pr.yml"
    other.parent.mkdir(parents=True)
    other.write_text("name: another spec repository's workflow\n")
    (root / "services" / "api").mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", str(root)], check=True)
    return root


def workflows(root: Path) -> dict[str, dict[str, Any]]:
    folder = root / ".github" / "workflows"
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(folder.glob(f"{PREFIX}*.yml"))}


def test_workflows_run_in_the_folder_and_trigger_on_it(monorepo: Path):
    done = specops(monorepo / "analytics", "compile")
    assert done.returncode == 0, done.stderr
    docs = workflows(monorepo)
    assert set(docs) == {f"{PREFIX}pr.yml", f"{PREFIX}apply.yml"}  # churn retrains in its cluster (runner)
    assert not (monorepo / "analytics" / ".github").exists()
    assert (monorepo / ".github" / "workflows" / "specops-billing-pr.yml").exists()  # not ours: kept
    for name, doc in docs.items():
        assert doc["defaults"]["run"] == {"shell": "bash", "working-directory": "analytics"}, name
        assert doc["concurrency"]["group"].startswith(PREFIX), name
    paths = docs[f"{PREFIX}pr.yml"]["on"]["pull_request"]["paths"]
    assert paths == ["analytics/specops.yaml", "analytics/specs/**", "analytics/sql/**", "analytics/training/**",
                     "analytics/data/**", f".github/workflows/{PREFIX}*.yml"]
    plan = docs[f"{PREFIX}pr.yml"]["jobs"]["plan"]["steps"]
    upload = next(s for s in plan if s.get("name") == "Upload the plan")
    assert upload["with"]["path"] == "analytics/plan.json\nanalytics/plan.md\n"  # actions' paths: from the root
    apply = docs[f"{PREFIX}apply.yml"]["jobs"]
    contexts = {s["with"]["context"] for s in apply["images"]["steps"]
                if str(s.get("uses", "")).startswith("docker/build-push")}
    assert contexts == {"analytics/build/docker/churn", "analytics/build/docker/dbt"}
    cache = next(s for s in apply["apply-dev"]["steps"] if "cache/restore" in str(s.get("uses", "")))
    assert cache["with"]["path"].splitlines()[0] == "analytics/.specops/state"
    files = sorted((monorepo / ".github" / "workflows").glob(f"{PREFIX}*.yml"))
    assert actionlint_findings(files) == []
    assert zizmor_findings(files) == []


def test_compile_check_and_a_stale_workflow_in_the_folder(monorepo: Path):
    spec_root = monorepo / "analytics"
    assert specops(spec_root, "compile").returncode == 0
    check = specops(spec_root, "compile", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    stale = monorepo / ".github" / "workflows" / f"{PREFIX}retrain-old.yml"
    stale.write_text("name: left by an older compile\n")
    assert specops(spec_root, "compile", "--check").returncode != 0
    assert specops(spec_root, "compile").returncode == 0
    assert not stale.exists() and (monorepo / ".github" / "workflows" / "specops-billing-pr.yml").exists()


def test_a_repository_path_that_does_not_match_is_refused(monorepo: Path):
    RepoEditor(monorepo / "analytics").replace("specops.yaml", "repository: {path: analytics}",
                                               "repository: {path: analytic}")
    done = specops(monorepo / "analytics", "validate")
    assert done.returncode == 1
    assert "repository.path 'analytic'" in done.stdout and "does not end with that folder" in done.stdout


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq (which gh's --jq stands for here) is not installed")
def test_each_project_keeps_its_own_sticky_comment_and_check_names(monorepo: Path, tmp_path: Path):
    """Two projects of one repository on one pull request: each updates its own comment (they shared one marker,
    and the plan that finished last replaced the other's), and their workflows are named apart (branch protection
    tells their checks apart by name)."""
    done = specops(monorepo / "analytics", "compile")
    assert done.returncode == 0, done.stderr
    docs = workflows(monorepo)
    assert {d["name"] for d in docs.values()} == {"specops PR (churn-analytics)", "specops apply (churn-analytics)"}
    # branch protection requires checks by their job names
    assert {j["name"] for j in docs[f"{PREFIX}pr.yml"]["jobs"].values()} == {"validate (churn-analytics)",
                                                                            "plan (churn-analytics)"}
    (comment,) = [s for s in docs[f"{PREFIX}pr.yml"]["jobs"]["plan"]["steps"] if "sticky" in s["name"]]
    bot = {"login": "github-actions[bot]"}
    comments = [{"id": 1, "user": bot, "body": "<!-- specops-plan: fraud-detection -->\nthe other project's plan"},
                {"id": 2, "user": bot, "body": "<!-- specops-plan -->\na plan of a repository of one project"},
                {"id": 3, "user": bot, "body": "<!-- specops-plan: churn-analytics -->\nthis project's last plan"},
                {"id": 4, "user": {"login": "someone"}, "body": "<!-- specops-plan: churn-analytics -->\nquoted"}]
    (tmp_path / "comments.json").write_text(json.dumps(comments))
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir()
    gh.write_text('#!/bin/bash\necho "$@" >> "$GH_LOG"\nif [ "$1" = api ] && [ "$2" = --paginate ]; then\n'
                  '  while [ $# -gt 0 ]; do [ "$1" = --jq ] && f="$2"; shift; done\n'
                  '  jq -r "$f" "$GH_COMMENTS"\nfi\n')
    gh.chmod(0o755)
    work = tmp_path / "job"
    work.mkdir()
    (work / "plan.md").write_text("<!-- specops-plan -->\n\n### specops plan\n")
    env = {"PATH": f"{gh.parent}:/usr/bin:/bin", "GH_LOG": str(tmp_path / "gh.log"),
           "GH_COMMENTS": str(tmp_path / "comments.json"), "REPO": "o/r", "PR_NUMBER": "7"}
    run = subprocess.run(["bash", "-eo", "pipefail", "-c", comment["run"]], cwd=work, env=env, capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0, run.stderr
    calls = (tmp_path / "gh.log").read_text().splitlines()
    assert calls[-1] == "api --method PATCH repos/o/r/issues/comments/3 -F body=@comment.md"
    assert (work / "comment.md").read_text().splitlines()[:3] == [
        "<!-- specops-plan: churn-analytics -->", "", "### specops plan"]
