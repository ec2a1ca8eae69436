"""OpenLineage: the static lineage compile writes, and the run events apply sends (file and HTTP).

Every event and every facet in it is validated against the OpenLineage JSON Schemas in
thirdparty/openlineage (tests/openlineage_schemas.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import RepoEditor
from integrations import EXAMPLE_NAMES, EXAMPLES, REPO_ROOT, thirdparty
from openlineage_schemas import problems

from compiler.apply.context import RunContext
from compiler.apply.lineage import Sink, dbt_results, finish_data, lineage_file, start_data
from compiler.emit.lineage import emit
from compiler.emit.lineage.columns import ColumnLineage, ColumnSource, facet, from_sql_analysis
from compiler.front.check import require_project

SPECOPS = REPO_ROOT / ".venv" / "bin" / "specops"


@pytest.fixture(scope="module")
def schemas() -> Path:
    return thirdparty("openlineage")


# --------------------------------------------------------------------------- compile: static JobEvents


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_static_lineage_validates(example: str, schemas: Path) -> None:
    project = require_project(EXAMPLES / example)
    files = {a.path: [json.loads(line) for line in a.content.splitlines()] for a in emit(project)}
    assert set(files) == {f"lineage/{env}.jsonl" for env in project.environments}
    for path, events in files.items():
        names = [e["job"]["name"] for e in events]
        assert names == sorted(names)
        assert set(names) >= {t.address for t in project.transforms.values()} | {m.address for m in
                                                                                 project.models.values()}
        for event in events:
            assert "eventTime" not in event  # compile reads no clock
            found = problems(schemas, {**event, "eventTime": "2026-01-01T00:00:00Z"}, "JobEvent")
            assert found == [], (path, event["job"]["name"], found)


def test_jobs_carry_ownership_schema_and_sql(schemas: Path) -> None:
    project = require_project(EXAMPLES / "fraud")
    content = next(a for a in emit(project) if a.path == "lineage/prod.jsonl").content
    events = {e["job"]["name"]: e for e in map(json.loads, content.splitlines())}
    t = events["transform.build_transaction_features"]
    assert t["job"]["facets"]["ownership"]["owners"] == [{"name": "@acme/risk", "type": "MAINTAINER"}]
    assert "from {{ input('transactions') }}" in t["job"]["facets"]["sql"]["query"]
    out = t["outputs"][0]
    assert (out["namespace"], out["name"]) == ("postgres://payments-warehouse.internal:5432",
                                               "payments.risk.transaction_features")
    assert [f["name"] for f in out["facets"]["schema"]["fields"]][:3] == ["transaction_id", "transacted_at", "amount"]
    # the transform's column lineage comes from the analysis of its SQL
    fields = out["facets"]["columnLineage"]["fields"]
    assert set(fields) == {c.name for c in project.datasets["transaction_features"].columns}

    def names(col: str) -> list[tuple[str, str]]:
        return [(f["name"], f["field"]) for f in fields[col]["inputFields"]]

    assert names("amount") == [("payments.risk.transactions", "amount")]
    assert sorted(names("is_foreign")) == [("payments.risk.cards", "country"), ("payments.risk.merchants", "country")]
    rows = {(f["name"], f["field"], f["transformations"][0]["subtype"])
            for f in out["facets"]["columnLineage"]["dataset"]}
    assert ("payments.risk.cards", "card_id", "JOIN") in rows
    load = events["dataset.transactions.load"]
    lineage = load["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert lineage["amount"]["inputFields"] == [{"namespace": "file", "name": "data/transactions.csv",
                                                 "field": "amount",
                                                 "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]
    model = events["model.fraud"]
    assert model["outputs"][0]["namespace"] == "https://mlflow.risk.internal"


def test_column_lineage_facet_from_a_lineage_mapping(schemas: Path) -> None:
    class Col:
        def __init__(self, name: str, sources: tuple, passthrough: tuple | None = None) -> None:
            self.name, self.sources, self.passthrough = name, sources, passthrough

    lineage = from_sql_analysis([Col("id", (("orders", "id"),), ("orders", "id")),
                                 Col("total", (("orders", "amount"), ("fx", "rate"), ("?tmp", "x")))],
                                [("orders", "status", "filter"), ("fx", "day", "join")])
    assert lineage.fields["id"] == (ColumnSource("orders", "id", "DIRECT", "IDENTITY"),)
    assert len(lineage.fields["total"]) == 2  # the unknown table is left out
    made = facet(lineage, lambda name: ("duckdb://x.duckdb", f"x.main.{name}"))
    event = {"eventType": "COMPLETE", "eventTime": "2026-01-01T00:00:00Z", "producer": "https://x.y/z",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
             "run": {"runId": "3f0e0a52-5f4b-4d43-9a59-2b9d1b8a0c11"}, "job": {"namespace": "n", "name": "j"},
             "outputs": [{"namespace": "duckdb://x.duckdb", "name": "x.main.out", "facets": {"columnLineage": made}}]}
    assert problems(schemas, event) == []
    broken = json.loads(json.dumps(event))
    del broken["outputs"][0]["facets"]["columnLineage"]["fields"]["id"]["inputFields"]
    broken["run"]["runId"] = "run-1"
    assert len(problems(schemas, broken)) == 2  # the validation can fail: a facet's own schema, the run id
    assert made["dataset"][0]["transformations"] == [{"type": "INDIRECT", "subtype": "FILTER"}]
    assert ColumnLineage({}).rows == ()


def _transformations(facet_: dict[str, Any], column: str | None = None) -> set[tuple[str, str, str, bool]]:
    """(input column, type, subtype, masking) of an output column's inputFields (of the dataset part: None)."""
    items = facet_["dataset"] if column is None else facet_["fields"][column]["inputFields"]
    return {(f"{i['name'].rsplit('.', 1)[-1]}.{i['field']}", t["type"], t["subtype"], t.get("masking", False))
            for i in items for t in i["transformations"]}


