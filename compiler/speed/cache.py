"""The user's cache folder, where the time savers keep what they remember between runs.

One folder per version of specops' code (compiler.speed.tooldigest), of the entries' format and of the
schemas, under $SPECOPS_CACHE_DIR, else $XDG_CACHE_HOME/specops, else ~/.cache/specops: never inside
the repository. When a new folder starts, all but the KEEP most recently used are removed.

Every entry is authenticated: it starts with an HMAC-SHA256 of its name and payload under a key of the
user's own, kept outside the cache folder ($SPECOPS_KEY_FILE, else $XDG_CONFIG_HOME/specops/cache.key,
mode 0600). An entry that was planted, copied under another name, damaged or written by other code is
a miss, so a cache can only save work and never change a result, even when someone else can write to
the cache folder. Payloads are plain data (marshal), never pickle. Entries are written to a temporary
file renamed into place, so concurrent runs see an old entry or a new one, never half of one. Without a
usable key, or a folder that can be written, there is no cache: it only costs speed.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import shutil
import stat
import tempfile
from pathlib import Path

from compiler import __version__

KEEP = 3  # cache folders of other specops code kept, the most recently used first
FORMAT = 5  # of the entries: 5 added the HMAC
MAGIC = b"SPC5"
MAC_SIZE = 32
KEY_SIZE = 32


def cache_base() -> Path:
    base = os.environ.get("SPECOPS_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "specops")
    return Path(base)


def key_file() -> Path:
    found = os.environ.get("SPECOPS_KEY_FILE")
    if found:
        return Path(found)
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(xdg) / "specops" / "cache.key"


def user_key(path: Path) -> bytes | None:
    """The user's cache key, made on first use (whole or not at all: a key a full disk left empty is made again);
    None when it cannot be made, or when others could read or change it (then no cache is used)."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        for _ in range(2):
            found = _read_key(path)
            if found is None:
                _make_key(path, replace=False)
                continue
            key, private = found
            if not private:
                return None  # never touched: it is not the user's alone
            if len(key) == KEY_SIZE:
                return key
            _make_key(path, replace=True)  # the user's own, but cut short (a full disk)
    return None


def _read_key(path: Path) -> tuple[bytes, bool] | None:
    """(the key file's first bytes, whether only this user can read or change it), None when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        key = handle.read(KEY_SIZE + 1)
    private = stat.S_ISREG(info.st_mode) and not info.st_mode & 0o077 and (
        not hasattr(os, "getuid") or info.st_uid == os.getuid())
    return key, private


def _make_key(path: Path, replace: bool) -> None:
    """A new key written whole beside `path`, then linked into place (another process's key wins) or, with
    `replace`, put in place of a damaged one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_SIZE))
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


class Cache:
    """One cache folder and the key its entries are signed with."""

    def __init__(self, folder: Path, key: bytes):
        self.folder = folder
        self._key = key

    @classmethod
    def open(cls, schema_digest: str) -> Cache | None:
        """The cache folder for this code and these schemas, or None when no cache can be used."""
        from compiler.speed.tooldigest import tool_digest

        key = user_key(key_file())
        if key is None:
            return None
        tag = hashlib.sha256(f"{__version__}\0{tool_digest()}\0{FORMAT}\0{schema_digest}".encode()).hexdigest()[:16]
        base = cache_base()
        folder = base / f"front-{tag}"
        try:
            os.utime(folder)  # used now: what pruning goes by
        except FileNotFoundError:
            _prune(base)
        except OSError:
            pass
        return cls(folder, key)

    def _mac(self, name: str, payload: bytes) -> bytes:
        return hmac.digest(self._key, name.encode() + b"\0" + payload, "sha256")  # HMAC-SHA256, in one C call

    def read(self, name: str) -> bytes | None:
        """The payload stored under `name` (a relative path in the folder), or None: missing, unreadable,
        or not signed with this user's key for this name."""
        try:
            with open(self.folder / name, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        head = len(MAGIC) + MAC_SIZE
        if len(data) < head or data[:len(MAGIC)] != MAGIC:
            return None
        payload = data[head:]
        if not hmac.compare_digest(data[len(MAGIC):head], self._mac(name, payload)):
            return None
        return payload

    def write(self, name: str, payload: bytes) -> bool:
        """Store `payload` under `name`; False when it cannot be written (a cache only loses speed)."""
        return store_file(self.folder / name, MAGIC + self._mac(name, payload) + payload)

    @staticmethod
    def entry_name(key: str) -> str:
        """Where the entry of a hex key lives: spread over 256 folders."""
        return f"{key[:2]}/{key[2:]}"


def store_file(path: Path, content: bytes) -> bool:
    """Write a file through a temporary file renamed into place: a reader (another run) sees the old
    file or the new one, never half of one. False when it cannot be written."""
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
