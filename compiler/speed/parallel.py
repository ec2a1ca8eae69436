"""Using the other cores for the pure, per-item work: parsing and checking files, digests, backends, writing.

`parallel_map(fn, items)` returns `[fn(x) for x in items]`, in order, computing shares of the items
in forked children that send their results back through a pipe (pickled, or a faster codec).
Forking is cheap here: the children inherit the loaded modules and compiled schemas, and there is
nothing to re-import. Items are dealt round-robin, or balanced by weight when they are few and
unequal.

It falls back to doing everything in this process when there is one usable core, when the work is
too small to pay for a fork, where fork does not exist, when other threads run (specops used as a
library: forking a threaded process can copy a held lock), or when `SPECOPS_JOBS=1`. A child that
fails (killed, out of memory, an exception) never changes the result: its share is redone here.
`fn` must be a pure function whose results can be pickled; side effects in a child (e.g. cache
entries it writes) must be ones the parent does not need to see.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import os
import pickle
import select
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

JOBS_ENV = "SPECOPS_JOBS"
MAX_JOBS = 8


def jobs() -> int:
    """How many processes to use: $SPECOPS_JOBS if set (1 turns parallelism off), else the usable cores."""
    wanted = os.environ.get(JOBS_ENV, "").strip()
    if wanted.isdigit() and int(wanted) >= 1:
        return min(int(wanted), MAX_JOBS)
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    return max(1, min(usable, MAX_JOBS))


def parallel_map(fn: Callable[[T], R], items: Sequence[T], min_items: int = 2,
                 codec: tuple[Callable[[R], bytes], Callable[[bytes], R]] | None = None,
                 weights: Sequence[float] | None = None, worth_it: bool = True) -> list[R]:
    """`[fn(x) for x in items]`, the same list, with the work shared between processes.

    Nothing is forked for fewer than `min_items` items, or when the caller knows the work is too
    small whatever the count (`worth_it=False`: a few items that are each cheap on a small project).
    `codec` (encode, decode) replaces pickle for the results a child sends back, when a faster
    encoding exists (e.g. marshal for plain data): `decode(encode(r))` must equal `r`.
    `weights` (the items' expected costs) balances few, unequal items; without, items are dealt round-robin.
    """
    workers = min(jobs(), len(items))
    if not worth_it or workers < 2 or len(items) < min_items or not hasattr(os, "fork") or _other_threads():
        return [fn(x) for x in items]
    shares = _balanced(weights, workers) if weights is not None else [
        list(range(w, len(items), workers)) for w in range(workers)]
    send = fn if codec is None else (lambda item: codec[0](fn(item)))
    # What exists now is shared with the children, page by page: a collection on either side would
    # write to every object's header and copy the pages. Frozen objects are not collected until
    # the children are done (unless the embedding program froze objects itself: left as it is).
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    children: list[tuple[int, int] | None] = []
    try:
        children = [_spawn(send, items, share) for share in shares[1:]]
        results: list[R | None] = [None] * len(items)
        for i in shares[0]:
            results[i] = fn(items[i])
        for n, (share, child) in enumerate(zip(shares[1:], children, strict=True)):
            children[n] = None  # _collect reaps it, even when interrupted
            got = _collect(child)
            if got is not None and codec is not None:
                got = _decoded(got, codec[1])
            if got is None or len(got) != len(share):
                got = [fn(items[i]) for i in share]  # the child failed: do its share here
            for i, value in zip(share, got, strict=True):
                results[i] = value
    except BaseException:  # an error or an interrupt here: no child may outlive it
        _abandon(children)
        raise
    finally:
        if freeze:
            gc.unfreeze()
    return results  # type: ignore[return-value]  # every slot is filled above


def _other_threads() -> bool:
    """Whether other threads run (forking then could copy a lock one of them holds).

    threading only knows the threads it started; on Linux the kernel's list also shows those of
    C extensions.
    """
    if threading.active_count() > 1:
        return True
    try:
        return len(os.listdir("/proc/self/task")) > 1
    except OSError:
        return False


def _balanced(weights: Sequence[float], workers: int) -> list[list[int]]:
    """Heaviest item first to the least loaded worker (ties by position: the same shares every run)."""
    loads = [0.0] * workers
    shares: list[list[int]] = [[] for _ in range(workers)]
    for i in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        w = min(range(workers), key=lambda w: (loads[w], w))
        shares[w].append(i)
        loads[w] += weights[i]
    return [sorted(share) for share in shares]


def _decoded(encoded: list, decode: Callable[[bytes], R]) -> list[R] | None:
    try:
        return [decode(b) for b in encoded]
    except (ValueError, TypeError, EOFError, KeyError, IndexError, AttributeError, ImportError,
            pickle.UnpicklingError):
        return None


def _spawn(fn: Callable[[T], Any], items: Sequence[T], share: list[int]) -> tuple[int, int] | None:
    def send(out: Any) -> None:  # the whole share at once; on any failure the parent recomputes it
        out.write(pickle.dumps([fn(items[i]) for i in share], protocol=pickle.HIGHEST_PROTOCOL))

    return _fork(send)


def _fork(send: Callable[[Any], None]) -> tuple[int, int] | None:
    """(pid, read end of a pipe) of a forked child that runs `send(pipe's write end, as a file)` and leaves
    without the parent's cleanup (exit status 0 only if `send` returned); None when no child could be made."""
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child
        status = 1
        gc.disable()  # short-lived: collecting would only copy the parent's pages
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as out:
                send(out)
            status = 0
        except BaseException:  # anything at all: the parent does what was not sent
            pass
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _abandon(children: list[tuple[int, int] | None]) -> None:
    """Stop and reap the children when this process gives up (an interrupt, an error in its share)."""
    for child in children:
        if child is not None:
            pid, read_end = child
            with contextlib.suppress(OSError):
                os.close(read_end)
            _kill(pid)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, ChildProcessError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _collect(child: tuple[int, int] | None) -> list | None:
    if child is None:
        return None
    pid, read_end = child
    try:
        with os.fdopen(read_end, "rb") as inp:
            payload = inp.read()
    except OSError:
        payload = b""
    except BaseException:  # interrupted while waiting: the child must not outlive us
        _kill(pid)
        raise
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = 1
    if status != 0 or not payload:
        return None
    try:
        value = pickle.loads(payload)
    except (pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
        return None
    return value if isinstance(value, list) else None


STREAM_CHUNK = 64  # items per message from the child of stream_map


def stream_map(encode: Callable[[T], bytes], decode: Callable[[bytes], R], items: Sequence[T],
               fallback: Callable[[T], R], min_items: int = 2) -> list[R]:
    """`[fallback(x) for x in items]` where the results must be decoded here anyway (e.g. parsed files).

    One child computes `encode(x)` from the first item on and streams the bytes back in chunks; this
    process decodes each chunk as it arrives and, whenever none is waiting, computes items itself
    with `fallback`, from the last item back. They meet in the middle, wherever that falls: when
    encoding is cheap (bytes read from a cache) the child does the reading and this process only
    decodes; when it is dear (parsing) each does about half. `decode(encode(x))` must equal
    `fallback(x)`; an item that does not decode, or that a failed child did not send, is computed here.
    Without fork, a second core or enough items, everything is computed here.
    """
    if jobs() < 2 or len(items) < min_items or not hasattr(os, "fork") or _other_threads():
        return [fallback(x) for x in items]
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    child = None
    results: list[Any] = [None] * len(items)
    front, back = 0, len(items)  # the child's results fill [0, front), this process's [back, len)
    try:
        child = _spawn_stream(encode, items)
        fd = child[1] if child is not None else None  # read unbuffered: poll must see every unread byte
        poller = select.poll()
        if fd is not None:
            poller.register(fd, select.POLLIN | select.POLLHUP)
        while front < back:
            if fd is not None and poller.poll(0):
                chunk = _read_chunk(fd)
                if chunk is None:  # the child failed or is done: the rest is computed here
                    poller.unregister(fd)
                    fd = None
                    continue
                for data in chunk:
                    if front >= back:
                        break
                    try:
                        results[front] = decode(data)
                    except Exception:  # a damaged item is computed here, never an error
                        results[front] = fallback(items[front])
                    front += 1
            else:
                back -= 1
                results[back] = fallback(items[back])
        if child is not None:
            _abandon([child])  # done, or no longer needed: close the pipe, stop and reap it
            child = None
    except BaseException:
        if child is not None:
            _abandon([child])
        raise
    finally:
        if freeze:
            gc.unfreeze()
    return results


def _spawn_stream(encode: Callable[[T], bytes], items: Sequence[T]) -> tuple[int, int] | None:
    def send(out: Any) -> None:  # every item, a chunk per message, each flushed as it is made
        for start in range(0, len(items), STREAM_CHUNK):
            payload = marshal.dumps([encode(x) for x in items[start:start + STREAM_CHUNK]])
            out.write(len(payload).to_bytes(8, "little") + payload)
            out.flush()

    return _fork(send)


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        part = os.read(fd, min(left, 1 << 20))
        if not part:
            return None  # the child is gone
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _read_chunk(fd: int) -> list[bytes] | None:
    head = _read_exactly(fd, 8)
    if head is None:
        return None
    size = int.from_bytes(head, "little")
    payload = _read_exactly(fd, size)
    if payload is None:
        return None
    try:
        chunk = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None
    return chunk if isinstance(chunk, list) and all(isinstance(b, bytes) for b in chunk) else None
