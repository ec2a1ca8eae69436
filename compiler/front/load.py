"""Stage 1: discover spec files from the Project document and parse them into Documents."""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from compiler.front.readfile import TooLarge, read_capped
from compiler.front.yamlparse import ParsedDocument, YamlError, parse_documents
from compiler.paths import repo_path_problem
from compiler.spec.diagnostics import Diagnostic, closest, did_you_mean
from compiler.spec.kinds import API_VERSIONS, KINDS, address
from compiler.speed.cache import Cache
from compiler.speed.parallel import stream_map

PROJECT_FILE = "specops.yaml"
MAX_FILE_BYTES = 2 * 1024 * 1024
SPEC_SUFFIXES = (".yaml", ".yml")
PARALLEL_MIN_FILES = 400  # below this, forking costs more than it saves

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
    file_keys: dict[str, str] = field(default_factory=dict)  # file -> key of its path and bytes


DocumentCheck = Callable[[Document], list[Diagnostic]]


@dataclass(frozen=True)
class FileResult:
    """Everything the front end learns from one file's bytes alone (what the cache keeps)."""

    documents: tuple[Document, ...]
    diagnostics: tuple[Diagnostic, ...]
    invalid: frozenset[int]
    unloaded: frozenset[str] = frozenset()


def load_repository(root: Path, check: DocumentCheck | None = None, cache: Cache | None = None) -> LoadResult:
    """Find specops.yaml under `root`, then every spec file of its folders; never raises on bad input.

    `check` runs on every document (schema and secret checks); its findings are part of what the
    cache keeps for a file, so it must depend on nothing but the document.
    """
    root = root.resolve()
    result = LoadResult(root, None, [], [])
    ctx = _Loading(check, cache or Cache.disabled())
    diags = result.diagnostics
    project_path = root / PROJECT_FILE
    if not project_path.is_file():
        diags.append(Diagnostic("no-project", f"no {PROJECT_FILE} in {root}", None,
                                hint="run `specops init DIR` to scaffold a repository, or pass its root"))
        return result
    project_docs = _load_file(root, PROJECT_FILE, result, ctx)
    projects = [d for d in project_docs if d.kind == "Project"]
    for doc in project_docs:
        if doc.kind != "Project":
            line, col = doc.locate(("kind",))
            diags.append(Diagnostic("project-file", f"{PROJECT_FILE} may only hold the Project document, "
                                    f"found {doc.kind}", doc.file, line, col, doc.address,
                                    "move it under one of the spec folders"))
    if len(projects) > 1:
        extra = projects[1]
        diags.append(Diagnostic("project-file", f"{PROJECT_FILE} holds more than one Project",
                                extra.file, extra.parsed.line, extra.parsed.col, extra.address))
    if projects:
        result.project = projects[0]
    elif not diags:
        diags.append(Diagnostic("project-file", f"{PROJECT_FILE} has no Project document", PROJECT_FILE, 1, 1))
    links: set[str] = set()
    rels = _spec_files(root, result, links)
    read = partial(_read_walked, root, ctx, frozenset(links))

    def outcome(rel: str) -> FileOutcome:
        return _decoded(root, ctx, rel, read(rel), checked=rel not in links)

    # a worker sends each file's outcome encoded as the cache keeps it (a cached one is passed on as read)
    # while this process decodes them, and reads files itself when it has nothing to decode
    outcomes = stream_map(read, ctx.decode, rels, outcome, min_items=PARALLEL_MIN_FILES)
    for rel, found in zip(rels, outcomes, strict=True):
        if found.rel != rel:  # a damaged cache entry that decoded into something else: redo
            found = _decoded(root, ctx, rel, _read_file(root, ctx, rel, rel not in links, fresh=True))
        result.documents.extend(_merge(found, result))
    _check_duplicates(result)
    return result


def _spec_folders(project: Document | None) -> list[tuple[str, YamlPath]]:
    spec = project.data.get("spec") if project else None
    folders = spec.get("specs") if isinstance(spec, dict) else None
    if not isinstance(folders, list) or not folders:
        return [("specs", ("spec", "specs"))]
    return [(f, ("spec", "specs", i)) for i, f in enumerate(folders) if isinstance(f, str)]


def _excluded_dirs(project: Document | None) -> set[str]:
    spec = project.data.get("spec") if project else None
    out = spec.get("output", "build") if isinstance(spec, dict) else "build"
    return {posixpath.normpath(out)} if isinstance(out, str) and out else set()


