"""Discovery and loading: which files are read, and how a file that cannot be read is reported."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from conftest import RepoEditor

from compiler.front import parse as load
from compiler.front.check import check_repository
from compiler.front.load import load_repository
from compiler.spec.diagnostics import Related

PROJECT = """apiVersion: specops/v1
kind: Project
metadata: {name: demo, owner: "@team"}
spec:
  specs: [specs]
"""

ENV = """apiVersion: specops/v1
kind: Environment
metadata: {name: %s}
spec:
  kubernetes: {namespace: ns-%s}
"""


def make_repo(root: Path, project: str = PROJECT, files: dict[str, str | bytes] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "specops.yaml").write_text(project, encoding="utf-8")
    (root / "specs").mkdir(exist_ok=True)
    editor = RepoEditor(root)
    for rel, content in (files or {}).items():
        editor.write(rel, content)
    return root


def loaded_files(result) -> list[str]:
    return sorted({d.file for d in result.documents})


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics]


# --------------------------------------------------------------------------- the example


def test_example_loads_every_document_without_diagnostics(example_root):
    result = load_repository(example_root)
    assert result.diagnostics == []
    assert result.project is not None and result.project.name == "churn_analytics"
    addresses = {d.address for d in result.documents}
    assert {"dataset.customers", "model.churn", "deployment.churn_api", "environment.prod",
            "quality_rule.subscriptions_checks", "transform.build_customer_activity"} <= addresses
    assert len(addresses) == len(result.documents) > 10
    assert all(d.file.startswith("specs/") for d in result.documents)


def test_documents_come_in_a_stable_order(example_root):
    first = [(d.file, d.index) for d in load_repository(example_root).documents]
    assert first == sorted(first)
    assert first == [(d.file, d.index) for d in load_repository(example_root).documents]


def test_multi_document_files_keep_document_indexes(example_root):
    docs = [d for d in load_repository(example_root).documents if d.file == "specs/quality/sources.yaml"]
    assert [d.index for d in docs] == [0, 1, 2]
    assert docs[1].parsed.line > docs[0].parsed.line


def test_locate_falls_back_to_the_closest_ancestor(example_root):
    doc = next(d for d in load_repository(example_root).documents if d.address == "model.churn")
    line, _ = doc.locate(("spec", "training", "features"))
    assert doc.locate(("spec", "training", "features", 99, "x")) == doc.locate(("spec", "training", "features"))
    assert doc.locate_key(("spec", "training"))[0] == line - 2  # `training:` sits two lines above features
    assert doc.locate(("nope",)) == (doc.parsed.line, doc.parsed.col)


# --------------------------------------------------------------------------- discovery


def test_both_yaml_suffixes_are_read_and_others_ignored(tmp_path):
    root = make_repo(tmp_path / "r", files={
        "specs/a.yaml": ENV % ("a", "a"),
        "specs/b.yml": ENV % ("b", "b"),
        "specs/c.json": "{not yaml",
        "specs/d.yaml.bak": ": broken",
        "specs/README.md": "# notes",
    })
    result = load_repository(root)
    assert result.diagnostics == []
    assert loaded_files(result) == ["specs/a.yaml", "specs/b.yml"]


def test_the_yaml_suffixes_are_read_in_any_case(tmp_path):
    """churn_api.YAML is a spec file: skipping it made a plan destroy the deployment it holds."""
    root = make_repo(tmp_path / "r", files={"specs/a.YAML": ENV % ("a", "a"), "specs/b.Yml": ENV % ("b", "b")})
    result = load_repository(root)
    assert result.diagnostics == [] and loaded_files(result) == ["specs/a.YAML", "specs/b.Yml"]


def test_a_project_file_named_specops_yml_is_named_in_the_hint(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    (root / "specops.yml").write_text(PROJECT, encoding="utf-8")
    (diag,) = load_repository(root).diagnostics
    assert diag.code == "no-project" and "rename specops.yml to specops.yaml" in (diag.hint or "")


def test_spec_folders_are_scanned_recursively(tmp_path):
    project = PROJECT.replace("specs: [specs]", "specs: [specs, more]")
    root = make_repo(tmp_path / "r", project, {
        "specs/deep/er/a.yaml": ENV % ("a", "a"),
        "more/b.yaml": ENV % ("b", "b"),
        "elsewhere/c.yaml": ": not read",
    })
    result = load_repository(root)
    assert result.diagnostics == []
    assert loaded_files(result) == ["more/b.yaml", "specs/deep/er/a.yaml"]


def test_default_spec_folder_is_specs(tmp_path):
    project = PROJECT.replace("  specs: [specs]\n", "  output: build\n")
    root = make_repo(tmp_path / "r", project, {"specs/a.yaml": ENV % ("a", "a")})
    assert loaded_files(load_repository(root)) == ["specs/a.yaml"]


def test_a_spec_folder_may_be_a_single_file(tmp_path):
    project = PROJECT.replace("specs: [specs]", "specs: [one.yaml]")
    root = make_repo(tmp_path / "r", project, {"one.yaml": ENV % ("a", "a")})
    assert loaded_files(load_repository(root)) == ["one.yaml"]


def test_missing_spec_folder_is_reported_at_its_line(tmp_path):
    project = PROJECT.replace("specs: [specs]", "specs:\n    - specs\n    - nowhere")
    root = make_repo(tmp_path / "r", project, {"specs/a.yaml": ENV % ("a", "a")})
    result = load_repository(root)
    (diag,) = result.diagnostics
    assert diag.code == "bad-path" and "nowhere" in diag.message
    assert (diag.file, diag.line) == ("specops.yaml", 7)
    assert loaded_files(result) == ["specs/a.yaml"]


@pytest.mark.parametrize("folder", ["../outside", "/etc"], ids=["dotdot", "absolute"])
def test_spec_folder_outside_the_repository_is_refused(tmp_path, folder):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.yaml").write_text(ENV % ("x", "x"))
    project = PROJECT.replace("specs: [specs]", f"specs: [specs, '{folder}']")
    root = make_repo(tmp_path / "r", project, {"specs/a.yaml": ENV % ("a", "a")})
    result = load_repository(root)
    assert "bad-path" in codes(result)
    assert loaded_files(result) == ["specs/a.yaml"]


def test_hidden_folders_and_files_are_skipped(tmp_path):
    root = make_repo(tmp_path / "r", files={
        "specs/a.yaml": ENV % ("a", "a"),
        "specs/.hidden/b.yaml": ": broken",
        "specs/.c.yaml": ": broken",
        "specs/sub/.git/d.yaml": ": broken",
    })
    result = load_repository(root)
    assert [d.code for d in result.diagnostics] == ["submodule-not-checked-out"]  # specs/sub: a repository
    assert loaded_files(result) == ["specs/a.yaml"]


def test_the_output_folder_is_never_read(tmp_path):
    project = PROJECT.replace("specs: [specs]", "specs: ['.']\n  output: out/")
    root = make_repo(tmp_path / "r", project, {
        "specs/a.yaml": ENV % ("a", "a"),
        "out/models/generated.yaml": ": broken",
        ".specops/state.yaml": ": broken",
    })
    result = load_repository(root)
    assert result.diagnostics == []
    assert loaded_files(result) == ["specs/a.yaml"]


def test_the_project_file_is_not_read_twice_when_the_root_is_a_spec_folder(tmp_path):
    project = PROJECT.replace("specs: [specs]", "specs: ['.']")
    root = make_repo(tmp_path / "r", project, {"a.yaml": ENV % ("a", "a")})
    result = load_repository(root)
    assert result.diagnostics == []
    assert loaded_files(result) == ["a.yaml"]


# --------------------------------------------------------------------------- symlinks


def test_symlinked_file_leaving_the_repository_is_refused(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text(ENV % ("x", "x"))
    root = make_repo(tmp_path / "r", files={"specs/a.yaml": ENV % ("a", "a")})
    os.symlink(outside, root / "specs" / "link.yaml")
    result = load_repository(root)
    (diag,) = result.diagnostics
    assert diag.code == "bad-path" and diag.file == "specs/link.yaml"
    assert "symlink" in diag.message
    assert loaded_files(result) == ["specs/a.yaml"]


def test_symlinked_folder_leaving_the_repository_is_refused(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.yaml").write_text(ENV % ("x", "x"))
    root = make_repo(tmp_path / "r", files={"specs/a.yaml": ENV % ("a", "a")})
    os.symlink(outside, root / "specs" / "linked", target_is_directory=True)
    result = load_repository(root)
    (diag,) = result.diagnostics
    assert diag.code == "bad-path" and "symlink" in diag.message
    assert loaded_files(result) == ["specs/a.yaml"]


def test_symlinked_folder_inside_the_repository_is_not_read_twice(tmp_path):
    root = make_repo(tmp_path / "r", files={"specs/real/a.yaml": ENV % ("a", "a")})
    os.symlink(root / "specs" / "real", root / "specs" / "alias", target_is_directory=True)
    result = load_repository(root)
    assert result.diagnostics == []
    assert loaded_files(result) == ["specs/real/a.yaml"]


def test_symlinked_file_inside_the_repository_is_read(tmp_path):
    root = make_repo(tmp_path / "r", files={"shared/a.yaml": ENV % ("a", "a")})
    os.symlink("../shared/a.yaml", root / "specs" / "a.yaml")
    result = load_repository(root)
    assert result.diagnostics == []
    assert loaded_files(result) == ["specs/a.yaml"]


def test_a_symlink_to_an_absolute_path_is_refused_even_inside_the_repository(tmp_path):
    """Another checkout (a CI runner, the base of `plan --against`) is in another folder: the link would point
    at this one's file, or nowhere."""
    root = make_repo(tmp_path / "r", files={"shared/a.yaml": ENV % ("a", "a")})
    os.symlink(root / "shared" / "a.yaml", root / "specs" / "a.yaml")
    result = load_repository(root)
    (diag,) = result.diagnostics
    assert (diag.code, diag.file) == ("bad-path", "specs/a.yaml")
    assert f"symlink to the absolute path '{root / 'shared' / 'a.yaml'}'" in diag.message
    assert "make the link relative" in diag.message
    assert loaded_files(result) == []
    os.unlink(root / "specs" / "a.yaml")  # a relative link to an absolute one: the same, one hop further
    os.symlink(root / "shared" / "a.yaml", root / "shared" / "abs.yaml")
    os.symlink("../shared/abs.yaml", root / "specs" / "a.yaml")
    (diag,) = load_repository(root).diagnostics
    assert "'abs.yaml' (through 'a.yaml') is a symlink to the absolute path" in diag.message, diag.message


