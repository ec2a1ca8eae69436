"""Per-environment state (`.specops/state/<env>.json`) and the lock that guards it.

State records what the last apply did: a lineage (fixed at creation), a serial (bumped on every
apply that changed something), and for each resource the snapshot that was applied, plus artifact
digests and registered model versions. It is written atomically after each successful step, so an
interrupted apply is finished by the next one.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from compiler.apply.shapes import diagnostics, state_problems
from compiler.output.atomic import atomic_write
from compiler.output.scratch import pid_alive, scratch_prefix, sweep
from compiler.paths import shown
from compiler.spec.diagnostics import Diagnostic, SpecError, UserError

STATE_VERSION = "1.0"


def state_dir(root: Path) -> Path:
    return root / ".specops"


@dataclass
class State:
    environment: str
    project: str = ""  # the Project's name (specops.yaml); "" in files written before it was recorded
    lineage: str = ""
    serial: int = 0
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # address -> snapshot
    artifacts: dict[str, str] = field(default_factory=dict)  # artifact key -> sha256
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # model name -> version info
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # address -> impact not yet done
    tool_version: str = ""
    # sha256 of the state file as it was read (load_state); "" for a state that has no file
    source_digest: str = field(default="", compare=False)

    def resource_digests(self) -> dict[str, str]:
        """address -> compiler.spec.snapshot.snapshot_digest of its snapshot (what a plan compares with the specs').

        Always computed from the snapshots, never read from the file: a hand-edited snapshot must show.
        (A plan keeps them in its cache, keyed by the state file's bytes: compiler.plan.baseline.)
        """
        from compiler.spec.snapshot import snapshot_digest

        return {a: snapshot_digest(s) for a, s in self.resources.items()}

    @property
    def empty(self) -> bool:
        return not self.lineage

    def digest(self) -> str:
        text = json.dumps(self.to_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": STATE_VERSION,
            "project": self.project,
            "environment": self.environment,
            "lineage": self.lineage,
            "serial": self.serial,
            "tool_version": self.tool_version,
            "resources": dict(sorted(self.resources.items())),
            "artifacts": dict(sorted(self.artifacts.items())),
            "models": dict(sorted(self.models.items())),
            "pending": dict(sorted(self.pending.items())),
        }



class StateError(UserError):
    pass


def state_path(root: Path, env: str) -> Path:
    return state_dir(root) / "state" / f"{env}.json"


def load_state(root: Path, env: str, project: str | None = None) -> State:
    """The environment's state; with `project`, a state file of another project is refused."""
    return parse_state(read_state_bytes(root, env), root, env, project)


def read_state_bytes(root: Path, env: str) -> bytes | None:
    """The state file's bytes, or None when the environment has none yet."""
    path = state_path(root, env)
    if not path.exists():
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StateError(f"cannot read state {path}: {exc}") from None


_HINT = ("the state file is written by `specops apply` and should not be edited by hand; restore it from a "
         "backup, or remove it to start the environment afresh (everything is then planned as new)")


def parse_state(raw: bytes | None, root: Path, env: str, project: str | None = None,
                source: str | None = None, pushed: bool = False) -> State:
    """The State those bytes hold (None: a fresh state); `source` names where they come from in errors (by
    default the environment's state file under `root`); `pushed`: a file given to `state push`, whose errors
    say what to do with that file rather than with the environment's state.

    The file must have the shape `save_state` writes (every problem is reported with its line) and belong
    to environment `env` (and, given, to `project`): a state copied from another environment or project
    would make apply skip work that environment never had done.
    """
    if raw is None:
        return State(environment=env, project=project or "")
    shown_path = source or shown(state_path(root, env))
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise StateError(f"cannot read state {shown_path}: it is not UTF-8 text ({exc.reason} at byte "
                         f"{exc.start})") from None
    except json.JSONDecodeError as exc:
        raise SpecError([Diagnostic(code="bad-state", message=f"the state file is not valid JSON: {exc.msg}",
                                    file=shown_path, line=exc.lineno, col=exc.colno, hint=_HINT)]) from None
    if isinstance(data, dict) and str(data.get("format_version", "")).split(".")[0] != STATE_VERSION.split(".")[0]:
        raise StateError(f"state {shown_path} has format {data.get('format_version')}, expected {STATE_VERSION} "
                         f"(written by another version of specops?)")
    problems = state_problems(data)
    if problems:
        raise SpecError(diagnostics(shown_path, text, problems, "bad-state", _HINT))
    check_identity(shown_path, data["environment"], data.get("project", ""), data["lineage"], env, project, pushed)
    return State(
        environment=env, project=data.get("project", "") or (project or ""), lineage=data["lineage"],
        serial=data["serial"], resources=data.get("resources", {}), artifacts=data.get("artifacts", {}),
        models=data.get("models", {}), pending=data.get("pending", {}), tool_version=data.get("tool_version", ""),
        source_digest=hashlib.sha256(raw).hexdigest(),
    )


def check_identity(file: str, found_env: str, found_project: str, lineage: str, env: str,
                   project: str | None, pushed: bool = False) -> None:
    """Refuse a state that belongs to another environment or project (a copied file; `pushed`: a file given to
    `state push`, whose error says where that file belongs rather than how to start afresh)."""
    if found_env != env and pushed:
        raise StateError(f"{file} is the state of environment '{found_env}', not '{env}': push it with "
                         f"--env {found_env}, or push the state of '{env}'")
    if found_env != env:
        raise StateError(
            f"state {file} belongs to environment '{found_env}' (lineage {lineage or '-'}), not '{env}': it was "
            f"copied or renamed. Each environment has its own warehouse, registry and state, so '{env}' cannot "
            f"start from the state of '{found_env}'. Remove {file} to start '{env}' afresh (its first apply builds "
            f"everything), or put back the file of '{env}'.")
    if project and found_project and found_project != project and pushed:
        raise StateError(f"{file} is the state of project '{found_project}', not '{project}' (specops.yaml): "
                         f"it comes from another repository, or from before the Project was renamed (then change "
                         f"\"project\" in {file} to \"{project}\")")
    if project and found_project and found_project != project:
        raise StateError(
            f"state {file} belongs to project '{found_project}' (lineage {lineage or '-'}), not '{project}' "
            f"(specops.yaml): it was copied from another repository, or the Project was renamed. Remove {file} "
            f"to start '{env}' afresh, or put back this project's state; if you renamed the Project, change "
            f"\"project\" in {file} to \"{project}\".")


def save_state(root: Path, state: State) -> None:
    """Atomically replace the state file, unless someone else changed it since it was read or last saved.

    The file is that of `state.environment`, which load_state set to the environment asked for (never the
    one a file claims). The compare-and-swap catches a state file replaced behind the lock's back (a restore
    from a backup or cache, a copy): that run's work would otherwise be silently lost.
    """
    path = state_path(root, state.environment)
    current = read_state_bytes(root, state.environment)
    found = hashlib.sha256(current).hexdigest() if current is not None else ""
    if found != state.source_digest:
        raise StateError(f"state {shown(path)} was changed by someone else while this run held the lock "
                         f"(it is not the file this run read or last wrote); nothing was overwritten. Check who "
                         f"wrote it, then run again.")
    if not state.lineage:
        state.lineage = str(uuid.uuid4())
    content = (json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n").encode()
    atomic_write(path, content)
    state.source_digest = hashlib.sha256(content).hexdigest()  # what load_state would now say


# --- locking ------------------------------------------------------------------------------------


class LockHeld(Exception):
    """The environment's lock is taken: `info` is what its file says (empty when it says nothing usable, and
    then `problem` says what the file holds instead)."""

    def __init__(self, info: dict[str, Any], path: Path, problem: str | None = None):
        super().__init__(info)
        self.info = info
        self.path = path
        self.problem = problem

    @property
    def holder_gone(self) -> bool:
        """Whether the holder was a process on this machine that is no longer running."""
        pid, host = self.info.get("pid"), self.info.get("host")
        return type(pid) is int and host == socket.gethostname() and not pid_alive(pid)


def lock_path(root: Path, env: str) -> Path:
    return state_dir(root) / "locks" / f"{env}.lock"


@dataclass
class Lock:
    root: Path
    env: str
    info: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> Lock:
        path = lock_path(self.root, self.env)
        try:
            return self._take(path)
        except OSError as exc:  # a read-only or full .specops: say what was being done
            raise StateError(f"cannot take the lock of environment '{self.env}' ({shown(path)}): "
                             f"{exc.strerror or exc}") from None

    def _take(self, path: Path) -> Lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep(path.parent, ".lock-")
        self.info = {
            "id": str(uuid.uuid4()),
            "operation": "apply",
            "who": f"{_user()}@{socket.gethostname()}",
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "environment": self.env,
        }
        # write the holder's details first, then link the file into place: the lock never exists empty
        fd, tmp = tempfile.mkstemp(prefix=scratch_prefix(".lock-"), dir=path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(self.info, handle, indent=2)
            os.chmod(tmp, 0o644)
            try:
                os.link(tmp, path)
            except FileExistsError:
                info, problem = inspect_lock(path)
                raise LockHeld(info or {}, path, problem) from None
        finally:
            os.unlink(tmp)
        return self

    def __exit__(self, *exc: object) -> None:
        path = lock_path(self.root, self.env)
        current = read_lock(self.root, self.env)
        if current and current.get("id") == self.info.get("id"):
            path.unlink(missing_ok=True)


def inspect_lock(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the lock's details, None), or (None, what the file holds instead of a lock specops wrote)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, "it disappeared while being read (another run released it: try again)"
    except OSError as exc:
        return None, f"it cannot be read ({exc.strerror})"
    if not raw.strip():
        return None, "it is empty"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, f"it is not a lock specops wrote (it starts with {raw[:40]!r})"
    if not isinstance(data, dict) or type(data.get("id")) is not str or not data["id"]:
        return None, "it is JSON but has no lock ID"
    return data, None


def read_lock(root: Path, env: str) -> dict[str, Any] | None:
    return inspect_lock(lock_path(root, env))[0]


def force_unlock(root: Path, lock_id: str) -> str | None:
    """Remove the lock whose id is `lock_id`; return its environment, or None when no lock has it."""
    folder = state_dir(root) / "locks"
    for path in sorted(folder.glob("*.lock")) if folder.exists() else []:
        info, _ = inspect_lock(path)
        if info is not None and info.get("id") == lock_id:
            path.unlink(missing_ok=True)
            return path.stem
    return None


def unreadable_locks(root: Path) -> list[tuple[Path, str]]:
    """Lock files that hold no lock ID (empty, damaged), with what they hold: force-unlock cannot name them."""
    folder = state_dir(root) / "locks"
    found = []
    for path in sorted(folder.glob("*.lock")) if folder.exists() else []:
        info, problem = inspect_lock(path)
        if info is None and problem is not None:
            found.append((path, problem))
    return found


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - containers without a passwd entry
        return "unknown"
