"""The environment's state as a plan needs it (compiler.plan.baseline.StateSummary), remembered by the
state file's exact bytes: the next plan against the same state reads it instead of parsing the JSON
file again. Another state (after an apply) is another key."""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable
from pathlib import Path

from compiler.apply.state import parse_state, read_state_bytes
from compiler.plan.baseline import StateSummary, summarize
from compiler.speed.cache import Cache


def state_summary(root: Path, env: str, cache: Cache | None,
                  read: Callable[[str], bytes | None] | None = None) -> StateSummary:
    """`read(env)` gives the state's bytes, wherever its backend keeps them (default: the local file)."""
    raw = read(env) if read is not None else read_state_bytes(root, env)
    if cache is None or raw is None:
        return summarize(parse_state(raw, root, env))
    key = hashlib.sha256(raw).hexdigest()
    name = "state-" + hashlib.sha256(f"{root}\0{env}".encode()).hexdigest()[:32]
    payload = cache.read(name)
    if payload is not None:
        try:
            stored_key, summary = marshal.loads(payload)
            if stored_key == key and _is_summary(summary):
                return summary
        except (ValueError, EOFError, TypeError):
            pass
    summary = summarize(parse_state(raw, root, env))
    cache.write(name, marshal.dumps((key, summary)))
    return summary


def _is_summary(value: object) -> bool:
    types = (str, str, int, str, dict, dict, dict, dict, str)
    return (isinstance(value, tuple) and len(value) == len(types)
            and all(isinstance(v, t) for v, t in zip(value, types, strict=True))
            and all(isinstance(b, bytes) for b in value[4].values()))