def test_a_fifo_or_folder_named_like_a_spec_is_reported_or_walked_never_waited_for(tmp_path):
    root = make_repo(tmp_path / "r", files={"specs/a.yaml": ENV % ("a", "a"),
                                            "specs/dir.yaml/b.yaml": ENV % ("b", "b")})
    os.mkfifo(root / "specs" / "pipe.yaml")  # opening it for reading would block until a writer came
    signal.alarm(30)  # a regression fails here instead of hanging the suite
    try:
        result = load_repository(root)
    finally:
        signal.alarm(0)
    (diag,) = result.diagnostics
    assert (diag.code, diag.file) == ("unreadable", "specs/pipe.yaml")
    assert "not a regular file" in diag.message
    assert loaded_files(result) == ["specs/a.yaml", "specs/dir.yaml/b.yaml"]


def test_a_broken_symlink_is_reported(tmp_path):
    root = make_repo(tmp_path / "r", files={"specs/a.yaml": ENV % ("a", "a")})
    os.symlink(root / "nowhere.yaml", root / "specs" / "dangling.yaml")
    result = load_repository(root)
    (diag,) = result.diagnostics
    assert (diag.code, diag.file) == ("bad-path", "specs/dangling.yaml")


# --------------------------------------------------------------------------- file contents


