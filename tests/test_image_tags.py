"""Image tags are digests of what the images hold (base image, requirements, specops): never of the specs, so a
spec edit that changes no code changes no image tag and no Dockerfile."""

from __future__ import annotations

from pathlib import Path

from conftest import RepoEditor

from compiler.emit.compile import compile_project
from compiler.emit.images import dbt_image, serve_image, train_image
from compiler.front.check import require_project


def tags(root: Path) -> dict[str, str]:
    project = require_project(root)
    model = project.models["churn"]
    return {"train": train_image(project, model), "serve": serve_image(project, model), "dbt": dbt_image(project)}


def docker_files(root: Path) -> dict[str, bytes]:
    return {a.path: a.content for a in compile_project(require_project(root)).artifacts
            if a.path.startswith("docker/")}


def test_a_description_edit_changes_no_image_tag_and_no_dockerfile(edit: RepoEditor) -> None:
    before, files = tags(edit.root), docker_files(edit.root)
    edit.replace("specs/datasets/daily_kpis.yaml", "New subscriptions, cancellations", "Subscriptions, cancellations")
    edit.replace("specs/models/churn.yaml", "Probability that a customer", "The probability that a customer")
    assert tags(edit.root) == before
    assert docker_files(edit.root) == files


def test_spec_and_code_edits_keep_the_tags_too(edit: RepoEditor) -> None:
    """Training code, SQL and parameters reach the jobs through the spec repository they fetch, not the images."""
    before = tags(edit.root)
    edit.replace("specs/models/churn.yaml", "C: 1.0", "C: 0.5")
    edit.write("training/churn.py", edit.read("training/churn.py") + "\n# tuned\n")
    edit.replace("sql/customer_activity.sql", "-- Billing", "-- All billing")
    assert tags(edit.root) == before


def test_python_version_changes_every_tag(edit: RepoEditor) -> None:
    before = tags(edit.root)
    edit.replace("specops.yaml", 'python_version: "3.11"', 'python_version: "3.12"')
    after = tags(edit.root)
    assert all(after[k] != before[k] for k in before), (before, after)


def test_what_an_image_holds_changes_its_tag_only(edit: RepoEditor) -> None:
    before = tags(edit.root)
    edit.replace("specs/models/churn.yaml", "framework: sklearn", "framework: xgboost")  # the serving requirements
    after = tags(edit.root)
    assert after["serve"] != before["serve"] and after["train"] != before["train"] and after["dbt"] == before["dbt"]
    edit.replace("specs/environments.yaml", "type: duckdb", "type: snowflake\n    account: a\n    database: d\n"
                 "    warehouse: w\n    schema: s\n    user: u\n    password_env: SNOWFLAKE_PASSWORD")
    edit.replace("specs/environments.yaml", "    path: .specops/dev.duckdb\n", "")
    moved = tags(edit.root)  # a warehouse type: its dbt adapter and its driver
    assert moved["dbt"] != after["dbt"] and moved["train"] != after["train"] and moved["serve"] == after["serve"]


def test_the_specops_source_is_part_of_the_tag(edit: RepoEditor) -> None:
    before = tags(edit.root)
    edit.replace("specops.yaml", "  kubernetes_version:", '  specops: {version: "0.2.0"}\n  kubernetes_version:')
    after = tags(edit.root)
    assert after["train"] != before["train"] and after["dbt"] != before["dbt"]
    assert after["serve"] == before["serve"]  # the serving image has no specops


def test_a_formatting_only_edit_keeps_every_tag(edit: RepoEditor) -> None:
    before = tags(edit.root)
    edit.write("specs/datasets/daily_kpis.yaml", edit.read("specs/datasets/daily_kpis.yaml") + "# a comment\n")
    assert tags(edit.root) == before
