"""Seed values the warehouse cannot load into their declared column types.

dbt seed loads a file source's CSV into a table of the declared types: on DuckDB (dbt-duckdb) with `COPY`, which
refuses the whole file at the first value it cannot convert (`NULL` or `N/A` in an integer column, `yes` written
`on`, `2024-02-30`); on PostgreSQL through agate, which reads `null`, `n/a`, `none` and `na` as no value, then
PostgreSQL's own input rules. Such a file validated and failed in apply; each value is now an error at its row.
Only values the warehouse surely refuses are reported (its readers are lenient: `1.5` rounds into an integer,
`0x1F` and `1_000` are numbers, `24-01-02` is a date), so a file that loads is never refused. Snowflake and
BigQuery load seeds with rules of their own: nothing is checked for them.

A value of a PII column or of a restricted dataset is not quoted: its line and column say where it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from compiler.front.rules.context import Context
from compiler.spec.csvfile import matching_values, written_header
from compiler.spec.diagnostics import Diagnostic
from compiler.spec.ir import Dataset
from compiler.spec.warehouse_types import DECIMAL_RE

MAX_LISTED = 8  # rows said per dataset; the last of them counts the rest

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:_[0-9]+)*\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BASED = re.compile(r"[+-]?0(?:[xX][0-9a-fA-F]+|[bB][01]+)")  # DuckDB reads 0x1F and 0b101 as integers
_BOOLEANS = {"true", "false", "t", "f", "yes", "no", "y", "n", "1", "0"}
_PG_BOOLEANS = _BOOLEANS | {"on", "off"}
_AGATE_NULLS = {"", "na", "n/a", "none", "null", "."}  # agate reads these as no value (dbt-postgres's seeds)
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_ISO_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?")
_DATE_WORDS = {"infinity", "-infinity", "epoch"}
_RANGES = {"integer": 2**31, "bigint": 2**63}

Why = Callable[[str], str | None]  # a value -> why the warehouse refuses it, or None


def check_seed_values(ctx: Context) -> Iterator[Diagnostic]:
    """Each value of a seed's typed column that the warehouse of an environment cannot load, at its row."""
    kinds = {env.warehouse.type: name for name, env in sorted(ctx.environments.items(), reverse=True)}
    warehouse = "duckdb" if "duckdb" in kinds else "postgres" if "postgres" in kinds else None
    if warehouse is None:
        return
    for ds in ctx.datasets.values():
        src = ds.source
        if src is None or src.type != "file" or not src.content or ds.address in ctx.invalid:
            continue
        yield from _refused(ctx, ds, warehouse, kinds[warehouse])


def _refused(ctx: Context, ds: Dataset, warehouse: str, env: str) -> Iterator[Diagnostic]:
    assert ds.source is not None and ds.source.content is not None
    delimiter = ds.source.delimiter or ","
    try:
        names = [h.strip().lower() for h in written_header(ds.source.content, delimiter)]
    except ValueError:
        return  # an unreadable header: check_seed_headers says so
    checks: dict[int, tuple[str, Why]] = {}
    for col in ds.columns:
        if col.name.lower() in names and (why := _rule(col.type, warehouse)) is not None:
            checks[names.index(col.name.lower())] = (col.type, why)
    if not checks:
        return
    hidden = ds.classification == "restricted" or bool(set(ds.pii_columns) | set(ctx.lineage.pii.get(ds.name, {})))
    found: list[tuple[int, int, str, str]] = []
    for line, i, value in matching_values(ds.source.content, delimiter, sorted(checks), bool):  # not empty: NULL
        why = checks[i][1](value)
        if why is not None:
            found.append((line, i, value, why))
            if len(found) > 10_000:  # enough to count "more": a file of bad values need not be read to its end
                break
    name = {"duckdb": "DuckDB", "postgres": "PostgreSQL"}[warehouse]
    for n, (line, i, value, why) in enumerate(found[:MAX_LISTED], 1):
        column = names[i]
        secret = "restricted dataset" if ds.classification == "restricted" else \
            "PII" if hidden and column in _secret_columns(ctx, ds) else None
        what = f"the value in {checks[i][0]} column '{column}' (not shown: {secret})" if secret else \
            f"{value!r} in {checks[i][0]} column '{column}'"
        more = len(found) - MAX_LISTED if n == MAX_LISTED else 0
        yield Diagnostic(
            "seed-value", f"{what} {why}: dbt seed fails to load {ds.source.path} on {name} (environment "
            f"'{env}')" + (f" ({more} more row(s) like it)" if more > 0 else ""), ds.source.path, line, 1,
            ds.address, "leave the field empty for no value (NULL), or write the value in the column's type")


