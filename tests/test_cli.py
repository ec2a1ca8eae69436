"""The command line: help, version, exit codes, `schema` and `init`."""

from __future__ import annotations

import json

import pytest

from compiler import __version__
from compiler.cli.main import main
from compiler.shipped import data_dir
from compiler.spec.kinds import KINDS

SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def invoke(runner, *args: str):
    result = runner.invoke(main, list(args), catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


# --------------------------------------------------------------------------- help and version


@pytest.mark.parametrize("command", sorted(main.commands))
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_has_help(runner, command, flag):
    result = invoke(runner, command, flag)
    assert result.exit_code == 0
    assert result.output.startswith("Usage: ") and f" {command} " in result.output.splitlines()[0]
    assert "Options:" in result.output


def test_main_help_lists_the_front_end_commands(runner):
    result = invoke(runner, "--help")
    assert result.exit_code == 0
    for command in ("validate", "graph", "schema", "init"):
        assert command in result.output


def _commands(group=main, prefix=()):
    """(words, command) of every command, those of groups (`state show`) included."""
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def _help_of(command, option: str) -> str:
    import click

    (found,) = [p for p in command.params if isinstance(p, click.Option) and option in p.opts]
    return " ".join(found.get_help_record(click.Context(command))[1].split())


def test_option_help_says_what_the_option_does_for_that_command():
    with_env = {" ".join(words): _help_of(command, "--env") for words, command in _commands()
                if any("--env" in getattr(p, "opts", ()) for p in command.params)}
    assert {"apply", "train", "drift", "promote", "rollout", "land", "state show", "state pull", "state push",
            "plan"} <= set(with_env)
    for words, text in with_env.items():
        assert ("--against" in text) == (words == "plan"), (words, text)  # only plan has --against
    assert with_env["plan"].endswith("with --against and no --env: every environment).")
    assert with_env["rollout"] == "Environment (default: DEPLOYMENT's own; another one is refused)."
    # apply reads no cache whatever the flag says (docs/state.md); plan's caches are real
    assert _help_of(main.commands["apply"], "--no-cache").startswith("Changes nothing: apply reads no cache")
    assert "Ignore the per-file cache" in _help_of(main.commands["plan"], "--no-cache")


def test_verify_help_and_docs_list_every_validator_verify_runs():
    import re
    from pathlib import Path

    from compiler.output.verify import VALIDATORS

    text = _help_of(main.commands["verify"], "--only")
    for label, binary, _ in VALIDATORS:
        assert label in text and (binary is None or binary in text), label
    doc = (Path(__file__).resolve().parent.parent / "docs" / "verify.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([^|`]+?) \| .* \| .* \|$", doc, re.MULTILINE)
    assert sorted(r for r in rows if r != "validator") == sorted(label for label, _, _ in VALIDATORS)


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(runner, flag):
    result = invoke(runner, flag)
    assert result.exit_code == 0
    assert result.output.strip() == f"specops, version {__version__}"


def test_unknown_command_is_a_usage_error(runner):
    result = invoke(runner, "valdate")
    assert result.exit_code == 2
    assert "validate" in result.output  # click suggests the close command


# --------------------------------------------------------------------------- validate exit codes


def test_validate_valid_repository_exits_0(runner, example_root):
    result = invoke(runner, "validate", str(example_root))
    assert result.exit_code == 0
    assert result.output.startswith("valid: ")
    assert "6 datasets" in result.output and "1 model" in result.output


def test_validate_invalid_repository_exits_1(runner, repo, editor):
    root = repo()
    editor(root).replace("specs/models/churn.yaml", "task: classification", "task: clasification")
    result = invoke(runner, "validate", str(root))
    assert result.exit_code == 1
    assert "[invalid-value]" in result.output
    assert "1 error(s), 0 warning(s) in 1 file(s)" in result.output


def test_validate_folder_without_project_exits_1(runner, tmp_path):
    result = invoke(runner, "validate", str(tmp_path))
    assert result.exit_code == 1
    assert "[no-project]" in result.output and "specops init" in result.output
    assert "1 error(s), 0 warning(s)" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "--format", "xml", "{root}"],
        ["validate", "--bogus", "{root}"],
        ["validate", "{root}", "extra-argument"],
        ["validate", "{root}/does-not-exist"],
        ["graph", "--format", "png", "{root}"],
    ],
    ids=["bad-format", "unknown-option", "extra-argument", "missing-path", "graph-bad-format"],
)
def test_usage_errors_exit_2(runner, example_root, args):
    result = invoke(runner, *[a.replace("{root}", str(example_root)) for a in args])
    assert result.exit_code == 2
    assert "Usage:" in result.output or "Error:" in result.output


