"""Where a plan keeps its units' last results (compiler.speed.incremental), in the user's cache folder.

One folder per repository, inside the front-end cache's (named after specops' code, so results of
other code are never read). Records are spread over BUCKETS files by a stable hash of their unit's
key, so a plan after a small edit rewrites a few files, not all; each file is replaced atomically
(safe under concurrent runs: a record is checked against its reads before use, whoever wrote it).
A file that cannot be read, or that belongs to another nonce, is as good as none.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import secrets
import tempfile
import zlib
from pathlib import Path
from typing import Any

from compiler.speed.cache import store_file
from compiler.speed.tracking import Tags

BUCKETS = 64
# (reads: ((key, value), ...), tags: ((kind, name), ...), artifacts: ((path, content, owners, base, sha256), ...))
Record = tuple[tuple[tuple[tuple[str, ...], str], ...], tuple[tuple[str, str], ...],
               tuple[tuple[str, bytes, tuple[str, ...], str, str], ...]]


def store_folder(cache_folder: Path, root: Path) -> Path:
    return cache_folder / f"units-{hashlib.sha256(str(root).encode()).hexdigest()[:16]}"


def bucket_of(key: str) -> int:
    return zlib.crc32(key.encode()) % BUCKETS


class UnitStore:
    def __init__(self, folder: Path):
        self.folder = folder
        self._loaded: dict[int, set[str]] = {}
        self._unsaved = False

    def nonce(self) -> str:
        """The placeholders' nonce (compiler.speed.tracking.Tags): made once, then read.

        A nonce file that is not a valid nonce is replaced. When no valid nonce can be kept, this run
        uses one of its own and stores nothing (`save` writes only under the kept nonce).
        """
        found = self._read_nonce()
        if found is not None:
            return found
        made = "".join(secrets.choice(Tags.LETTERS) for _ in range(6))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.folder)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(made)
            try:
                if (self.folder / "nonce").exists():
                    os.replace(tmp, self.folder / "nonce")  # a damaged one
                else:
                    os.link(tmp, self.folder / "nonce")  # the first writer wins; a later one reads the winner's
            except FileExistsError:
                pass
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError:
            pass
        found = self._read_nonce()
        if found is None:
            self._unsaved = True  # records made under a nonce nobody can read back must not be stored
            return made
        return found

    def _read_nonce(self) -> str | None:
        try:
            found = (self.folder / "nonce").read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return found if len(found) == 6 and all(c in Tags.LETTERS for c in found) else None

    def load(self, nonce: str) -> dict[str, Record]:
        out: dict[str, Record] = {}
        for n in range(BUCKETS):
            records = self._read(n, nonce)
            self._loaded[n] = set(records)
            out.update(records)
        return out

    def _read(self, n: int, nonce: str) -> dict[str, Record]:
        try:
            with open(self.folder / f"{n:02d}", "rb") as handle:
                data: Any = marshal.loads(handle.read())
        except (OSError, ValueError, EOFError, TypeError):
            return {}
        if not (isinstance(data, tuple) and len(data) == 2 and data[0] == nonce and isinstance(data[1], dict)):
            return {}
        return data[1]

    def save(self, nonce: str, records: dict[str, Record], changed: set[str]) -> None:
        """Keep `records` (this run's, by unit key); rewrite only the files whose records changed."""
        if self._unsaved:
            return
        by_bucket: dict[int, dict[str, Record]] = {}
        for key, record in records.items():
            by_bucket.setdefault(bucket_of(key), {})[key] = record
        dirty = {bucket_of(key) for key in changed}
        dirty |= {n for n in range(BUCKETS) if self._loaded.get(n, set()) != set(by_bucket.get(n, {}))}
        for n in sorted(dirty):
            if not store_file(self.folder / f"{n:02d}", marshal.dumps((nonce, by_bucket.get(n, {})))):
                return  # a read-only or full disk only costs speed
