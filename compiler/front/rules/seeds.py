"""Rules about file sources (CSV files loaded as dbt seeds): the file's header row against the declared columns,
each written exactly as declared (dbt types seed columns by their exact names), and every row as long as it.

A declared column the file does not have fails only when dbt's tests or a reader's SQL run in the warehouse;
a header column the dataset does not declare is loaded but unknown to lineage, checks and plans.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

from compiler.front.rules.context import Context
from compiler.spec.csvfile import Unreadable, bad_row, matching_values, written_header
from compiler.spec.diagnostics import Diagnostic, did_you_mean
from compiler.spec.ir import Dataset

MAX_LISTED = 8


def check_seed_headers(ctx: Context) -> Iterator[Diagnostic]:
    """Each declared column is in the CSV's header, once; the header's other columns are named (a warning)."""
    for ds in ctx.datasets.values():
        src = ds.source
        if src is None or src.type != "file" or src.content is None:
            continue  # no file read (a bad path is reported where it is checked)
        try:
            written = written_header(src.content, src.delimiter or ",")
        except Unreadable as why:
            yield ctx.at(ds, ("spec", "source", "path"), "seed-header", f"{src.path}: {why}")
            continue
        yield from _compare(ctx, ds, [h.strip() for h in written])
        yield from _spelling(ctx, ds, written)
        found = bad_row(src.content, src.delimiter or ",", len(written))
        if found is not None:
            line, why, fix = found
            yield Diagnostic("seed-row", f"{why}: dbt seed would refuse or misread the file (DuckDB reads a file "
                             "with a short row as one column)", src.path, line, 1, ds.address, fix)
        else:
            yield from _times(ds, written)


# a time of day, then a zone: an offset (-05:00, +0530, +01), Z or UTC
_ZONED = re.compile(r".*\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:[+-]\d\d(?::?\d\d)?|z|utc|gmt)", re.IGNORECASE)
# a zone of offset zero: the clock time dbt seed keeps is the UTC time already (nothing is read wrong)
_UTC = re.compile(r".*(?:[+-]00(?::?00)?|z|utc|gmt)\s*", re.IGNORECASE)


def _times(ds: Dataset, written: list[str]) -> Iterator[Diagnostic]:
    """The values of `date` and `timestamp` columns dbt seed misreads, read in one pass over the file:

    - a time with a UTC offset in a `timestamp` column: a timestamp is a time without zone, and DuckDB and
      Postgres load `06:44:39-05:00` as 06:44:39, dropping the offset (so it is read as UTC, 5 hours off);
    - a date written `01/02/2024`: the order of day and month is guessed from the whole file, so the same text
      loads as another date when another row changes (`12/31/2024` makes it month first), silently.

    Each kind is said at its first MAX_LISTED rows, the last of those counting the rest."""
    assert ds.source is not None and ds.source.content is not None
    names = [h.strip().lower() for h in written]
    dated = {names.index(c.name): c.type for c in ds.columns if c.type in ("date", "timestamp") and c.name in names}
    if not dated:
        return

    def odd(value: str) -> bool:
        return bool(_DAY_MONTH.fullmatch(value)) or bool(_ZONED.fullmatch(value))

    zoned, guessed = [], []
    for line, i, value in matching_values(ds.source.content, ds.source.delimiter or ",", sorted(dated), odd):
        if _DAY_MONTH.fullmatch(value):
            guessed.append((line, i, value))
        elif dated[i] == "timestamp" and not _UTC.fullmatch(value):
            zoned.append((line, i, value))
    secret = {c.lower() for c in ds.pii_columns} if ds.classification != "restricted" else set(names)

    def shown(i: int, value: str) -> str:  # a value of a PII column or of a restricted dataset is not quoted
        return "the value" if names[i] in secret else repr(value)

    for n, (line, i, value) in enumerate(zoned[:MAX_LISTED], 1):
        yield Diagnostic("seed-row", f"{shown(i, value)} in column '{names[i]}' has a zone, but a timestamp column is "
                         "a time without zone: dbt seed loads the clock time and drops the zone (DuckDB, Postgres), "
                         "so the time is read as UTC" + _more(zoned, n), ds.source.path, line, 1, ds.address,
                         "write the times in UTC without an offset" if names[i] in secret else _in_utc(value),
                         severity="warning")
    for n, (line, i, value) in enumerate(guessed[:MAX_LISTED], 1):
        yield Diagnostic("seed-row", f"{shown(i, value)} in {dated[i]} column '{names[i]}' is no ISO date: dbt seed "
                         "guesses the order of its day and month from the whole file, so another row can make it "
                         "load as another date" + _more(guessed, n), ds.source.path, line, 1, ds.address,
                         "write dates as YYYY-MM-DD (times as YYYY-MM-DD HH:MM:SS)", severity="warning")


def _more(found: list, n: int) -> str:
    """` (N more row(s) like it)` after the last one listed, when there are more."""
    more = len(found) - MAX_LISTED if n == MAX_LISTED else 0
    return f" ({more} more row(s) like it)" if more > 0 else ""


# a date written day and month as two small numbers (01/02/2024, 1.2.24, 01-02-2024): their order is guessed
_DAY_MONTH = re.compile(r"\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}(?:[ T].*)?")


def _in_utc(value: str) -> str:
    """The hint for a zoned time: the same instant in UTC without an offset, where Python reads the value."""
    text = value.strip()
    text = re.sub(r"\s*(?:z|utc|gmt)$", "+00:00", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+([+-]\d)", r"\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return "write the times in UTC without an offset"
    if moment.tzinfo is None:
        return "write the times in UTC without an offset"
    utc = moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return f"write the times in UTC without an offset ({utc} for {value.strip()})"


def _spelling(ctx: Context, ds: Dataset, written: list[str]) -> Iterator[Diagnostic]:
    """A declared column the header writes otherwise (`Monthly_Price`, ` monthly_price`): dbt gives a seed column
    its declared type only under its exact name, so it would be loaded with an inferred type instead."""
    assert ds.source is not None
    as_written = {h.strip().lower(): h for h in written}
    for i, col in enumerate(ds.columns):
        found = as_written.get(col.name.lower())
        if found is not None and found != col.name:
            yield ctx.at(ds, ("spec", "columns", i, "name"), "seed-header",
                         f"{ds.source.path}'s header writes {found!r} for column '{col.name}': dbt types a seed "
                         f"column by its exact name, so {col.type} would not apply (its type would be guessed)",
                         f"write {col.name} in the header")


def _compare(ctx: Context, ds: Dataset, header: list[str]) -> Iterator[Diagnostic]:
    assert ds.source is not None
    path = ds.source.path
    unnamed = [n for n, h in enumerate(header, 1) if not h]
    if unnamed:
        yield ctx.at(ds, ("spec", "source", "path"), "seed-header",
                     f"{path}'s header has no name for column {', '.join(map(str, unnamed))}",
                     "name every column (a trailing delimiter makes an unnamed one)")
        header = [h for h in header if h]
    folded = [h.lower() for h in header]
    twice = sorted({h for h in header if folded.count(h.lower()) > 1})
    if twice:
        yield ctx.at(ds, ("spec", "source", "path"), "seed-header",
                     f"{path}'s header names {', '.join(repr(h) for h in twice)} more than once",
                     "a table cannot have two columns of one name: rename one in the file")
    for i, col in enumerate(ds.columns):
        if col.name.lower() not in folded:
            hint = did_you_mean(col.name, header) or f"its header: {', '.join(header[:12])}"
            yield ctx.at(ds, ("spec", "columns", i, "name"), "seed-header",
                         f"column '{col.name}' is not in the header of {path}", hint)
    declared = {c.lower() for c in ds.column_names}
    extra = [h for h in header if h.lower() not in declared]
    if extra:
        listed = ", ".join(extra[:MAX_LISTED]) + (", ..." if len(extra) > MAX_LISTED else "")
        yield ctx.at(ds, ("spec", "source", "path"), "seed-header",
                     f"{path} has {len(extra)} column(s) dataset.{ds.name} does not declare: {listed}",
                     "declare them (they are loaded, but lineage, checks and plans do not know them), or drop them "
                     "from the file", severity="warning")
