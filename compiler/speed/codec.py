"""A file's outcome as bytes: what the cache keeps and what a worker process sends back.

marshal (plain tuples) instead of pickle: several times faster for parsed YAML, and it cannot run code
when decoded. Each document stays sealed (`SealedDocument`) until it is looked at, so decoding an
outcome costs little, and a document whose resource is never built here is never decoded at all.
`decode_outcome(encode_outcome(o)) == o` for every outcome of plain data; an outcome holding anything
else cannot be encoded (`encode_outcome` gives None) and is simply not kept.
"""

from __future__ import annotations

import marshal
from typing import Any

from compiler.front.documents import Document, FileOutcome, FileResult
from compiler.front.yamlparse import ParsedDocument
from compiler.front.yamlparse import Path as YamlPosition
from compiler.spec.diagnostics import Diagnostic, Related

SHALLOW = 3  # positions of paths this deep are kept unpacked: all that building the IR asks for


class SealedDocument(ParsedDocument):
    """A ParsedDocument kept as one marshal string until first looked at; then its position maps stay
    packed until a path deeper than SHALLOW is asked for."""

    __slots__ = ("_packed", "_sealed", "_shallow")

    def __init__(self, line: int, col: int, sealed: bytes):
        self.line, self.col = line, col
        self._data = self._positions = self._key_positions = None  # type: ignore[assignment]
        self._shallow: dict[YamlPosition, tuple[int, int]] | None = None
        self._packed: bytes | None = None
        self._sealed: bytes | None = sealed

    def _unseal(self) -> None:
        sealed, self._sealed = self._sealed, None
        assert sealed is not None
        self._data, self._shallow, self._packed = marshal.loads(sealed)

    def _unpack(self) -> None:
        if self._sealed is not None:
            self._unseal()
        if self._positions is None:
            assert self._packed is not None
            self._positions, self._key_positions = marshal.loads(self._packed)

    @property
    def data(self) -> Any:
        if self._sealed is not None:
            self._unseal()
        return self._data

    @property
    def positions(self) -> dict[YamlPosition, tuple[int, int]]:
        if self._positions is None:
            self._unpack()
        return self._positions

    @property
    def key_positions(self) -> dict[YamlPosition, tuple[int, int]]:
        if self._key_positions is None:
            self._unpack()
        return self._key_positions

    def position(self, path: YamlPosition) -> tuple[int, int] | None:
        if self._sealed is not None:
            self._unseal()
        if self._positions is None and len(path) <= SHALLOW and self._shallow is not None:
            return self._shallow.get(path)
        return self.positions.get(path)


def seal(doc: ParsedDocument) -> bytes:
    """The value, the shallow positions and both packed position maps, in one marshal string."""
    if isinstance(doc, SealedDocument) and doc._sealed is not None:
        return doc._sealed
    positions = doc.positions
    shallow = {p: v for p, v in positions.items() if len(p) <= SHALLOW}
    return marshal.dumps((doc.data, shallow, marshal.dumps((positions, doc.key_positions))))


def encode_outcome(outcome: FileOutcome) -> bytes | None:
    """An outcome as marshal data, or None when it holds a value marshal does not know."""
    found = outcome.found
    packed_found = None if found is None else (
        tuple((d.file, d.index, d.kind, d.name, d.parsed.line, d.parsed.col, seal(d.parsed))
              for d in found.documents),
        tuple(_diag_fields(d) for d in found.diagnostics), found.invalid, found.unloaded)
    packed = (outcome.rel, tuple(_diag_fields(d) for d in outcome.diagnostics), outcome.unloaded, packed_found,
              outcome.key)
    try:
        return marshal.dumps(packed)
    except ValueError:
        return None


def decode_outcome(data: bytes) -> FileOutcome:
    """The outcome `encode_outcome` made; ValueError (or TypeError) for bytes of any other shape."""
    rel, diags, unloaded, packed_found, key = marshal.loads(data)
    found = None
    if packed_found is not None:
        docs, fdiags, invalid, funloaded = packed_found
        found = FileResult(
            tuple(Document(_str(f), _int(i), _str(k), _str(n), SealedDocument(_int(line), _int(col), _bytes(sealed)))
                  for f, i, k, n, line, col, sealed in docs),
            tuple(_diagnostic(d) for d in fdiags), frozenset(invalid), frozenset(funloaded))
    return FileOutcome(_str(rel), tuple(_diagnostic(d) for d in diags), frozenset(unloaded), found, _str(key))


def _diag_fields(d: Diagnostic) -> tuple:
    related = tuple((r.message, r.file, r.line, r.col) for r in d.related)
    return (d.code, d.message, d.file, d.line, d.col, d.address, d.hint, d.severity, related)


def _diagnostic(fields: Any) -> Diagnostic:
    if type(fields) is not tuple or len(fields) != 9 or type(fields[8]) is not tuple:
        raise ValueError("not a diagnostic")
    return Diagnostic(*fields[:8], related=tuple(_related(r) for r in fields[8]))


def _related(fields: Any) -> Related:
    if type(fields) is not tuple or len(fields) != 4:
        raise ValueError("not a related location")
    message, file, line, col = fields
    return Related(_str(message), _str(file), _int(line), _int(col))


def _str(value: Any) -> str:
    if type(value) is not str:
        raise ValueError("expected text")
    return value


def _int(value: Any) -> int:
    if type(value) is not int:
        raise ValueError("expected a number")
    return value


def _bytes(value: Any) -> bytes:
    if type(value) is not bytes:
        raise ValueError("expected bytes")
    return value
