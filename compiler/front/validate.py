"""Checking documents on their own: literal secrets, then each kind's JSON Schema."""

from __future__ import annotations

from dataclasses import replace

from compiler.front.documents import Document, FileResult
from compiler.front.literal_secrets import check_secrets
from compiler.front.schemas import load_schemas
from compiler.spec.diagnostics import Diagnostic


def check_document(doc: Document) -> list[Diagnostic]:
    """The checks that need nothing but the document: literal secrets, then its kind's schema."""
    found = check_secrets(doc)
    secret_keys = {(d.line, d.col) for d in found}
    return found + [d for d in load_schemas().validate(doc) if (d.line, d.col) not in secret_keys]


def validate_file(result: FileResult) -> FileResult:
    """A parsed file with every document checked: their findings added, the documents with errors marked."""
    diags = list(result.diagnostics)
    invalid = set(result.invalid)
    for doc in result.documents:
        found = check_document(doc)
        diags.extend(found)
        if any(d.severity == "error" for d in found):
            invalid.add(doc.index)
    return replace(result, diagnostics=tuple(diags), invalid=frozenset(invalid))