def test_validate_defaults_to_the_working_directory(runner, repo, monkeypatch):
    monkeypatch.chdir(repo())  # undone after the test
    result = invoke(runner, "validate")
    assert result.exit_code == 0


def test_validate_shows_relative_paths_under_the_working_directory(runner, repo, editor, monkeypatch):
    root = repo()
    editor(root).replace("specs/models/churn.yaml", "task: classification", "task: clasification")
    monkeypatch.chdir(root)
    result = invoke(runner, "validate", ".")
    assert result.output.startswith("specs/models/churn.yaml:")


def test_an_internal_error_is_one_line_not_a_traceback(runner, example_root, monkeypatch):
    import compiler.front.check

    def boom(root, files=None, sql=None):
        raise RuntimeError("kaboom")

    monkeypatch.delenv("SPECOPS_DEBUG", raising=False)
    monkeypatch.setattr(compiler.front.check, "check_repository", boom)
    result = runner.invoke(main, ["validate", str(example_root)])
    assert result.exit_code == 1
    assert "internal error: RuntimeError: kaboom" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize("kind", list(KINDS))
def test_schema_of_every_kind(runner, kind):
    result = invoke(runner, "schema", kind)
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"] == SCHEMA_DRAFT
    assert schema["properties"]["kind"]["const"] == kind
    assert schema == json.loads((data_dir("schemas") / f"{KINDS[kind]}.schema.json").read_text())


@pytest.mark.parametrize("spelling", ["dataset", "quality_rule", "quality-rule", "qualityrule", "DEPLOYMENT"])
def test_schema_accepts_other_spellings_of_a_kind(runner, spelling):
    result = invoke(runner, "schema", spelling)
    assert result.exit_code == 0
    assert json.loads(result.output)["$schema"] == SCHEMA_DRAFT


def test_schema_all_out_writes_every_schema(runner, tmp_path):
    out = tmp_path / "editor" / "schemas"
    result = invoke(runner, "schema", "--all", "--out", str(out))
    assert result.exit_code == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted([*(f"{stem}.schema.json" for stem in KINDS.values()), "plan.schema.json",
                              "specops.schema.json"])
    for name in written:
        assert (out / name).read_bytes() == (data_dir("schemas") / name).read_bytes()
        assert json.loads((out / name).read_text())["$schema"] == SCHEMA_DRAFT


def test_schema_all_without_out_lists_the_files(runner):
    result = invoke(runner, "schema", "--all")
    assert result.exit_code == 0
    for kind in KINDS:
        assert f"{kind}: " in result.output


def test_schema_kind_out_writes_one_file(runner, tmp_path):
    result = invoke(runner, "schema", "Model", "--out", str(tmp_path))
    assert result.exit_code == 0
    assert json.loads((tmp_path / "model.schema.json").read_text())["title"] == "specops Model"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["schema", "Datset"], "did you mean 'Dataset'"),
        (["schema", "quality_rules"], "did you mean 'quality_rule'"),
        (["schema", "Widget"], "one of Project"),
        (["schema"], "name a kind"),
        (["schema", "Dataset", "--all"], "either KIND or --all"),
    ],
    ids=["typo", "plural", "unknown", "missing", "kind-and-all"],
)
def test_schema_usage_errors_exit_2(runner, args, expected):
    result = invoke(runner, *args)
    assert result.exit_code == 2
    assert expected in result.output


# --------------------------------------------------------------------------- init


def test_init_then_validate(runner, tmp_path):
    target = tmp_path / "new-repo"
    result = invoke(runner, "init", str(target))
    assert result.exit_code == 0
    assert "created" in result.output and "Next:" in result.output
    assert "&& git init && git add -A" in result.output  # plan --against needs a git repository; tmp_path is none
    assert (target / "specops.yaml").is_file() and (target / ".gitignore").is_file()
    assert "name: new_repo" in (target / "specops.yaml").read_text()
    result = invoke(runner, "validate", str(target))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid: ")
    # validate wrote nothing
    assert not (target / "build").exists() and not (target / ".specops").exists()


def test_init_with_a_name(runner, tmp_path):
    result = invoke(runner, "init", str(tmp_path / "x"), "--name", "sales_data")
    assert result.exit_code == 0
    assert "name: sales_data" in (tmp_path / "x" / "specops.yaml").read_text()


def test_init_refuses_a_bad_name(runner, tmp_path):
    result = invoke(runner, "init", str(tmp_path / "x"), "--name", "Sales-Data")
    assert result.exit_code == 1
    assert "not a valid project name" in result.output
    assert not (tmp_path / "x").exists()


