"""The front end's per-file work (compiler.front.load.FileWork), remembered and shared between processes.

`file_work(cache)` gives a FileWork with the same outcomes as `each_file`: each file's outcome is kept in
the cache under its path and bytes (compiler.front.documents.file_key), so an unchanged file is never
parsed or validated again, and a second process (compiler.speed.parallel.stream_map) reads, processes or
looks up files from the front of the list, sending their outcomes encoded (compiler.speed.codec), while
this process decodes them and works from the back. With no cache and one process it is `each_file`.
"""

from __future__ import annotations

from collections.abc import Sequence

from compiler.front.documents import FileOutcome, file_key
from compiler.front.load import FileSteps, FileWork
from compiler.speed.cache import Cache
from compiler.speed.codec import decode_outcome, encode_outcome
from compiler.speed.parallel import stream_map

PARALLEL_MIN_FILES = 400  # below this, forking costs more than it saves


def file_work(cache: Cache | None, memo: dict[str, FileOutcome] | None = None) -> FileWork:
    """`memo` (file key -> outcome) keeps this run's outcomes: the base of a PR plan, read from another
    checkout, processes only the files whose bytes differ from the head's."""
    def work(rels: Sequence[str], steps: FileSteps) -> list[FileOutcome]:
        remembered = _Remembered(cache, steps, memo)
        outcomes = stream_map(remembered.encoded, decode_outcome, rels, remembered.outcome,
                              min_items=PARALLEL_MIN_FILES)
        # an outcome decoded for another file (cannot happen with intact entries) is redone
        found = [found if found.rel == rel else steps.outcome(rel) for rel, found in zip(rels, outcomes, strict=True)]
        if memo is not None:
            memo.update((o.key, o) for o in found if o.key)
        return found

    return work


class _Remembered:
    def __init__(self, cache: Cache | None, steps: FileSteps, memo: dict[str, FileOutcome] | None = None):
        self.cache, self.steps, self.memo = cache, steps, memo

    def _lookup(self, rel: str) -> tuple[bytes | FileOutcome, str | None, bytes | None]:
        """(the file's bytes or its read outcome, its entry name, the entry's payload when remembered)."""
        raw = self.steps.read(rel)
        if isinstance(raw, FileOutcome) or (self.cache is None and not self.memo):
            return raw, None, None
        key = file_key(rel, raw)
        if self.memo and (seen := self.memo.get(key)) is not None and seen.rel == rel:
            return seen, None, None  # processed earlier in this run: the same path and bytes
        if self.cache is None:
            return raw, None, None
        name = Cache.entry_name(key)
        return raw, name, self.cache.read(name)

    def _make(self, rel: str, raw: bytes, name: str | None) -> tuple[FileOutcome, bytes | None]:
        outcome = FileOutcome(rel, found=self.steps.process(rel, raw), key=file_key(rel, raw))
        encoded = encode_outcome(outcome) if name is not None else None
        if encoded is not None and self.cache is not None and name is not None:
            self.cache.write(name, encoded)
        return outcome, encoded

    def encoded(self, rel: str) -> bytes:
        """The file's outcome as bytes (in the worker process): an entry's payload is passed on as read."""
        raw, name, payload = self._lookup(rel)
        if payload is not None:
            return payload
        if isinstance(raw, FileOutcome):
            return encode_outcome(raw) or b""
        outcome, encoded = self._make(rel, raw, name)
        if encoded is None:
            encoded = encode_outcome(outcome)
        return encoded or b""  # b"" does not decode: this process then does the file itself

    def outcome(self, rel: str) -> FileOutcome:
        """The file's outcome, in this process: decoded when remembered, else made (and remembered)."""
        raw, name, payload = self._lookup(rel)
        if payload is not None:
            try:
                found = decode_outcome(payload)
                if found.rel == rel:
                    return found
            except (ValueError, TypeError, EOFError):
                pass  # another format: made again below
        if isinstance(raw, FileOutcome):
            return raw
        return self._make(rel, raw, name)[0]
