"""`specops drift` pushes specops_drift_score to a Pushgateway: the request against a real local HTTP server, the
series matching what the emitted alert and dashboard query, how the drift CronJob is configured; and --as-of
refused without a window. (The command itself, trained model and all, pushes in test_apply_e2e.)"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from pushgateway_support import Gateway

from compiler.apply import pushgateway
from compiler.spec.project import SpecProject

URL = "http://prometheus-pushgateway.monitoring.svc:9091"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with Gateway() as g:
        yield g


def exposed(path: str, body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The series a Pushgateway exposes for a PUT: the body's samples, with the grouping key's labels (job too)."""
    parts = path.split("/")
    assert parts[:3] == ["", "metrics", "job"], path
    labels = {"job": parts[3]}
    for name, value in zip(parts[4::2], parts[5::2], strict=True):
        if name.endswith("@base64"):
            name, value = name[:-7], base64.urlsafe_b64decode(value).decode("utf-8")
        labels[name] = value
    series = {}
    for line in body.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.split()
        assert "{" not in name, "labels of the grouping key may not be in the body: the Pushgateway refuses them"
        series[(name, tuple(sorted(labels.items())))] = float(value)
    return series


def selectors(expr: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(metric, [(label, op, value)]) of every `metric{...}` selector of a PromQL expression."""
    out = []
    for metric, inside in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", expr):
        out.append((metric, [(label, op, json.loads(f'"{value}"')) for label, op, value in
                             re.findall(r'(\w+)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"', inside)]))
    return out


def matches(selector: tuple[str, list[tuple[str, str, str]]], series: dict) -> bool:
    metric, wanted = selector
    for name, labels in series:
        have = dict(labels)
        if name == metric and all(op == "=" and have.get(label) == value for label, op, value in wanted):
            return True
    return False


# --- the request -------------------------------------------------------------------------------------------


def test_the_push_is_a_put_of_the_exposition_text(gateway: Gateway):
    push = pushgateway.drift_push("churn", "prod", 10.158554)
    assert pushgateway.send(gateway.url + "/", push) is None  # a trailing slash on the base URL is fine
    assert gateway.requests == [{
        "method": "PUT",
        "path": "/metrics/job/specops_drift/model/churn/environment/prod",
        "content_type": "text/plain; version=0.0.4; charset=utf-8",
        "body": "# HELP specops_drift_score The worst feature's drift score of the last `specops drift` of the model "
                "(psi or ks).\n"
                "# TYPE specops_drift_score gauge\n"
                "specops_drift_score 10.158554\n",
    }]


def test_a_base_url_with_a_path_prefix_keeps_it(gateway: Gateway):
    assert pushgateway.send(gateway.url + "/push", pushgateway.drift_push("churn", "dev", 0.0)) is None
    assert gateway.requests[0]["path"] == "/push/metrics/job/specops_drift/model/churn/environment/dev"
    assert gateway.requests[0]["body"].endswith("\nspecops_drift_score 0.0\n")


def test_a_label_value_that_is_not_path_safe_is_sent_in_base64():
    push = pushgateway.drift_push("churn", "eu/west", 0.5)
    assert push.path == "/metrics/job/specops_drift/model/churn/environment@base64/ZXUvd2VzdA=="
    assert exposed(push.path, push.body) == {
        ("specops_drift_score", (("environment", "eu/west"), ("job", "specops_drift"), ("model", "churn"))): 0.5}


def test_a_refused_push_says_why_and_never_raises(gateway: Gateway):
    gateway.status, gateway.reply = 400, b"pushed metrics are invalid or inconsistent with existing metrics"
    problem = pushgateway.send(gateway.url, pushgateway.drift_push("churn", "prod", 1.0))
    assert problem == "HTTP 400 Bad Request: pushed metrics are invalid or inconsistent with existing metrics"


def test_an_unreachable_gateway_is_a_problem_not_an_exception():
    with Gateway() as g:  # a port that was just listening, closed now
        url = g.url
    problem = pushgateway.send(url, pushgateway.drift_push("churn", "prod", 1.0))
    assert problem and "refused" in problem.lower()


@pytest.mark.parametrize(("url", "ok"), [
    ("http://prometheus-pushgateway.monitoring.svc:9091", True),
    ("https://push.acme.example/prefix", True),
    ("file:///etc/passwd", False),
    ("pushgateway:9091", False),
    ("http://host:notaport", False),
    ("http://user:secret@push.acme.example", False),  # would be printed in warnings and kept in manifests
    ("http://push.acme.example/q?x=1", False),  # the grouping path would land in the query
])
def test_only_http_urls_are_accepted(url: str, ok: bool):
    assert (pushgateway.problem(url) is None) is ok


# --- what the alert and the dashboard query is what is pushed ---------------------------------------------------


def test_the_drift_alert_and_dashboard_select_the_pushed_series(churn: SpecProject):
    from compiler.emit import grafana, kubernetes

    push = pushgateway.drift_push("churn", "prod", 0.3)
    series = exposed(push.path, push.body)
    docs = [yaml.safe_load(a.content) for a in kubernetes.emit(churn) if a.path.startswith("k8s/prod/")]
    rules = [r for d in docs if d["kind"] == "PrometheusRule" for g in d["spec"]["groups"] for r in g["rules"]]
    drift = [r for r in rules if r["alert"] == "SpecopsModelDrift"]
    assert len(drift) == 1
    alert = selectors(drift[0]["expr"])
    assert alert == [("specops_drift_score", [("model", "=", "churn"), ("environment", "=", "prod")])]
    assert matches(alert[0], series)
    assert not matches(alert[0], exposed(*dataclasses.astuple(pushgateway.drift_push("churn", "dev", 0.3))))

    dashboards = [json.loads(a.content) for a in grafana.emit(churn) if a.path.startswith("grafana/prod/")]
    exprs = [t["expr"] for d in dashboards for p in d["panels"] for t in p.get("targets", [])
             if "specops_drift_score" in t.get("expr", "")]
    assert exprs, "the dashboard has a drift panel"
    for expr in exprs:
        assert all(matches(s, series) for s in selectors(expr) if s[0] == "specops_drift_score"), expr


# --- the drift CronJob ---------------------------------------------------------------------------------------


def _prod_objects(project: SpecProject) -> dict[tuple[str, str], dict[str, Any]]:
    from compiler.emit import kubernetes

    docs = [yaml.safe_load(a.content) for a in kubernetes.emit(project) if a.path.startswith("k8s/prod/")]
    return {(d["kind"], d.get("metadata", {}).get("name", "")): d for d in docs}


def _with_pushgateway(project: SpecProject, url: str | None) -> SpecProject:
    env = dataclasses.replace(project.environments["prod"], pushgateway=url)
    return dataclasses.replace(project, environments={**project.environments, "prod": env})


def _drift_env(objects: dict) -> dict[str, str]:
    pod = objects[("CronJob", "churn-drift")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}


def _pushgateway_rule(objects: dict) -> dict[str, Any]:
    """The jobs' egress rule to the Pushgateway (the last one: after DNS, HTTPS and the service ports)."""
    return objects[("NetworkPolicy", "churn-analytics-jobs")]["spec"]["egress"][-1]


def test_the_drift_job_gets_the_environment_s_pushgateway(churn: SpecProject):
    objects = _prod_objects(_with_pushgateway(churn, "http://pushgateway.observability.svc.cluster.local:9191"))
    assert _drift_env(objects)["SPECOPS_PUSHGATEWAY"] == "http://pushgateway.observability.svc.cluster.local:9191"
    assert "SPECOPS_PUSHGATEWAY" not in _drift_env(_prod_objects(churn))
    assert _pushgateway_rule(objects) == {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}}],
        "ports": [{"protocol": "TCP", "port": 9091}, {"protocol": "TCP", "port": 9191}]}  # the pod's, the URL's


