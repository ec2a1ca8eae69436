"""Rendering diagnostics: one function per output format (text, json, github, sarif)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from compiler import __version__
from compiler.spec.diagnostics import Diagnostic


def display_path(root: Path, rel: str | None) -> str:
    """A diagnostic's file as the user will look for it: relative to the working directory if possible."""
    if rel is None:
        return str(root)
    full = root / rel
    try:
        shown = os.path.relpath(full)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(full)
    return str(full) if shown.startswith("..") else shown


def workspace(root: Path) -> Path:
    """Where GitHub reads annotation and SARIF paths from: $GITHUB_WORKSPACE when the repository is in
    it, else the top of the git repository holding it (a folder with `.git`), else the working directory."""
    root = root.resolve()
    env = os.environ.get("GITHUB_WORKSPACE")
    if env and (root == Path(env).resolve() or Path(env).resolve() in root.parents):
        return Path(env).resolve()
    for folder in (root, *root.parents):
        if (folder / ".git").exists():
            return folder
    return Path.cwd()


def workspace_path(base: Path, root: Path, rel: str) -> str:
    """A diagnostic's file relative to `base` (see workspace), with forward slashes."""
    full = root.resolve() / rel
    try:
        shown = os.path.relpath(full, base)
    except ValueError:  # pragma: no cover - other drive on Windows
        return full.as_posix()
    return full.as_posix() if shown.startswith("..") else shown.replace(os.sep, "/")


MAX_SNIPPET_FILE = 2 * 1024 * 1024


DATA_FILES = (".csv", ".tsv", ".psv", ".txt")  # a seed's rows: never shown as a snippet


def _snippet(root: Path, d: Diagnostic, cache: dict[str, list[str]],
             secret_cols: dict[tuple[str | None, int], set[int]]) -> list[str]:
    # a refused path may lead outside the repository or to a device: only a regular file inside the repository
    # (its real path) is read, so a spec naming a bad path still shows its line
    if not d.file or d.line <= 0 or d.code in ("file-too-large", "unreadable"):
        return []
    if d.file.lower().endswith(DATA_FILES):  # a row of data: it may hold PII (the message says column and value)
        return []
    if d.file not in cache:
        cache[d.file] = []
        path = root / d.file
        try:
            inside = os.path.realpath(path).startswith(os.path.realpath(root) + os.sep)
            if inside and path.is_file() and path.stat().st_size <= MAX_SNIPPET_FILE:
                cache[d.file] = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            pass
    lines = cache[d.file]
    if d.line > len(lines):
        return []
    text = lines[d.line - 1].rstrip()
    if len(text) > 160 or any(ch < " " and ch != "\t" for ch in text):
        return []  # too long, or control characters (NULs of a UTF-16 file): the location alone says it
    if d.code == "literal-secret":  # show where the secrets of the line are, not the secrets
        for col in sorted(secret_cols.get((d.file, d.line), {d.col}), reverse=True):  # from the right: cols hold
            text = _mask(text, col)
    gutter = f"{d.line:>5} | "
    return [gutter + text, " " * (len(gutter) + max(d.col - 1, 0)) + "^"]


def _mask(text: str, col: int) -> str:
    """Replace the value after the key at `col` (1-based) with asterisks."""
    start = max(col - 1, 0)
    colon = text.find(":", start)
    if colon < 0:
        return text[:start] + "***"
    rest = text[colon + 1:]
    value = rest.strip().split(",")[0].split("}")[0]
    return text[:colon + 1] + rest.replace(value, "***", 1) if value else text


def render_text(root: Path, diags: Sequence[Diagnostic], summary: str | None = None) -> str:
    out: list[str] = []
    cache: dict[str, list[str]] = {}
    secret_cols: dict[tuple[str | None, int], set[int]] = {}  # (file, line) -> the columns of its secrets
    for d in diags:
        if d.code == "literal-secret":
            secret_cols.setdefault((d.file, d.line), set()).add(d.col)
    secret_lines = set(secret_cols)  # shown masked, once
    for d in diags:
        where = display_path(root, d.file)
        if d.file:
            where += f":{d.line}:{d.col}"
        subject = f"{d.address}: " if d.address else ""
        out.append(f"{where}: {d.severity}: {subject}{d.message} [{d.code}]")
        if d.code == "literal-secret" or (d.file, d.line) not in secret_lines:
            out.extend(_snippet(root, d, cache, secret_cols))
        for r in d.related:
            out.append(f"  {r.message}: {display_path(root, r.file)}:{r.line}:{r.col}")
        if d.hint:
            out.append(f"  hint: {d.hint}")
    errors = sum(d.severity == "error" for d in diags)
    warnings = len(diags) - errors
    if summary is not None:
        out.append(summary)
    elif diags:
        files = len({d.file for d in diags if d.file})
        where = f" in {files} file(s)" if files else ""
        out.append(f"{errors} error(s), {warnings} warning(s){where}")
    return "\n".join(out) + ("\n" if out else "")


