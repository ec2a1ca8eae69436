"""`specops verify` runs the integration validators (CRD schemas, promtool, Airflow's DagBag, GX's strict
loader) when their tools are installed, reports what they find, and says how to install a missing one."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from integrations import EXAMPLES, REPO_ROOT, thirdparty, tool_python

from compiler.cli.main import main

ALL = ("crd schemas", "promtool", "airflow dagbag", "gx suites")


def verify(root: Path, *only: str, out: Path | None = None) -> tuple[int, dict[str, str]]:
    args = ["verify", str(root), *(a for name in only for a in ("--only", name))]
    if out is not None:
        args += ["--out", str(out)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    lines = {}
    for line in result.output.splitlines():
        for name in only:
            if line[6:].startswith(name):
                lines[name] = line
    return result.exit_code, lines


@pytest.fixture
def fraud(tmp_path: Path) -> Path:
    root = tmp_path / "fraud"
    shutil.copytree(EXAMPLES / "fraud", root, ignore=shutil.ignore_patterns("build", ".specops"))
    return root


@pytest.mark.slow
def test_every_integration_validator_passes_on_the_example(fraud: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed")
    monkeypatch.setenv("SPECOPS_CRDS_DIR", str(thirdparty("crds")))
    monkeypatch.setenv("SPECOPS_AIRFLOW_PYTHON", str(tool_python(".venv-airflow", "SPECOPS_AIRFLOW_PYTHON")))
    monkeypatch.setenv("SPECOPS_GX_PYTHON", str(tool_python(".venv-gx", "SPECOPS_GX_PYTHON")))
    monkeypatch.setenv("PATH", f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}")  # dbt, for the manifest
    code, lines = verify(fraud, *ALL)
    assert code == 0, lines
    assert all(lines[name].startswith("ok") for name in ALL), lines
    assert "5 DAGs" in lines["airflow dagbag"] and "6 suites" in lines["gx suites"]  # a suite per rule and environment


def test_findings_fail_verify(fraud: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed")
    monkeypatch.setenv("SPECOPS_CRDS_DIR", str(thirdparty("crds")))
    code, _ = verify(fraud, "crd schemas")  # compiles into fraud/build
    assert code == 0
    out = fraud / "build"
    rule_path = out / "k8s" / "prod" / "fraud-api.prometheusrule.yaml"
    rule = yaml.safe_load(rule_path.read_text())
    rule["spec"]["groups"][0]["rules"][0]["expr"] = "sum(rate(x[5m])"
    rule["spec"]["groups"][0]["rules"][0]["severty"] = "high"
    rule_path.write_text(yaml.safe_dump(rule))
    code, lines = verify(fraud, "crd schemas", "promtool", out=out)
    assert code != 0
    assert lines["crd schemas"].startswith("FAIL") and lines["promtool"].startswith("FAIL"), lines


def test_a_broken_suite_fails_the_strict_loader(fraud: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECOPS_GX_PYTHON", str(tool_python(".venv-gx", "SPECOPS_GX_PYTHON")))
    verify(fraud, "gx suites")
    suite = fraud / "build" / "gx" / "expectations" / "dev" / "cards_checks.json"
    data = json.loads(suite.read_text())
    data["expectations"][0]["type"] = "expect_table_row_count_to_be_betwen"
    suite.write_text(json.dumps(data))
    code, lines = verify(fraud, "gx suites", out=fraud / "build")
    assert code != 0 and lines["gx suites"].startswith("FAIL"), lines


def test_missing_tools_are_skipped_with_how_to_install(fraud: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SPECOPS_CRDS_DIR", "SPECOPS_AIRFLOW_PYTHON", "SPECOPS_GX_PYTHON"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SPECOPS_PROMTOOL", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    code, lines = verify(fraud, *ALL)
    assert code == 0
    assert all(line.startswith("skip") for line in lines.values()), lines
    assert "SPECOPS_CRDS_DIR" in lines["crd schemas"]
    assert "apache-airflow==3.3.2" in lines["airflow dagbag"] and "SPECOPS_AIRFLOW_PYTHON" in lines["airflow dagbag"]
    assert "great_expectations==1.24.1" in lines["gx suites"]
    assert "apt-get install prometheus" in lines["promtool"]
