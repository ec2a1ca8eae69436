"""Literal secrets are refused before anything else reads a document."""

from __future__ import annotations

import re
from typing import Any

from compiler.front.documents import Document, YamlPath
from compiler.spec.diagnostics import Diagnostic

SECRET_KEY = re.compile(r"(^|_)(password|passwd|pwd|token|secret|api_?key|private_?key|credentials?)$", re.I)
# scheme://user:password@host — a password inside a URL is a literal secret too
URL_CREDENTIALS = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")


def _walk(data: Any, path: YamlPath, keys: list[YamlPath], urls: list[YamlPath]) -> None:
    """One pass: keys named like a secret holding a literal value, and URLs carrying a password."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = (*path, key)
            if isinstance(value, (str, int, float)) and value != "" and SECRET_KEY.search(key):
                keys.append(here)
            elif isinstance(value, (dict, list)):
                _walk(value, here, keys, urls)
            elif isinstance(value, str) and "@" in value and URL_CREDENTIALS.match(value):
                urls.append(here)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            if isinstance(value, (dict, list)):
                _walk(value, (*path, i), keys, urls)
            elif isinstance(value, str) and "@" in value and URL_CREDENTIALS.match(value):
                urls.append((*path, i))


def check_secrets(doc: Document) -> list[Diagnostic]:
    out = []
    keys: list[YamlPath] = []
    urls: list[YamlPath] = []
    _walk(doc.data, (), keys, urls)
    for path in keys:
        line, col = doc.locate_key(path)
        key = str(path[-1])
        out.append(Diagnostic(
            "literal-secret", f"'{key}' holds a literal secret; secrets are never written in specs",
            doc.file, line, col, doc.address,
            f"name an environment variable instead: {key}_env: NAME (where a setting supports it), and keep "
            "the value in your CI or cluster secrets"))
    for path in urls:
        line, col = doc.locate(path)
        out.append(Diagnostic(
            "literal-secret", f"{'.'.join(map(str, path))} has a password inside the URL; secrets are never "
            "written in specs", doc.file, line, col, doc.address,
            "remove user:password@ from the URL; MLflow reads MLFLOW_TRACKING_USERNAME/PASSWORD or "
            "MLFLOW_TRACKING_TOKEN from the environment"))
    return out
