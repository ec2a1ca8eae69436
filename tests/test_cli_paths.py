"""Where commands find the repository: PATH is positional everywhere (after MODEL for train and drift), and
from a subfolder every command finds specops.yaml in the folders above, as git and dbt do."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from compiler.cli.main import main

# every command that takes the repository's PATH, with arguments that load the repository and then stop at a
# cheap, recognisable point (an unknown environment, lock or model): what it prints proves which root it used
STOPS = {
    "validate": ([], 0, "valid: 19 resources"),
    "graph": ([], 0, "model.churn"),
    "compile": (["--out", "."], 2, "it overlaps the spec folder 'specs'"),
    "verify": (["--only", "specops k8s policy"], 0, "specops k8s policy"),
    "plan": (["--env", "nowhere"], 2, "unknown environment 'nowhere'"),
    "apply": (["--env", "nowhere"], 2, "unknown environment 'nowhere'"),
    "force-unlock": (["no-such-lock"], 1, "no lock has ID no-such-lock"),
    "train": (["churn", "--env", "nowhere"], 2, "unknown environment 'nowhere'"),
    "drift": (["nomodel"], 2, "unknown model 'nomodel'"),
    "promote": (["churn", "1", "--env", "nowhere", "--reason", "a test"], 2, "unknown environment 'nowhere'"),
    "docs": (["--registry", "nowhere"], 2, "unknown environment 'nowhere'"),
    "rollout": (["nodeployment"], 2, "unknown deployment 'nodeployment'"),
    "secrets": (["nowhere"], 2, "unknown environment 'nowhere'"),
    "land": (["nodataset"], 2, "unknown dataset 'nodataset'"),
}


def _takes_path(command: click.Command) -> bool:
    return any(p.name == "path" for p in command.params)


def test_the_table_covers_every_command_taking_a_path():
    assert {name for name, cmd in main.commands.items() if _takes_path(cmd)} == set(STOPS)


@pytest.mark.parametrize("name", sorted(main.commands))
def test_path_is_positional_in_every_command(name):
    command = main.commands[name]
    if not _takes_path(command):
        return
    (path,) = [p for p in command.params if p.name == "path"]
    assert isinstance(path, click.Argument)
    arguments = [p.name for p in command.params if isinstance(p, click.Argument)]
    assert arguments[-1] in ("path", "planfile") and not path.required
    visible = [opt for p in command.params if isinstance(p, click.Option) and not p.hidden for opt in p.opts]
    assert "--path" not in visible


@pytest.mark.parametrize("name", sorted(STOPS))
def test_every_command_finds_the_repository_from_a_subfolder(name, repo, runner, monkeypatch):
    root = repo()
    args, code, expected = STOPS[name]
    monkeypatch.chdir(root / "specs" / "quality")
    result = runner.invoke(main, [name, *args], catch_exceptions=False)
    assert "no specops.yaml" not in result.output
    assert expected in result.output, result.output
    assert result.exit_code == code, result.output
    assert "specops: using the repository at ../.. (specops.yaml found above the current folder)" in result.stderr
    assert "specops: using" not in result.stdout  # data on standard output stays clean


def test_a_path_below_the_repository_works_too(repo, runner, monkeypatch):
    root = repo()
    monkeypatch.chdir(root.parent)
    result = runner.invoke(main, ["validate", f"{root.name}/specs/models"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"specops: using the repository at {root.name} (specops.yaml found above {root.name}/specs/models)" \
        in result.stderr


def test_at_the_root_nothing_is_said(repo, runner, monkeypatch):
    monkeypatch.chdir(repo())
    result = runner.invoke(main, ["validate"], catch_exceptions=False)
    assert result.exit_code == 0 and result.stderr == ""


def test_without_a_repository_above_the_error_says_where_it_looked(tmp_path, runner):
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    result = runner.invoke(main, ["validate", str(folder)], catch_exceptions=False)
    assert result.exit_code == 1
    assert f"no specops.yaml in {folder} or any folder above it" in result.output


# --------------------------------------------------------------------------- train and drift: MODEL [PATH]


@pytest.mark.parametrize("name", ["train", "drift"])
def test_train_and_drift_take_path_after_the_model(name, runner):
    result = runner.invoke(main, [name, "--help"], catch_exceptions=False)
    assert f" {name} [OPTIONS] MODEL [PATH]" in result.output.splitlines()[0]
    assert "--path" not in result.output


@pytest.mark.parametrize("name", ["train", "drift"])
def test_path_given_positionally(name, example_root: Path, runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the repository
    result = runner.invoke(main, [name, "nomodel", str(example_root)], catch_exceptions=False)
    assert result.exit_code == 2
    assert "unknown model 'nomodel'; models: churn" in result.output


@pytest.mark.parametrize("name", ["train", "drift"])
def test_path_option_is_a_deprecated_alias(name, example_root: Path, runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, [name, "nomodel", "--path", str(example_root)], catch_exceptions=False)
    assert result.exit_code == 2 and "unknown model 'nomodel'" in result.output
    assert "--path is deprecated; give the repository as PATH after MODEL" in result.stderr
    both = runner.invoke(main, [name, "nomodel", str(example_root), "--path", str(tmp_path)], catch_exceptions=False)
    assert both.exit_code == 2 and "give the repository once" in both.output
