"""The interface every state backend offers (Terraform-like): read and write an environment's state, hold its
lock for the length of an apply, list the environments it holds, break a lock.

A backend stores the state as the exact bytes `compiler.apply.state` reads (one JSON document per
environment), so `state pull`, a backup file and every backend agree byte for byte, and a state's digest
(sha256 of those bytes) is the same wherever it is kept. Writes are compare-and-swap on that digest: a write
succeeds only over the state this run read or last wrote.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from compiler.apply.state import State, StateError


def encode_state(state: State) -> bytes:
    """The state's bytes, as `compiler.apply.state.save_state` writes them (a new state gets its lineage here)."""
    if not state.lineage:
        state.lineage = str(uuid.uuid4())
    return (json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n").encode()


def digest(content: bytes | None) -> str:
    return hashlib.sha256(content).hexdigest() if content is not None else ""


@dataclass(frozen=True)
class StoredState:
    """What `state list` shows of one environment's stored state."""

    environment: str
    serial: int
    lineage: str
    updated: str  # ISO time of the last write, "" when unknown
    size: int


@dataclass
class RemoteLockHeld(Exception):
    """A remote lock is held by another session: `info` (id, who, pid, since) and how to break it."""

    environment: str
    info: dict[str, Any] = field(default_factory=dict)
    hint: str = ""

    def __str__(self) -> str:
        return f"environment '{self.environment}' is locked"


class ConflictError(StateError):
    """The stored state is not the one this run read or last wrote."""


class StateBackend(Protocol):
    """One environment's (or project's) state storage; usable as a context manager that closes it."""

    kind: str  # "local" | "postgres"

    def __enter__(self) -> StateBackend: ...

    def __exit__(self, *exc: object) -> None: ...

    def describe(self, env: str) -> str:
        """Where `env`'s state lives, for messages (never a secret)."""
        ...

    def read(self, env: str) -> bytes | None:
        """The state's bytes, or None when the environment has none yet."""
        ...

    def load(self, env: str) -> State: ...

    def save(self, state: State) -> None:
        """Write the state over the one it was read as (state.source_digest); ConflictError otherwise."""
        ...

    def push(self, env: str, content: bytes) -> None:
        """Replace the stored state with these bytes, unconditionally (`specops state push`)."""
        ...

    def lock(self, env: str, operation: str = "apply") -> AbstractContextManager[Any]:
        """Hold the environment's lock until the block ends; LockHeld or RemoteLockHeld when taken."""
        ...

    def force_unlock(self, lock_id: str) -> str | None:
        """Break the lock with that ID; its environment, or None when no lock has it."""
        ...

    def held(self, env: str) -> None:
        """Raise StateError when this run no longer holds the environment's lock (`force-unlock` ended it): work
        with effects outside the state (a registry's alias) must not go on without it."""
        ...

    def stored(self) -> Iterator[StoredState]:
        """Every environment whose state this backend holds for the project."""
        ...

    def close(self) -> None: ...


def summarize_bytes(env: str, raw: bytes, updated: str = "") -> StoredState:
    """A StoredState from a state's bytes (unreadable ones show serial -1)."""
    try:
        data = json.loads(raw.decode("utf-8"))
        return StoredState(env, int(data.get("serial", -1)), str(data.get("lineage", "")), updated, len(raw))
    except (ValueError, TypeError, AttributeError):
        return StoredState(env, -1, "", updated, len(raw))
