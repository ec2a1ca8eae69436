"""The PrometheusRule alerts, checked by promtool: `promtool check rules` on every rule group specops emits,
and `promtool test rules` on synthetic series that cross each threshold (and series that must not count).

promtool reads plain rule files, so the groups are unwrapped from the PrometheusRule objects. The series
are built from compiler.emit.serving_metrics, the same names and matchers the serving app exports and the
dashboards plot. promtool comes from Debian's `prometheus` package (.ci/run installs it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from integrations import EXAMPLES, SERVING_EXAMPLES

from compiler.emit.compile import compile_project
from compiler.emit.serving_metrics import DRIFT_METRIC, REQUEST_METRICS, drift_series, request_series
from compiler.front.check import require_project
from compiler.spec.project import SpecProject

EVAL = "25m"  # past every alert's `for`, with the series crossing from the start
QUIET = "3m"  # before any `for` has elapsed


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (apt-get install prometheus; .ci/run does)")
    return found


def rule_files(project: SpecProject, tmp_path: Path) -> dict[str, Path]:
    """env -> a plain rule file with the groups of every PrometheusRule of that environment."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for art in compile_project(project).artifacts:
        if art.path.startswith("k8s/") and art.path.endswith(".prometheusrule.yaml"):
            doc = yaml.safe_load(art.content)
            groups.setdefault(art.path.split("/")[1], []).extend(doc["spec"]["groups"])
    out = {}
    for env, found in groups.items():
        names = [g["name"] for g in found]
        assert len(names) == len(set(names)), names  # promtool rejects a group name twice in a file
        out[env] = tmp_path / f"{env}.rules.yaml"
        out[env].write_text(yaml.safe_dump({"groups": found}, sort_keys=False), encoding="utf-8")
    return out


def _labels(matchers: list[tuple[str, str, str]]) -> dict[str, str]:
    """Concrete labels that the matchers select (a regex gets a value it matches)."""
    out = {}
    for label, op, value in matchers:
        if op == "=":
            out[label] = value
        elif value.endswith(".*"):
            out[label] = value[:-2] + "7d9f8c-x2x4q"
        else:
            out[label] = value.split("|")[0]
    return out


