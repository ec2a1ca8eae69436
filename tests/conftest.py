"""Shared fixtures: a CLI runner, the example repository, and throw-away copies of it to break.

Nothing here changes the working directory or writes into the source tree: every repository a
test edits is a copy under pytest's tmp_path.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from servers import mlflow_server, postgres  # noqa: F401  (session fixtures: real PostgreSQL and MLflow servers)

from compiler.front.check import require_project
from compiler.spec.project import SpecProject

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"
EXAMPLE_ROOT = EXAMPLES / "churn"

# what a copy leaves behind: editor caches and anything a previous run of the example produced
_IGNORE = shutil.ignore_patterns(".ruff_cache", "__pycache__", ".specops", "build", ".pytest_cache")


# --------------------------------------------------------------------------- editing a copy


class RepoEditor:
    """Small, strict helpers to edit one file of a spec repository copy.

    Every edit asserts that it changed something, so a case whose anchor text disappeared from the
    example fails loudly instead of silently testing nothing.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, rel: str) -> Path:
        return self.root / rel

    def read(self, rel: str) -> str:
        return self.path(rel).read_text(encoding="utf-8")

    def write(self, rel: str, content: str | bytes) -> Path:
        target = self.path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return target

    def replace(self, rel: str, old: str, new: str, count: int = 1) -> None:
        """Replace the first `count` occurrences of `old` (which must occur) with `new`."""
        text = self.read(rel)
        assert old in text, f"{old!r} not found in {rel}; the example changed, update the test"
        self.write(rel, text.replace(old, new, count))

    def replace_bytes(self, rel: str, old: bytes, new: bytes) -> None:
        raw = self.path(rel).read_bytes()
        assert old in raw, f"{old!r} not found in {rel}"
        self.path(rel).write_bytes(raw.replace(old, new, 1))

    def append_docs(self, rel: str, *docs: str | dict[str, Any]) -> None:
        """Append YAML documents (text, or data dumped as block YAML), each after a '---'."""
        text = self.read(rel) if self.path(rel).exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        for doc in docs:
            body = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
            if not body.endswith("\n"):
                body += "\n"
            text += "---\n" + body
        self.write(rel, text)

    def delete(self, rel: str) -> None:
        self.path(rel).unlink()

    def symlink(self, rel: str, target: Path) -> None:
        """Make `rel` a symlink to `target` (replacing any file there)."""
        link = self.path(rel)
        if link.exists() or link.is_symlink():
            link.unlink()
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)

    def line_of(self, rel: str, needle: str, nth: int = 1) -> int:
        """1-based line of the `nth` line containing `needle` (nth=-1: the last such line).

        The file is decoded leniently, so this also works on a file made non-UTF-8 on purpose.
        """
        text = self.path(rel).read_bytes().decode("utf-8", "replace")
        hits = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
        try:
            return hits[nth - 1 if nth > 0 else nth]
        except IndexError:
            raise AssertionError(f"{needle!r} (occurrence {nth}) not found in {rel}") from None


def copy_repository(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, symlinks=True, ignore=_IGNORE)
    return dest


# --------------------------------------------------------------------------- reading reports

_HEADER = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning): (?P<message>.*) \[(?P<code>[a-z0-9-]+)\]$"
)
_NO_FILE_HEADER = re.compile(r"^(?P<path>.+?): (?P<severity>error|warning): (?P<message>.*) \[(?P<code>[a-z0-9-]+)\]$")


@dataclass
class Reported:
    """One diagnostic as printed by `specops validate` (text format)."""

    path: str
    line: int
    col: int
    severity: str
    message: str
    code: str
    hint: str | None = None

    def is_in(self, rel: str) -> bool:
        return self.path.replace("\\", "/").endswith(rel)


SPECOPS_CLI = ("-c", "from compiler.cli.entry import run; run()")  # `python -c ...` + args runs the CLI


def as_ordinary_user(command: list[str], *capabilities: str) -> list[str]:
    """`command` run without the capabilities that let root read and write any file (as an ordinary owner runs it:
    a chmod then bites); skips the test as root when setpriv (util-linux) is not there to drop them."""
    import os

    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        pytest.skip("root reads and writes any file, and setpriv (util-linux) is not there to drop that")
    drop = ",".join(f"-{c}" for c in capabilities)
    return ["setpriv", f"--bounding-set={drop}", f"--inh-caps={drop}", *command]


def parse_text_report(output: str) -> list[Reported]:
    """Split the text report into diagnostics (header line, optional snippet, optional hint)."""
    found: list[Reported] = []
    for line in output.splitlines():
        m = _HEADER.match(line)
        if m:
            found.append(Reported(m["path"], int(m["line"]), int(m["col"]), m["severity"], m["message"], m["code"]))
            continue
        m = _NO_FILE_HEADER.match(line)
        if m and not line.startswith(" "):
            found.append(Reported(m["path"], 0, 0, m["severity"], m["message"], m["code"]))
            continue
        if line.startswith("  hint: ") and found:
            found[-1].hint = line[len("  hint: "):]
    return found


