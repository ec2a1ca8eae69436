"""A content-addressed cache of per-file front-end results, in the user's cache folder.

Entries are keyed by the file's path and bytes; the folder they live in is named after the tool
version, the digest of its code (compiler.speed.tooldigest), the entries' format and the schemas' digest,
so a new release, an edited schema or any edit of specops itself starts from empty. An entry is
bytes (compiler.speed.codec's encoding); the caller decodes it. Writes go to a temporary file renamed
into place (safe under concurrent runs); an entry that cannot be read or decoded is a miss, never
an error. The cache can only save work: a miss recomputes the same result. The same folder keeps
the resources' digests (compiler.speed.digests).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from compiler import __version__

KEEP = 3  # cache folders of other specops code kept, the most recently used first
FORMAT = 4  # of the entries: 1 was pickled FileResults, then compiler.speed.codec's bytes (from 4: after the key)


class Cache:
    """One cache folder; `Cache.disabled()` stores nothing."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.hits = 0
        self.misses = 0

    @classmethod
    def disabled(cls) -> Cache:
        return cls(None)

    @classmethod
    def for_repository(cls, root: Path, schema_digest: str) -> Cache:
        """The user's cache folder ($SPECOPS_CACHE_DIR, else $XDG_CACHE_HOME/specops, else ~/.cache/specops).

        Never inside the repository: entries are decoded with marshal, so they must not come from a checkout.
        A folder for other code (another version, or an edited checkout) is left behind when specops changes:
        when a new one starts, all but the most recently used KEEP are removed.
        """
        from compiler.speed.tooldigest import tool_digest

        tag = hashlib.sha256(f"{__version__}\0{tool_digest()}\0{FORMAT}\0{schema_digest}".encode()).hexdigest()[:16]
        base = os.environ.get("SPECOPS_CACHE_DIR")
        if not base:
            xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
            base = os.path.join(xdg, "specops")
        del root  # entries are keyed by each file's repository-relative path and bytes
        folder = Path(base) / f"front-{tag}"
        try:
            os.utime(folder)  # used now: what pruning goes by
        except FileNotFoundError:
            _prune(Path(base))
        except OSError:
            pass
        return cls(folder)

    @staticmethod
    def key(*parts: bytes | str) -> str:
        h = hashlib.sha256()
        for part in parts:
            h.update(part if isinstance(part, bytes) else part.encode("utf-8"))
            h.update(b"\0")
        return h.hexdigest()

    def _path(self, key: str) -> str:
        assert self.folder is not None
        return os.path.join(self.folder, key[:2], key[2:])

    def get_bytes(self, key: str) -> bytes | None:
        if self.folder is None:
            return None
        try:
            with open(self._path(key), "rb") as handle:
                value = handle.read()
        except OSError:
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put_bytes(self, key: str, value: bytes) -> None:
        if self.folder is not None:
            store_file(Path(self._path(key)), value)


def store_file(path: Path, content: bytes) -> bool:
    """Write a cache file through a temporary file renamed into place: a reader (another run) sees the old
    file or the new one, never half of one. False when it cannot be written: a cache only loses speed."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False


def _prune(base: Path) -> None:
    """Remove all but the KEEP most recently used cache folders (a new one is about to start)."""
    try:
        folders = [p for p in base.iterdir() if p.name.startswith("front-") and p.is_dir()]
        folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in folders[KEEP - 1:]:
        shutil.rmtree(old, ignore_errors=True)  # a run still using it only misses: entries are never required
