"""Reading one spec file and parsing it into documents: a pure function of its path and bytes."""

from __future__ import annotations

import os
import re
from pathlib import Path

from compiler.front.discover import PROJECT_FILE
from compiler.front.documents import Document, FileOutcome, FileResult
from compiler.front.readfile import TooLarge, read_capped
from compiler.front.yamlparse import DocumentError, ParsedDocument, YamlError, parse_each_document
from compiler.paths import repo_path_problem
from compiler.spec.diagnostics import Diagnostic, Related, closest, did_you_mean
from compiler.spec.kinds import API_VERSIONS, KINDS, address

MAX_FILE_BYTES = 2 * 1024 * 1024


def read_spec(root: Path, rel: str, checked: bool = False) -> bytes | FileOutcome:
    """The file's bytes, or the outcome of a file that cannot be read (outside the repository, too large,
    unreadable). `checked`: the path is known to be a proper repository path already."""
    problem = None if checked else repo_path_problem(root, rel, must_exist=True)
    if problem:
        return FileOutcome(rel, (Diagnostic("bad-path", f"{rel}: {problem}", rel, 1, 1),))
    try:
        return read_capped(os.path.join(root, rel), MAX_FILE_BYTES)
    except TooLarge as big:
        return FileOutcome(rel, (Diagnostic(
            "file-too-large", f"file is {big.size:,} bytes; the limit is {MAX_FILE_BYTES:,}", rel, 1, 1,
            hint="split it into several files"),), guess_addresses(big.head.decode("utf-8", "replace")))
    except OSError as exc:
        return FileOutcome(rel, (Diagnostic("unreadable", f"cannot read file: {exc.strerror}", rel, 1, 1),))


def parse_file(rel: str, raw: bytes) -> FileResult:
    """Decode and parse one file into documents (their envelopes checked): a pure function of its path and bytes."""
    diags: list[Diagnostic] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = len(raw[raw.rfind(b"\n", 0, exc.start) + 1: exc.start].decode("utf-8", "replace")) + 1  # characters
        utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))  # a UTF-16 byte order mark
        diags.append(Diagnostic("not-utf8", "the file is UTF-16 (it starts with a byte order mark), not UTF-8" if utf16
                                else f"byte 0x{raw[exc.start]:02x} is not valid UTF-8", rel, line, col,
                                hint="save the file as UTF-8"))
        return FileResult((), tuple(diags), frozenset(), guess_addresses(raw.decode("utf-8", "replace")))
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        parsed = parse_each_document(text)
    except YamlError as exc:
        diags.append(_yaml_diagnostic(rel, exc))
        return FileResult((), tuple(diags), frozenset(), guess_addresses(text))
    if not parsed:
        # a warning, as kubectl and kustomize skip such files: a spec commented out whole is left out, which the
        # plan shows (specops.yaml, which must hold the Project, is an error in compiler.front.load)
        diags.append(Diagnostic("empty-file", "the file holds no YAML document: nothing in it is read", rel, 1, 1,
                                hint="remove the file or add a spec document", severity="warning"))
    docs = []
    unloaded = set()
    for index, pdoc in enumerate(parsed):
        if isinstance(pdoc, DocumentError):  # the file's other documents are still read and checked
            diags += [_yaml_diagnostic(rel, e) for e in (pdoc.error, *pdoc.more)]
            unloaded |= guess_addresses(pdoc.text)
            continue
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
    return FileResult(tuple(docs), tuple(diags), frozenset(), frozenset(unloaded))


def _yaml_diagnostic(rel: str, exc: YamlError) -> Diagnostic:
    related = tuple(Related(what, rel, line, col) for what, line, col in exc.related)
    return Diagnostic(exc.code, exc.message, rel, exc.line, exc.col, hint=exc.hint, related=related)


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
        # a stray `---` (a leading or trailing one, as some editors and generators write) is skipped, as kubectl does
        diags.append(Diagnostic("empty-document", f"document {index + 1} is empty and skipped", *where,
                                hint="remove the stray '---' or fill the document in", severity="warning"))
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
