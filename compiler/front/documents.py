"""What the front end reads out of files: documents with positions, and each file's outcome."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.front.yamlparse import ParsedDocument
from compiler.spec.diagnostics import Diagnostic
from compiler.spec.kinds import address

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Document:
    """One spec document with the positions of its nodes."""

    file: str
    index: int
    kind: str
    name: str
    parsed: ParsedDocument

    @property
    def data(self) -> dict[str, Any]:
        return self.parsed.data

    @property
    def address(self) -> str:
        return address(self.kind, self.name)

    def locate(self, path: YamlPath) -> tuple[int, int]:
        """Line and column of the value at `path`, or of its closest known ancestor."""
        parsed = self.parsed
        found = parsed.position(path if type(path) is tuple else tuple(path))  # most paths have a position
        if found:
            return found
        for cut in range(len(path) - 1, -1, -1):
            found = parsed.position(tuple(path[:cut]))
            if found:
                return found
        return parsed.line, parsed.col

    def locate_key(self, path: YamlPath) -> tuple[int, int]:
        """Line and column of the key of the entry at `path` (falls back to the value)."""
        return self.parsed.key_positions.get(tuple(path)) or self.locate(path)


@dataclass(frozen=True)
class FileResult:
    """Everything the front end learns from one file's path and bytes alone."""

    documents: tuple[Document, ...]
    diagnostics: tuple[Diagnostic, ...]
    invalid: frozenset[int]  # indexes of the documents with errors
    unloaded: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FileOutcome:
    """What reading one file gave: problems found before parsing, or its FileResult."""

    rel: str
    diagnostics: tuple[Diagnostic, ...] = ()
    unloaded: frozenset[str] = frozenset()
    found: FileResult | None = None
    key: str = ""  # file_key of its path and bytes, when it was read


def file_key(rel: str, raw: bytes) -> str:
    """Identifies a file by its repository path and bytes (what a resource's fingerprint starts from)."""
    h = hashlib.sha256(rel.encode("utf-8"))
    h.update(b"\0")
    h.update(raw)
    return h.hexdigest()


@dataclass
class LoadResult:
    root: Path
    project: Document | None
    documents: list[Document]
    diagnostics: list[Diagnostic]
    invalid: set[tuple[str, int]] = field(default_factory=set)  # (file, index) of documents with errors
    # addresses of documents that exist but could not be loaded (best effort): a reference to one of
    # them is not reported as unresolved, since the load error already explains it
    unloaded: set[str] = field(default_factory=set)
    file_keys: dict[str, str] = field(default_factory=dict)  # file -> file_key

    def merge(self, outcome: FileOutcome) -> list[Document]:
        """Take in one file's outcome; its documents."""
        self.diagnostics.extend(outcome.diagnostics)
        self.unloaded.update(outcome.unloaded)
        if outcome.key:
            self.file_keys[outcome.rel] = outcome.key
        found = outcome.found
        if found is None:
            return []
        self.diagnostics.extend(found.diagnostics)
        self.invalid.update((outcome.rel, i) for i in found.invalid)
        self.unloaded.update(found.unloaded)
        return list(found.documents)
