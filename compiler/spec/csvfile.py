"""Reading a file source's CSV bytes (a dbt seed): its header, its rows. Pure functions of the bytes; what cannot
be read so (not UTF-8, not CSV, rows of another length than the header) is None, and callers then say nothing
or assume the worst."""

from __future__ import annotations

import csv
import io

HEAD_BYTES = 65536  # a header row longer than this is not read


def header(content: bytes, delimiter: str) -> list[str] | None:
    """The names of the first row, as written (stripped), or None when it cannot be read within HEAD_BYTES."""
    head = content[:HEAD_BYTES]
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not a character cut at HEAD_BYTES
            return None
        text = head[:exc.start].decode("utf-8-sig")
    try:
        row = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), None)
    except csv.Error:
        return None
    if not row or (len(content) > HEAD_BYTES and "\n" not in text and "\r" not in text):
        return None
    return [h.strip() for h in row]


def table(content: bytes, delimiter: str) -> tuple[list[str], list[list[str]]] | None:
    """The header (names folded to lower case, each once) and the rows (each as long as the header; blank lines
    left out), or None."""
    try:
        rows = [r for r in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=delimiter) if r]
    except (UnicodeDecodeError, csv.Error):
        return None
    if not rows:
        return None
    head = [h.strip().lower() for h in rows[0]]
    if len(set(head)) != len(head) or any(len(r) != len(head) for r in rows[1:]):
        return None
    return head, rows[1:]
