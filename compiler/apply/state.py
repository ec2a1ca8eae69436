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

from compiler.spec.diagnostics import UserError

STATE_VERSION = "1.0"


def state_dir(root: Path) -> Path:
    return root / ".specops"


@dataclass
class State:
    environment: str
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


def load_state(root: Path, env: str) -> State:
    return parse_state(read_state_bytes(root, env), root, env)


def read_state_bytes(root: Path, env: str) -> bytes | None:
    """The state file's bytes, or None when the environment has none yet."""
    path = state_path(root, env)
    if not path.exists():
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StateError(f"cannot read state {path}: {exc}") from None


def parse_state(raw: bytes | None, root: Path, env: str) -> State:
    """The State those bytes hold (None: a fresh state)."""
    if raw is None:
        return State(environment=env)
    path = state_path(root, env)
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise StateError(f"cannot read state {path}: {exc}") from None
    if not isinstance(data, dict):
        raise StateError(f"state {path} is not a JSON object")
    if str(data.get("format_version", "")).split(".")[0] != STATE_VERSION.split(".")[0]:
        raise StateError(f"state {path} has format {data.get('format_version')}, expected {STATE_VERSION}")
    sections = {name: data.get(name, {}) for name in ("resources", "artifacts", "models", "pending")}
    try:
        if not all(isinstance(v, dict) for v in sections.values()):
            raise TypeError("a section is not an object")
        return State(
            environment=str(data["environment"]), lineage=str(data["lineage"]), serial=int(data["serial"]),
            **sections, tool_version=str(data.get("tool_version", "")),
            source_digest=hashlib.sha256(raw).hexdigest(),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StateError(f"state {path} is malformed ({type(exc).__name__}: {exc}); it is written by "
                         "`specops apply` and should not be edited by hand") from None


def save_state(root: Path, state: State) -> None:
    """Atomically replace the state file."""
    if not state.lineage:
        state.lineage = str(uuid.uuid4())
    path = state_path(root, state.environment)
    content = (json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n").encode()
    atomic_write(path, content)
    state.source_digest = hashlib.sha256(content).hexdigest()  # what load_state would now say


def atomic_write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --- locking ------------------------------------------------------------------------------------


class LockHeld(Exception):
    def __init__(self, info: dict[str, Any]):
        super().__init__(info)
        self.info = info


def lock_path(root: Path, env: str) -> Path:
    return state_dir(root) / "locks" / f"{env}.lock"


@dataclass
class Lock:
    root: Path
    env: str
    info: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> Lock:
        path = lock_path(self.root, self.env)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.info = {
            "id": str(uuid.uuid4()),
            "operation": "apply",
            "who": f"{_user()}@{socket.gethostname()}",
            "pid": os.getpid(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "environment": self.env,
        }
        # write the holder's details first, then link the file into place: the lock never exists empty
        fd, tmp = tempfile.mkstemp(prefix=".lock-", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(self.info, handle, indent=2)
            os.chmod(tmp, 0o644)
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise LockHeld(read_lock(self.root, self.env) or {"id": "?", "who": "unknown"}) from None
        finally:
            os.unlink(tmp)
        return self

    def __exit__(self, *exc: object) -> None:
        path = lock_path(self.root, self.env)
        current = read_lock(self.root, self.env)
        if current and current.get("id") == self.info.get("id"):
            path.unlink(missing_ok=True)


def read_lock(root: Path, env: str) -> dict[str, Any] | None:
    try:
        return json.loads(lock_path(root, env).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def force_unlock(root: Path, lock_id: str) -> str | None:
    """Remove the lock whose id is `lock_id`; return its environment, or None when no lock has it."""
    folder = state_dir(root) / "locks"
    for path in sorted(folder.glob("*.lock")) if folder.exists() else []:
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if info.get("id") == lock_id:
            path.unlink(missing_ok=True)
            return str(info.get("environment", path.stem))
    return None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - containers without a passwd entry
        return "unknown"
