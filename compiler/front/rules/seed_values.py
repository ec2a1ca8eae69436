"""Seed values the warehouse cannot load into their declared column types.

dbt seed loads a file source's CSV into a table of the declared types: on DuckDB (dbt-duckdb) with `COPY`, which
refuses the whole file at the first value it cannot convert (`NULL` or `N/A` in an integer column, `on` in a
boolean one, `2024-02-30`); on PostgreSQL through agate, which reads only an empty field and `null` as no value
(every seed column is text to it: specops declares their types), then PostgreSQL's input rules, stricter than
DuckDB's (`1.0` is no integer, `1_000` no number). Such a file validated and failed in apply; each value is now
an error at its row, for each warehouse the environments use. Only values the warehouse surely refuses are
reported (DuckDB reads `1.5` into an integer, `0x1F` and `1_000` as numbers, `2024-01-02 24:00:00` as the next
day; values in forms other than ISO's are left to the warehouses), so a file that loads is never refused.
Snowflake and BigQuery load seeds with rules of their own: nothing is checked for them.

A value of a PII column or of a restricted dataset is not quoted: its line and column say where it is. A file
with a row of the wrong length is not checked here (check_seed_headers reports the row: its values are shifted).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from compiler.front.rules.context import Context
from compiler.spec.csvfile import Unreadable, bad_row, blank_lines, matching_values, written_header
from compiler.spec.diagnostics import Diagnostic
from compiler.spec.ir import Dataset
from compiler.spec.warehouse_types import DECIMAL_RE

MAX_LISTED = 8  # values said per dataset; the last of them counts the rest
CHECKED = {"duckdb": "DuckDB", "postgres": "PostgreSQL"}

_SPACE = " \t\r\n"  # what the readers trim around a number (a no-break space is no space to them)
# DuckDB's numbers: underscores between digits anywhere, signs repeated (`+-1`), hex and binary integers
_DUCK_NUMBER = re.compile(r"[+-]*(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9][0-9_]*)?")
_DUCK_BASED = re.compile(r"[+-]*0(?:[xX][0-9a-fA-F_]+|[bB][01_]+)")
_PG_INTEGER = re.compile(r"[+-]?[0-9]+")
_PG_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX_FLOAT = re.compile(r"[+-]?0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*(?:[pP][+-]?[0-9]+)?")  # C's strtod reads them
_SPECIAL_FLOATS = {"nan", "inf", "infinity", "+inf", "+infinity", "-inf", "-infinity"}
_DUCK_BOOLEANS = {"true", "false", "t", "f", "yes", "no", "y", "n", "1", "0"}  # as written: no space trimmed
_PG_BOOLEANS = ("true", "false", "yes", "no", "on", "off")  # or a first part of one (`tr`), or 1 / 0
_PG_NULLS = {"", "null"}  # what agate reads as no value (dbt's type tester)
# an ISO date, then maybe a time: [T ]HH:MM[:SS[.f]]
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?")
_TIME_WORDS = {"infinity", "-infinity", "epoch"}
_PG_TIME_WORDS = _TIME_WORDS | {"now", "today", "tomorrow", "yesterday", "allballs"}
_RANGES = {"integer": 2**31, "bigint": 2**63}

Why = Callable[[str], str | None]  # a value -> why the warehouse refuses it, or None


def check_seed_values(ctx: Context) -> Iterator[Diagnostic]:
    """Each value of a seed's typed column that the warehouse of an environment cannot load, at its row."""
    used = {env.warehouse.type: name for name, env in sorted(ctx.environments.items(), reverse=True)}
    warehouses = [(w, used[w]) for w in CHECKED if w in used]  # each with the first environment on it
    if not warehouses:
        return
    for ds in ctx.datasets.values():
        src = ds.source
        if src is None or src.type != "file" or not src.content or ds.address in ctx.invalid:
            continue
        yield from _refused(ctx, ds, warehouses)
        if "postgres" in used:
            yield from _blank_lines(ds, used["postgres"])