THIRDPARTY = Path(__file__).resolve().parent / "thirdparty"


def thirdparty(rel: str) -> bytes:
    """A third-party file the tests validate against (tests/thirdparty: schemas, CRDs), gunzipped when it is
    kept compressed (`crds/x.yaml` reads `crds/x.yaml.gz`)."""
    import gzip

    path = THIRDPARTY / rel
    if path.exists():
        return path.read_bytes()
    return gzip.decompress(path.with_name(path.name + ".gz").read_bytes())


def checked(root: Path, use_cache: bool = False) -> tuple[SpecProject | None, list]:
    """What the CLI's front end gives: the checked project (digests known) and the diagnostics, with or
    without the user's cache (compiler.speed)."""
    from compiler.front.check import check_repository
    from compiler.speed import Speed

    speed = Speed.for_run(use_cache)
    project, diags = check_repository(root, speed.files)
    return (speed.with_digests(project) if project is not None else None), diags


def served_dev(project: SpecProject) -> SpecProject:
    """examples/churn with its dev environment on servers (a PostgreSQL warehouse, an MLflow server), as a team with a
    dev cluster has it: dev's deployment and scheduled jobs are then emitted as manifests (compiler.spec.placement),
    which the example's laptop dev leaves out."""
    import dataclasses

    from compiler.spec.ir import Warehouse

    settings = (("database", "analytics"), ("host", "warehouse-dev.internal"), ("port", 5432),
                ("schema", "analytics"), ("user", "specops"))
    dev = dataclasses.replace(project.environments["dev"], warehouse=Warehouse("postgres", settings),
                              tracking_uri="http://mlflow.ml-dev.svc:5000")
    return dataclasses.replace(project, environments={**project.environments, "dev": dev})


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """specops' caches and their key in this test session's folder, never the user's."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("SPECOPS_CACHE_DIR", str(base / "specops-cache"))
    monkeypatch.setenv("SPECOPS_KEY_FILE", str(base / "specops-key" / "cache.key"))
    return base / "specops-cache"


@pytest.fixture(scope="session")
def applied_churn(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """examples/churn as a git repository applied once to dev for real (dbt, MLflow, scikit-learn), shared by the
    apply tests of this test process (apply_support.py). Read it; tests that change something copy it first."""
    from apply_support import make_applied

    return make_applied(tmp_path_factory.mktemp("applied") / "churn")


@pytest.fixture
def runner() -> CliRunner:
    """A click test runner (stdout and stderr both land in result.output)."""
    return CliRunner()


@pytest.fixture(scope="session")
def example_root() -> Path:
    """The pristine examples/churn repository. Read it; never write into it."""
    return EXAMPLE_ROOT


@pytest.fixture(scope="session")
def churn() -> SpecProject:
    """examples/churn, loaded and checked once (a SpecProject is immutable: share it)."""
    return require_project(EXAMPLE_ROOT)


@pytest.fixture
def repo(tmp_path: Path) -> Callable[..., Path]:
    """Factory: `repo()` copies examples/churn into tmp_path and returns the copy's root.

    `repo("init")` returns a fresh `specops init` scaffold instead, `repo(some_path)` copies that
    folder. Each call makes a new, independent copy.
    """
    counter = iter(range(1_000_000))

    def make(source: str | Path = "churn") -> Path:
        dest = tmp_path / f"repo{next(counter)}"
        if source == "init":
            from compiler.cli.scaffold import scaffold

            dest.mkdir()
            scaffold(dest, "scaffolded")
            return dest
        src = EXAMPLES / source if isinstance(source, str) else Path(source)
        return copy_repository(src, dest)

    return make


@pytest.fixture
def editor() -> Callable[[Path], RepoEditor]:
    """Factory: `editor(root)` gives the edit helpers (replace, append_docs, symlink, line_of...)."""
    return RepoEditor


@pytest.fixture
def edit(repo: Callable[..., Path]) -> Iterator[RepoEditor]:
    """A RepoEditor on a fresh copy of examples/churn (the common case, in one fixture)."""
    yield RepoEditor(repo())


@pytest.fixture
def validate_cli(runner: CliRunner) -> Callable[..., Any]:
    """Run `specops validate ROOT [args...]` in-process and return the click Result."""
    from compiler.cli.main import main

    def run(root: Path, *args: str) -> Any:
        return runner.invoke(main, ["validate", str(root), *args], catch_exceptions=False)

    return run


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the forks, so that a test of the parallel path fails if everything ran in one process.

    pytest-xdist's workers run an idle thread of their own (execnet's): compiler.speed.parallel is told there
    is none, so that it forks here as it does in the single-threaded CLI.
    """
    import os

    import compiler.speed.parallel as parallel_module

    made: list[int] = []
    real = os.fork

    def counting() -> int:
        pid = real()
        if pid:
            made.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counting)
    monkeypatch.setattr(parallel_module, "_other_threads", lambda: False)
    return made
