"""The dependency graph of examples/churn, dbt-style selection over it, and how it is rendered."""

from __future__ import annotations

import json
import re

import pytest

from compiler.cli.main import main
from compiler.front.check import require_project
from compiler.spec.graph import SpecGraph
from compiler.spec.selection import SelectionError, select


@pytest.fixture(scope="module")
def project(example_root):
    return require_project(example_root)


RAW = {"dataset.customers", "dataset.subscriptions", "dataset.support_tickets"}
CHURN_UPSTREAM = RAW | {
    "transform.build_customer_activity", "dataset.customer_activity",
    "transform.build_customer_features", "dataset.customer_features",
}
RULES = {
    "quality_rule.customer_features_checks", "quality_rule.customers_checks", "quality_rule.daily_kpis_checks",
    "quality_rule.subscriptions_checks", "quality_rule.support_tickets_checks",
}
DEPLOYMENTS = {"deployment.churn_api", "deployment.churn_api_dev"}

SELECTIONS = [
    ("name", "churn", {"model.churn"}),
    ("address", "model.churn", {"model.churn"}),
    ("name-method", "name:churn", {"model.churn"}),
    ("ancestors", "+churn", CHURN_UPSTREAM | {"model.churn"}),
    ("descendants", "churn+", {"model.churn"} | DEPLOYMENTS),
    # a depth counts hops between datasets: a transform and its output dataset are one dbt model, one step
    ("one-hop-up", "1+churn", {"model.churn", "dataset.customer_features", "transform.build_customer_features"}),
    ("two-hops-up", "2+churn", CHURN_UPSTREAM - {"dataset.subscriptions", "dataset.support_tickets"} | {
        "model.churn"}),
    ("one-hop-down", "customer_activity+1", {"dataset.customer_activity", "transform.build_customer_activity",
                                             "transform.build_customer_features", "dataset.customer_features"}),
    ("dataset-one-hop-up", "1+customer_features",
     {"dataset.customer_features", "transform.build_customer_features", "dataset.customer_activity",
      "transform.build_customer_activity", "dataset.customers"}),
    ("transform-one-hop-down", "build_customer_activity+1",
     {"dataset.customer_activity", "transform.build_customer_activity", "transform.build_customer_features",
      "dataset.customer_features"}),
    ("model-one-hop-down", "churn+1", {"model.churn"} | DEPLOYMENTS),
    ("dataset-one-hop-down-to-rules-and-models", "customer_features+1",
     {"dataset.customer_features", "transform.build_customer_features", "model.churn",
      "quality_rule.customer_features_checks"}),
    # a produced dataset brings the transform that builds it, a transform its output (one dbt model)
    ("produced-dataset", "daily_kpis", {"dataset.daily_kpis", "transform.build_daily_kpis"}),
    ("transform", "build_daily_kpis", {"dataset.daily_kpis", "transform.build_daily_kpis"}),
    ("kind-transform", "kind:transform",
     CHURN_UPSTREAM - RAW | {"dataset.daily_kpis", "transform.build_daily_kpis"}),
    ("leaf-descendants", "churn_api+", {"deployment.churn_api"}),
    ("deployment-ancestors", "+deployment.churn_api",
     CHURN_UPSTREAM | {"model.churn", "deployment.churn_api", "environment.prod"}),
    ("at", "@customer_activity",
     CHURN_UPSTREAM | {"model.churn", "quality_rule.customer_features_checks", "environment.dev",
                       "environment.prod"} | DEPLOYMENTS),
    ("kind", "kind:model", {"model.churn"}),
    ("kind-camel-case", "kind:QualityRule", RULES),
    ("kind-kebab-case", "kind:quality-rule", RULES),
    ("kind-environment", "kind:environment", {"environment.dev", "environment.prod"}),
    ("tag", "tag:raw", RAW),
    ("tag-wildcard", "tag:r*", RAW | {"dataset.daily_kpis", "transform.build_daily_kpis"}),
    ("path-folder", "path:specs/deployments", DEPLOYMENTS),
    ("path-folder-slash", "path:specs/deployments/", DEPLOYMENTS),
    ("path-file", "path:specs/quality/sources.yaml",
     {"quality_rule.customers_checks", "quality_rule.subscriptions_checks", "quality_rule.support_tickets_checks"}),
    ("owner", "owner:@acme/ml",
     {"dataset.customer_features", "transform.build_customer_features", "model.churn",
      "quality_rule.customer_features_checks"} | DEPLOYMENTS),
    ("union", "churn customers", {"model.churn", "dataset.customers"}),
    ("intersection", "kind:dataset,tag:daily", {"dataset.customer_activity", "dataset.daily_kpis",
                                                "transform.build_customer_activity", "transform.build_daily_kpis"}),
    ("intersection-with-graph", "+churn,kind:dataset", CHURN_UPSTREAM),
    # tag: a dbt model's tags are its dataset's and its transform's: a tag on either selects the model
    ("tag-of-a-transform", "tag:features", {"dataset.customer_features", "transform.build_customer_features"}),
    ("intersection-then-union", "tag:raw,owner:@acme/data-eng churn", RAW | {"model.churn"}),
    ("wildcard-name", "customer_*",
     {"dataset.customer_activity", "dataset.customer_features", "quality_rule.customer_features_checks",
      "transform.build_customer_activity", "transform.build_customer_features"}),
    ("wildcard-address", "dataset.customer_*", {"dataset.customer_activity", "dataset.customer_features",
                                                "transform.build_customer_activity",
                                                "transform.build_customer_features"}),
]