def _spec_files(root: Path, result: LoadResult, links: set[str] | None = None) -> list[str]:
    """The spec files under the Project's folders, sorted; symlinked ones are also added to `links`."""
    files: set[str] = set()
    excluded = _excluded_dirs(result.project)
    for folder, ypath in _spec_folders(result.project):
        problem = repo_path_problem(root, folder, must_exist=True)
        if problem:
            line, col = result.project.locate(ypath) if result.project else (1, 1)
            result.diagnostics.append(Diagnostic("bad-path", f"spec folder '{folder}': {problem}",
                                                 PROJECT_FILE, line, col, "project"))
            continue
        base = root / folder
        if base.is_file():
            files.add(folder)
            continue
        real_root = os.path.realpath(root)
        pending = [str(base)]
        while pending:  # scandir, not os.walk: an entry says whether it is a symlink without another stat
            dirpath = pending.pop()
            rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
            try:
                entries = sorted(os.scandir(dirpath), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    if name.startswith(".") or rel in excluded:
                        continue
                    if entry.is_symlink():
                        real = os.path.realpath(entry.path)
                        if not (real == real_root or real.startswith(real_root + os.sep)):
                            result.diagnostics.append(Diagnostic(
                                "bad-path", f"folder '{rel}' is a symlink that leaves the repository", rel, 1, 1))
                        continue  # symlinked folders are never walked: one file, one path
                    pending.append(entry.path)
                elif name.endswith(SPEC_SUFFIXES) and not name.startswith(".") and rel != PROJECT_FILE:
                    files.add(rel)
                    if links is not None and entry.is_symlink():
                        links.add(rel)
    return sorted(files)


@dataclass(frozen=True)
class _Loading:
    check: DocumentCheck | None
    cache: Cache

    @staticmethod
    def encode(outcome: FileOutcome) -> bytes:
        from compiler.speed.codec import encode_outcome  # it imports this module's classes

        return encode_outcome(outcome)

    @staticmethod
    def decode(data: bytes) -> FileOutcome:
        from compiler.speed.codec import decode_outcome

        return decode_outcome(data)


@dataclass(frozen=True)
class FileOutcome:
    """What reading one file gave: problems found before parsing, or its (possibly cached) FileResult."""

    rel: str
    diagnostics: tuple[Diagnostic, ...] = ()
    unloaded: frozenset[str] = frozenset()
    found: FileResult | None = None
    key: str = ""  # of the file's path and bytes (compiler.speed.cache.Cache.key), when it was read


def _load_file(root: Path, rel: str, result: LoadResult, ctx: _Loading) -> list[Document]:
    return _merge(_decoded(root, ctx, rel, _read_file(root, ctx, rel)), result)


def _decoded(root: Path, ctx: _Loading, rel: str, encoded: bytes, checked: bool = False) -> FileOutcome:
    """A file's outcome from what _read_file gave; a cache entry that does not decode is redone."""
    try:
        outcome = ctx.decode(encoded)
        if outcome.rel == rel:
            return outcome
    except Exception:  # a damaged entry of any shape is a miss, never an error
        pass
    return ctx.decode(_read_file(root, ctx, rel, checked, fresh=True))


def _merge(outcome: FileOutcome, result: LoadResult) -> list[Document]:
    result.diagnostics.extend(outcome.diagnostics)
    result.unloaded.update(outcome.unloaded)
    if outcome.key:
        result.file_keys[outcome.rel] = outcome.key
    found = outcome.found
    if found is None:
        return []
    result.diagnostics.extend(found.diagnostics)
    result.invalid.update((outcome.rel, i) for i in found.invalid)
    result.unloaded.update(found.unloaded)
    return list(found.documents)


def _read_walked(root: Path, ctx: _Loading, links: frozenset[str], rel: str) -> bytes:
    """A file found by the walk: it sits in a checked folder and the walk follows no folder symlink,
    so only a symlinked file itself still needs the full path check."""
    return _read_file(root, ctx, rel, checked=rel not in links)


def _read_file(root: Path, ctx: _Loading, rel: str, checked: bool = False, fresh: bool = False) -> bytes:
    """Read, parse and check one file, or take it from the cache (unless `fresh`): its FileOutcome, encoded.

    Pure apart from the cache it fills.
    """
    problem = None if checked else repo_path_problem(root, rel, must_exist=True)
    if problem:
        return ctx.encode(FileOutcome(rel, (Diagnostic("bad-path", f"{rel}: {problem}", rel, 1, 1),)))
    try:
        raw = read_capped(os.path.join(root, rel), MAX_FILE_BYTES)
    except TooLarge as big:
        return ctx.encode(FileOutcome(rel, (Diagnostic(
            "file-too-large", f"file is {big.size:,} bytes; the limit is {MAX_FILE_BYTES:,}", rel, 1, 1,
            hint="split it into several files"),), guess_addresses(big.head.decode("utf-8", "replace"))))
    except OSError as exc:
        return ctx.encode(FileOutcome(rel, (Diagnostic("unreadable", f"cannot read file: {exc.strerror}",
                                                       rel, 1, 1),)))
    key = ctx.cache.key(rel, raw, "checked" if ctx.check else "raw")
    stamp = key.encode()  # an entry starts with its own key: one copied under another key is a miss
    if not fresh:
        cached = ctx.cache.get_bytes(key)
        if cached is not None and cached.startswith(stamp):
            return cached[len(stamp):]
    encoded = ctx.encode(FileOutcome(rel, found=process_file(rel, raw, ctx.check), key=key))
    ctx.cache.put_bytes(key, stamp + encoded)
    return encoded


def process_file(rel: str, raw: bytes, check: DocumentCheck | None = None) -> FileResult:
    """Decode, parse and check one file: a pure function of its path and bytes."""
    diags: list[Diagnostic] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = len(raw[raw.rfind(b"\n", 0, exc.start) + 1: exc.start].decode("utf-8", "replace")) + 1  # characters
        diags.append(Diagnostic("not-utf8", f"byte 0x{raw[exc.start]:02x} is not valid UTF-8", rel, line, col,
                                hint="save the file as UTF-8"))
        return FileResult((), tuple(diags), frozenset(), guess_addresses(raw.decode("utf-8", "replace")))
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        parsed = parse_documents(text)
    except YamlError as exc:
        diags.append(Diagnostic(exc.code, exc.message, rel, exc.line, exc.col, hint=exc.hint))
        return FileResult((), tuple(diags), frozenset(), guess_addresses(text))
    if not parsed:
        diags.append(Diagnostic("empty-file", "the file holds no YAML document", rel, 1, 1,
                                hint="remove the file or add a spec document"))
    docs = []
    invalid = set()
    unloaded = set()
    for index, pdoc in enumerate(parsed):
        doc = _envelope(rel, index, pdoc, diags)
        if doc is None:
            data = pdoc.data if isinstance(pdoc.data, dict) else {}
            meta = data.get("metadata")
            name = meta.get("name") if isinstance(meta, dict) else None
            kind = data.get("kind")
            if isinstance(kind, str) and kind not in KINDS:
                kind = closest(kind, KINDS)  # `kind: Datset` most likely meant Dataset
            if isinstance(kind, str) and kind in KINDS and isinstance(name, str):
                unloaded.add(address(kind, name))
            continue
        docs.append(doc)
        if check is not None:
            found = check(doc)
            diags.extend(found)
            if any(d.severity == "error" for d in found):
                invalid.add(index)
    return FileResult(tuple(docs), tuple(diags), frozenset(invalid), frozenset(unloaded))


_KIND_LINE = re.compile(r"^kind:\s*([A-Za-z]+)\s*$", re.M)
_NAME = re.compile(r"^\s*(?:metadata:\s*\{\s*)?name:\s*([a-z][a-z0-9_]*)", re.M)


def guess_addresses(text: str) -> frozenset[str]:
    """Addresses a file that failed to parse probably defines (by plain text search)."""
    found = set()
    for chunk in re.split(r"^---", text, flags=re.M):
        kind, name = _KIND_LINE.search(chunk), _NAME.search(chunk)
        if kind and name and kind.group(1) in KINDS:
            found.add(address(kind.group(1), name.group(1)))
    return frozenset(found)


def _envelope(rel: str, index: int, pdoc: ParsedDocument, diags: list[Diagnostic]) -> Document | None:
    data = pdoc.data
    where = (rel, pdoc.line, pdoc.col)
    if data is None or data == {} or data == []:
        diags.append(Diagnostic("empty-document", f"document {index + 1} is empty", *where,
                                hint="remove the stray '---' or fill the document in"))
        return None
    if not isinstance(data, dict):
        diags.append(Diagnostic("not-a-mapping", f"document {index + 1} is a {type(data).__name__}, "
                                "expected a mapping with apiVersion, kind, metadata and spec", *where))
        return None
    positions = pdoc.positions
    api = data.get("apiVersion")
    if api not in API_VERSIONS:
        line, col = positions.get(("apiVersion",), (pdoc.line, pdoc.col))
        shown = "missing" if api is None else f"'{api}'"
        diags.append(Diagnostic("api-version", f"apiVersion is {shown}; supported: {', '.join(API_VERSIONS)}",
                                rel, line, col, hint=f"write apiVersion: {API_VERSIONS[-1]}"))
        return None
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        line, col = positions.get(("kind",), (pdoc.line, pdoc.col))
        if kind is None:
            diags.append(Diagnostic("unknown-kind", "kind is missing", rel, line, col,
                                    hint=f"one of: {', '.join(KINDS)}"))
        else:
            hint = did_you_mean(str(kind), KINDS) or f"one of: {', '.join(KINDS)}"
            diags.append(Diagnostic("unknown-kind", f"unknown kind '{kind}'", rel, line, col, hint=hint))
        return None
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if kind == "Project" and rel != PROJECT_FILE:
        diags.append(Diagnostic("project-file", f"a Project document belongs in {PROJECT_FILE}", *where,
                                hint="keep exactly one Project, at the repository root"))
        return None
    # a missing or malformed name is reported by the schema; keep a placeholder to locate errors
    return Document(rel, index, kind, name if isinstance(name, str) else f"<document {index + 1}>", pdoc)


def _check_duplicates(result: LoadResult) -> None:
    seen: dict[tuple[str, str], Document] = {}
    for doc in result.documents:
        if doc.name.startswith("<"):
            continue
        key = (doc.kind, doc.name)
        first = seen.get(key)
        if first is None:
            seen[key] = doc
            continue
        line, col = doc.locate(("metadata", "name"))
        fline, _ = first.locate(("metadata", "name"))
        result.diagnostics.append(Diagnostic(
            "duplicate-name", f"{doc.kind} '{doc.name}' is defined twice", doc.file, line, col, doc.address,
            f"first defined in {first.file}:{fline}; names are unique within a kind"))