def _blank_lines(ds: Dataset, env: str) -> Iterator[Diagnostic]:
    """A blank line of a seed: DuckDB skips it, but agate (dbt-postgres) loads it as a row of NULLs."""
    assert ds.source is not None and ds.source.content is not None
    found = blank_lines(ds.source.content, ds.source.delimiter or ",")
    if found:
        yield Diagnostic("seed-row", f"line {found[0]} of {ds.source.path} is blank: dbt seed loads it as a row of "
                         f"NULLs on PostgreSQL (environment '{env}'; DuckDB skips it)", ds.source.path, found[0], 1,
                         ds.address, "remove the blank lines", severity="warning")


def _refused(ctx: Context, ds: Dataset, warehouses: list[tuple[str, str]]) -> Iterator[Diagnostic]:
    assert ds.source is not None and ds.source.content is not None
    delimiter = ds.source.delimiter or ","
    try:
        names = [h.strip().lower() for h in written_header(ds.source.content, delimiter)]
    except Unreadable:
        return  # check_seed_headers says why
    checks: dict[int, tuple[str, list[tuple[str, str, Why]]]] = {}
    for col in ds.columns:
        rules = [(w, env, why) for w, env in warehouses if (why := _rule(col.type, w)) is not None]
        if col.name.lower() in names and rules:
            checks[names.index(col.name.lower())] = (col.type, rules)
    if not checks or bad_row(ds.source.content, delimiter, len(names)) is not None:
        return
    secret = {c.lower() for c in ds.pii_columns} | {c.lower() for c in ctx.lineage.pii.get(ds.name, {})}
    found: list[tuple[int, int, str, str, str, str]] = []
    for line, i, value in matching_values(ds.source.content, delimiter, sorted(checks), bool):  # empty: NULL
        for warehouse, env, why in checks[i][1]:
            if (said := why(value)) is not None:
                found.append((line, i, value, said, warehouse, env))
                break
        if len(found) > 10_000:  # enough to count "more": a file of bad values need not be read to its end
            break
    for n, (line, i, value, why, warehouse, env) in enumerate(found[:MAX_LISTED], 1):
        column = names[i]
        hidden = "restricted dataset" if ds.classification == "restricted" else "PII" if column in secret else None
        what = f"the value in {checks[i][0]} column '{column}' (not shown: {hidden})" if hidden else \
            f"{value!r} in {checks[i][0]} column '{column}'"
        more = len(found) - MAX_LISTED if n == MAX_LISTED else 0
        yield Diagnostic(
            "seed-value", f"{what} {why}: dbt seed fails to load {ds.source.path} on {CHECKED[warehouse]} "
            f"(environment '{env}')" + (f" ({more} more value(s) in this file it cannot load)" if more > 0 else ""),
            ds.source.path, line, 1, ds.address,
            "leave the field empty for no value (NULL), or write the value in the column's type")


def _rule(spec_type: str, warehouse: str) -> Why | None:
    """Why a value of the column type cannot be loaded by the warehouse's seed loader (None: nothing checked)."""
    m = DECIMAL_RE.fullmatch(spec_type)
    scale = (int(m.group(1)), int(m.group(2))) if m else None
    duck = warehouse == "duckdb"
    if spec_type in _RANGES:
        bound = _RANGES[spec_type]
        return (lambda v: _duck_integer(v, bound)) if duck else (lambda v: _pg_integer(v, bound))
    if spec_type == "double":
        return _duck_double if duck else _pg_double
    if scale is not None:
        return (lambda v: _duck_decimal(v, *scale)) if duck else (lambda v: _pg_decimal(v, *scale))
    if spec_type == "boolean":
        return _duck_boolean if duck else _pg_boolean
    if spec_type in ("date", "timestamp"):
        timed = spec_type == "timestamp"
        return (lambda v: _time(v, timed, duck))
    return None


# --- DuckDB (COPY) ----------------------------------------------------------------------------------------------


def _duck_number(value: str) -> tuple[bool, Decimal | None]:
    """(whether DuckDB reads a number, its value where Python reads it the same way)."""
    text = value.strip(_SPACE)
    if not _DUCK_NUMBER.fullmatch(text) or not any(ch.isdigit() for ch in text):
        return False, None
    try:
        return True, Decimal(text.replace("_", ""))
    except InvalidOperation:
        return True, None  # `+-1`: a number to DuckDB, not to Python


