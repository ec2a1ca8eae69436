"""Child processes of apply (dbt) that never outlive it, and signals that unwind apply instead of killing it.

A child runs in apply's process group (Ctrl-C in a terminal reaches both), is ended when apply dies (on
Linux the kernel sends it SIGTERM when its parent dies, even by SIGKILL) or when apply is interrupted
(terminated, then killed if it does not stop), and is always waited for before apply goes on: so the
environment's lock is never released while a child still holds the warehouse (DuckDB locks its file).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

STOP_GRACE = 10.0  # seconds a child gets to stop after SIGTERM before it is killed
_PR_SET_PDEATHSIG = 1


class Interrupted(KeyboardInterrupt):
    """apply was sent SIGTERM or SIGHUP (a cancelled CI job, a closed terminal): it unwinds like Ctrl-C, so
    children are ended, state is saved as it is and the lock is released."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise Interrupted in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    wanted = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]
    previous = {s: signal.signal(s, handler) for s in wanted}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A preexec function that asks Linux to SIGTERM the child when its parent dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request was made
            os._exit(1)

    return preexec


def run_streamed(args: list[str], cwd: str | os.PathLike[str], env: dict[str, str],
                 on_line: Callable[[str], None]) -> int:
    """Run a child, passing each line of its output (stdout and stderr) to `on_line`; its exit code.

    If anything interrupts the caller (Ctrl-C, SIGTERM, an exception), the child is ended and waited for
    before the interruption goes on.
    """
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            bufsize=1, preexec_fn=_die_with_parent(os.getpid()))
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            on_line(line.rstrip())
        return proc.wait()
    except BaseException:
        stop(proc)
        raise
    finally:
        if proc.stdout is not None:
            proc.stdout.close()


def stop(proc: subprocess.Popen) -> None:
    """End a child: SIGTERM, then SIGKILL after STOP_GRACE seconds; return once it is gone."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
    except KeyboardInterrupt:  # a second Ctrl-C while waiting: kill at once, but still wait
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
