"""`specops verify`'s validators of the integration targets, each run by the real tool when it is installed:

    airflow dagbag     the DAG folder loaded by Airflow's DagBag (with a manifest from `dbt parse`)
    gx suites          every suite loaded strictly by Great Expectations
    promtool           every PrometheusRule's groups through `promtool check rules`
    crd schemas        every custom resource against its CRD's openAPIV3Schema (unknown fields are errors)

Airflow and GX live in their own virtual environments: they are found through SPECOPS_AIRFLOW_PYTHON /
SPECOPS_GX_PYTHON (the python of that venv), else beside an `airflow` on PATH / in the running Python.
A missing tool is a skip whose note says how to install it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from compiler.output.tools import script
from compiler.output.validators import Target, ToolResult, find_tool
from compiler.output.validators import run_tool as _run
from compiler.paths import shown

AIRFLOW_HINT = ('pip install "apache-airflow==3.3.2" "astronomer-cosmos==1.15.1" in a venv of its own and set '
                "SPECOPS_AIRFLOW_PYTHON to its python (in a specops checkout: make tools)")
GX_HINT = ('pip install "great_expectations==1.24.1" in a venv of its own and set SPECOPS_GX_PYTHON to its python '
           "(in a specops checkout: make tools)")
CRDS_HINT = ("set SPECOPS_CRDS_DIR to a folder of the CRDs' YAML (e.g. `kubectl get crd <name> -o yaml`): specops "
             "ships none")


def _python(env_var: str, beside: str | None, module: str) -> list[str] | None:
    override = os.environ.get(env_var)
    if override:
        return [override] if Path(override).is_file() else None
    if beside:
        found = shutil.which(beside)
        if found and Path(found).with_name("python").exists():
            return [str(Path(found).with_name("python"))]
    if importlib.util.find_spec(module) is not None:
        return [sys.executable]
    return None


def report() -> list[tuple[str, str, str]]:
    """(validator, where its tool was found or "missing", how to install it) for the validators here that do
    not run a single binary (`specops verify --install-hint`)."""
    airflow = _python("SPECOPS_AIRFLOW_PYTHON", "airflow", "airflow")
    gx = _python("SPECOPS_GX_PYTHON", None, "great_expectations")
    crds = os.environ.get("SPECOPS_CRDS_DIR")
    return [("airflow dagbag", " ".join(airflow) if airflow else "missing", AIRFLOW_HINT),
            ("gx suites", " ".join(gx) if gx else "missing", GX_HINT),
            ("crd schemas", crds if crds and Path(crds).is_dir() else "missing", CRDS_HINT)]


def airflow_dagbag(t: Target, _: list[str]) -> ToolResult:
    label = "airflow dagbag"
    dags = t.out / "airflow" / "dags"
    files = sorted(dags.glob("*.py")) if dags.is_dir() else []
    if not files:
        return ToolResult(label, "skipped", note="no DAGs in the output")
    python = _python("SPECOPS_AIRFLOW_PYTHON", "airflow", "airflow")
    if python is None:
        return ToolResult(label, "skipped", note=f"Airflow is not installed: {AIRFLOW_HINT}")
    dbt = find_tool("dbt")
    with tempfile.TemporaryDirectory(prefix="specops-verify-airflow-") as tmp:
        env = {"AIRFLOW_HOME": tmp, "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
               "SPECOPS_REPO": str(t.project.root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
        manifest = t.out / "dbt" / "target" / "manifest.json"
        if not manifest.is_file() and dbt is not None and (t.out / "dbt").is_dir():
            project = str(t.out / "dbt")
            _run([*dbt, "parse", "--project-dir", project, "--profiles-dir", project, "--target-path",
                  f"{tmp}/target", "--log-path", f"{tmp}/logs", "--no-version-check", "--quiet"],
                 {"SPECOPS_ROOT": str(t.project.root), **_placeholders(t)})
            manifest = Path(tmp) / "target" / "manifest.json"
        env["SPECOPS_DBT_MANIFEST"] = str(manifest)
        code, out = _run([*python, str(script("airflow_dags")), str(dags)], env)
    try:
        bag = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return ToolResult(label, "failed", out.splitlines()[-5:] or [f"exit code {code}"])
    findings = [f"{shown(path)}: {error}" for path, error in sorted(bag["import_errors"].items())]
    expected = {f.stem for f in files}
    findings += [f"DAG {dag_id} missing from the DagBag" for dag_id in sorted(expected - set(bag["dags"]))]
    tasks = sum(len(d["tasks"]) for d in bag["dags"].values())
    return ToolResult(label, "failed" if findings else "passed", findings,
                      f"{len(bag['dags'])} DAGs, {tasks} tasks")


def _placeholders(t: Target) -> dict[str, str]:
    """Secrets dbt's profile names for other targets: parse renders every target's profile."""
    env = {}
    for e in t.project.environments.values():
        for key in ("password_env", "keyfile_env"):
            if e.warehouse.get(key):
                env.setdefault(str(e.warehouse.get(key)), "verify-placeholder")
    return env


def gx_suites(t: Target, _: list[str]) -> ToolResult:
    label = "gx suites"
    suites = t.files("gx", ".json")
    if not suites:
        return ToolResult(label, "skipped", note="no expectation suites in the output")
    python = _python("SPECOPS_GX_PYTHON", None, "great_expectations")
    if python is None:
        return ToolResult(label, "skipped", note=f"Great Expectations is not installed: {GX_HINT}")
    code, out = _run([*python, str(script("gx_suites")), "load", *map(str, suites)])
    try:
        result = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return ToolResult(label, "failed", out.splitlines()[-5:] or [f"exit code {code}"])
    findings = [f"{shown(path)}: {r['error']}" for path, r in sorted(result.items()) if not r["ok"]]
    count = sum(r.get("expectations", 0) for r in result.values())
    return ToolResult(label, "failed" if findings else "passed", findings,
                      f"{len(suites)} suites, {count} expectations, loaded strictly")


def promtool_rules(t: Target, tool: list[str]) -> ToolResult:
    """`promtool check rules` on each PrometheusRule's groups (`tool` runs promtool: compiler.output.verify)."""
    label = "promtool"
    rules = [f for f in t.files("k8s", ".prometheusrule.yaml")]
    if not rules:
        return ToolResult(label, "skipped", note="no PrometheusRules in the output")
    findings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="specops-verify-promtool-") as tmp:
        for rule in rules:  # one file per PrometheusRule: a group name may repeat across them
            groups = (yaml.safe_load(rule.read_text(encoding="utf-8")) or {}).get("spec", {}).get("groups", [])
            plain = Path(tmp) / rule.name
            plain.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
            code, out = _run([*tool, "check", "rules", str(plain)])
            if code != 0:
                findings += [f"{shown(str(rule))}: {line.strip()}" for line in out.splitlines()
                             if line.strip() and "Checking" not in line][:10]
    return ToolResult(label, "failed" if findings else "passed", findings, f"{len(rules)} PrometheusRules")


def crd_schemas(t: Target, _: list[str]) -> ToolResult:
    from compiler.output.crds import check_files

    label = "crd schemas"
    files = [f for f in t.files("k8s", ".yaml", ".yml") if f.name != "kustomization.yaml"]
    if not files:
        return ToolResult(label, "skipped", note="no manifests in the output")
    folder = os.environ.get("SPECOPS_CRDS_DIR")
    if not folder or not Path(folder).is_dir():
        return ToolResult(label, "skipped", note=f"no CRDs to check against: {CRDS_HINT}")
    findings, missing = check_files(files, Path(folder))
    lines = [f"{shown(f.file)}: {f.kind}/{f.name}: {f.message}" for f in findings]
    note = f"CRDs from {folder}"
    if missing:
        note += "; no CRD for " + ", ".join(f"{kind} ({api})" for api, kind in missing)
    return ToolResult(label, "failed" if lines else "passed", lines, note)
