"""What a file source's new bytes do to its columns: another header (the seed's table gets other columns, which
dbt seed only makes with --full-refresh), and whether they only add or drop columns, every row and each column both
versions have the same as before. Then no reader's rows change (only a reader of a new column, or one that reads
every column, has anything to do), although the file, and so the seed's table, is rewritten."""

from __future__ import annotations

from compiler.spec.csvfile import Unreadable, header, table

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


def seed_detail(old: bytes, new: bytes, delimiter: str) -> dict[str, bool]:
    """What the plan notes on a file source's changed content: `header_changed` (the columns are others, names or
    order: reloaded from scratch) and `columns_only` (see columns_only); empty when neither."""
    try:
        old_head, new_head = header(old, delimiter), header(new, delimiter)
    except Unreadable:
        return {}
    found: dict[str, bool] = {}
    if [h.lower() for h in old_head] != [h.lower() for h in new_head]:
        found["header_changed"] = True
        if columns_only(old, new, delimiter):
            found["columns_only"] = True
    return found
