"""What a newcomer does first, on a repository where nothing ran before: `specops compile`, then plain dbt on
the output, from inside build/dbt and from the repository root; and `.specops/` is never committed by
mistake (specops makes it with a .gitignore of its own)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from dbt_support import DBT, requires_dbt

from compiler.cli.main import main
from compiler.output.localdir import GITIGNORE, local_dir


def _plain_env() -> dict[str, str]:
    """The environment of a user's shell: no SPECOPS_ROOT, no DBT_* settings of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "SPECOPS_ROOT"))}
    env.update({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1", "DBT_USE_COLORS": "false"})
    return env


def _compile(runner, root: Path) -> None:
    result = runner.invoke(main, ["compile", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _duckdb_files(top: Path) -> set[Path]:
    return {p for p in top.rglob("*.duckdb")}


@pytest.mark.slow
@requires_dbt
@pytest.mark.parametrize("where", ["inside build/dbt", "from the repository root"])
def test_plain_dbt_builds_the_compiled_project_right_after_compile(where, repo, runner, tmp_path):
    root = repo()
    _compile(runner, root)
    assert not (root / ".specops" / "dev.duckdb").exists()
    if where == "inside build/dbt":
        cwd, args = root / "build" / "dbt", ["--profiles-dir", "."]
    else:
        cwd, args = root, ["--project-dir", "build/dbt", "--profiles-dir", "build/dbt"]
    assert DBT is not None
    proc = subprocess.run([DBT, "build", *args], cwd=cwd, env=_plain_env(), capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "ERROR=0" in proc.stdout and "PASS=" in proc.stdout
    # the warehouse is the one apply, train and drift read: <root>/.specops/dev.duckdb, and nowhere else
    assert _duckdb_files(tmp_path) == {root / ".specops" / "dev.duckdb"}


def test_the_profile_names_no_machine_path_and_finds_the_root_from_the_profiles_folder(repo, runner):
    root = repo()
    _compile(runner, root)
    text = (root / "build" / "dbt" / "profiles.yml").read_text(encoding="utf-8")
    assert "{{ env_var('SPECOPS_ROOT', (flags.PROFILES_DIR or '.') ~ '/../..') }}/.specops/dev.duckdb" in text
    assert str(root) not in text and str(Path.home()) not in text


def test_compile_makes_the_warehouse_folder_with_its_gitignore(repo, runner, editor):
    root = repo()
    ed = editor(root)
    ed.replace("specs/environments.yaml", "path: .specops/dev.duckdb", "path: warehouse/local/dev.duckdb")
    _compile(runner, root)
    assert (root / "warehouse" / "local").is_dir()  # a warehouse outside .specops gets its folder too
    assert not (root / ".specops").exists()  # and .specops is made only when something goes there
    root = repo()
    _compile(runner, root)
    assert (root / ".specops" / ".gitignore").read_text(encoding="utf-8") == GITIGNORE


def test_compile_check_writes_nothing(repo, runner):
    root = repo()
    result = runner.invoke(main, ["compile", "--check", str(root)], catch_exceptions=False)
    assert result.exit_code in (0, 1) and "Traceback" not in result.output  # 0 after `make demo` wrote workflows
    assert not (root / ".specops").exists() and not (root / "build").exists()


def test_git_ignores_everything_specops_keeps_locally(repo, runner, tmp_path):
    root = repo()
    (root / ".gitignore").unlink(missing_ok=True)  # a repository that forgot to ignore it
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    _compile(runner, root)
    folder = root / ".specops"
    (folder / "dev.duckdb").write_bytes(b"not really a database")
    (folder / "state").mkdir()
    (folder / "state" / "dev.json").write_text("{}")
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root, check=True,
                            capture_output=True, text=True).stdout
    assert ".specops" not in status
    assert "specs/" in status  # the check can fail: git does list the other files


def test_an_existing_local_folder_is_left_alone(tmp_path):
    (tmp_path / ".specops").mkdir()
    (tmp_path / ".specops" / "mine").write_text("x")
    assert local_dir(tmp_path) == tmp_path / ".specops"
    assert sorted(p.name for p in (tmp_path / ".specops").iterdir()) == ["mine"]
    assert [p.name for p in tmp_path.iterdir()] == [".specops"]  # no draft folder left behind


def test_apply_and_train_make_the_local_folder_with_its_gitignore(repo, runner, monkeypatch):
    from compiler.cli.ops import locked
    from compiler.front.check import require_project

    root = repo()
    project = require_project(root)
    with locked(project, "dev", root):
        assert (root / ".specops" / ".gitignore").read_text(encoding="utf-8") == GITIGNORE
        assert any((root / ".specops" / "locks").iterdir())
