"""Regenerate what is derived from the kinds' JSON Schemas: schemas/specops.schema.json (every kind in one
schema, for editors) and the field tables of docs/spec.md. Tests fail while either is out of date.

    .venv/bin/python scripts/generate_reference.py          # rewrite both
    .venv/bin/python scripts/generate_reference.py --check  # exit 1, naming what is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compiler.front.reference import fill_tables  # noqa: E402
from compiler.front.schema_bundle import BUNDLE_FILE, bundle_text  # noqa: E402
from compiler.front.schemas import load_schemas  # noqa: E402

SPEC_DOC = ROOT / "docs" / "spec.md"


def expected() -> dict[Path, str]:
    schemas = load_schemas().schemas
    return {
        ROOT / "schemas" / BUNDLE_FILE: bundle_text(schemas),
        SPEC_DOC: fill_tables(SPEC_DOC.read_text(encoding="utf-8"), schemas),
    }


def main(argv: list[str]) -> int:
    stale = []
    for path, text in expected().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(ROOT).as_posix())
        if "--check" not in argv:
            path.write_text(text, encoding="utf-8")
    if stale:
        verb = "out of date" if "--check" in argv else "rewritten"
        print(f"{verb}: {', '.join(stale)}" + (" (run: python scripts/generate_reference.py)" if "--check" in argv
                                                else ""))
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