@pytest.mark.parametrize(("expression", "expected"), [s[1:] for s in SELECTIONS], ids=[s[0] for s in SELECTIONS])
def test_selection(project, expression, expected):
    assert select(project, expression) == expected


@pytest.mark.parametrize("expression", [None, "", "   ", ()], ids=["none", "empty", "blank", "no-terms"])
def test_no_selection_selects_everything(project, expression):
    assert select(project, expression) == set(project.graph.nodes)


def test_several_selectors_are_a_union(project):
    assert select(project, ["churn", "tag:raw"]) == {"model.churn"} | RAW


@pytest.mark.parametrize("expression", ["foo:bar", "+", "a++b", "++a", "@", ",", "churn,,tag:raw", "churn,",
                                        "tag:", "owner:", "3+", "@@churn"],
                         ids=["unknown-method", "bare-plus", "double-plus", "leading-plus", "bare-at", "bare-comma",
                              "empty-between-commas", "trailing-comma", "tag-without-value", "owner-without-value",
                              "depth-without-name", "double-at"])
def test_bad_selectors_are_refused(project, expression):
    with pytest.raises(SelectionError):
        select(project, expression)


def test_unknown_method_lists_the_known_ones(project):
    with pytest.raises(SelectionError, match="kind:, tag:, path:, owner:, name:"):
        select(project, "colour:red")


def test_cli_unknown_selector_method_is_a_usage_error(runner, example_root):
    result = runner.invoke(main, ["graph", str(example_root), "-s", "colour:red"])
    assert result.exit_code == 2
    assert "unknown selector method 'colour:'" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- the graph itself


def test_example_graph_edges(project):
    g = project.graph
    assert g.parents("transform.build_customer_features") == ["dataset.customer_activity", "dataset.customers"]
    assert g.children("model.churn") == sorted(DEPLOYMENTS)
    assert g.parents("deployment.churn_api") == ["environment.prod", "model.churn"]
    # a relationship check also depends on the dataset it points to
    assert g.parents("quality_rule.subscriptions_checks") == ["dataset.customers", "dataset.subscriptions"]
    assert "project.churn_analytics" not in g
    assert g.cycles() == []


def test_upstream_and_downstream_with_depth(project):
    g = project.graph
    assert g.upstream("model.churn", 1) == {"dataset.customer_features"}
    assert g.upstream("model.churn") == CHURN_UPSTREAM
    assert g.downstream("dataset.customer_activity", 2) == {
        "transform.build_customer_features", "dataset.customer_features"}
    assert "model.churn" not in g.downstream("model.churn")


def test_topological_order_puts_dependencies_first(project):
    g = project.graph
    order = g.topological()
    assert set(order) == set(g.nodes)
    position = {a: i for i, a in enumerate(order)}
    assert all(position[a] < position[b] for a, b in g.edges)
    assert order == g.topological()  # stable


def test_shortest_path(project):
    assert project.graph.shortest_path("dataset.customers", "deployment.churn_api") == [
        "dataset.customers", "transform.build_customer_features", "dataset.customer_features",
        "model.churn", "deployment.churn_api"]
    assert project.graph.shortest_path("deployment.churn_api", "dataset.customers") is None