def test_file_over_the_size_cap_is_refused_without_being_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(load, "MAX_FILE_BYTES", 200)
    root = make_repo(tmp_path / "r", files={
        "specs/a.yaml": ENV % ("a", "a"),
        "specs/big.yaml": "# " + "x" * 300 + "\n: broken",
    })
    result = load_repository(root)
    (diag,) = result.diagnostics
    assert (diag.code, diag.file, diag.line) == ("file-too-large", "specs/big.yaml", 1)
    assert diag.hint
    assert loaded_files(result) == ["specs/a.yaml"]


def test_non_utf8_bytes_are_located(tmp_path):
    text = (ENV % ("a", "a")).encode()
    broken = text.replace(b"name: a", b"name: a\xe9")
    root = make_repo(tmp_path / "r", files={"specs/a.yaml": broken})
    (diag,) = load_repository(root).diagnostics
    assert diag.code == "not-utf8"
    assert (diag.line, diag.col) == (3, 19)
    assert "0xe9" in diag.message and "UTF-8" in diag.hint


def test_a_utf16_file_is_named_so_and_no_snippet_prints_its_nul_bytes(tmp_path):
    from click.testing import CliRunner

    from compiler.cli.main import main

    root = make_repo(tmp_path / "r", files={"specs/a.yaml": (ENV % ("a", "a")).encode("utf-16")})
    (diag,) = load_repository(root).diagnostics
    assert diag.code == "not-utf8" and "UTF-16" in diag.message
    result = CliRunner().invoke(main, ["validate", str(root)])
    assert result.exit_code == 1 and "UTF-16" in result.output and "\0" not in result.output


