"""What a file source's new bytes do to its columns: another header (the seed's table gets other columns, which
dbt seed only makes with --full-refresh), and whether they only add or drop columns, every row and each column both
versions have the same as before. Then no reader's rows change (only a reader of a new column, or one that reads
every column, has anything to do), although the file, and so the seed's table, is rewritten. With the same header
and as many rows, the columns whose values changed, row for row: only what reads them has anything to do."""

from __future__ import annotations

from typing import Any

from compiler.spec.csvfile import Unreadable, blank_lines, header, table

SEED_KEY = "dbt/seeds/{name}.csv"  # where compile writes a file source's bytes (compiler.emit.dbt)
COLUMNS_ONLY = "only columns were added or dropped: every other column holds the same values, row by row"


def columns_only(old: bytes, new: bytes, delimiter: str) -> bool:
    """Whether `new` is `old` with columns added or dropped (and at least one of them), the shared columns' values
    unchanged, row for row."""
    before, after = table(old, delimiter), table(new, delimiter)
    if before is None or after is None:
        return False
    (old_head, old_rows), (new_head, new_rows) = before, after
    if set(old_head) == set(new_head) or len(old_rows) != len(new_rows):  # no column added or dropped
        return False
    shared = [h for h in old_head if h in new_head]
    if not shared:
        return False
    at_old = [old_head.index(h) for h in shared]
    at_new = [new_head.index(h) for h in shared]
    return all([o[i] for i in at_old] == [n[j] for j in at_new] for o, n in zip(old_rows, new_rows, strict=True))


def values_changed(old: bytes, new: bytes, delimiter: str) -> list[str] | None:
    """The columns whose values differ, row for row, when `new` has `old`'s header and as many rows, and some
    column is the same in every row; None otherwise (rows added, dropped or all of them changed)."""
    before, after = table(old, delimiter), table(new, delimiter)
    if before is None or after is None:
        return None
    (old_head, old_rows), (new_head, new_rows) = before, after
    if old_head != new_head or len(old_rows) != len(new_rows):
        return None
    changed = set()
    for o, n in zip(old_rows, new_rows, strict=True):
        if o != n:  # table() makes every row as long as the header
            changed.update(i for i, (a, b) in enumerate(zip(o, n, strict=True)) if a != b)
    if not changed or len(changed) == len(old_head):
        return None
    return [old_head[i] for i in sorted(changed)]


def same_values(old: bytes, new: bytes, delimiter: str) -> bool:
    """Whether `new` holds `old`'s header and values, row for row, written otherwise: quoting (dbt's loaders, agate
    and DuckDB's COPY, read a quoted empty value as NULL too). Blank lines count: DuckDB skips them, but agate
    (dbt-postgres) loads each as a row of NULLs."""
    try:
        heads = header(old, delimiter) == header(new, delimiter)
    except Unreadable:
        return False
    before = table(old, delimiter)
    return heads and before is not None and before == table(new, delimiter) and \
        blank_lines(old, delimiter) == blank_lines(new, delimiter)



def seed_detail(old: bytes, new: bytes, delimiter: str) -> dict[str, Any]:
    """What the plan notes on a file source's changed content: `header_changed` (the columns are others, names or
    order: reloaded from scratch), `columns_only` (see columns_only), `values_changed` (see values_changed) or
    `same_values` (see same_values); empty when none."""
    try:
        old_head, new_head = header(old, delimiter), header(new, delimiter)
    except Unreadable:
        return {}
    found: dict[str, Any] = {}
    if [h.lower() for h in old_head] != [h.lower() for h in new_head]:
        found["header_changed"] = True
        if columns_only(old, new, delimiter):
            found["columns_only"] = True
    elif (columns := values_changed(old, new, delimiter)) is not None:
        found["values_changed"] = columns
    elif same_values(old, new, delimiter):
        found["same_values"] = True
    return found
