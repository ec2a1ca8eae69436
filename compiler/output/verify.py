"""`specops verify`: the real validators, run over the compiled output, in one summary.

Each validator is optional: one that is not installed is skipped with a note saying how to get it
(INSTALL; `specops verify --install-hint` lists them all). Tools are found through an override
variable (SPECOPS_CHECKOV=/path/to/checkov, ...), next to the running Python, or on PATH.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable

from compiler.output import verify_integrations
from compiler.output.validators import INSTALL, Target, ToolResult, find_tool, locate_tool, override_variable
from compiler.output.validators import run_tool as _run
from compiler.paths import shown

__all__ = ["INSTALL", "VALIDATORS", "Target", "ToolResult", "find_tool", "locate_tool", "override_variable", "verify"]

def dbt_parse(t: Target, tool: list[str]) -> ToolResult:
    project_dir = t.out / "dbt"
    if not project_dir.is_dir():
        return ToolResult("dbt parse", "skipped", note="no dbt project in the output")
    env = {"SPECOPS_ROOT": str(t.project.root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for e in t.project.environments.values():
        for key in ("password_env", "keyfile_env"):
            if e.warehouse.get(key):
                env.setdefault(e.warehouse.get(key), "verify-placeholder")
    findings: list[str] = []
    parsed, no_adapter = [], []
    with tempfile.TemporaryDirectory(prefix="specops-verify-") as tmp:
        for target in sorted(t.project.environments):
            code, out = _run([*tool, "parse", "--no-partial-parse", "--project-dir", str(project_dir),
                              "--profiles-dir", str(project_dir), "--target", target, "--target-path",
                              f"{tmp}/{target}", "--log-path", f"{tmp}/logs"], env)
            if code != 0 and "Could not find adapter type" in out:
                no_adapter.append(f"{target} ({t.project.environments[target].warehouse.type})")
                continue
            parsed.append(target)
            if code != 0:
                lines = [ln for ln in out.splitlines() if "error" in ln.lower()] or out.splitlines()[-5:]
                findings += [f"target {target}: {ln.strip()}" for ln in lines[:10]]
    note = f"targets: {', '.join(parsed) or 'none'}"
    if no_adapter:
        note += f"; skipped, their dbt adapter is not installed: {', '.join(no_adapter)}"
    status = "failed" if findings else "passed" if parsed else "skipped"
    return ToolResult("dbt parse", status, findings, note)


def kubernetes_validate(t: Target, tool: list[str]) -> ToolResult:
    files = t.files("k8s", ".yaml", ".yml")
    files = [f for f in files if f.name != "kustomization.yaml"]
    if not files:
        return ToolResult("kubernetes-validate", "skipped", note="no manifests in the output")
    version = f"{t.project.project.kubernetes_version}.0"
    code, out = _run([*tool, "--strict", "-k", version, *map(str, files)])
    findings = [ln for ln in out.splitlines() if ln.startswith("ERROR")]
    crds = sum(1 for ln in out.splitlines() if "schema" in ln.lower() and "not" in ln.lower())
    note = f"Kubernetes {version}, {len(files)} files" + (f"; {crds} custom resources have no schema" if crds else "")
    if code != 0 and not findings:
        findings = out.splitlines()[-5:]
    return ToolResult("kubernetes-validate", "failed" if findings else "passed", findings, note)


def hadolint(t: Target, tool: list[str]) -> ToolResult:
    files = [f for f in t.files("docker") if f.name.startswith("Dockerfile")]
    if not files:
        return ToolResult("hadolint", "skipped", note="no Dockerfiles in the output")
    _, out = _run([*tool, "--no-fail", "--format", "json", *map(str, files)])
    try:
        items = json.loads(out or "[]")
    except ValueError:
        return ToolResult("hadolint", "failed", out.splitlines()[-5:])
    findings = [f"{shown(i['file'])}:{i['line']}: {i['code']} {i['message']}" for i in items]
    return ToolResult("hadolint", "failed" if findings else "passed", findings, f"{len(files)} Dockerfiles")


def actionlint(t: Target, tool: list[str]) -> ToolResult:
    if not t.workflows:
        return ToolResult("actionlint", "skipped", note="no generated workflows")
    code, out = _run([*tool, *map(str, t.workflows)])
    findings = [ln for ln in out.splitlines() if ln.strip()] if code != 0 else []
    return ToolResult("actionlint", "failed" if findings else "passed", findings, f"{len(t.workflows)} workflows")


def zizmor(t: Target, tool: list[str]) -> ToolResult:
    if not t.workflows:
        return ToolResult("zizmor", "skipped", note="no generated workflows")
    code, out = _run([*tool, "--offline", "--format", "plain", *map(str, t.workflows)])
    findings = [ln for ln in out.splitlines() if ln.startswith(("error[", "warning[", "help[", "info["))]
    if code not in (0,) and not findings:
        findings = out.splitlines()[-5:]
    return ToolResult("zizmor", "failed" if findings else "passed", findings, "offline audits")


def checkov(t: Target, tool: list[str]) -> ToolResult:
    args = [*tool, "--skip-download", "--quiet", "--compact", "-o", "json",
            "--framework", "kubernetes", "dockerfile", "github_actions"]
    targets = []
    for folder in ("k8s", "docker"):
        if (t.out / folder).is_dir():
            targets += ["-d", str(t.out / folder)]
    for wf in t.workflows:
        targets += ["-f", str(wf)]
    if not targets:
        return ToolResult("checkov", "skipped", note="nothing to scan")
    code, out = _run([*args, *targets], {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"})
    reports = _json_values(out)
    if not reports:
        return ToolResult("checkov", "failed" if code else "passed", out.splitlines()[-5:] if code else [])
    findings: set[str] = set()
    counts: dict[str, tuple[int, int]] = {}
    for report in reports:
        if not isinstance(report, dict):
            continue
        summary = report.get("summary", {})
        counts[str(report.get("check_type"))] = (summary.get("passed", 0), summary.get("skipped", 0))
        for item in report.get("results", {}).get("failed_checks", []):
            findings.add(f"{shown(item.get('file_abs_path') or item.get('file_path', ''))}: {item.get('check_id')} "
                         f"{item.get('check_name')} ({item.get('resource')})")
    passed, skipped = sum(p for p, _ in counts.values()), sum(s for _, s in counts.values())
    note = f"{passed} checks passed" + (f", {skipped} suppressed in the files" if skipped else "")
    return ToolResult("checkov", "failed" if findings else "passed", sorted(findings), note)


def _json_values(text: str) -> list[object]:
    """checkov prints one JSON document per scan target; read them all."""
    decoder = json.JSONDecoder()
    values: list[object] = []
    index = 0
    while True:
        starts = [i for i in (text.find("[", index), text.find("{", index)) if i >= 0]
        if not starts:
            return values
        try:
            value, index = decoder.raw_decode(text, min(starts))
        except ValueError:
            index = min(starts) + 1
            continue
        values.extend(value if isinstance(value, list) else [value])


def k8s_policy(t: Target, tool: list[str]) -> ToolResult:
    """Our own hardening rules, which also read the custom resources the linters skip."""
    from compiler.output.k8s_policy import check_files

    files = [f for f in t.files("k8s", ".yaml", ".yml") if f.name != "kustomization.yaml"]
    if not files:
        return ToolResult("specops k8s policy", "skipped", note="no manifests in the output")
    findings = check_files([(shown(str(f)), f.read_text(encoding="utf-8")) for f in files])
    lines = [f"{x.file}: {x.kind}/{x.name}: {x.rule} {x.message}" for x in findings]
    return ToolResult("specops k8s policy", "failed" if lines else "passed", lines,
                      f"{len(files)} manifests, custom resources included")


def _integration(name: str) -> Callable[[Target, list[str]], ToolResult]:
    """A validator of compiler.output.verify_integrations (it finds its own tool and says how to install it)."""

    def run(target: Target, tool: list[str]) -> ToolResult:
        return getattr(verify_integrations, name)(target, tool)

    return run


VALIDATORS: tuple[tuple[str, str | None, Callable[[Target, list[str]], ToolResult]], ...] = (
    ("specops k8s policy", None, k8s_policy),
    ("dbt parse", "dbt", dbt_parse),
    ("kubernetes-validate", "kubernetes-validate", kubernetes_validate),
    ("hadolint", "hadolint", hadolint),
    ("actionlint", "actionlint", actionlint),
    ("zizmor", "zizmor", zizmor),
    ("checkov", "checkov", checkov),
    ("crd schemas", None, _integration("crd_schemas")),
    ("promtool", "promtool", _integration("promtool_rules")),
    ("airflow dagbag", None, _integration("airflow_dagbag")),
    ("gx suites", None, _integration("gx_suites")),
)


def verify(target: Target, only: set[str] | None = None) -> list[ToolResult]:
    results = []
    for label, binary, run in VALIDATORS:
        if only and label not in only and (binary is None or binary not in only):
            continue
        if binary is None:
            results.append(run(target, []))
            continue
        tool, missing = locate_tool(binary)
        if tool is None:
            results.append(ToolResult(label, "skipped", note=missing))
            continue
        results.append(run(target, tool))
    return results


def tool_report() -> list[tuple[str, str, str]]:
    """(validator, where it was found or "missing", how to install it) for every external validator."""
    rows = []
    for label, binary, _ in VALIDATORS:
        if binary is None:
            continue
        tool, missing = locate_tool(binary)
        found = " ".join(tool) if tool else "missing" + (f" ({missing})" if missing.startswith("SPECOPS_") else "")
        rows.append((label, found, INSTALL[binary]))
    return rows + verify_integrations.report()
