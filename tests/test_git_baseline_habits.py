"""A plan against a git revision in the repositories teams really keep: a monorepo whose root holds the
.gitattributes (Git LFS's, line endings), hooks of their own, a project moved to another folder, a range given
for a revision."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from apply_support import git
from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

from compiler.plan.baseline import BaselineError, from_git

PRICES = "data/subscriptions.csv"


def _monorepo(tmp_path: Path) -> tuple[Path, Path]:
    """platform/ (the git root) with the churn example in platform/analytics, committed on main."""
    top = tmp_path / "platform"
    project = copy_repository(EXAMPLE_ROOT, top / "analytics")
    shutil.rmtree(project / ".github", ignore_errors=True)
    RepoEditor(project).replace("specops.yaml", "  kubernetes_version:", "  repository: {path: analytics}\n"
                                "  kubernetes_version:")
    git(top, "init", "-q", "-b", "main")
    return top, project


def test_the_root_gitattributes_of_a_monorepo_is_applied_to_the_base(tmp_path):
    """A clean/smudge filter set for CSV files at the git root (as Git LFS is): the base's files are what a checkout
    writes, not git's stored blobs (the base did not validate, and the plan said every resource was new)."""
    top, project = _monorepo(tmp_path)
    git(top, "config", "filter.rev.clean", "rev")
    git(top, "config", "filter.rev.smudge", "rev")
    (top / ".gitattributes").write_text("*.csv filter=rev\n", encoding="utf-8")
    git(top, "add", "-A")
    git(top, "commit", "-qm", "base")
    text = (project / PRICES).read_text(encoding="utf-8")
    (project / PRICES).write_text(text.replace(",", ", ", 1), encoding="utf-8")  # one edit after the commit
    base = from_git(project, "main", "dev")
    assert base.info.errors == () and base.info.no_project is None
    assert "dataset.subscriptions" in base.resources


def test_a_checkout_of_the_base_runs_none_of_the_repositorys_hooks(tmp_path):
    """A symbolic link makes the base a worktree checkout; the user's post-checkout hook neither runs in it nor,
    failing, fails the plan (with an empty message)."""
    top, project = _monorepo(tmp_path)
    (project / "specs/models/churn.yaml").rename(project / "churn-model.yaml")
    (project / "specs/models/churn.yaml").symlink_to("../../churn-model.yaml")
    git(top, "add", "-A")
    git(top, "commit", "-qm", "base")
    hook = top / ".git/hooks/post-checkout"
    hook.write_text(f"#!/bin/sh\necho ran >> {tmp_path / 'hook.log'}\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    base = from_git(project, "main", "dev")
    assert "model.churn" in base.resources
    assert not (tmp_path / "hook.log").exists()


def test_a_base_without_the_project_says_so(tmp_path):
    """The project was moved to another folder: the base has no specops.yaml where the head has it, and the plan
    says why every resource is new."""
    from compiler.front.check import require_project
    from compiler.plan.make import plan_environment
    from compiler.plan.render import render_json, render_markdown, render_text

    top, _ = _monorepo(tmp_path)
    git(top, "add", "-A")
    git(top, "commit", "-qm", "base")
    moved = top / "teams" / "analytics"
    moved.parent.mkdir()
    git(top, "mv", "analytics", "teams/analytics")
    RepoEditor(moved).replace("specops.yaml", "repository: {path: analytics}", "repository: {path: teams/analytics}")
    _, plan = plan_environment(require_project(moved), "dev", "main", None)
    assert plan.baseline.no_project == "teams/analytics/specops.yaml"
    said = "main has no teams/analytics/specops.yaml, so this plan compares with nothing there"
    assert said in render_text(plan) and said in render_markdown(plan)
    assert '"no_project": "teams/analytics/specops.yaml"' in render_json(plan)


@pytest.mark.parametrize("ref", ["main...HEAD", "main..HEAD"])
def test_a_range_is_refused_as_a_range(tmp_path, ref):
    top, project = _monorepo(tmp_path)
    git(top, "add", "-A")
    git(top, "commit", "-qm", "base")
    with pytest.raises(BaselineError, match=r"one git revision, not a range: .*git merge-base main HEAD"):
        from_git(project, ref, "dev")


def test_specs_in_a_submodule_are_checked_out_by_the_workflows_once_the_project_says_so(tmp_path):
    """A spec folder that is a submodule checkout: validate warns (CI's checkout left it empty, and validated and
    planned without its specs, silently) until `repository.submodules` is set; then every checkout of the
    workflows takes submodules, and the plan job whole histories (the base's submodule commit)."""
    import yaml

    from compiler.emit.compile import compile_project
    from compiler.front.check import check_repository

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    (root / "specs/models/.git").write_text("gitdir: ../../.git/modules/specs/models\n", encoding="utf-8")
    project, diags = check_repository(root)
    assert [(d.code, d.file, d.severity) for d in diags] == [
        ("submodule-not-checked-out", "specs/models", "warning")]
    assert "repository: {submodules: true}" in (diags[0].hint or "")
    RepoEditor(root).replace("specops.yaml", "  kubernetes_version:", "  repository: {submodules: true}\n"
                             "  kubernetes_version:")
    project, diags = check_repository(root)
    assert project is not None and diags == []
    workflows = {a.key: yaml.safe_load(a.content) for a in compile_project(project).artifacts
                 if a.key.startswith("workflows:")}
    checkouts = {(key, job): step["with"] for key, doc in workflows.items() for job, spec in doc["jobs"].items()
                 for step in spec["steps"] if str(step.get("uses", "")).startswith("actions/checkout@")}
    assert len(checkouts) >= 4 and all(w["submodules"] == "recursive" for w in checkouts.values()), checkouts
    assert checkouts[("workflows:specops-pr.yml", "plan")]["fetch-depth"] == 0