@pytest.mark.parametrize(("url", "rule"), [
    (None, {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "ports": [{"protocol": "TCP", "port": 9091}]}),
    ("http://pushgateway:9091", {"to": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ml-prod"}}}], "ports": [{"protocol": "TCP", "port": 9091}]}),
    ("https://push.acme.example:8443", {"ports": [{"protocol": "TCP", "port": 8443}]}),
    ("http://prometheus-pushgateway.monitoring.svc", {"to": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}], "ports": [{"protocol": "TCP", "port": 9091}]}),
    ("http://pushgateway.observability:9191", {"to": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "observability"}}}],
        "ports": [{"protocol": "TCP", "port": 9091}, {"protocol": "TCP", "port": 9191}]}),
    ("http://pushgateway.monitoring.svc.cluster.local.:9091", {"to": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}], "ports": [{"protocol": "TCP", "port": 9091}]}),
    ("http://pushgateway.example.com:9091", {"ports": [{"protocol": "TCP", "port": 9091}]}),
    ("https://example.com", {"ports": [{"protocol": "TCP", "port": 443}]}),
    ("http://pushgateway.internal:9091", {"ports": [{"protocol": "TCP", "port": 9091}]}),
    ("http://metrics.io.:9091", {"ports": [{"protocol": "TCP", "port": 9091}]}),
    ("http://10.0.0.7:9091", {"ports": [{"protocol": "TCP", "port": 9091}]}),
], ids=["unset", "same-namespace", "outside", "service-port-80", "service.namespace", "fully-qualified-service",
        "outside-three-labels", "outside-com", "outside-internal", "outside-fully-qualified", "outside-ip"])
