"""What every executor needs: where things are, and how to report progress."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compiler.apply.mlflowerror import from_mlflow, mlflow_problem
from compiler.apply.scrub import scrubber
from compiler.spec.ir import Environment
from compiler.spec.project import SpecProject

if TYPE_CHECKING:
    from compiler.apply.state import State
    from compiler.apply.statebackend import StateBackend

Echo = Callable[[str], None]


class StepFailed(Exception):
    """A step failed; the message says why. Work downstream of it is skipped."""


@dataclass
class RunContext:
    project: SpecProject
    env: Environment
    out_dir: Path
    echo: Echo
    git_sha: str | None = None
    store: StateBackend | None = None  # where the environment's state is kept (None: the local files)
    lineage: Any = None  # compiler.apply.lineage.Sink of this run: OpenLineage events (None: none sent)
    # the data values of PII and restricted datasets taken out of a text (compiler.apply.scrub): everything this
    # run prints goes through it, and so do its failures (printed, recorded, sent in lineage events)
    scrub: Callable[[str], str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.scrub = scrubber(self.project)
        shown, scrub = self.echo, self.scrub
        self.echo = lambda line: shown(scrub(line))

    @property
    def root(self) -> Path:
        return self.project.root

    def tracking(self) -> str:
        """The environment's MLflow tracking URI, with MLflow set up for it: the server's bearer token from the
        variable `mlflow.token_env` names (as MLFLOW_TRACKING_TOKEN, which the MLflow client sends), and an
        embedded store's artifact locations moved into this repository if it was copied or moved."""
        import os

        uri = tracking_uri(self.root, self.env.tracking_uri)
        if self.env.token_env and self.env.remote_tracking:
            token = os.environ.get(self.env.token_env)
            if token is None:
                raise StepFailed(f"environment '{self.env.name}' reads the MLflow token from the environment variable "
                                 f"{self.env.token_env}, which is not set")
            os.environ["MLFLOW_TRACKING_TOKEN"] = token  # MLflow reads its credentials from the process environment
        local = self.env.tracking_uri
        if local.startswith("sqlite:///") and not local.startswith("sqlite:////"):
            from compiler.apply.mlflowstore import relocate

            moved = relocate(self.root, Path(uri[len("sqlite:///"):]))
            if moved:
                self.echo(f"   MLflow artifact locations moved into this repository (from {', '.join(moved)})")
        return uri

    def save_state(self, state: State) -> None:
        """Write the state to the environment's backend."""
        if self.store is None:
            from compiler.apply.state import save_state

            save_state(self.root, state)
        else:
            self.store.save(state)

    def local_path(self, rel: str) -> Path:
        return self.root / rel

    def still_locked(self) -> None:
        """Raise StateError when the run lost the environment's lock (compiler.apply.statebackend: `held`)."""
        if self.store is not None:
            self.store.held(self.env.name)

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Print a line per step, with its timing and outcome; a run that lost its lock starts none."""
        self.still_locked()
        self.echo(f"-> {label}")
        start = time.monotonic()
        try:
            yield
        except StepFailed as exc:
            self.echo(f"   FAILED after {time.monotonic() - start:.1f}s: {exc}")
            if (said := self.scrub(str(exc))) != str(exc):
                raise StepFailed(said) from None
            raise
        except Exception as exc:
            if not from_mlflow(exc):
                raise
            failed = StepFailed(mlflow_problem(exc, self.env.name, self.env.tracking_uri, self.env.token_env))
            self.echo(f"   FAILED after {time.monotonic() - start:.1f}s: {failed}")
            raise failed from None
        self.echo(f"   ok ({time.monotonic() - start:.1f}s)")


def tracking_uri(ctx_root: Path, uri: str) -> str:
    """SQLite and file URIs relative to the repository root, wherever specops runs."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return "sqlite:///" + str((ctx_root / uri[len("sqlite:///"):]).resolve())
    if uri.startswith("file:") or "://" not in uri:
        path = uri[len("file:"):] if uri.startswith("file:") else uri
        return (ctx_root / path).resolve().as_uri()
    return uri
