"""A training image holds the specs its model needs, and that copy loads as a valid repository.

The copy is rebuilt here from the Dockerfile the docker backend wrote (its COPY and RUN lines, as
`docker build` would apply them) and loaded with the same loader `specops train` uses.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import RepoEditor
from test_bench_generator import gen
from test_docker_backend import copy_args, final_stage

from compiler.compile import compile_project
from compiler.emit.train_context import train_context
from compiler.pipeline import require_project
from compiler.spec import SpecProject


def build_copy(project: SpecProject, model_name: str, dest: Path) -> Path:
    """The /app of the model's training image, from its Dockerfile.train."""
    artifacts = {a.path: a for a in compile_project(project).artifacts}
    dockerfile = artifacts[f"docker/{model_name}/Dockerfile.train"].content.decode()
    app = dest / "app"
    app.mkdir(parents=True)
    for word, args in final_stage(dockerfile):
        if word == "COPY":
            *sources, target = copy_args(args)
            if not target.startswith("/app"):
                continue
            folder = app / target[len("/app/"):]
            folder.mkdir(parents=True, exist_ok=True)
            for source in sources:
                shutil.copy2(project.root / source, folder / Path(source).name)
        elif word == "RUN" and args.startswith("install -d /app"):
            for folder in args.split("&&")[0].split()[2:]:
                (app / folder[len("/app/"):]).mkdir(parents=True, exist_ok=True)
    return app


def check_copy(project: SpecProject, model_name: str, tmp: Path) -> SpecProject:
    copy = require_project(build_copy(project, model_name, tmp))  # raises with every diagnostic if invalid
    model = copy.models[model_name]
    assert model == project.models[model_name]
    assert model.training is not None and model.training.dataset in copy.datasets
    assert set(copy.environments) == set(project.environments)
    ctx = train_context(project, project.models[model_name])
    assert {r.address for r in copy.resources()} | {copy.project.address} == {r.address for r in ctx.resources}
    return copy


def test_the_example_models_copy_is_a_valid_repository_without_what_it_does_not_need(
        example_root: Path, tmp_path: Path) -> None:
    project = require_project(example_root)
    copy = check_copy(project, "churn", tmp_path)
    assert "dataset.daily_kpis" not in {r.address for r in copy.resources()}  # not upstream of churn
    assert not copy.deployments  # deployments read the model, the model does not read them


def test_every_generated_models_copy_is_a_valid_repository(tmp_path: Path) -> None:
    project = require_project(gen.generate(150, tmp_path / "repo", seed=5).root)
    assert project.models
    for n, name in enumerate(sorted(project.models)):
        check_copy(project, name, tmp_path / f"copy{n}")


def test_a_file_with_several_documents_brings_their_references_along(edit: RepoEditor, tmp_path: Path) -> None:
    # daily_kpis' transform shares a file with one of churn's upstream datasets: the whole file is copied,
    # so the transform's inputs and output must come too, or the copy would not load
    kpis = edit.read("specs/transforms/daily_kpis.yaml")
    edit.delete("specs/transforms/daily_kpis.yaml")
    edit.write("specs/datasets/customers.yaml", edit.read("specs/datasets/customers.yaml").rstrip("\n")
               + "\n---\n" + kpis)
    project = require_project(edit.root)
    copy = check_copy(project, "churn", tmp_path)
    assert {"transform.build_daily_kpis", "dataset.daily_kpis"} <= {r.address for r in copy.resources()}


@pytest.mark.parametrize("spec_folders", [["specs", "more-specs"]])
def test_spec_folders_without_a_copied_file_are_created(edit: RepoEditor, tmp_path: Path,
                                                        spec_folders: list[str]) -> None:
    edit.write("more-specs/kpis.yaml", edit.read("specs/transforms/daily_kpis.yaml"))
    edit.delete("specs/transforms/daily_kpis.yaml")
    text = edit.read("specops.yaml")
    assert "specs: [specs]" in text or "specs:" not in text, text
    if "specs: [specs]" in text:
        edit.replace("specops.yaml", "specs: [specs]", f"specs: [{', '.join(spec_folders)}]")
    else:
        edit.replace("specops.yaml", "spec:\n", f"spec:\n  specs: [{', '.join(spec_folders)}]\n")
    project = require_project(edit.root)
    copy = check_copy(project, "churn", tmp_path)
    assert (copy.root / "more-specs").is_dir()