def _duck_integer(value: str, bound: int) -> str | None:
    if _DUCK_BASED.fullmatch(value.strip(_SPACE)):
        return None
    ok, number = _duck_number(value)
    if not ok:
        return "is no number"
    return _out_of(number, bound)


def _duck_double(value: str) -> str | None:
    if value.strip(_SPACE).lower() in _SPECIAL_FLOATS:
        return None
    return None if _duck_number(value)[0] else "is no number"


def _duck_decimal(value: str, precision: int, scale: int) -> str | None:
    ok, number = _duck_number(value)
    if not ok:
        return "is no number"
    return _too_long(number, precision, scale)


def _duck_boolean(value: str) -> str | None:
    return None if value.lower() in _DUCK_BOOLEANS else "is no boolean (true, false, yes, no, 1, 0; no spaces)"


# --- PostgreSQL (agate, then INSERT of text) --------------------------------------------------------------------


def _pg_integer(value: str, bound: int) -> str | None:
    text = value.strip(_SPACE)
    if text.lower() in _PG_NULLS:
        return None
    if not _PG_INTEGER.fullmatch(text):
        return "is no integer (PostgreSQL reads digits only: no decimal point, exponent or separator)"
    return _out_of(Decimal(text), bound)


def _pg_double(value: str) -> str | None:
    text = value.strip(_SPACE)
    if text.lower() in _PG_NULLS | _SPECIAL_FLOATS or _PG_NUMBER.fullmatch(text) or _HEX_FLOAT.fullmatch(text):
        return None
    return "is no number"


def _pg_decimal(value: str, precision: int, scale: int) -> str | None:
    text = value.strip(_SPACE)
    if text.lower() in _PG_NULLS or text.lower() == "nan":
        return None
    if not _PG_NUMBER.fullmatch(text):
        return "is no number"
    return _too_long(Decimal(text), precision, scale)


def _pg_boolean(value: str) -> str | None:
    text = value.strip(_SPACE).lower()
    if text in _PG_NULLS or text in ("1", "0") or any(w.startswith(text) for w in _PG_BOOLEANS):
        return None
    return "is no boolean (true, false, yes, no, on, off, 1, 0)"


# --- both -------------------------------------------------------------------------------------------------------


def _out_of(number: Decimal | None, bound: int) -> str | None:
    if number is not None and not -bound <= number.to_integral_value(ROUND_HALF_UP) < bound:
        return f"is out of the column's range ({-bound} to {bound - 1})"
    return None


def _too_long(number: Decimal | None, precision: int, scale: int) -> str | None:
    if number is None:
        return None
    try:
        whole = abs(int(number.quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP)))  # rounded to the scale
    except InvalidOperation:
        whole = 10 ** precision  # too many digits even to round
    if whole and len(str(whole)) > precision - scale:
        return f"has more than {precision - scale} digit(s) before the decimal point"
    return None


def _time(value: str, timed: bool, duck: bool) -> str | None:
    """An ISO date (and time, in a timestamp column) outside the calendar, or a word; other forms are left to the
    warehouse. DuckDB reads year 0 and ignores the time of a date column; PostgreSQL has no year 0."""
    text = value.strip(_SPACE)
    if text.lower() in (_TIME_WORDS if duck else _PG_TIME_WORDS | _PG_NULLS):
        return None
    if not any(ch.isdigit() for ch in text):
        return "is no date or time"
    m = _ISO.match(text)
    if m is None:
        return None
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if (year == 0 and not duck) or not 1 <= month <= 12 or \
            not 1 <= day <= calendar.monthrange(year or 2000, month)[1]:  # year 0 is a leap year (1 BC)
        return "is no day of the calendar"
    if timed and m.group(4) is not None:
        hour, minute, second = int(m.group(4)), int(m.group(5)), int(m.group(6) or 0)
        if hour > 24 or minute > 59 or second > 60:
            return "is no time of the day"
    return None
