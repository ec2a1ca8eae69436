"""Image tags follow what goes into the image: a rebuild gets a new tag, an unchanged image keeps it."""

from __future__ import annotations

from pathlib import Path

from conftest import RepoEditor

from compiler.emit.images import dbt_image, serve_image, train_image
from compiler.front.check import require_project


def tags(root: Path) -> dict[str, str]:
    project = require_project(root)
    model = project.models["churn"]
    return {"train": train_image(project, model), "serve": serve_image(project, model), "dbt": dbt_image(project)}


def test_a_spec_edit_retags_the_images_that_copy_the_specs_only(edit: RepoEditor) -> None:
    before = tags(edit.root)
    edit.replace("specs/datasets/daily_kpis.yaml", "New subscriptions, cancellations", "Subscriptions, cancellations")
    after = tags(edit.root)
    assert after["train"] != before["train"]  # the training image holds every spec (train checks them all)
    assert after["dbt"] != before["dbt"]  # the dbt image holds every dataset's docs
    assert after["serve"] == before["serve"]  # the serving image holds no spec


def test_a_formatting_only_edit_keeps_every_tag(edit: RepoEditor) -> None:
    before = tags(edit.root)
    edit.replace("specs/datasets/daily_kpis.yaml", "New subscriptions, cancellations",
                 "New subscriptions,   cancellations".replace("   ", " "))  # the same text
    edit.write("specs/datasets/daily_kpis.yaml", edit.read("specs/datasets/daily_kpis.yaml") + "# a comment\n")
    assert tags(edit.root) == before
