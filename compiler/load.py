"""Stage 1: discover spec files from the Project document and parse them into Documents."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.diagnostics import Diagnostic, closest, did_you_mean
from compiler.kinds import API_VERSIONS, KINDS, address
from compiler.paths import repo_path_problem
from compiler.yamlload import ParsedDocument, YamlError, parse_documents

PROJECT_FILE = "specops.yaml"
MAX_FILE_BYTES = 2 * 1024 * 1024
SPEC_SUFFIXES = (".yaml", ".yml")

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
        positions = self.parsed.positions
        for cut in range(len(path), -1, -1):
            found = positions.get(tuple(path[:cut]))
            if found:
                return found
        return self.parsed.line, self.parsed.col

    def locate_key(self, path: YamlPath) -> tuple[int, int]:
        """Line and column of the key of the entry at `path` (falls back to the value)."""
        return self.parsed.key_positions.get(tuple(path)) or self.locate(path)


@dataclass
class LoadResult:
    root: Path
    project: Document | None
    documents: list[Document]
    diagnostics: list[Diagnostic]
    files: dict[str, str] = field(default_factory=dict)  # repo-relative path -> text
    # addresses of documents that exist but could not be loaded (best effort): a reference to one of
    # them is not reported as unresolved, since the load error already explains it
    unloaded: set[str] = field(default_factory=set)


def load_repository(root: Path) -> LoadResult:
    """Find specops.yaml under `root`, then every spec file of its folders; never raises on bad input."""
    root = root.resolve()
    result = LoadResult(root, None, [], [])
    diags = result.diagnostics
    project_path = root / PROJECT_FILE
    if not project_path.is_file():
        diags.append(Diagnostic("no-project", f"no {PROJECT_FILE} in {root}", None,
                                hint="run `specops init DIR` to scaffold a repository, or pass its root"))
        return result
    project_docs = _load_file(root, PROJECT_FILE, result)
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
    for rel in _spec_files(root, result):
        result.documents.extend(_load_file(root, rel, result))
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
    return {out.strip("/")} if isinstance(out, str) else set()


def _spec_files(root: Path, result: LoadResult) -> list[str]:
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
        for dirpath, dirnames, filenames in os.walk(base):
            rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
            keep = []
            for d in sorted(dirnames):
                rel = d if rel_dir == "." else f"{rel_dir}/{d}"
                if d.startswith(".") or rel in excluded:
                    continue
                if os.path.islink(os.path.join(dirpath, d)):
                    real = os.path.realpath(os.path.join(dirpath, d))
                    if not (real == real_root or real.startswith(real_root + os.sep)):
                        result.diagnostics.append(Diagnostic(
                            "bad-path", f"folder '{rel}' is a symlink that leaves the repository", rel, 1, 1))
                    continue  # symlinked folders are never walked: one file, one path
                keep.append(d)
            dirnames[:] = keep
            for name in filenames:
                if name.endswith(SPEC_SUFFIXES) and not name.startswith("."):
                    rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                    if rel != PROJECT_FILE:
                        files.add(rel)
    return sorted(files)


def _load_file(root: Path, rel: str, result: LoadResult) -> list[Document]:
    diags = result.diagnostics
    problem = repo_path_problem(root, rel, must_exist=True)
    if problem:
        diags.append(Diagnostic("bad-path", f"{rel}: {problem}", rel, 1, 1))
        return []
    path = root / rel
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            diags.append(Diagnostic("file-too-large", f"file is {size:,} bytes; the limit is "
                                    f"{MAX_FILE_BYTES:,}", rel, 1, 1, hint="split it into several files"))
            with path.open("rb") as head:
                result.unloaded |= _guess_addresses(head.read(64 * 1024).decode("utf-8", "replace"))
            return []
        raw = path.read_bytes()
    except OSError as exc:
        diags.append(Diagnostic("unreadable", f"cannot read file: {exc.strerror}", rel, 1, 1))
        return []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = len(raw[raw.rfind(b"\n", 0, exc.start) + 1: exc.start].decode("utf-8", "replace")) + 1  # characters
        diags.append(Diagnostic("not-utf8", f"byte 0x{raw[exc.start]:02x} is not valid UTF-8", rel, line, col,
                                hint="save the file as UTF-8"))
        result.unloaded |= _guess_addresses(raw.decode("utf-8", "replace"))
        return []
    if text.startswith("\ufeff"):
        text = text[1:]
    result.files[rel] = text
    try:
        parsed = parse_documents(text)
    except YamlError as exc:
        diags.append(Diagnostic(exc.code, exc.message, rel, exc.line, exc.col, hint=exc.hint))
        result.unloaded |= _guess_addresses(text)
        return []
    if not parsed:
        diags.append(Diagnostic("empty-file", "the file holds no YAML document", rel, 1, 1,
                                hint="remove the file or add a spec document"))
    docs = []
    for index, pdoc in enumerate(parsed):
        doc = _envelope(rel, index, pdoc, diags)
        if doc is not None:
            docs.append(doc)
        elif isinstance(pdoc.data, dict):
            result.unloaded |= _guess_addresses_of(pdoc.data.get("kind"), pdoc.data.get("metadata"))
    return docs


_KIND_LINE = re.compile(r"^kind:[ \t]*['\"]?([A-Za-z_]+)", re.M)
_METADATA_LINE = re.compile(r"^metadata:", re.M)
_NAME_FIELD = re.compile(r"\bname:[ \t]*['\"]?([a-z][a-z0-9_]{0,62})\b")


def _guess_addresses(text: str) -> set[str]:
    """Addresses that the documents of an unparseable file most likely define."""
    found: set[str] = set()
    for chunk in re.split(r"^---", text, flags=re.M):
        kind = _KIND_LINE.search(chunk)
        meta = _METADATA_LINE.search(chunk)
        name = _NAME_FIELD.search(chunk, meta.end()) if meta else None
        if kind and name:
            found |= _guess_addresses_of(kind.group(1), {"name": name.group(1)})
    return found


def _guess_addresses_of(kind: object, metadata: object) -> set[str]:
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(kind, str) or not isinstance(name, str):
        return set()
    known = kind if kind in KINDS else closest(kind, KINDS)
    return {address(known, name)} if known else set()


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
    if kind not in KINDS:
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
