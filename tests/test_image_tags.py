"""Image tags follow what goes into the image: a rebuild gets a new tag, an unchanged image keeps it."""

from __future__ import annotations

from pathlib import Path

from conftest import RepoEditor

from compiler.emit.images import dbt_image, serve_image, train_image
from compiler.pipeline import require_project


def tags(root: Path) -> dict[str, str]:
    project = require_project(root)
    model = project.models["churn"]
    return {"train": train_image(project, model), "serve": serve_image(project, model), "dbt": dbt_image(project)}


def test_an_edit_off_the_models_lineage_keeps_its_training_image(edit: RepoEditor) -> None:
    before = tags(edit.root)
    edit.replace("specs/datasets/daily_kpis.yaml", "New subscriptions, cancellations", "Subscriptions, cancellations")
    after = tags(edit.root)
    assert after["train"] == before["train"]  # daily_kpis is not upstream of churn: not in its image
    assert after["dbt"] != before["dbt"]  # the dbt image holds every dataset's docs
    assert after["serve"] == before["serve"]  # the serving image holds no spec


def test_an_edit_upstream_of_the_model_retags_its_training_image(edit: RepoEditor) -> None:
    before = tags(edit.root)
    # customers -> build_customer_features -> customer_features -> model.churn
    edit.replace("specs/datasets/customers.yaml", "as exported from the CRM", "as exported by the CRM")
    assert tags(edit.root)["train"] != before["train"]


def test_an_environment_edit_retags_the_training_image(edit: RepoEditor) -> None:
    before = tags(edit.root)["train"]
    text = edit.read("specs/environments.yaml")
    first_description = next(line for line in text.splitlines() if "description:" in line)
    edit.replace("specs/environments.yaml", first_description, first_description + " (edited)")
    assert tags(edit.root)["train"] != before


def test_a_formatting_only_edit_keeps_every_tag(edit: RepoEditor) -> None:
    before = tags(edit.root)
    edit.write("specs/datasets/customers.yaml", edit.read("specs/datasets/customers.yaml") + "# a comment\n")
    assert tags(edit.root) == before