def test_cycles_are_found_with_their_path():
    g = SpecGraph()
    for a, b in [("dataset.b", "transform.c"), ("transform.c", "dataset.a"), ("dataset.a", "transform.x"),
                 ("transform.x", "dataset.b"), ("dataset.z", "dataset.z"), ("dataset.p", "dataset.q")]:
        g.add_edge(a, b)
    cycles = g.cycles()
    assert cycles == [["dataset.a", "transform.x", "dataset.b", "transform.c"], ["dataset.z"]]
    for cycle in cycles:  # each consecutive pair, and the wrap-around, is an edge
        assert all((cycle[i], cycle[(i + 1) % len(cycle)]) in g.edges for i in range(len(cycle)))


def test_an_acyclic_graph_has_no_cycles():
    g = SpecGraph()
    g.add_edge("dataset.a", "transform.b")
    g.add_edge("transform.b", "dataset.c")
    g.add_node("dataset.lonely")
    assert g.cycles() == []
    assert len(g) == 4


# --------------------------------------------------------------------------- rendering


def graph_output(runner, root, *args):
    result = runner.invoke(main, ["graph", str(root), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def test_text_lists_dependencies_first(runner, example_root, project):
    out = graph_output(runner, example_root)
    listed = [line.split()[0] for line in out.splitlines() if line and not line.startswith((" ", "<"))][:-1]
    assert set(listed) == set(project.graph.nodes)
    position = {a: i for i, a in enumerate(listed)}
    assert all(position[a] < position[b] for a, b in project.graph.edges)
    assert "    <- dataset.customer_activity, dataset.customers" in out
    assert out.rstrip().endswith(f"{len(project.graph)} resource(s), {len(project.graph.edges)} edge(s)")


def test_text_with_a_selection(runner, example_root):
    out = graph_output(runner, example_root, "-s", "churn+")
    lines = out.splitlines()
    assert lines[0].startswith("model.churn")
    assert lines[-1] == "3 resource(s), 2 edge(s)"


DOT_NODE = re.compile(r'^  "(?P<id>[a-z_]+\.[a-z0-9_]+)" \[shape=\w+\];$')
DOT_EDGE = re.compile(r'^  "(?P<a>[a-z_]+\.[a-z0-9_]+)" -> "(?P<b>[a-z_]+\.[a-z0-9_]+)";$')


def test_dot_is_a_digraph(runner, example_root, project):
    out = graph_output(runner, example_root, "--format", "dot")
    lines = out.splitlines()
    assert re.fullmatch(r"digraph \w+ \{", lines[0]) and lines[-1] == "}"
    assert out.count("{") == out.count("}")
    nodes, edges = set(), set()
    for line in lines[1:-1]:
        if m := DOT_NODE.match(line):
            nodes.add(m["id"])
        elif m := DOT_EDGE.match(line):
            edges.add((m["a"], m["b"]))
        else:
            assert re.fullmatch(r"  \w+(=\w+| \[.*\]);", line), line  # graph / node attributes
    assert nodes == set(project.graph.nodes)
    assert edges == set(project.graph.edges)


def test_mermaid_is_a_flowchart(runner, example_root, project):
    out = graph_output(runner, example_root, "-f", "mermaid")
    lines = out.splitlines()
    assert lines[0].startswith("flowchart")
    assert sum("-->" in line for line in lines) == len(project.graph.edges)
    for address in project.graph.nodes:
        assert f'"{address}"' in out


def test_json_has_nodes_and_edges(runner, example_root, project):
    doc = json.loads(graph_output(runner, example_root, "-f", "json"))
    assert {n["address"] for n in doc["nodes"]} == set(project.graph.nodes)
    assert {tuple(e) for e in doc["edges"]} == set(project.graph.edges)
    churn = next(n for n in doc["nodes"] if n["address"] == "model.churn")
    assert churn["kind"] == "model" and churn["name"] == "churn"
    assert churn["file"] == "specs/models/churn.yaml" and churn["line"] >= 1


def test_json_with_a_selection_keeps_only_inner_edges(runner, example_root):
    doc = json.loads(graph_output(runner, example_root, "-f", "json", "-s", "churn+1"))
    assert [n["address"] for n in doc["nodes"]] == ["deployment.churn_api", "deployment.churn_api_dev",
                                                    "model.churn"]
    assert doc["edges"] == [["model.churn", "deployment.churn_api"], ["model.churn", "deployment.churn_api_dev"]]


def test_graph_of_an_invalid_repository_fails_with_diagnostics(runner, repo, editor):
    root = repo()
    editor(root).replace("specs/models/churn.yaml", "dataset: customer_features", "dataset: customer_feature")
    result = runner.invoke(main, ["graph", str(root)])
    assert result.exit_code == 1
    assert "[unresolved-reference]" in result.output
    assert "Traceback" not in result.output
