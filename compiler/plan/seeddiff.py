"""Whether a file source's new bytes only add or drop columns: every row, and each column both versions have,
the same as before. Then no reader's rows change (only a reader of a new column, or one that reads every column,
has anything to do), although the file, and so the seed's table, is rewritten."""

from __future__ import annotations

import csv
import io

SEED_KEY = "dbt/seeds/{name}.csv"  # where compile writes a file source's bytes (compiler.emit.dbt)
COLUMNS_ONLY = "only columns were added or dropped: every other column holds the same values, row by row"


def columns_only(old: bytes, new: bytes, delimiter: str) -> bool:
    """Whether `new` is `old` with columns added or dropped (and at least one of them), the shared columns' values
    unchanged, row for row."""
    before, after = _table(old, delimiter), _table(new, delimiter)
    if before is None or after is None:
        return False
    (old_head, old_rows), (new_head, new_rows) = before, after
    if old_head == new_head or len(old_rows) != len(new_rows):
        return False
    shared = [h for h in old_head if h in new_head]
    if not shared:
        return False
    at_old = [old_head.index(h) for h in shared]
    at_new = [new_head.index(h) for h in shared]
    return all([o[i] for i in at_old] == [n[j] for j in at_new] for o, n in zip(old_rows, new_rows, strict=True))


def _table(content: bytes, delimiter: str) -> tuple[list[str], list[list[str]]] | None:
    """The header (names folded to lower case) and rows of a CSV, each row as long as the header; None when it
    cannot be read so."""
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