def _secret_columns(ctx: Context, ds: Dataset) -> set[str]:
    return {c.lower() for c in ds.pii_columns} | {c.lower() for c in ctx.lineage.pii.get(ds.name, {})}


def _rule(spec_type: str, warehouse: str) -> Why | None:
    """Why a value of the column type cannot be loaded by the warehouse's seed loader (None: nothing checked)."""
    m = DECIMAL_RE.fullmatch(spec_type)
    if warehouse == "postgres":
        if spec_type in ("integer", "bigint", "double") or m:
            return _pg_number
        if spec_type == "boolean":  # PostgreSQL also reads a word's first letters (`tr`, `of`)
            return lambda v: None if v.strip().lower() in _AGATE_NULLS or any(
                w.startswith(v.strip().lower()) for w in _PG_BOOLEANS) else "is no boolean"
        return None
    if spec_type in _RANGES:
        return lambda v: _duck_integer(v, _RANGES[spec_type])
    if spec_type == "double":
        return _duck_double
    if m:
        return lambda v: _duck_decimal(v, int(m.group(1)), int(m.group(2)))
    if spec_type == "boolean":
        return lambda v: None if v.strip().lower() in _BOOLEANS else "is no boolean (true, false, yes, no, 1, 0)"
    if spec_type in ("date", "timestamp"):
        return _duck_time
    return None


def _duck_number(value: str) -> Decimal | None:
    text = value.strip()
    if _NUMBER.fullmatch(text) and any(ch.isdigit() for ch in text):
        try:
            return Decimal(text.replace("_", ""))
        except InvalidOperation:
            return None
    return None


def _duck_integer(value: str, bound: int) -> str | None:
    if _BASED.fullmatch(value.strip()):
        return None
    number = _duck_number(value)
    if number is None:
        return "is no number"
    if not -bound <= number.to_integral_value(ROUND_HALF_UP) < bound:
        return f"is out of the column's range ({-bound} to {bound - 1})"
    return None


def _duck_double(value: str) -> str | None:
    if value.strip().lower().lstrip("+-") in ("inf", "infinity", "nan"):
        return None
    return None if _duck_number(value) is not None else "is no number"


def _duck_decimal(value: str, precision: int, scale: int) -> str | None:
    number = _duck_number(value)
    if number is None:
        return "is no number"
    try:
        whole = abs(int(number.quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP)))  # rounded to the scale
    except InvalidOperation:
        whole = 10 ** precision  # too many digits even to round
    if whole and len(str(whole)) > precision - scale:
        return f"has more than {precision - scale} digit(s) before the decimal point"
    return None


def _duck_time(value: str) -> str | None:
    text = value.strip()
    if text.lower() in _DATE_WORDS:
        return None
    if not any(ch.isdigit() for ch in text):
        return "is no date or time"
    if (m := _ISO_DATE.fullmatch(text)) is not None:
        try:
            date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return "is no day of the calendar"
    elif _ISO_TIME.fullmatch(text):
        try:
            datetime.fromisoformat(text)
        except ValueError:
            return "is no time of the calendar"
    return None


def _pg_number(value: str) -> str | None:
    """agate reads a number, or a word it takes for no value; anything else is text PostgreSQL refuses."""
    text = value.strip()
    if text.lower() in _AGATE_NULLS or any(ch.isdigit() for ch in text):
        return None  # digits: agate's and PostgreSQL's readers differ in details, left to them
    return None if text.lower().lstrip("+-") in ("inf", "infinity", "nan") else "is no number"
