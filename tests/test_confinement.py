"""Paths specops writes to or points MLflow at stay inside the repository, clear of the user's files
(issue #18 item 10): refused by `validate`, located at the offending line, before compile or apply runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import parse_text_report

from compiler.paths import normal_repo_path

PROJECT = "specops.yaml"
ENVS = "specs/environments.yaml"
DEV_URI = "tracking_uri: sqlite:///.specops/mlflow.db"


def only_error(result, rel: str, code: str = "bad-path"):
    found = [d for d in parse_text_report(result.output) if d.severity == "error"]
    assert result.exit_code == 1, result.output
    assert [(d.code, d.is_in(rel)) for d in found] == [(code, True)], result.output
    return found[0]


@pytest.mark.parametrize(("output", "says"), [
    (".git", "the '.git' folder"), ("data", "the 'data' folder"), ("sql", "the 'sql' folder"),
    ("training", "the 'training' folder"), (".specops", "the '.specops' folder"), (".git/build", "the '.git' folder"),
    ("specs", "the spec folder 'specs'"), (".github", "the workflows folder"), (".", "repository root"),
    ("./data/", "the 'data' folder"),
])
def test_an_output_folder_over_the_users_files_is_refused_at_validate(edit, validate_cli, output, says):
    edit.replace(PROJECT, "output: build", f"output: {output}")
    d = only_error(validate_cli(edit.root), PROJECT)
    assert d.line == edit.line_of(PROJECT, "output:") and says in d.message
    assert "replaces its output folder as a whole" in d.message


def test_an_output_folder_holding_a_file_a_spec_reads_is_refused(edit, validate_cli):
    edit.write("lib/churn_train.py", edit.read("training/churn.py"))
    edit.replace("specs/models/churn.yaml", "entrypoint: training/churn.py", "entrypoint: lib/churn_train.py")
    edit.replace(PROJECT, "output: build", "output: lib")
    d = only_error(validate_cli(edit.root), PROJECT)
    assert "it holds 'lib/churn_train.py', which model.churn reads" in d.message


def test_an_output_folder_of_its_own_is_fine(edit, validate_cli):
    edit.replace(PROJECT, "output: build", "output: generated/platform")
    assert validate_cli(edit.root).exit_code == 0


def test_compile_out_into_git_is_refused(edit, runner):
    from compiler.cli.main import main

    (edit.root / ".git").mkdir()
    (edit.root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    result = runner.invoke(main, ["compile", str(edit.root), "--out", str(edit.root / ".git")])
    assert result.exit_code == 2 and "'.git' folder" in result.output
    assert (edit.root / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"


def test_workflows_inside_git_are_refused(edit, validate_cli):
    edit.replace(PROJECT, "output: build", "output: build\n  workflows_dir: .git/hooks")
    d = only_error(validate_cli(edit.root), PROJECT)
    assert "inside '.git'" in d.message and d.line == edit.line_of(PROJECT, "workflows_dir")


@pytest.mark.parametrize(("uri", "says"), [
    ("sqlite:///../../x.db", "'..' is not allowed"),
    ("sqlite:////tmp/x.db", "absolute path"),
    ("sqlite:///.specops/../../x.db", "'..' is not allowed"),
    ("file:///etc", "absolute file URI"),
    ("file:/etc/mlruns", "absolute paths are not allowed"),
    ("file:../mlruns", "'..' is not allowed"),
    ("sqlite://host/x.db", "sqlite:/// followed by a path"),
    ("sqlite:///", "names no file"),
])
def test_a_local_tracking_uri_outside_the_repository_is_refused(edit, validate_cli, uri, says):
    edit.replace(ENVS, DEV_URI, f"tracking_uri: {uri!r}")
    d = only_error(validate_cli(edit.root), ENVS)
    assert d.line == edit.line_of(ENVS, "tracking_uri") and says in d.message, d.message
    assert "http(s)" in (d.hint or "")


def test_a_tracking_uri_through_a_symlink_leaving_the_repository_is_refused(edit, validate_cli, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    edit.symlink("registry", outside)
    edit.replace(ENVS, DEV_URI, "tracking_uri: sqlite:///registry/mlflow.db")
    d = only_error(validate_cli(edit.root), ENVS)
    assert "symlink that leaves the repository" in d.message


@pytest.mark.parametrize("uri", ["sqlite:///.specops/other.db", "sqlite:///mlflow.db", "file:mlruns",
                                 "file:./.specops/mlruns", "http://localhost:5000", "https://mlflow.example.com",
                                 "databricks://profile"])
def test_local_tracking_uris_inside_the_repository_and_servers_are_fine(edit, validate_cli, uri):
    edit.replace(ENVS, DEV_URI, f"tracking_uri: {uri!r}")
    result = validate_cli(edit.root)
    assert "bad-path" not in result.output, result.output


def test_the_apply_workflow_caches_paths_inside_the_repository_only(churn):
    from compiler.emit.github import apply_workflow

    steps = [s for job in apply_workflow(churn)["jobs"].values() for s in job["steps"]]
    paths = [p for s in steps if "cache" in s.get("uses", "") for p in s["with"]["path"].split()]
    assert paths and all(not p.startswith("/") and ".." not in p.split("/") for p in paths), paths


@pytest.mark.parametrize(("specs", "workflows_dir", "refused"), [
    ("[specs]", "specs", True), ("[specs]", "specs/ci", True), ("[specs, extra]", "extra/ci", True),
    ("[specs]", "ci", False), ("[specs]", "specs/.ci", False), ("[specs]", "specsx", False),
])
def test_workflows_are_never_written_where_specs_are_read(edit, validate_cli, specs, workflows_dir, refused):
    """The next validate would read the workflows compile wrote there as (invalid) specs."""
    edit.replace("specops.yaml", "spec:\n", f"spec:\n  workflows_dir: {workflows_dir}\n")
    edit.replace("specops.yaml", "specs: [specs]", f"specs: {specs}")
    (edit.root / "extra").mkdir()
    result = validate_cli(edit.root)
    if refused:
        d = only_error(result, "specops.yaml")
        assert "workflows_dir" in d.message and "read as specs" in d.message
    else:
        assert "workflows_dir" not in result.output, result.output


def test_a_symlinked_folder_among_the_specs_is_named_not_skipped_silently(edit, validate_cli):
    (edit.root / "more").mkdir()
    edit.symlink("specs/more", edit.root / "more")
    result = validate_cli(edit.root)
    assert result.exit_code == 0, result.output
    assert "specs/more:1:1: warning: folder 'specs/more' is a symlink to 'more'" in result.output


def test_a_sql_file_through_an_absolute_symlink_is_refused_and_a_relative_one_read(edit, validate_cli):
    real = edit.path("sql/real.sql")
    real.write_text(edit.read("sql/customer_activity.sql"), encoding="utf-8")
    edit.symlink("sql/customer_activity.sql", real)  # absolute: another checkout does not have this folder
    d = only_error(validate_cli(edit.root), "specs/transforms/customer_activity.yaml")
    assert d.code == "bad-path" and "symlink to the absolute path" in d.message, d.message
    edit.symlink("sql/customer_activity.sql", Path("real.sql"))
    assert validate_cli(edit.root).exit_code == 0


def test_a_bad_path_shows_the_line_that_names_it_never_what_it_points_to(edit, validate_cli, tmp_path):
    secret = tmp_path / "outside.yaml"
    secret.write_text("password: hunter2\n")
    edit.symlink("specs/outside.yaml", secret)
    edit.replace("specs/transforms/customer_activity.yaml", "sql_file: sql/customer_activity.sql",
                 "sql_file: sql/missing.sql")
    result = validate_cli(edit.root)
    assert result.exit_code == 1
    assert "|   sql_file: sql/missing.sql" in result.output, result.output  # the spec's own line
    assert "hunter2" not in result.output  # a file outside the repository is never read


@pytest.mark.parametrize(("written", "normal"), [
    ("sql/x.sql", "sql/x.sql"), ("./sql/x.sql", "sql/x.sql"), ("sql//x.sql", "sql/x.sql"),
    ("./sql/./x.sql", "sql/x.sql"), ("build/", "build"), ("./", "."), ("reference data/a b.csv", "reference data/a b.csv"),
    # refused whatever their spelling: left as written, for the diagnostic to quote
    ("sql/../x.sql", "sql/../x.sql"), ("/abs//x.sql", "/abs//x.sql"), ("C:/x.sql", "C:/x.sql"),
    (".\\sql\\x.sql", ".\\sql\\x.sql"), (" ./x.sql", " ./x.sql"), ("", ""),
])
def test_a_repository_path_has_one_spelling(written, normal):
    assert normal_repo_path(written) == normal


def test_a_bad_path_written_otherwise_is_quoted_as_written(edit, validate_cli):
    edit.replace("specs/transforms/customer_activity.yaml", "sql_file: sql/customer_activity.sql",
                 "sql_file: ./sql//missing.sql")
    d = only_error(validate_cli(edit.root), "specs/transforms/customer_activity.yaml")
    assert "sql_file './sql//missing.sql': no such file" in d.message, d.message


def test_a_relative_symlink_written_otherwise_is_read_and_an_absolute_one_refused(edit, validate_cli):
    real = edit.path("sql/real.sql")
    real.write_text(edit.read("sql/customer_activity.sql"), encoding="utf-8")
    edit.symlink("sql/customer_activity.sql", Path("real.sql"))
    edit.replace("specs/transforms/customer_activity.yaml", "sql_file: sql/customer_activity.sql",
                 "sql_file: ./sql//customer_activity.sql")
    assert validate_cli(edit.root).exit_code == 0
    edit.symlink("sql/customer_activity.sql", real)
    d = only_error(validate_cli(edit.root), "specs/transforms/customer_activity.yaml")
    assert "symlink to the absolute path" in d.message, d.message
