"""Garbage collection for batch work: the front end and the backends build a large, long-lived
object graph with almost no reference cycles, and collecting the young generation after every 700
allocations rescans it over and over (a quarter of compile's time at 10,000 specs). Collecting a
thousand times less often (mypy does the same, less so) leaves memory use the same: what such a run
discards is freed by reference counting, and the little cyclic garbage waits a little longer.
Commands that run user code (training, drift) keep Python's defaults; `batch_gc()` restores them on
the way out.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BATCH_THRESHOLD = (1_000_000, 50, 50)  # young objects between collections; how rarely the older are


@contextmanager
def batch_gc() -> Iterator[None]:
    """Collect rarely inside the block (usable as a decorator too)."""
    old = gc.get_threshold()
    gc.set_threshold(*BATCH_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*old)
