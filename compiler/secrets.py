"""Literal secrets are refused before anything else reads a document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from compiler.diagnostics import Diagnostic
from compiler.load import Document, YamlPath

SECRET_KEY = re.compile(r"(^|_)(password|passwd|pwd|token|secret|api_?key|private_?key|credentials?)$", re.I)
# scheme://user:password@host — a password inside a URL is a literal secret too
URL_CREDENTIALS = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")


def secret_paths(data: Any, path: YamlPath = ()) -> Iterator[YamlPath]:
    """Paths of keys named like a secret that hold a literal (non-empty scalar) value."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = (*path, key)
            if SECRET_KEY.search(key) and isinstance(value, (str, int, float)) and value != "":
                yield here
            else:
                yield from secret_paths(value, here)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from secret_paths(value, (*path, i))


def url_credential_paths(data: Any, path: YamlPath = ()) -> Iterator[YamlPath]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from url_credential_paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from url_credential_paths(value, (*path, i))
    elif isinstance(data, str) and URL_CREDENTIALS.match(data):
        yield path


def check_secrets(doc: Document) -> list[Diagnostic]:
    out = []
    for path in secret_paths(doc.data):
        line, col = doc.locate_key(path)
        key = str(path[-1])
        out.append(Diagnostic(
            "literal-secret", f"'{key}' holds a literal secret; secrets are never written in specs",
            doc.file, line, col, doc.address,
            f"name an environment variable instead: {key}_env: NAME (where a setting supports it), and keep "
            "the value in your CI or cluster secrets"))
    for path in url_credential_paths(doc.data):
        line, col = doc.locate(path)
        out.append(Diagnostic(
            "literal-secret", f"{'.'.join(map(str, path))} has a password inside the URL; secrets are never "
            "written in specs", doc.file, line, col, doc.address,
            "remove user:password@ from the URL; MLflow reads MLFLOW_TRACKING_USERNAME/PASSWORD or "
            "MLFLOW_TRACKING_TOKEN from the environment"))
    return out