def _series(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def synthetic(project: SpecProject, env: str) -> tuple[list[dict[str, str]], dict[str, list[dict[str, Any]]]]:
    """Input series for the environment, and the alerts expected at EVAL (by alert name)."""
    e = project.environments[env]
    namespace = e.namespace or ""
    series: list[dict[str, str]] = []
    firing: dict[str, list[dict[str, Any]]] = {}
    severity = "warning" if e.is_dev else "critical"
    for d in sorted(project.deployments.values(), key=lambda x: x.name):
        if d.environment != env:
            continue
        m = REQUEST_METRICS[d.runtime]
        base = _labels(request_series(d, namespace))
        ok, bad = {**base, m.status_label: "200"}, {**base, m.status_label: "503"}
        # 90 good and 10 failing requests a minute: a 10% error rate; elsewhere a 5xx storm that must not count
        series += [{"series": _series(m.counter, ok), "values": "0+90x40"},
                   {"series": _series(m.counter, bad), "values": "0+10x40"},
                   {"series": _series(m.counter, {**bad, "namespace": "someone-else"}), "values": "0+900x40"}]
        # every request takes between 0.5 and 1 s: p95 = 0.5 + 0.5 * 0.95 = 0.975 s
        for le in ("0.1", "0.25", "0.5", "1", "2.5", "+Inf"):
            values = "0x40" if float(le) <= 0.5 else "0+100x40"
            series.append({"series": _series(f"{m.histogram}_bucket", {**base, "le": le}), "values": values})
        labels = {"severity": severity, "specops_deployment": d.name, "specops_environment": env}
        if d.error_rate is not None and d.error_rate < 0.1:
            firing.setdefault("SpecopsServingErrorRateHigh", []).append({
                "exp_labels": labels, "exp_annotations": {
                    "summary": f"error rate of {d.address} is above {d.error_rate:g}",
                    "description": "10% of requests fail with a 5xx."}})
        if d.p95_latency_ms is not None and d.p95_latency_ms < 975:
            firing.setdefault("SpecopsServingLatencyHigh", []).append({
                "exp_labels": labels, "exp_annotations": {
                    "summary": f"p95 latency of {d.address} is above {d.p95_latency_ms:g} ms",
                    "description": "p95 request latency is 975ms."}})
    deployed = sorted({d.model for d in project.deployments.values() if d.environment == env})
    for name in deployed:
        model = project.models[name]
        if model.drift is None or not model.drift.schedule:
            continue
        labels = {"severity": severity, "specops_model": name, "specops_environment": env}
        # below the threshold for 10 minutes, then above it
        series.append({"series": _series(DRIFT_METRIC, _labels(drift_series(name, env))),
                       "values": f"{model.drift.threshold / 4:g}x10 {model.drift.threshold * 1.5:g}x30"})
        firing.setdefault("SpecopsModelDrift", []).append({"exp_labels": labels, "exp_annotations": {
            "summary": f"{model.drift.method} drift of {model.address} is above {model.drift.threshold:g}",
            "description": f"The last drift check scored {model.drift.threshold * 1.5:g}."}})
        job = f"{model.k8s_name}-drift"
        series += [{"series": _series("kube_job_status_failed", {"namespace": namespace, "job_name": f"{job}-29012345"}),
                    "values": "0x5 1x35"},
                   {"series": _series("kube_job_status_failed", {"namespace": namespace, "job_name": "other-29012345"}),
                    "values": "1x40"}]
        firing.setdefault("SpecopsDriftCheckFailed", []).append({"exp_labels": labels, "exp_annotations": {
            "summary": f"the drift check of {model.address} failed (drift found, or the job broke)",
            "description": f"Read the logs of the failed Job of CronJob {job}."}})
    return series, firing


@pytest.mark.parametrize("example", SERVING_EXAMPLES)
def test_promtool_checks_every_rule_group(example: str, tmp_path: Path) -> None:
    tool = promtool()
    files = rule_files(require_project(EXAMPLES / example), tmp_path)
    assert files
    for env, path in files.items():
        proc = subprocess.run([tool, "check", "rules", str(path)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and "SUCCESS" in proc.stdout, (env, proc.stdout + proc.stderr)


def test_promtool_check_is_really_checking(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rules.yaml"
    bad.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [{"alert": "A", "expr": "sum(rate(x[5m])"}]}]}))
    proc = subprocess.run([promtool(), "check", "rules", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0


@pytest.mark.parametrize("example", SERVING_EXAMPLES)
def test_alerts_fire_when_the_series_cross_their_thresholds(example: str, tmp_path: Path) -> None:
    tool = promtool()
    project = require_project(EXAMPLES / example)
    files = rule_files(project, tmp_path)
    checked = set()
    for env, path in files.items():
        series, firing = synthetic(project, env)
        assert "SpecopsModelDrift" in firing or env != "prod" or example != "churn"  # churn's drift alert
        tests = [{"interval": "1m", "input_series": series, "alert_rule_test": [
            *({"eval_time": EVAL, "alertname": name, "exp_alerts": alerts} for name, alerts in sorted(firing.items())),
            *({"eval_time": QUIET, "alertname": name, "exp_alerts": []} for name in sorted(firing)),
        ]}]
        spec = tmp_path / f"{env}.test.yaml"
        spec.write_text(yaml.safe_dump({"rule_files": [path.name], "evaluation_interval": "1m", "tests": tests},
                                       sort_keys=False), encoding="utf-8")
        proc = subprocess.run([tool, "test", "rules", str(spec)], capture_output=True, text=True, timeout=120,
                              cwd=tmp_path)
        assert proc.returncode == 0 and "SUCCESS" in proc.stdout, (env, proc.stdout[-4000:] + proc.stderr[-2000:])
        checked |= set(firing)
    assert {"SpecopsServingErrorRateHigh", "SpecopsServingLatencyHigh"} <= checked
    if example == "churn":
        assert {"SpecopsModelDrift", "SpecopsDriftCheckFailed"} <= checked


def test_a_wrong_expectation_makes_promtool_fail(tmp_path: Path) -> None:
    tool = promtool()
    project = require_project(EXAMPLES / "churn")
    path = rule_files(project, tmp_path)["prod"]  # dev is laptop-only: no cluster, no rules
    series, firing = synthetic(project, "prod")
    drift = firing["SpecopsModelDrift"]
    spec = tmp_path / "wrong.test.yaml"
    spec.write_text(yaml.safe_dump({"rule_files": [path.name], "evaluation_interval": "1m", "tests": [
        {"interval": "1m", "input_series": series,
         "alert_rule_test": [{"eval_time": "5m", "alertname": "SpecopsModelDrift", "exp_alerts": drift}]}]}))
    proc = subprocess.run([tool, "test", "rules", str(spec)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode != 0  # at 5m the drift score is still below the threshold
