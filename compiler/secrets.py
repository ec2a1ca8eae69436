"""Literal secrets are refused before anything else reads a document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from compiler.diagnostics import Diagnostic
from compiler.load import Document, YamlPath

SECRET_KEY = re.compile(r"(^|_)(password|passwd|pwd|token|secret|api_?key|private_?key|credentials?)$", re.I)


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


def check_secrets(doc: Document) -> list[Diagnostic]:
    out = []
    for path in secret_paths(doc.data):
        line, col = doc.locate_key(path)
        key = str(path[-1])
        out.append(Diagnostic(
            "literal-secret", f"'{key}' holds a literal secret; secrets are never written in specs",
            doc.file, line, col, doc.address,
            f"use {key}_env: NAME_OF_AN_ENVIRONMENT_VARIABLE (or a Kubernetes secret reference)"))
    return out
