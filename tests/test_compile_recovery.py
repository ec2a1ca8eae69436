"""A compile killed (SIGKILL) between its renames (issue #18 item 9): `compile --check` says so instead of
"up to date", and the next `compile` repairs the output and sweeps every temporary file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import REPO_ROOT, SPECOPS_CLI, RepoEditor, as_ordinary_user

from compiler.cli.main import main

WORKFLOWS = Path(".github") / "workflows"

# SIGKILL this process at the Nth os.replace whose source matches: a kill at an exact point of the swap
_KILL_AT_REPLACE = textwrap.dedent("""
    import os, signal, sys
    needle, nth = sys.argv[2], int(sys.argv[3])
    real, seen = os.replace, []
    def replace(src, dst):
        if needle in os.fspath(src):
            seen.append(src)
            if len(seen) == nth:
                os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)
    os.replace = replace
    from compiler.cli.main import main
    main(["compile", sys.argv[1]])
""")


def tree(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def compile_cli(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["compile", str(root), *args], catch_exceptions=False)


def killed_compile(root: Path, needle: str, nth: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPECOPS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run([sys.executable, "-c", _KILL_AT_REPLACE, str(root), needle, str(nth)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr


def leftovers(root: Path) -> list[str]:
    names = [p.name for p in root.iterdir() if ".specops-" in p.name]
    names += [p.name for p in (root / WORKFLOWS).iterdir() if p.name.startswith(".")]
    return sorted(names)


@pytest.fixture
def compiled(repo: Callable[..., Path]) -> Path:
    root = repo()
    assert compile_cli(root).exit_code == 0
    return root


def test_killed_between_the_two_renames_check_reports_it_and_compile_repairs(compiled):
    before = tree(compiled / "build")
    RepoEditor(compiled).replace("specs/datasets/daily_kpis.yaml", "The calendar day.", "The day.")
    killed_compile(compiled, ".build.specops-", 1)  # the previous output set aside, the new one not moved in
    assert not (compiled / "build").exists()
    assert [n for n in leftovers(compiled) if "-old-" in n]

    check = compile_cli(compiled, "--check")
    assert check.exit_code == 1, check.output  # it used to say "up to date"
    assert "interrupted" in check.output and ".build.specops-old-" in check.output
    assert "up to date:" not in check.output

    fixed = compile_cli(compiled)
    assert fixed.exit_code == 0, fixed.output
    assert leftovers(compiled) == []
    after = tree(compiled / "build")
    assert b"The day." in after["dbt/models/daily_kpis.yml"]
    assert set(after) == set(before)
    assert compile_cli(compiled, "--check").exit_code == 0


def test_killed_among_the_workflow_renames_check_reports_it_and_compile_sweeps(compiled):
    workflows = compiled / WORKFLOWS
    RepoEditor(compiled).replace("specops.yaml", 'python_version: "3.11"', 'python_version: "3.12"')
    killed_compile(compiled, ".specops-tmp-", 2)  # one workflow renamed, the next one still a temporary file
    temps = [p.name for p in workflows.iterdir() if p.name.startswith(".specops-tmp-")]
    assert len(temps) == 1

    check = compile_cli(compiled, "--check")
    assert check.exit_code == 1, check.output
    assert f"interrupted  {os.path.relpath(workflows / temps[0])}" in check.output or temps[0] in check.output
    assert "stale" in check.output  # the workflows not yet rewritten

    assert compile_cli(compiled).exit_code == 0
    assert leftovers(compiled) == []
    assert all(b'python-version: "3.12"' in p.read_bytes() for p in workflows.glob("specops-*.yml"))
    assert compile_cli(compiled, "--check").exit_code == 0


def test_a_running_compiles_scratch_is_neither_reported_nor_swept(compiled):
    """Folders of a compile that is still running (its pid is alive) are its own business."""
    parent_pid = os.getppid()
    busy = compiled / f".build.specops-new-{parent_pid}-abcdef"
    busy.mkdir()
    (compiled / WORKFLOWS / f".specops-tmp-{parent_pid}-abcdef").write_text("x")
    assert compile_cli(compiled, "--check").exit_code == 0
    assert compile_cli(compiled).exit_code == 0
    assert busy.is_dir() and (compiled / WORKFLOWS / f".specops-tmp-{parent_pid}-abcdef").exists()


def test_a_read_only_output_is_replaced_and_nothing_left_beside_it(compiled):
    """`chmod -R a-w build` (or a container's umask): compile said it compiled, left the old output moved aside (it
    could not remove it), and `compile --check` failed on it forever. Its owner may make it writable: compile does.
    (Root writes anywhere: its override is dropped, as an ordinary owner's.)"""
    out = compiled / "build"
    before = tree(out)
    subprocess.run(["chmod", "-R", "a-w", str(out)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPECOPS_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    command = as_ordinary_user([sys.executable, *SPECOPS_CLI, "compile"], "dac_override", "dac_read_search", "fowner")
    try:
        proc = subprocess.run(command, cwd=compiled, env=env, capture_output=True, text=True, timeout=300, check=False)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(compiled)], check=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert leftovers(compiled) == []
    assert tree(out) == before
    assert compile_cli(compiled, "--check").exit_code == 0