def test_init_says_which_name_is_bad(runner, tmp_path):
    result = invoke(runner, "init", str(tmp_path / "x2"), "--name", "Bad Name")
    assert result.exit_code == 1
    assert ("--name 'Bad Name' is not a valid project name: it must be lower snake case, a letter, then letters, "
            "digits or '_' (63 at most) (e.g. --name bad_name)") in result.output
    assert "pass --name" not in result.output  # it was passed
    result = invoke(runner, "init", str(tmp_path / "x3"), "--name", "9")
    assert "--name '9' is not a valid project name" in result.output and "e.g." not in result.output
    result = invoke(runner, "init", str(tmp_path / "9lives"))  # the folder's name: --name is the way out
    assert "'9lives' (from the folder's name) is not a valid project name; pass --name in lower snake case" in \
        result.output
    assert not any((tmp_path / d).exists() for d in ("x2", "x3", "9lives"))


def test_init_refuses_to_overwrite(runner, tmp_path):
    target = tmp_path / "repo"
    assert invoke(runner, "init", str(target)).exit_code == 0
    (target / "specops.yaml").write_text("# mine\n")
    result = invoke(runner, "init", str(target))
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert (target / "specops.yaml").read_text() == "# mine\n"


def test_init_refuses_to_overwrite_any_file(runner, tmp_path):
    target = tmp_path / "repo"
    target.mkdir()
    (target / "README.md").write_text("my readme\n")
    result = invoke(runner, "init", str(target))
    assert result.exit_code == 1
    assert "README.md already exists" in result.output
    assert (target / "README.md").read_text() == "my readme\n"
    assert not (target / "specops.yaml").exists()  # nothing half-written


def test_init_into_a_file_is_refused(runner, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = invoke(runner, "init", str(target))
    assert result.exit_code != 0
    assert "Traceback" not in result.output


@pytest.mark.parametrize("profiled", [False, True])
def test_the_executable_exits_quickly_unless_a_profiler_waits(profiled: bool) -> None:
    """The quick exit skips exit handlers: never while a profiler or tracer waits to write its report."""
    import subprocess
    import sys

    code = ("import atexit, sys; atexit.register(lambda: print('handlers ran'));"
            + ("sys.setprofile(lambda *a: None);" if profiled else "")
            + "sys.argv = ['specops', '--version']; from compiler.cli.entry import run; run()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "specops, version" in done.stdout
    assert ("handlers ran" in done.stdout) is profiled


@pytest.mark.parametrize("args", [["init", ""], ["plan", "--against", ""], ["validate", ""], ["compile", "--out", " "]],
                         ids=["init-dir", "plan-against", "validate-path", "compile-out"])
def test_an_empty_argument_is_a_usage_error_not_the_current_folder(runner, tmp_path, monkeypatch, args):
    """`specops init "$DIR"` with DIR unset scaffolded into the current folder; `--against ""` planned against
    the applied state."""
    from compiler.cli.main import main

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and "(an unset variable?)" in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_apply_with_a_bad_selector_creates_nothing(runner, repo):
    """The usage error comes before the state folder and the environment's lock are made."""
    from compiler.cli.main import main

    root = repo()
    result = runner.invoke(main, ["apply", str(root), "--select", "+", "--yes"])
    assert result.exit_code == 2, result.output
    assert not (root / ".specops").exists()


def test_a_reader_that_goes_away_ends_the_output_quietly():
    """`specops ... | head -1`: no "Error: Broken pipe" and no traceback, and the exit of a program killed by
    SIGPIPE (141), whether the pipe breaks while a command writes or when its output is flushed at exit."""
    import os
    import subprocess
    import sys
    import textwrap

    child = textwrap.dedent("""
        import sys, time
        time.sleep(0.5)  # the reader is gone by now
        from compiler.cli.common import guarded
        from compiler.speed.quickexit import exit_now
        if sys.argv[1] == "write":
            @guarded
            def command():
                raise BrokenPipeError(32, "Broken pipe")
            try:
                command()
            except SystemExit as exc:
                exit_now(exc.code)
            except BaseException as exc:
                exit_now(getattr(exc, "exit_code", 99))
        print("x" * 1000)  # buffered: flushed by exit_now
        exit_now(0)
    """)
    for when in ("write", "flush"):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout block-buffered, as usual
        proc = subprocess.Popen([sys.executable, "-c", child, when], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 141 and "Error" not in err and "Traceback" not in err, (when, err)


def test_ctrl_c_ends_any_command_with_130(example_root, monkeypatch):
    """As a shell reports a program ended by SIGINT (click's default said "Aborted!" and 1, an invalid spec's code)."""
    from click.testing import CliRunner

    import compiler.front.check as check

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(check, "check_repository", interrupted)
    result = CliRunner().invoke(main, ["validate", str(example_root)])
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output and "Aborted" not in result.output
