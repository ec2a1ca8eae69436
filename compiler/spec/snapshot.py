"""A resource as plain, normalised data: what plan compares and state remembers.

Defaults are applied and source locations left out, so moving a resource to another file, adding
a default explicitly or reformatting YAML is no change. File contents appear as their sha256.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from typing import Any

_SKIP = {"loc", "digest", "sql_loc", "primary_key_loc"}


# IR fields that hold a mapping as sorted (key, value) pairs: always snapshotted as objects
_MAPPINGS = {"labels", "settings", "params", "requests", "limits", "monitoring_labels", "consumer", "security"}


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, bool], ...]:
    """(field name, holds pairs) of a dataclass, skipped fields left out (a pure memo per class)."""
    return tuple((f.name, f.name in _MAPPINGS) for f in dataclasses.fields(cls) if f.name not in _SKIP)


# fields added after snapshots were first kept: left out while unset (None, False, empty), so that older
# snapshots, and the digests of specs that do not use them, stay what they were
_OMIT_UNSET = frozenset({"masked", "split", "window", "retrain", "decision_threshold", "specops", "repository_path",
                         "repository_url", "repository_token_env", "token_env", "state", "landing", "dvc", "kafka",
                         "kafka_brokers", "pushgateway", "database", "repository_submodules"})

_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    if type(value) in _SCALARS:  # most values: answer before any other test
        return value
    if hasattr(type(value), "__dataclass_fields__"):
        out = {}
        for name, pairs in _fields(type(value)):
            item = getattr(value, name)
            if name in _OMIT_UNSET and not item:
                continue
            out[name] = {k: _plain(v) for k, v in item} if pairs else _plain(item)
        return out
    if isinstance(value, bytes):
        return {"sha256": hashlib.sha256(value).hexdigest(), "size": len(value)}
    if isinstance(value, tuple):
        if value and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value):
            return {k: _plain(v) for k, v in value}  # a sorted (key, value) tuple is a mapping
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def snapshot(res: Any) -> dict[str, Any]:
    """A resource (compiler.spec.ir) as plain data."""
    data = _plain(res)
    meta = data.pop("meta")
    return {"kind": res.KIND, "metadata": meta, "spec": data}


def snapshot_digest(snap: dict[str, Any]) -> str:
    text = json.dumps(snap, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
