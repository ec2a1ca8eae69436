"""Checking documents on their own: literal secrets, then each kind's JSON Schema."""

from __future__ import annotations

import re
from dataclasses import replace

from compiler.front.documents import Document, FileResult
from compiler.front.literal_secrets import check_secrets
from compiler.front.schemas import load_schemas
from compiler.spec.diagnostics import Diagnostic


def check_document(doc: Document) -> list[Diagnostic]:
    """The checks that need nothing but the document: literal secrets, then its kind's schema (whose messages
    never quote a secret: its text is masked)."""
    found, texts = check_secrets(doc)
    secret_keys = {(d.line, d.col) for d in found}
    schema = [d for d in load_schemas().validate(doc) if (d.line, d.col) not in secret_keys]
    return found + ([_masked(d, texts) for d in schema] if texts else schema)


def _masked(d: Diagnostic, texts: list[str]) -> Diagnostic:
    message, hint = d.message, d.hint
    for text in texts:
        message = _without(message, text)
        hint = _without(hint, text) if hint else hint
    return d if (message, hint) == (d.message, d.hint) else replace(d, message=message, hint=hint)


MIN_PREFIX = 12  # a secret's text cut short in a message (quoted values are): its longest start this long or more


def _without(message: str, text: str) -> str:
    """`message` with `text` masked, whole or cut short (a message quotes a long value's start, then '...')."""
    if text in message:
        return message.replace(text, "***")
    for end in range(len(text) - 1, MIN_PREFIX - 1, -1):
        if text[:end] in message:
            return message.replace(text[:end], "***")
    return message


def validate_file(result: FileResult, raw: bytes | None = None) -> FileResult:
    """A parsed file with every document checked: their findings added, the documents with errors marked.

    `raw`, the file's bytes, lets an unknown key that follows a comma in a flow mapping get its likely cause.
    """
    diags = list(result.diagnostics)
    invalid = set(result.invalid)
    for doc in result.documents:
        found = check_document(doc)
        diags.extend(found)
        if any(d.severity == "error" for d in found):
            invalid.add(doc.index)
    if raw is not None and any(d.code == "unknown-key" for d in diags):
        lines = raw.decode("utf-8", "replace").splitlines()
        diags = [flow_comma_hint(d, lines) if d.code == "unknown-key" else d for d in diags]
    return replace(result, diagnostics=tuple(diags), invalid=frozenset(invalid))


_VALUE_BEFORE = re.compile(r"([^\s{},:\[\]]+):[ \t]+([^{},:\[\]]*?)[ \t]*,[ \t]*$")


def flow_comma_hint(d: Diagnostic, lines: list[str]) -> Diagnostic:
    """`{description: a, b}`: the comma ends the value in a flow mapping, and `b` becomes an unknown key.
    When the unknown key has no value and follows a comma inside `{` on its line, say that the value before it
    may need quotes."""
    if not 0 < d.line <= len(lines):
        return d
    line = lines[d.line - 1]
    before, after = line[: max(d.col - 1, 0)], line[max(d.col - 1, 0):]
    if "{" not in before or not before.rstrip().endswith(","):
        return d
    key = re.split(r"[,}]", after, maxsplit=1)[0]
    if ":" in key:  # a key with a value of its own (a typo), not the tail of the value before it
        return d
    key = key.strip()
    m = _VALUE_BEFORE.search(before)
    example = f'{m.group(1)}: "{m.group(2)}, {key}"' if m and m.group(2) else 'key: "first part, second part"'
    hint = (f"'{key}' follows a comma inside {{...}}, where a comma ends the value: if it is part of the value "
            f"before it, quote that value ({example})")
    return replace(d, hint=hint + (f"; otherwise, {d.hint}" if d.hint else ""))
