"""The site's fixed files: our page code (templates/site/static) and the vendored JavaScript, pinned.

The vendored files are copied unchanged from their npm tarballs (templates/site/static/vendor/README.md);
their sha256 here is checked by the tests, so an accidental edit or a half-done update shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from compiler.shipped import data_dir


@dataclass(frozen=True)
class Vendored:
    file: str
    package: str
    version: str
    sha256: str
    licenses: tuple[str, ...]


VENDORED = (
    Vendored("cytoscape.min.js", "cytoscape", "3.35.0",
             "71fa9ebec21a7ca2c40cff6aacc30d1f6464e363662ad4b2c197e1adc770cd94", ("cytoscape.LICENSE",)),
    # bundles @dagrejs/dagre 3.0.0 and @dagrejs/graphlib 4.0.1, hence their licenses
    Vendored("cytoscape-dagre.min.js", "cytoscape-dagre", "4.0.1",
             "ec671a41d2bfcac580352e2997797793949e3489cecaf347fc48670d4bd456b0",
             ("cytoscape-dagre.LICENSE", "dagre.LICENSE", "graphlib.LICENSE")),
)
# our own files, as the site names them (under static/)
OWN = ("app.js", "page.js", "site.css")


def static_dir() -> Path:
    return data_dir("templates") / "site" / "static"


@cache
def static_files() -> tuple[tuple[str, bytes], ...]:
    """(path in the site, bytes) of every fixed file: static/*, static/vendor/* with licenses and README."""
    base = static_dir()
    names = [*OWN, *(f"vendor/{v.file}" for v in VENDORED),
             *(f"vendor/{lic}" for v in VENDORED for lic in v.licenses), "vendor/README.md"]
    return tuple((f"static/{name}", (base / name).read_bytes()) for name in sorted(set(names)))
