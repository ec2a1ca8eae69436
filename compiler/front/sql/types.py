"""Comparing the type a SQL cast gives a column with its declared type, in the terms of the warehouse the SQL is
read for (the default environment's; sqlglot's dialect of the same name, compiler.front.sql.DIALECTS).

Both sides become the warehouse's own name of the type: the cast's type as sqlglot reads it in that dialect
(BigQuery's TIMESTAMP is sqlglot's TIMESTAMPTZ, its DATETIME sqlglot's TIMESTAMP), and the type the dbt contract
declares for the spec type there (compiler.spec.warehouse_types: `integer` is INT64 on BigQuery, NUMBER(38,0)
on Snowflake). A type not listed, or with parameters other than a decimal's precision and scale (`TIMESTAMP(3)`,
`FLOAT(10)`), is never compared.
"""

from __future__ import annotations

import functools
import re

from compiler.spec.warehouse_types import DECIMAL_RE, SPEC_TYPES, WAREHOUSE_NAMES, sql_type, type_name

_STRINGS = ("VARCHAR", "TEXT", "CHAR", "NCHAR", "NVARCHAR", "BPCHAR")  # their length is not compared
_INTEGERS = ("INT", "BIGINT", "SMALLINT", "TINYINT")
_COMMON = {"BOOLEAN": "BOOLEAN", "DATE": "DATE", **{s: "VARCHAR" for s in _STRINGS}}

# sqlglot's type, as it reads the warehouse's SQL -> the warehouse's name of it (aliases sqlglot reads as one
# type, INT4 and INTEGER as INT, are one already)
_FROM_SQLGLOT: dict[str, dict[str, str]] = {
    "duckdb": {**_COMMON, "INT": "INTEGER", "BIGINT": "BIGINT", "SMALLINT": "SMALLINT", "TINYINT": "TINYINT",
               "DOUBLE": "DOUBLE", "FLOAT": "FLOAT", "TIMESTAMP": "TIMESTAMP", "TIMESTAMPNTZ": "TIMESTAMP",
               "DATETIME": "TIMESTAMP", "TIMESTAMPTZ": "TIMESTAMPTZ", "JSON": "JSON"},
    "postgres": {**_COMMON, "INT": "INTEGER", "BIGINT": "BIGINT", "SMALLINT": "SMALLINT",
                 "DOUBLE": "DOUBLE PRECISION", "FLOAT": "REAL", "TIMESTAMP": "TIMESTAMP", "TIMESTAMPTZ": "TIMESTAMPTZ",
                 "JSON": "JSON", "JSONB": "JSONB"},
    # every integer type is NUMBER(38,0), every float FLOAT; TIMESTAMP is TIMESTAMP_NTZ (the default mapping)
    "snowflake": {**_COMMON, **{i: "NUMBER(38,0)" for i in _INTEGERS}, "DOUBLE": "FLOAT", "FLOAT": "FLOAT",
                  "TIMESTAMP": "TIMESTAMP_NTZ", "TIMESTAMPNTZ": "TIMESTAMP_NTZ", "DATETIME": "TIMESTAMP_NTZ",
                  "TIMESTAMPTZ": "TIMESTAMP_TZ", "TIMESTAMPLTZ": "TIMESTAMP_LTZ", "VARIANT": "VARIANT"},
    # INT64 is the only integer type and FLOAT64 the only float; TIMESTAMP is an instant, DATETIME a civil time
    "bigquery": {**_COMMON, **{i: "INT64" for i in _INTEGERS}, **{s: "STRING" for s in _STRINGS},
                 "BOOLEAN": "BOOL", "DOUBLE": "FLOAT64", "FLOAT": "FLOAT64", "TIMESTAMPTZ": "TIMESTAMP",
                 "TIMESTAMP": "DATETIME", "DATETIME": "DATETIME", "JSON": "JSON"},
}
_DECIMAL = {"duckdb": "DECIMAL", "postgres": "NUMERIC", "snowflake": "NUMBER", "bigquery": "NUMERIC"}
# a name specops's contracts use (compiler.spec.warehouse_types) -> the warehouse's name above, where they differ
_ALIASES = {
    "duckdb": {"DOUBLE PRECISION": "DOUBLE"},
    "snowflake": {"INTEGER": "NUMBER(38,0)", "BIGINT": "NUMBER(38,0)", "DOUBLE PRECISION": "FLOAT",
                  "TIMESTAMP": "TIMESTAMP_NTZ"},
}
_TYPE_TEXT = re.compile(r"(\w+)(?:\((\d+)(?:,\s*(\d+))?\))?")
# BigQuery's bare NUMERIC and BIGNUMERIC (sqlglot's DECIMAL, BIGDECIMAL): their parameters are not compared, but
# they are decimals there, never FLOAT64 or INT64 (a bare decimal on Postgres is not decided: not compared)
_BARE_DECIMALS = {"bigquery": {"DECIMAL": "NUMERIC", "BIGDECIMAL": "BIGNUMERIC"}}
_DECIMAL_NAME = re.compile(r"(?:BIG)?NUMERIC\b")


