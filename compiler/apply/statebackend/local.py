"""The default backend: the state file `.specops/state/<env>.json` and the lock file `.specops/locks/<env>.lock`
of compiler.apply.state, unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from compiler.apply import state as files
from compiler.apply.state import State
from compiler.apply.statebackend.base import StoredState, summarize_bytes
from compiler.paths import shown


class LocalBackend:
    kind = "local"

    def __init__(self, root: Path, project: str | None = None):
        self.root = root
        self.project = project  # the Project's name: a state file of another project is refused
        self._lock: files.Lock | None = None  # the lock this run took, if any

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self, env: str) -> str:
        return f"local file {shown(files.state_path(self.root, env))}"

    def read(self, env: str) -> bytes | None:
        return files.read_state_bytes(self.root, env)

    def load(self, env: str) -> State:
        return files.load_state(self.root, env, self.project)

    def save(self, state: State) -> None:
        files.save_state(self.root, state)

    def push(self, env: str, content: bytes) -> None:
        """Replace the environment's state file with these bytes (the caller checked them, and holds the lock)."""
        files.atomic_write(files.state_path(self.root, env), content)

    @contextmanager
    def lock(self, env: str, operation: str = "apply") -> Iterator[files.Lock]:
        lock = files.Lock(self.root, env)
        with lock as taken:
            self._lock = lock
            try:
                yield taken
            finally:
                self._lock = None

    def force_unlock(self, lock_id: str) -> str | None:
        return files.force_unlock(self.root, lock_id)

    def held(self, env: str) -> None:
        """The lock file still names this run's lock (`force-unlock` removes it, whoever holds it)."""
        taken = self._lock.info.get("id") if self._lock is not None and self._lock.env == env else None
        if not taken:
            return
        path = files.lock_path(self.root, env)
        info, _ = files.inspect_lock(path)
        if info is None or info.get("id") != taken:
            raise files.StateError(f"this run no longer holds the lock of environment '{env}' ({shown(path)}): it "
                                   "was removed (by `specops force-unlock`?); nothing more is done, and the work "
                                   "left is pending for the next apply")

    def stored(self) -> Iterator[StoredState]:
        folder = files.state_dir(self.root) / "state"
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                raw, mtime = path.read_bytes(), path.stat().st_mtime
            except OSError:
                continue
            yield summarize_bytes(path.stem, raw, datetime.fromtimestamp(mtime, UTC).isoformat(timespec="seconds"))

    def close(self) -> None:
        pass