def test_utf8_bom_is_accepted_and_positions_are_unchanged(tmp_path):
    plain = make_repo(tmp_path / "plain", files={"specs/a.yaml": ENV % ("a", "a")})
    root = make_repo(tmp_path / "bom", files={"specs/a.yaml": "\ufeff" + ENV % ("a", "a")})
    result = load_repository(root)
    assert result.diagnostics == []
    (doc,) = result.documents
    (expected,) = load_repository(plain).documents
    assert doc.locate(("metadata", "name")) == expected.locate(("metadata", "name")) == (3, 18)
    assert doc.parsed.positions == expected.parsed.positions


def test_utf8_text_is_accepted(tmp_path):
    env = ENV % ("a", "a") + "  # Kündigungen, 解約\n"
    env = env.replace("metadata: {name: a}", "metadata: {name: a, description: Übersicht}")
    root = make_repo(tmp_path / "r", files={"specs/a.yaml": env})
    result = load_repository(root)
    assert result.diagnostics == []
    assert result.documents[0].data["metadata"]["description"] == "Übersicht"


def test_file_without_documents_is_reported(tmp_path):
    root = make_repo(tmp_path / "r", files={"specs/a.yaml": "# nothing yet\n"})
    (diag,) = load_repository(root).diagnostics
    assert diag.code == "empty-file" and diag.file == "specs/a.yaml"
    assert diag.severity == "warning"  # skipped, as kubectl skips it: a spec commented out whole is left out


def test_empty_and_non_mapping_documents_are_reported_at_their_own_line(tmp_path):
    text = ENV % ("a", "a") + "---\n---\n- a list\n"
    root = make_repo(tmp_path / "r", files={"specs/a.yaml": text})
    result = load_repository(root)
    found = sorted((d.code, d.line, d.severity) for d in result.diagnostics)
    assert found == [("empty-document", 6, "warning"), ("not-a-mapping", 8, "error")]
    assert loaded_files(result) == ["specs/a.yaml"]


def test_yaml_errors_in_one_file_do_not_stop_the_others(tmp_path):
    root = make_repo(tmp_path / "r", files={
        "specs/a.yaml": ENV % ("a", "a"),
        "specs/b.yaml": "kind: [\n",
        "specs/c.yaml": "a: 1\na: 2\n",
    })
    result = load_repository(root)
    assert sorted((d.file, d.code) for d in result.diagnostics) == [
        ("specs/b.yaml", "yaml-syntax"), ("specs/c.yaml", "duplicate-key")]
    assert loaded_files(result) == ["specs/a.yaml"]


# --------------------------------------------------------------------------- the envelope


@pytest.mark.parametrize(
    ("doc", "code", "hint_part"),
    [
        ("apiVersion: specops/v2\nkind: Environment\nmetadata: {name: a}\n", "api-version", "specops/v1"),
        ("kind: Environment\nmetadata: {name: a}\n", "api-version", "specops/v1"),
        ("apiVersion: specops/v1\nkind: Enviroment\nmetadata: {name: a}\n", "unknown-kind",
         "did you mean 'Environment'"),
        ("apiVersion: specops/v1\nkind: Widget\nmetadata: {name: a}\n", "unknown-kind", "one of: Project"),
        ("apiVersion: specops/v1\nmetadata: {name: a}\n", "unknown-kind", "one of:"),
        ("apiVersion: specops/v1\nkind: Project\nmetadata: {name: a}\n", "project-file", "exactly one Project"),
    ],
    ids=["api-v2", "api-missing", "kind-typo", "kind-unknown", "kind-missing", "project-in-specs"],
)
def test_envelope_errors(tmp_path, doc, code, hint_part):
    root = make_repo(tmp_path / "r", files={"specs/a.yaml": doc})
    result = load_repository(root)
    (diag,) = result.diagnostics
    assert diag.code == code and diag.file == "specs/a.yaml"
    assert hint_part in diag.hint
    assert result.documents == []