def _warehouse(dialect: str) -> str:
    return dialect if dialect in _FROM_SQLGLOT else "duckdb"


def _decimal(warehouse: str, precision: str, scale: str) -> str:
    return f"{_DECIMAL[warehouse]}({int(precision)},{int(scale)})"


@functools.lru_cache(maxsize=512)
def cast_type(cast: str, dialect: str) -> str | None:
    """The warehouse's name of the type a cast gives (`cast` as compiler.front.sql.analyze writes sqlglot's type:
    `DECIMAL(10,2)`, `INT`, `VARCHAR(20)`); None where that is not certain."""
    warehouse = _warehouse(dialect)
    m = _TYPE_TEXT.fullmatch(cast)
    if m is None:
        return None
    name, precision, scale = m.groups()
    if name == "DECIMAL":  # DECIMAL(10) has scale 0; a bare DECIMAL is one only where sqlglot fills it in
        return _decimal(warehouse, precision, scale or "0") if precision else None
    if name == "BIGDECIMAL" and warehouse == "bigquery":  # BIGNUMERIC(p,s)
        return f"BIGNUMERIC({int(precision)},{int(scale or 0)})" if precision else None
    if precision and name not in _STRINGS:
        return None
    return _FROM_SQLGLOT[warehouse].get(name)


@functools.lru_cache(maxsize=512)
def declared_type(spec_type: str, dialect: str) -> str:
    """The warehouse's name of the type the dbt contract declares for a spec type."""
    warehouse = _warehouse(dialect)
    m = DECIMAL_RE.fullmatch(spec_type)
    if m and type_name(spec_type, warehouse) == sql_type(spec_type):
        return _decimal(warehouse, m.group(1), m.group(2))
    name = type_name(spec_type, warehouse).upper()
    return _ALIASES.get(warehouse, {}).get(name, name)


def mismatch(declared: str, cast: str, dialect: str) -> bool:
    """True only when the cast certainly gives another type than the declared one on the warehouse: another type, or
    on BigQuery a bare NUMERIC or BIGNUMERIC where no decimal is declared (its parameters are not compared)."""
    found = cast_type(cast, dialect)
    if found is not None:
        return found != declared_type(declared, dialect)
    bare = _BARE_DECIMALS.get(_warehouse(dialect), {}).get(cast)
    return bare is not None and _DECIMAL_NAME.match(declared_type(declared, dialect)) is None


def cast_name(cast: str, dialect: str) -> str | None:
    """The warehouse's name of the type a cast gives, without parameters where they are not decided (BigQuery's bare
    NUMERIC); None where the type is not certain."""
    return cast_type(cast, dialect) or _BARE_DECIMALS.get(_warehouse(dialect), {}).get(cast)


def declarable(warehouse_type: str, dialect: str) -> str | None:
    """The spec type whose contract declares `warehouse_type` (a name cast_type gives), None when no spec type
    does (BigQuery's DATETIME, Postgres's TIMESTAMPTZ): what a hint may propose to declare."""
    m = _TYPE_TEXT.fullmatch(warehouse_type)
    candidates = list(SPEC_TYPES)
    if m is not None and m.group(3) is not None:
        candidates.append(f"decimal({m.group(2)},{m.group(3)})")
    for spec_type in candidates:
        if DECIMAL_RE.fullmatch(spec_type) and not _declarable_decimal(spec_type):
            continue
        if declared_type(spec_type, dialect) == warehouse_type:
            return spec_type
    return None


def _declarable_decimal(spec_type: str) -> bool:
    """decimal(p,s) within the schema's bounds (a precision of 1 to 99, a scale of 0 to 99)."""
    return re.fullmatch(r"decimal\([1-9][0-9]?,[0-9][0-9]?\)", spec_type) is not None


def warehouse_name(dialect: str) -> str:
    return WAREHOUSE_NAMES[_warehouse(dialect)]