def test_column_lineage_subtypes_follow_the_sql(schemas: Path) -> None:
    """Aggregates are DIRECT/AGGREGATION; CASE conditions and window specs INDIRECT per column (CONDITIONAL, WINDOW);
    joins, filters (where, having), grouping and ORDER BY INDIRECT for the whole dataset; a hash masks; through CTEs."""
    from compiler.front.sql.analyze import analyze_sql

    sql = """
        with per as (
            select o.customer_id, avg(o.cost) as avg_cost, count(o.id) as orders
            from {{ input('orders') }} o
            where o.status = 'placed'
            group by o.customer_id
            having max(o.day) > date '2024-01-01'
        )
        select p.customer_id, p.avg_cost, p.orders * 2 as doubled, sum(c.credit) over () as all_credit,
               case when c.segment = 'vip' then p.avg_cost else 0 end as vip_cost,
               row_number() over (partition by c.segment order by p.avg_cost) as rank_in_segment,
               sha256(c.email) as email_hash, upper(c.segment) as segment
        from per p join {{ input('customers') }} c on c.customer_id = p.customer_id
        order by c.signup
    """
    analysis = analyze_sql(sql, "duckdb", [("orders", ("id", "customer_id", "cost", "status", "day")),
                                           ("customers", ("customer_id", "segment", "email", "credit", "signup"))])
    assert analysis.ok, analysis.error
    made = facet(from_sql_analysis(analysis.columns, analysis.row_reads, analysis.sort_reads,
                                   frozenset({"vip_cost"})), lambda name: ("duckdb://x.duckdb", f"x.main.{name}"))
    direct, indirect = "DIRECT", "INDIRECT"
    assert _transformations(made, "customer_id") == {("orders.customer_id", direct, "IDENTITY", False)}
    assert _transformations(made, "avg_cost") == {("orders.cost", direct, "AGGREGATION", False)}
    assert _transformations(made, "doubled") == {("orders.id", direct, "AGGREGATION", False)}  # through the CTE
    assert _transformations(made, "all_credit") == {("customers.credit", direct, "AGGREGATION", False)}
    assert _transformations(made, "vip_cost") == {("customers.segment", indirect, "CONDITIONAL", False),
                                                  ("orders.cost", direct, "AGGREGATION", True)}  # declared masked
    assert _transformations(made, "rank_in_segment") == {("customers.segment", indirect, "WINDOW", False),
                                                         ("orders.cost", indirect, "WINDOW", False)}
    assert _transformations(made, "email_hash") == {("customers.email", direct, "TRANSFORMATION", True)}
    assert _transformations(made, "segment") == {("customers.segment", direct, "TRANSFORMATION", False)}
    assert _transformations(made) == {
        ("customers.customer_id", indirect, "JOIN", False), ("orders.customer_id", indirect, "JOIN", False),
        ("orders.customer_id", indirect, "GROUP_BY", False), ("orders.status", indirect, "FILTER", False),
        ("orders.day", indirect, "FILTER", False), ("customers.signup", indirect, "SORT", False)}
    event = {"eventType": "COMPLETE", "eventTime": "2026-01-01T00:00:00Z", "producer": "https://x.y/z",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
             "run": {"runId": "3f0e0a52-5f4b-4d43-9a59-2b9d1b8a0c11"}, "job": {"namespace": "n", "name": "j"},
             "outputs": [{"namespace": "duckdb://x.duckdb", "name": "x.main.out", "facets": {"columnLineage": made}}]}
    assert problems(schemas, event) == []


