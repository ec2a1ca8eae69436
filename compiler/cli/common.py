"""What every command shares: exit codes, errors without tracebacks, options, and loading the project."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from compiler.apply.mlflowerror import from_mlflow
from compiler.spec.diagnostics import Diagnostic, SpecError, UserError

if TYPE_CHECKING:
    from compiler.emit.compile import Compiled
    from compiler.spec.project import SpecProject
    from compiler.speed import Speed

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class SpecopsError(click.ClickException):
    """A domain error: shown without a traceback, exit code 1."""

    exit_code = EXIT_INVALID


class ReportedFailure(click.exceptions.Exit):
    """The failure was already printed; exit with the code."""


class _NotEmpty(click.ParamType):
    """A value the user gave: an empty one (an unset variable) is refused, never read as a default."""

    empty = "it is empty"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail(f"{self.empty} (an unset variable?)", param, ctx)
        return super().convert(value, param, ctx)


class Given(_NotEmpty, click.Path):
    """A path the user gave (an empty one is not the current folder)."""

    empty = "an empty path"


class GivenText(_NotEmpty, click.types.StringParamType):
    """Text the user gave (an empty `--against` is not the applied state)."""

    name = "text"


path_argument = click.argument(
    "path", required=False, default=".", type=Given(file_okay=False, path_type=Path),
)
_select = click.option(
    "--select", "-s", "select", multiple=True,
    help="dbt-style selector: name (wildcards * ?), +name, name+, 2+name, name+1, @name, kind:model, tag:x, "
    "owner:@team, path:...; 'a b' (union), a,b (intersection); repeatable (a union). A transform and its output "
    "dataset are one dbt model: selecting either selects both (docs/selection.md).",
)
_exclude = click.option(
    "--exclude", "exclude", multiple=True,
    help="Leave out what these selectors select (the --select syntax), after --select; repeatable.",
)


def select_option(func: F) -> F:
    """--select and --exclude, which go together."""
    return _select(_exclude(func))


def guarded(func: F) -> F:
    """Turn unexpected exceptions into a one-line message (set SPECOPS_DEBUG=1 for the traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:  # Ctrl-C: 128 + SIGINT, as a shell reports it (click says "Aborted!" and 1)
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(128 + 2) from None
        except SpecError as exc:
            print_diagnostics(Path("."), exc.diagnostics, "text")
            raise ReportedFailure(EXIT_INVALID) from None
        except UserError as exc:
            raise SpecopsError(str(exc)) from None
        except BrokenPipeError:  # `specops ... | head`: the reader has gone; end as a program killed by SIGPIPE does
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)  # no "Broken pipe" error when Python flushes stdout at exit
            raise click.exceptions.Exit(128 + 13) from None
        except OSError as exc:  # a path the user gave that cannot be written or read
            where = f" ({exc.filename})" if exc.filename else ""
            raise SpecopsError(f"{exc.strerror or exc}{where}") from None
        except Exception as exc:
            if os.environ.get("SPECOPS_DEBUG"):
                raise
            if from_mlflow(exc):  # outside a step (a registry read before any work): the server, not specops
                raise SpecopsError(f"MLflow: {' '.join(str(exc).split())[:400]}") from None
            raise SpecopsError(f"internal error: {type(exc).__name__}: {exc} "
                               "(set SPECOPS_DEBUG=1 to see the traceback, and please report it)") from None

    return wrapper  # type: ignore[return-value]


def print_diagnostics(root: Path, diags: list[Diagnostic], fmt: str, summary: str | None = None,
                       err: bool = False) -> None:
    from compiler.cli.report import RENDERERS

    click.echo(RENDERERS[fmt](root, diags, summary), nl=False, err=err)


def repo_root(path: Path) -> Path:
    """The repository PATH is in: PATH itself or the closest folder above it holding specops.yaml (as git and
    dbt find theirs). When that is not PATH, a note on standard error says which folder it is."""
    from compiler.front.discover import PROJECT_FILE, find_root
    from compiler.paths import shown

    if not path.exists():
        raise click.BadParameter(f"'{path}' does not exist", param_hint="PATH")
    given = path.resolve()
    found = find_root(given)
    if found is None:
        return given  # loading reports that there is no specops.yaml
    if found != given:
        below = "the current folder" if given == Path.cwd().resolve() else shown(given)
        where = os.path.relpath(found) if found in Path.cwd().resolve().parents else shown(found)  # ../.. from below
        click.echo(f"specops: using the repository at {where} ({PROJECT_FILE} found above {below})", err=True)
    return found


def compile_all(project: SpecProject, speed: Speed | None = None) -> Compiled:
    """Every generated file of the project (compile, verify), with the time savers of `speed`."""
    from compiler.emit.compile import compile_project
    from compiler.speed import Speed

    speed = speed or Speed.for_run(use_cache=False)
    return compile_project(speed.with_digests(project), speed.emit)


def load_project(path: Path, fmt: str = "text", speed: Speed | None = None, to_stderr: bool = False):
    """The checked project; on errors, print them all and exit 1.

    `speed` (compiler.speed) does the per-file work; without, no cache is used. Commands whose standard
    output is data (plan --format json, graph -f json) pass `to_stderr`, so that warnings and errors never
    corrupt it.
    """
    from compiler.front.check import check_repository
    from compiler.speed import Speed

    root = repo_root(path)
    speed = speed or Speed.for_run(use_cache=False)
    project, diags = check_repository(root, speed.files, speed.sql)
    if project is None:
        print_diagnostics(root, diags, fmt, err=to_stderr)
        raise ReportedFailure(EXIT_INVALID)
    if diags and fmt == "text":
        print_diagnostics(root, diags, fmt, summary="", err=to_stderr)
    return project


class LateHelpOption(click.Option):
    """An option whose help text is made when help is shown, from a table the command imports late (so that
    the text and the code read the same table, and `specops --version` imports none of it)."""

    def __init__(self, *args: Any, late_help: Callable[[], str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.late_help = late_help

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = self.late_help()
        return super().get_help_record(ctx)


env_option = click.option("--env", "-e", "env", help="Environment (default: the Project's default_environment).")
no_cache_option = click.option("--no-cache", is_flag=True,
                               help="Ignore the per-file cache in ~/.cache/specops (same results, only slower).")


def environment(project, env: str | None) -> str:
    from compiler.spec.diagnostics import did_you_mean

    if env is not None and not env.strip():
        raise click.BadParameter("an environment name may not be empty", param_hint="--env")
    name = env or project.default_environment
    if name is None:
        raise SpecopsError("the repository defines no Environment")
    if name not in project.environments:
        hint = did_you_mean(name, project.environments) or f"environments: {', '.join(project.environments)}"
        raise click.BadParameter(f"unknown environment '{name}'; {hint}", param_hint="--env")
    return name


def selection(project, select: tuple[str, ...], exclude: tuple[str, ...] = ()) -> set[str] | None:
    """The addresses --select picks (everything without it) less those --exclude picks; None for everything."""
    from compiler.spec.selection import SelectionError
    from compiler.spec.selection import select as run_select

    if not select and not exclude:
        return None

    def run(given: tuple[str, ...], hint: str) -> set[str]:
        try:
            return run_select(project, given or None)
        except SelectionError as exc:
            raise click.BadParameter(str(exc), param_hint=hint) from None

    chosen = run(select, "--select") - (run(exclude, "--exclude") if exclude else set())
    if not chosen:  # a plan of nothing must never be mistaken for a plan of everything
        said = " ".join(select) or "everything"
        raise click.BadParameter(f"{said!r} less {' '.join(exclude)!r} selects no resource", param_hint="--exclude")
    return chosen