def test_the_jobs_may_reach_the_pushgateway(churn: SpecProject, url: str | None, rule: dict[str, Any]):
    assert _pushgateway_rule(_prod_objects(_with_pushgateway(churn, url))) == rule


@pytest.mark.parametrize(("host", "namespace"), [
    ("pushgateway", "ml-prod"),  # a bare service name: the pod's own namespace
    ("pushgateway.monitoring", "monitoring"),
    ("pushgateway.monitoring.svc", "monitoring"),
    ("pushgateway.monitoring.svc.cluster.local", "monitoring"),
    ("pushgateway.monitoring.svc.k8s.acme.example", "monitoring"),  # another cluster domain
    ("Pushgateway.Monitoring", "monitoring"),
    ("metrics.io", "io"),  # ambiguous: read as the namespace io (docs/integrations.md)
    ("example.com", None),
    ("push.acme.org", None),
    ("pushgateway.internal", None),
    ("pushgateway.local", None),
    ("pushgateway.test", None),
    ("pushgateway.monitoring.", None),  # fully qualified: not looked up in the cluster's search domains
    ("pushgateway.", None),
    ("metrics.io.", None),
    ("9push.monitoring", None),  # not a service name
    ("push_gw.monitoring", None),
    ("10.0.0.7", None),
    ("::1", None),
])
def test_which_hosts_name_a_cluster_service(host: str, namespace: str | None):
    from compiler.emit.kubernetes.network import service_namespace

    assert service_namespace(host, "ml-prod") == namespace


def test_monitoring_pushgateway_is_read_from_the_spec(edit):
    from compiler.front.check import require_project

    edit.replace("specs/environments.yaml", "  protection:\n    required_approval: true",
                 f"  monitoring:\n    pushgateway: {URL}\n  protection:\n    required_approval: true")
    project = require_project(edit.root)
    assert project.environments["prod"].pushgateway == URL
    assert project.environments["dev"].pushgateway is None


def test_a_pushgateway_that_is_not_an_http_url_is_a_spec_error(edit, validate_cli):
    edit.replace("specs/environments.yaml", "  protection:\n    required_approval: true",
                 "  monitoring:\n    pushgateway: pushgateway:9091\n  protection:\n    required_approval: true")
    result = validate_cli(edit.root)
    assert result.exit_code == 1 and "monitoring.pushgateway" in result.output.replace("spec.", ""), result.output


# --- the command's options -------------------------------------------------------------------------------


def test_as_of_without_a_window_is_a_usage_error(edit, runner):
    from compiler.cli.main import main

    result = runner.invoke(main, ["drift", "churn", str(edit.root), "--as-of", "2026-07-31"])
    assert result.exit_code == 2, result.output
    assert "--as-of ends the drift window, but model.churn has no monitoring.drift.window" in result.output
    assert "Traceback" not in result.output


def test_a_pushgateway_option_that_is_not_an_http_url_is_a_usage_error(edit, runner):
    from compiler.cli.main import main

    result = runner.invoke(main, ["drift", "churn", str(edit.root), "--pushgateway", "localhost:9091"])
    assert result.exit_code == 2 and "--pushgateway" in result.output and "http(s)" in result.output, result.output
    result = runner.invoke(main, ["drift", "churn", str(edit.root)], env={"SPECOPS_PUSHGATEWAY": "ftp://x"})
    assert result.exit_code == 2 and "'ftp://x'" in result.output, result.output
