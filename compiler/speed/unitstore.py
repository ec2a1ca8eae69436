"""Where a plan keeps its units' last results (compiler.speed.incremental), in the user's cache folder.

One folder of entries per repository (compiler.speed.cache: authenticated, plain data). Records are
spread over BUCKETS entries by a stable hash of their unit's key, so a plan after a small edit rewrites
a few entries, not all (safe under concurrent runs: a record is checked against its reads before use,
whoever wrote it). An entry that cannot be read, or that belongs to another nonce, is as good as none.
"""

from __future__ import annotations

import hashlib
import marshal
import secrets
import zlib
from pathlib import Path
from typing import Any

from compiler.speed.cache import Cache
from compiler.speed.tracking import Tags

BUCKETS = 64
# (reads: ((key, value), ...), tags: ((kind, name), ...), artifacts: ((path, content, owners, base, sha256), ...))
Record = tuple[tuple[tuple[tuple[str, ...], str], ...], tuple[tuple[str, str], ...],
               tuple[tuple[str, bytes, tuple[str, ...], str, str], ...]]


def store_name(root: Path) -> str:
    """The folder of the repository's unit entries, in the cache folder."""
    return f"units-{hashlib.sha256(str(root).encode()).hexdigest()[:16]}"


def bucket_of(key: str) -> int:
    return zlib.crc32(key.encode()) % BUCKETS


class UnitStore:
    def __init__(self, cache: Cache, root: Path):
        self.cache = cache
        self.folder = store_name(root)
        self._loaded: dict[int, set[str]] = {}

    def nonce(self) -> str:
        """The placeholders' nonce (compiler.speed.tracking.Tags): made once, then read.

        Two runs that make one at the same time may each write theirs; the loser's records are then
        under a nonce nobody reads back, which only costs the next run some work.
        """
        found = self._read_nonce()
        if found is not None:
            return found
        made = "".join(secrets.choice(Tags.LETTERS) for _ in range(6))
        self.cache.write(f"{self.folder}/nonce", made.encode("ascii"))
        return self._read_nonce() or made

    def _read_nonce(self) -> str | None:
        payload = self.cache.read(f"{self.folder}/nonce")
        found = payload.decode("ascii", "replace") if payload is not None else ""
        return found if len(found) == 6 and all(c in Tags.LETTERS for c in found) else None

    def load(self, nonce: str) -> dict[str, Record]:
        out: dict[str, Record] = {}
        for n in range(BUCKETS):
            records = self._read(n, nonce)
            self._loaded[n] = set(records)
            out.update(records)
        return out

    def _read(self, n: int, nonce: str) -> dict[str, Record]:
        payload = self.cache.read(f"{self.folder}/{n:02d}")
        if payload is None:
            return {}
        try:
            data: Any = marshal.loads(payload)
        except (ValueError, EOFError, TypeError):
            return {}
        if not (isinstance(data, tuple) and len(data) == 2 and data[0] == nonce and isinstance(data[1], dict)):
            return {}
        return data[1]

    def save(self, nonce: str, records: dict[str, Record], changed: set[str]) -> None:
        """Keep `records` (this run's, by unit key); rewrite only the entries whose records changed."""
        by_bucket: dict[int, dict[str, Record]] = {}
        for key, record in records.items():
            by_bucket.setdefault(bucket_of(key), {})[key] = record
        dirty = {bucket_of(key) for key in changed}
        dirty |= {n for n in range(BUCKETS) if self._loaded.get(n, set()) != set(by_bucket.get(n, {}))}
        for n in sorted(dirty):
            if not self.cache.write(f"{self.folder}/{n:02d}", marshal.dumps((nonce, by_bucket.get(n, {})))):
                return  # a read-only or full disk only costs speed


class KeptUnits:
    """A UnitStore (or none) whose records are also kept in `memo` for the rest of the run: the base of a PR
    plan then reuses the head's. Without a store, records live in `memo` only, under a nonce of this run."""

    def __init__(self, memo: dict, store: UnitStore | None):
        self.memo, self.store = memo, store

    def nonce(self) -> str:
        if self.store is not None:
            return self.store.nonce()
        if "nonce" not in self.memo:
            self.memo["nonce"] = "".join(secrets.choice(Tags.LETTERS) for _ in range(6))
        return str(self.memo["nonce"])

    def load(self, nonce: str) -> dict[str, Record]:
        found = self.store.load(nonce) if self.store is not None else {}
        if self.memo.get("nonce") == nonce:
            found = {**found, **self.memo.get("records", {})}
        return found

    def save(self, nonce: str, records: dict[str, Record], changed: set[str]) -> None:
        self.memo["nonce"], self.memo["records"] = nonce, dict(records)
        if self.store is not None:
            self.store.save(nonce, records, changed)
