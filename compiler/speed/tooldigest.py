"""One digest of the code and data that compute specops' results: what its caches are valid for.

A release changes it, and so does any edit of the package's Python files, schemas or templates in a
checkout (where the version number stays put), another Python, or another version of a library whose
behaviour shapes results (PyYAML parses, jsonschema words errors, Jinja2 renders, networkx orders):
a cache can never outlive the code that filled it.
"""

from __future__ import annotations

import hashlib
import os
import sys
from functools import cache
from pathlib import Path

from compiler.shipped import data_dir

_PACKAGE = Path(__file__).resolve().parent.parent


@cache
def tool_digest() -> str:
    """sha256 over the package's .py files and its schemas and templates, by relative path (~2 ms)."""
    h = hashlib.sha256()
    h.update(f"{sys.version}\0{_library_versions()}\0".encode())
    for base, suffixes in ((_PACKAGE, (".py",)), (data_dir("schemas"), None), (data_dir("templates"), None)):
        for path in _files(base, suffixes):
            h.update(f"{base.name}/{path.relative_to(base).as_posix()}\0".encode())
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def _library_versions() -> str:
    from importlib import metadata

    found = []
    for name in ("PyYAML", "jsonschema", "Jinja2", "networkx"):
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=?")
    return ",".join(found)


def _files(base: Path, suffixes: tuple[str, ...] | None) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        found += [Path(dirpath, f) for f in filenames if suffixes is None or f.endswith(suffixes)]
    return sorted(found)