def test_transform_jobs_carry_aggregation_conditional_and_masking(edit: RepoEditor, schemas: Path) -> None:
    """In the compiled lineage of a project: a column declared `masked: true` has masking transformations."""
    edit.replace("specs/datasets/customer_features.yaml",
                 "    - name: avg_satisfaction\n      type: double\n",
                 "    - name: avg_satisfaction\n      type: double\n      masked: true\n")
    project = require_project(edit.root)
    content = next(a for a in emit(project) if a.path == "lineage/dev.jsonl").content
    events = {e["job"]["name"]: e for e in map(json.loads, content.splitlines())}
    for event in events.values():
        assert problems(schemas, {**event, "eventTime": "2026-01-01T00:00:00Z"}, "JobEvent") == []
    activity = events["transform.build_customer_activity"]["outputs"][0]["facets"]["columnLineage"]
    assert _transformations(activity, "avg_monthly_price") == {
        ("subscriptions.monthly_price", "DIRECT", "AGGREGATION", False)}
    assert _transformations(activity, "active_subscriptions") == {
        ("subscriptions.status", "INDIRECT", "CONDITIONAL", False)}  # sum(case when status = 'active' ...)
    features = events["transform.build_customer_features"]["outputs"][0]["facets"]["columnLineage"]
    assert _transformations(features, "avg_satisfaction") == {
        ("customer_activity.avg_satisfaction", "DIRECT", "TRANSFORMATION", True)}
    assert _transformations(features, "monthly_spend") == {
        ("customer_activity.avg_monthly_price", "DIRECT", "IDENTITY", False)}


# --------------------------------------------------------------------------- apply: RunEvents, file and HTTP


class Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str | None, dict[str, Any]]]] = []  # each server gets a list of its own

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers.get("Authorization"), json.loads(body)))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def lineage_server() -> Iterator[tuple[str, list]]:
    received: list = []
    handler = type("Handler", (Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_apply_sends_valid_run_events_to_the_file_and_the_http_endpoint(
        tmp_path: Path, schemas: Path, lineage_server: tuple[str, list]) -> None:
    url, received = lineage_server
    root = tmp_path / "fraud"
    shutil.copytree(EXAMPLES / "fraud", root, ignore=shutil.ignore_patterns("build", ".specops"))
    edit = RepoEditor(root)
    edit.replace("specs/environments.yaml", "    namespace: risk-dev\n",
                 f"    namespace: risk-dev\n  lineage:\n    url: {url}/\n    api_key_env: TEST_LINEAGE_KEY\n")
    env = {"TEST_LINEAGE_KEY": "s3cret", "PATH": f"{SPECOPS.parent}:/usr/bin:/bin"}
    proc = subprocess.run([str(SPECOPS), "apply", "--env", "dev", "--yes"], cwd=root, capture_output=True, text=True,
                          timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    events = [json.loads(line) for line in lineage_file(root, "dev").read_text(encoding="utf-8").splitlines()]
    assert [e for _, _, e in received] == events  # the endpoint got every event, in order
    assert {(path, auth) for path, auth, _ in received} == {("/api/v1/lineage", "Bearer s3cret")}
    for event in events:
        assert problems(schemas, event) == [], (event["eventType"], event["job"]["name"])
    runs: dict[str, list[str]] = {}
    for e in events:
        runs.setdefault(e["run"]["runId"], []).append(f"{e['eventType']} {e['job']['name']}")
    project = require_project(root)
    expected = {*(f"dataset.{n}.load" for n in ("cards", "merchants", "transactions")),
                *(t.address for t in project.transforms.values()), *(r.address for r in project.rules.values()),
                "model.fraud"}
    assert sorted(runs.values()) == sorted([f"START {j}", f"COMPLETE {j}"] for j in expected)
    training = [e for e in events if e["job"]["name"] == "model.fraud"][-1]
    assert training["outputs"][0]["facets"]["version"]["datasetVersion"] == "1"
    tested = {a["name"]: a for a in training["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]}
    checks = {c.name: c for c in project.rules["transaction_features_checks"].checks}
    assert set(checks) <= set(tested) and all(tested[name]["success"] for name in checks)
    assert {tested[name]["assertion"] for name in checks} == {"row_count", "accepted_values", "range", "relationship"}
    assert tested["transaction_features__card_age_days__required"] == {
        "assertion": "not_null", "success": True, "severity": "error", "column": "card_age_days",
        "name": "transaction_features__card_age_days__required", "actual": "0 failing rows"}

    # a training whose gate cannot pass: START, then FAIL with the error and the version it evaluated (only a
    # gate changed, so the version trained from the same inputs is re-evaluated, not trained again)
    edit.replace("specs/models/fraud.yaml", "{name: roc_auc, min: 0.75}", "{name: roc_auc, min: 0.999}")
    proc = subprocess.run([str(SPECOPS), "train", "fraud", "--env", "dev"], cwd=root, capture_output=True, text=True,
                          timeout=900, env=env)
    assert proc.returncode != 0
    start, fail = [json.loads(line) for line in lineage_file(root, "dev").read_text().splitlines()][-2:]
    assert (start["eventType"], fail["eventType"]) == ("START", "FAIL") and start["run"] == {
        **start["run"], "runId": fail["run"]["runId"]}
    assert "roc_auc" in fail["run"]["facets"]["errorMessage"]["message"]
    assert fail["outputs"][0]["facets"]["version"]["datasetVersion"] == "1"
    assert problems(schemas, fail) == []
    assert received[-1][2] == fail


def _write_dbt_results(root: Path, results: list[dict[str, Any]], nodes: dict[str, Any]) -> None:
    target = root / ".specops" / "dbt" / "dev" / "target"
    target.mkdir(parents=True, exist_ok=True)
    (target / "run_results.json").write_text(json.dumps({"results": results}))
    (target / "manifest.json").write_text(json.dumps({"nodes": nodes}))


def test_a_failed_dbt_build_fails_the_jobs_it_concerns(tmp_path: Path, schemas: Path) -> None:
    root = tmp_path / "churn"
    shutil.copytree(EXAMPLES / "churn", root, ignore=shutil.ignore_patterns("build", ".specops"))
    project = require_project(root)
    _write_dbt_results(root, [
        {"unique_id": "seed.churn_analytics.customers", "status": "success"},
        {"unique_id": "model.churn_analytics.customer_activity", "status": "error"},
        {"unique_id": "test.churn_analytics.dup", "status": "fail", "failures": 3},
    ], {
        "seed.churn_analytics.customers": {"resource_type": "seed", "name": "customers"},
        "model.churn_analytics.customer_activity": {"resource_type": "model", "name": "customer_activity"},
        "test.churn_analytics.dup": {"resource_type": "test", "name": "dup", "column_name": "email",
                                     "attached_node": "seed.churn_analytics.customers",
                                     "config": {"severity": "ERROR", "meta": {"specops": {
                                         "address": "quality_rule.customers_checks", "check": "dup",
                                         "type": "unique"}}}},
    })
    ctx = RunContext(project, project.environments["dev"], root / "build", lambda _: None)
    sink = Sink(ctx)
    runs = start_data(sink, ctx, ["transform.build_customer_activity", "quality_rule.customers_checks",
                                  "dataset.customers"], everything=False)
    assert len(dbt_results(ctx)) == 3
    finish_data(sink, ctx, runs, "dbt reported failures")
    final = {e["job"]["name"]: e for e in sink.written if e["eventType"] != "START"}
    assert final["dataset.customers.load"]["eventType"] == "COMPLETE"
    assert final["transform.build_customer_activity"]["eventType"] == "FAIL"
    assert "customer_activity: error" in final["transform.build_customer_activity"]["run"]["facets"]["errorMessage"][
        "message"]
    rule = final["quality_rule.customers_checks"]
    assert rule["eventType"] == "FAIL"
    (assertion,) = rule["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert assertion == {"assertion": "unique", "success": False, "severity": "error", "name": "dup", "column": "email",
                         "actual": "3 failing rows"}
    for event in sink.written:
        assert problems(schemas, event) == [], event["job"]["name"]


def test_a_check_within_its_threshold_is_a_success(edit: RepoEditor, schemas: Path) -> None:
    """threshold: {max_failures: 5} tolerates 5 failing rows: with 3, the error check holds (dbt says WARN: its
    warn_if is met, its error_if, the threshold, is not); a warn check past its threshold does not hold."""
    edit.replace("specs/quality/sources.yaml", "{type: range, column: satisfaction_score, min: 1, max: 5}",
                 "{type: range, column: satisfaction_score, min: 1, max: 5, threshold: {max_failures: 5}}")
    root = edit.root
    project = require_project(root)
    tickets, customers = project.rules["support_tickets_checks"], project.rules["customers_checks"]
    in_range = next(c for c in tickets.checks if c.type == "range")
    named = next(c for c in customers.checks if c.type == "not_null")  # severity warn, at most 10 failures

    def test_node(name: str, dataset: str, rule: Any, check: Any, severity: str) -> dict[str, Any]:
        return {"resource_type": "test", "name": name, "column_name": check.column,
                "attached_node": f"seed.churn_analytics.{dataset}",
                "config": {"severity": severity, "meta": {"specops": {
                    "address": rule.address, "check": check.name, "type": check.type}}}}

    _write_dbt_results(root, [
        {"unique_id": "test.churn_analytics.in_range", "status": "warn", "failures": 3},
        {"unique_id": "test.churn_analytics.named", "status": "warn", "failures": 12},
    ], {
        "test.churn_analytics.in_range": test_node("in_range", "support_tickets", tickets, in_range, "ERROR"),
        "test.churn_analytics.named": test_node("named", "customers", customers, named, "warn"),
    })
    ctx = RunContext(project, project.environments["dev"], root / "build", lambda _: None)
    sink = Sink(ctx)
    runs = start_data(sink, ctx, [tickets.address, customers.address], everything=False)
    finish_data(sink, ctx, runs, None)
    final = {e["job"]["name"]: e for e in sink.written if e["eventType"] != "START"}
    (held,) = final[tickets.address]["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert held == {"assertion": "range", "success": True, "severity": "error", "name": in_range.name,
                    "column": "satisfaction_score", "expected": "at most 5 failing rows", "actual": "3 failing rows"}
    (broken,) = final[customers.address]["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert broken == {"assertion": "not_null", "success": False, "severity": "warn", "name": named.name,
                      "column": "full_name", "expected": "at most 10 failing rows", "actual": "12 failing rows"}
    for event in sink.written:
        assert problems(schemas, event) == [], event["job"]["name"]
    # within its threshold, the warn check passes in dbt, which then reports 0 failures whatever it found: no actual
    _write_dbt_results(root, [{"unique_id": "test.churn_analytics.named", "status": "pass", "failures": 0}],
                       {"test.churn_analytics.named": test_node("named", "customers", customers, named, "warn")})
    sink = Sink(ctx)
    runs = start_data(sink, ctx, [customers.address], everything=False)
    finish_data(sink, ctx, runs, None)
    final = {e["job"]["name"]: e for e in sink.written if e["eventType"] != "START"}
    (within,) = final[customers.address]["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert within == {"assertion": "not_null", "success": True, "severity": "warn", "name": named.name,
                      "column": "full_name", "expected": "at most 10 failing rows"}


def test_an_unreachable_endpoint_warns_once_and_keeps_the_file(tmp_path: Path, edit: RepoEditor) -> None:
    edit.replace("specs/environments.yaml", "    namespace: ml-dev\n",
                 "    namespace: ml-dev\n  lineage:\n    url: http://127.0.0.1:9\n")
    project = require_project(edit.root)
    said: list[str] = []
    ctx = RunContext(project, project.environments["dev"], edit.root / "build", said.append)
    sink = Sink(ctx)
    runs = start_data(sink, ctx, [], everything=True)
    assert len(said) == 1 and "could not be sent" in said[0]
    assert len(lineage_file(edit.root, "dev").read_text().splitlines()) == len(runs) and sink.sent == 0
