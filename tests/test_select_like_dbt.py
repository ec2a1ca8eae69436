"""Selectors as a dbt user expects them (`dbt ls` on the emitted project): a transform and its output dataset are
one dbt model, a depth counts hops between datasets, a term that matches nothing is an error, `--exclude`,
`path:` relative to the repository root and of a resource's SQL, training or data file, `tag:` of either half
of a model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE_ROOT, copy_repository

from compiler.cli.common import compile_all
from compiler.cli.main import main
from compiler.front.check import require_project
from compiler.spec.selection import SelectionError, select

FEATURES = {"dataset.customer_features", "transform.build_customer_features"}
KPIS = {"dataset.daily_kpis", "transform.build_daily_kpis"}


def _graph(runner, root: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(main, ["graph", str(root), *args])
    return result.exit_code, result.output


def _graph_nodes(runner, root: Path, *args: str) -> set[str]:
    code, out = _graph(runner, root, "-f", "json", *args)
    assert code == 0, out
    return {n["address"] for n in json.loads(out)["nodes"]}


# --------------------------------------------------------------------------- 1: one dbt model, both halves


def test_a_produced_dataset_brings_its_transform_and_a_transform_its_output(churn):
    assert select(churn, "daily_kpis") == KPIS
    assert select(churn, "transform.build_daily_kpis") == KPIS
    assert select(churn, "customer_features+") >= FEATURES | {"model.churn"}
    assert "transform.build_customer_features" in select(churn, "+model.churn")


def test_plan_of_a_produced_dataset_plans_its_build(runner, tmp_path):
    # a copy: the example itself may have been applied (make demo), and then there is nothing to build
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    result = runner.invoke(main, ["plan", str(root), "-s", "daily_kpis", "-f", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert set(plan["selection"]) == KPIS
    assert plan["impact"]["rebuild"] == ["transform.build_daily_kpis"]


# --------------------------------------------------------------------------- 3: depth in hops between datasets


def test_a_depth_counts_a_transform_and_its_output_as_one_step(churn):
    # dbt: `1+customer_features` is customer_features and the two models it reads
    ds = {a for a in select(churn, "1+customer_features") if a.startswith("dataset.")}
    assert ds == {"dataset.customer_features", "dataset.customer_activity", "dataset.customers"}
    ds = {a for a in select(churn, "subscriptions+1") if a.startswith("dataset.")}
    assert ds == {"dataset.subscriptions", "dataset.customer_activity", "dataset.daily_kpis"}
    assert select(churn, "customer_features+1") == FEATURES | {"model.churn",
                                                               "quality_rule.customer_features_checks"}
    assert select(churn, "1+deployment.churn_api") == {"deployment.churn_api", "model.churn", "environment.prod"}


def test_the_graph_walk_with_free_hops(churn):
    g = churn.graph
    free = {frozenset(("transform.build_customer_features", "dataset.customer_features"))}
    up = g.upstream("dataset.customer_features", 1, lambda a, b: frozenset((a, b)) in free)
    assert up == {"transform.build_customer_features", "dataset.customer_activity", "dataset.customers"}
    assert g.upstream("dataset.customer_features", 1) == {"transform.build_customer_features"}


# --------------------------------------------------------------------------- 4: a term that matches nothing


@pytest.mark.parametrize(("selectors", "message"), [
    (["custmers"], "'custmers' matches no resource; did you mean 'customers'?"),
    (["custmers", "customers"], "'custmers' matches no resource; did you mean 'customers'?"),
    (["Customers"], "'Customers' matches no resource; did you mean 'customers'? (names are case-sensitive)"),
    (["tag:featurs"], "'tag:featurs' matches no resource; did you mean 'features'?"),
    (["owner:@acme/mlops"], "did you mean '@acme/ml'?"),
    (["tag:raw,kind:model"], "'tag:raw,kind:model' matches no resource"),
], ids=["typo", "typo-in-a-union", "case", "tag", "owner", "empty-intersection"])
def test_a_term_that_matches_nothing_is_the_same_error_in_every_command(runner, example_root, selectors, message):
    args = [a for s in selectors for a in ("-s", s)]
    for command in (["graph"], ["plan"], ["plan", "--detailed-exitcode"], ["apply", "--yes"]):
        result = runner.invoke(main, [command[0], str(example_root), *command[1:], *args])
        assert result.exit_code == (1 if "--detailed-exitcode" in command else 2), (command, result.output)
        assert message in result.output, (command, result.output)
    with pytest.raises(SelectionError, match="matches no resource"):
        select(require_project(example_root), selectors)


def test_a_column_selector_naming_no_column_is_an_error(runner, example_root):
    code, out = _graph(runner, example_root, "--columns", "-s", "customers.emial+")
    assert code == 2
    assert "dataset customers has no column 'emial'; did you mean 'email'?" in out
    code, out = _graph(runner, example_root, "--columns", "-s", "customers.email+")
    assert code == 0, out


# --------------------------------------------------------------------------- 5: --exclude


def test_exclude_leaves_out_what_it_selects_with_both_halves_of_a_model(runner, example_root):
    nodes = _graph_nodes(runner, example_root, "-s", "+customer_features", "--exclude", "customer_activity")
    assert nodes == FEATURES | {"dataset.customers", "dataset.subscriptions", "dataset.support_tickets"}
    nodes = _graph_nodes(runner, example_root, "--exclude", "kind:deployment", "--exclude", "kind:environment")
    assert not {n for n in nodes if n.startswith(("deployment.", "environment."))}
    assert "model.churn" in nodes


def test_exclude_in_plan_and_its_errors(runner, example_root):
    result = runner.invoke(main, ["plan", str(example_root), "-s", "daily_kpis", "--exclude",
                                  "transform.build_daily_kpis", "-s", "customers", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["selection"] == ["dataset.customers"]
    result = runner.invoke(main, ["plan", str(example_root), "--exclude", "custmers"])
    assert result.exit_code == 2 and "--exclude" in result.output and "did you mean 'customers'?" in result.output
    result = runner.invoke(main, ["plan", str(example_root), "-s", "customers", "--exclude", "customers"])
    assert result.exit_code == 2 and "selects no resource" in result.output


@pytest.mark.parametrize("command", ["graph", "plan", "apply"])
def test_every_command_with_select_has_exclude(runner, command):
    result = runner.invoke(main, [command, "--help"])
    assert "--exclude" in result.output and "--select" in result.output


def test_the_readme_lists_exclude_beside_select():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    lines = [line for line in readme.splitlines() if "[--select ...]" in line]
    assert lines and all("[--exclude ...]" in line for line in lines)


# --------------------------------------------------------------------------- 6: path:


@pytest.mark.parametrize(("path", "expected"), [
    ("./specs/models", {"model.churn"}),
    ("specs/./models/", {"model.churn"}),
    ("sql/customer_activity.sql", {"transform.build_customer_activity", "dataset.customer_activity"}),
    ("sql", {"transform.build_customer_activity", "dataset.customer_activity"}),
    ("training/churn.py", {"model.churn"}),
    ("data/customers.csv", {"dataset.customers"}),
], ids=["dot-slash", "dot-inside", "sql-file", "sql-folder", "entrypoint", "data-file"])
def test_path_selects_by_spec_sql_training_and_data_file(churn, path, expected):
    assert select(churn, f"path:{path}") == expected


def test_path_may_be_absolute_inside_the_repository(churn, example_root):
    assert select(churn, f"path:{example_root.resolve() / 'specs' / 'models'}") == {"model.churn"}
    with pytest.raises(SelectionError, match="outside the repository"):
        select(churn, f"path:{example_root.resolve().parent}")


def test_a_path_that_matches_nothing_says_paths_are_relative_to_the_root(churn):
    with pytest.raises(SelectionError, match="relative to the repository root"):
        select(churn, "path:models")


# --------------------------------------------------------------------------- 7: tag:, as dbt's model tags


def test_tag_selects_the_dbt_nodes_dbt_tags(repo, editor):
    root = repo()
    editor(root).replace("specs/transforms/customer_features.yaml", "tags: [features, ml]",
                         "tags: [features, ml, nightly]")
    project = require_project(root)
    tagged: dict[str, set[str]] = {}
    for art in compile_all(project).artifacts:
        if art.key.startswith(("dbt/models/", "dbt/seeds/")) and art.key.endswith(".yml"):
            doc = yaml.safe_load(art.content)
            for entry in doc.get("models", []) + doc.get("seeds", []):
                for tag in entry.get("config", {}).get("tags", []):
                    tagged.setdefault(tag, set()).add(entry["name"])
    assert tagged["nightly"] == {"customer_features"}
    for tag, names in tagged.items():
        if tag == "specops":
            continue
        chosen = select(project, f"tag:{tag}")
        assert {a.split(".", 1)[1] for a in chosen if a.startswith("dataset.")} == names, tag
        builders = {t.address for t in project.transforms.values() if t.output in names}
        assert builders <= chosen, tag
