"""Every command example in the `--help` texts, README.md and docs/*.md works: it is run, as written, by bash in
a fresh copy of examples/churn (in the order of its page, so that `cd build/dbt && dbt build` follows the
`specops compile` before it). A synopsis such as `specops plan [PATH] [--env ENV] [--format text|json]`
cannot run: its command, options, choices and arguments must be the real ones.

An example is a line of a code block (a fenced block, or an indented one in Markdown; a `\\b` block in a help
text) that starts with `specops `, `dbt `, `make `, or `cd DIR && ` followed by one of these.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from conftest import EXAMPLE_ROOT, copy_repository

from compiler.cli.main import main

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
STARTS = ("specops ", "dbt ", "make ")
PLACEHOLDER = re.compile(r"\[|\]|\.\.\.|\||(?<![\w-])[A-Z][A-Z_]{2,}(?![\w-])")
SLOW = re.compile(r"(^|&& )(dbt |specops (apply|train|drift)\b)")


@dataclass(frozen=True)
class Example:
    source: str  # README.md, docs/x.md, `specops plan --help`
    line: str

    @property
    def synopsis(self) -> bool:
        return bool(PLACEHOLDER.search(self.line))


def _command_of(line: str) -> str | None:
    line = line.strip()
    if line.startswith("$ "):
        line = line[2:]
    line = re.split(r"\s+#\s", line, maxsplit=1)[0].strip()  # a trailing comment
    rest = re.sub(r"^cd \S+ && ", "", line)
    return line if rest.startswith(STARTS) else None


def _markdown_examples(path: Path) -> list[Example]:
    found, fenced = [], False
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("```"):
            fenced = not fenced
            continue
        if fenced or raw.startswith("    "):  # list items here continue with two spaces, code with four
            command = _command_of(raw)
            if command:
                source = path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else str(path)
                found.append(Example(source, command))
    return found


def _help_texts() -> dict[str, str]:
    # contexts made as the CLI makes them (make_context applies context_settings such as -h: click caches
    # each command's help option from the first context it sees)
    parent = main.make_context("specops", ["--help"], resilient_parsing=True)
    texts = {"specops --help": main.get_help(parent)}
    for name, command in sorted(main.commands.items()):
        ctx = command.make_context(name, ["--help"], parent=parent, resilient_parsing=True)
        texts[f"specops {name} --help"] = command.get_help(ctx)
    return texts


def _help_examples() -> list[Example]:
    found = []
    for source, text in _help_texts().items():
        for raw in text.splitlines():
            part = re.split(r"\s{2,}", raw.strip())[0]  # "specops validate      what it does"
            command = _command_of(part) if raw.startswith("    ") else None
            if command:
                found.append(Example(source, command))
    return found


def all_examples() -> list[Example]:
    return [*_help_examples(), *(e for page in PAGES for e in _markdown_examples(page))]


def _sources() -> dict[str, list[Example]]:
    groups: dict[str, list[Example]] = {}
    for e in all_examples():
        if not e.synopsis:
            groups.setdefault(e.source, []).append(e)
    return groups


def _params(source: str) -> list:
    marks = [pytest.mark.slow] if any(SLOW.search(e.line) for e in _sources()[source]) else []
    return pytest.param(source, marks=marks, id=source)


# --------------------------------------------------------------------------- what is found


def test_the_examples_are_found():
    examples = all_examples()
    by_source = {e.source for e in examples}
    assert {"specops --help", "specops schema --help", "README.md", "docs/repository.md", "docs/verify.md",
            "docs/editors.md"} <= by_source, by_source
    assert "specops graph -s +model.churn" in {e.line for e in examples}
    assert "cd build/dbt && dbt build --profiles-dir ." in {e.line for e in examples}
    assert sum(e.synopsis for e in examples) >= 10  # README's command list


# --------------------------------------------------------------------------- runnable examples


def _environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "SPECOPS_ROOT", "GITHUB_"))}
    env.update({"PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "DO_NOT_TRACK": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "HOME": str(tmp / "home")})
    return env


@pytest.mark.skipif(not (VENV_BIN / "specops").exists(), reason="specops is not installed beside this Python")
@pytest.mark.parametrize("source", [_params(s) for s in sorted(_sources())])
def test_every_example_runs(source: str, tmp_path: Path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    env = _environment(tmp_path)
    _as_a_clone(root, env)
    for example in _sources()[source]:
        if example.line.startswith("make "):
            target = example.line.split()[1]
            makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
            assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"{source}: no make target '{target}'"
            continue  # CI runs `make demo` and `make test` themselves (.ci/run)
        proc = subprocess.run(["bash", "-c", example.line], cwd=root, env=env, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, f"{source}: `{example.line}` exited {proc.returncode}:\n" \
                                     f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        assert "Traceback" not in proc.stdout + proc.stderr


def _as_a_clone(root: Path, env: dict[str, str]) -> None:
    """The copy as a pull request's checkout sees it: a git repository whose origin/main is its HEAD."""
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base"],
                 ["update-ref", "refs/remotes/origin/main", "HEAD"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


# --------------------------------------------------------------------------- synopses


def _option(command: click.Command, name: str) -> click.Option | None:
    for p in command.params:
        if isinstance(p, click.Option) and name in p.opts + p.secondary_opts:
            return p
    return None


@pytest.mark.parametrize("example", [e for e in all_examples() if e.synopsis],
                         ids=lambda e: f"{e.source}: {e.line}")
def test_every_synopsis_names_real_commands_options_and_arguments(example: Example):
    tokens = example.line.replace("[", " ").replace("]", " ").split()
    assert tokens[0] == "specops", example
    command = main.commands.get(tokens[1])
    assert command is not None, f"no command '{tokens[1]}'"
    i = 2
    if isinstance(command, click.Group):  # `specops state show|pull ...`: every subcommand named takes it all
        subcommands = [command.commands.get(name) for name in tokens[2].split("|")]
        assert None not in subcommands, f"`specops {tokens[1]}` has no subcommand among {tokens[2]}"
        for sub in subcommands:
            _check_synopsis(sub, tokens, 3)
        return
    _check_synopsis(command, tokens, i)


def _check_synopsis(command: click.Command, tokens: list[str], i: int) -> None:
    arguments = {p.human_readable_name.upper() for p in command.params if isinstance(p, click.Argument)}
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("-"):
            option = _option(command, token)
            assert option is not None and not option.hidden, f"`specops {tokens[1]}` has no option {token}"
            if not option.is_flag:
                value = tokens[i + 1]
                if isinstance(option.type, click.Choice):
                    assert value.split("|") == list(option.type.choices), (token, value, option.type.choices)
                i += 1
        elif token not in ("|", "...") and token.isupper():
            assert token in arguments, f"`specops {tokens[1]}` has no argument {token} (it has {sorted(arguments)})"
        i += 1


@pytest.mark.parametrize("name", sorted(main.commands))
def test_the_readme_lists_every_command(name):
    synopses = {e.line.split()[1] for e in _markdown_examples(REPO_ROOT / "README.md") if e.line.startswith("specops ")}
    assert name in synopses