def _as_dict(root: Path, d: Diagnostic) -> dict:
    return {
        "severity": d.severity, "code": d.code, "message": d.message, "file": d.file,
        "path": display_path(root, d.file) if d.file else None, "line": d.line, "column": d.col,
        "address": d.address, "hint": d.hint,
        "related": [{"message": r.message, "file": r.file, "path": display_path(root, r.file), "line": r.line,
                     "column": r.col} for r in d.related],
    }


def render_json(root: Path, diags: Sequence[Diagnostic], summary: str | None = None) -> str:
    errors = sum(d.severity == "error" for d in diags)
    doc = {
        "format_version": "1.0",
        "tool_version": __version__,
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": len(diags) - errors,
        "diagnostics": [_as_dict(root, d) for d in diags],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(root: Path, diags: Sequence[Diagnostic], summary: str | None = None) -> str:
    """GitHub Actions workflow commands: one annotation per diagnostic, shown on the PR diff.

    Paths are relative to the workspace (see `workspace`), wherever the command runs from.
    """
    out = []
    base = workspace(root)
    for d in diags:
        level = "error" if d.severity == "error" else "warning"
        props = []
        if d.file:
            props.append(f"file={_gh_escape(workspace_path(base, root, d.file), True)}")
            props.append(f"line={d.line}")
            props.append(f"col={d.col}")
        props.append(f"title={_gh_escape('specops ' + d.code, True)}")
        body = (f"{d.address}: " if d.address else "") + d.message
        body += "".join(f"\n{r.message}: {workspace_path(base, root, r.file)}:{r.line}:{r.col}" for r in d.related)
        body += f"\nhint: {d.hint}" if d.hint else ""
        out.append(f"::{level} {','.join(props)}::{_gh_escape(body)}")
    if summary:
        out.append(summary)
    return "\n".join(out) + ("\n" if out else "")


def render_sarif(root: Path, diags: Sequence[Diagnostic], summary: str | None = None) -> str:
    """SARIF 2.1.0, for GitHub code scanning (upload-sarif); paths relative to the workspace."""
    rules = sorted({d.code for d in diags})
    results = []
    base = workspace(root)
    for d in diags:
        # related locations are linked from the message as [text](id), as code scanning shows them
        links = "".join(f"; {r.message}: [{workspace_path(base, root, r.file)}:{r.line}:{r.col}]({i})"
                        for i, r in enumerate(d.related, start=1))
        result: dict = {
            "ruleId": d.code,
            "ruleIndex": rules.index(d.code),
            "level": "error" if d.severity == "error" else "warning",
            "message": {"text": (f"{d.address}: " if d.address else "") + d.message + links
                        + (f" (hint: {d.hint})" if d.hint else "")},
        }
        if d.file:
            result["locations"] = [_sarif_location(base, root, d.file, d.line, d.col)]
        if d.related:
            result["relatedLocations"] = [
                {"id": i, **_sarif_location(base, root, r.file, r.line, r.col), "message": {"text": r.message}}
                for i, r in enumerate(d.related, start=1)]
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "specops",
                "version": __version__,
                "informationUri": "https://github.com/specops/specops",
                "rules": [{"id": r, "name": r, "shortDescription": {"text": r.replace("-", " ")}} for r in rules],
            }},
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _sarif_location(base: Path, root: Path, file: str, line: int, col: int) -> dict:
    return {"physicalLocation": {
        # a URI reference: a space is %20, a % is %25 (code scanning decodes it back to the path)
        "artifactLocation": {"uri": quote(workspace_path(base, root, file), safe="/")},
        "region": {"startLine": max(line, 1), "startColumn": max(col, 1)},
    }}


RENDERERS: dict[str, Callable[[Path, Sequence[Diagnostic], str | None], str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
}