def test_api_version_message_names_the_supported_versions(tmp_path):
    root = make_repo(tmp_path / "r", files={"specs/a.yaml": "apiVersion: v1\nkind: Dataset\n"})
    (diag,) = load_repository(root).diagnostics
    assert "supported: specops/v1" in diag.message
    assert (diag.line, diag.col) == (1, 13)


def test_missing_project_file(tmp_path):
    (tmp_path / "r").mkdir()
    result = load_repository(tmp_path / "r")
    (diag,) = result.diagnostics
    assert diag.code == "no-project" and "specops init" in diag.hint


def test_project_file_holding_other_kinds(tmp_path):
    root = make_repo(tmp_path / "r", PROJECT + "---\n" + ENV % ("a", "a"))
    (diag,) = load_repository(root).diagnostics
    assert (diag.code, diag.file, diag.line) == ("project-file", "specops.yaml", 8)


def test_project_file_holding_two_projects(tmp_path):
    root = make_repo(tmp_path / "r", PROJECT + "---\n" + PROJECT)
    result = load_repository(root)
    (diag,) = result.diagnostics
    assert diag.code == "project-file" and diag.line == 7
    assert result.project is not None


def test_project_file_without_a_project(tmp_path):
    root = make_repo(tmp_path / "r", "# to do\n")
    result = load_repository(root)
    assert [(d.code, d.severity) for d in result.diagnostics] == [("project-file", "error")]
    assert result.project is None


# --------------------------------------------------------------------------- names


def test_duplicate_names_within_a_kind_are_reported_at_each_pointing_at_the_others(tmp_path):
    root = make_repo(tmp_path / "r", files={
        "specs/a.yaml": ENV % ("a", "a"),
        "specs/b.yaml": "# second\n" + ENV % ("a", "b"),
    })
    first, second = load_repository(root).diagnostics
    assert (first.code, first.file, first.line) == ("duplicate-name", "specs/a.yaml", 3)
    assert (second.code, second.file, second.line) == ("duplicate-name", "specs/b.yaml", 4)
    assert first.related == (Related("also defined here", "specs/b.yaml", 4, second.col),)
    assert second.related == (Related("also defined here", "specs/a.yaml", 3, first.col),)


def test_the_same_name_in_different_kinds_is_fine(tmp_path):
    dataset = "apiVersion: specops/v1\nkind: Dataset\nmetadata: {name: a}\n"
    root = make_repo(tmp_path / "r", files={"specs/a.yaml": ENV % ("a", "a") + "---\n" + dataset})
    result = load_repository(root)
    assert result.diagnostics == []
    assert sorted(d.address for d in result.documents) == ["dataset.a", "environment.a"]


def test_an_unparseable_file_does_not_make_its_resources_unresolved(repo, editor):
    # the model's file has a YAML error: the deployments that name it must not add "no such model"
    root = repo()
    editor(root).replace("specs/models/churn.yaml", "task: classification", "task: [classification")
    result = load_repository(root)
    assert "model.churn" in result.unloaded
    _, diags = check_repository(root)
    assert [d.code for d in diags] == ["yaml-syntax"]


def test_a_document_with_a_bad_envelope_does_not_make_its_resource_unresolved(repo, editor):
    root = repo()
    editor(root).replace("specs/models/churn.yaml", "apiVersion: specops/v1", "apiVersion: specops/v0")
    _, diags = check_repository(root)
    assert [d.code for d in diags] == ["api-version"]


def test_a_spec_folder_that_cannot_be_read_is_an_error_not_an_empty_folder(tmp_path):
    """specs/quality with no read permission was skipped without a word: validate said valid, and plan and apply
    destroyed its quality rules. It is an error at the folder. (Root reads any folder: its override is dropped.)"""
    import subprocess
    import sys

    from conftest import REPO_ROOT, SPECOPS_CLI, as_ordinary_user

    root = make_repo(tmp_path / "r", files={"specs/a.yaml": ENV % ("a", "a"), "specs/quality/b.yaml": ENV % ("b", "b")})
    (root / "specs" / "quality").chmod(0)
    command = as_ordinary_user([sys.executable, *SPECOPS_CLI, "validate"], "dac_override", "dac_read_search")
    try:
        proc = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120, check=False,
                              env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "SPECOPS_CACHE_DIR": str(tmp_path / "c")})
    finally:
        (root / "specs" / "quality").chmod(0o755)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "specs/quality:1:1: error: cannot read folder 'specs/quality': Permission denied [unreadable]" in (
        proc.stdout + proc.stderr), proc.stdout + proc.stderr
