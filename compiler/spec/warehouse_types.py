"""The spec's column types and what the dbt project calls them on each warehouse: the types its model contracts
declare (compiler.emit.dbt.names) and what validate compares a SQL cast with (compiler.front.sql.types)."""

from __future__ import annotations

import re
from typing import Any

# each warehouse type as its vendor writes it, for messages
WAREHOUSE_NAMES = {"duckdb": "DuckDB", "postgres": "Postgres", "snowflake": "Snowflake", "bigquery": "BigQuery"}

# the spec's types (schemas/dataset.schema.json), decimal(p,s) aside
SPEC_TYPES = ("string", "integer", "bigint", "double", "boolean", "date", "timestamp", "json")

# Type names DuckDB, Postgres and Snowflake accept; dbt's contract check casts null to these and compares what
# the warehouse reports, so aliases are normalised there.
_TYPES = {
    "string": "varchar",
    "integer": "integer",
    "bigint": "bigint",
    "double": "double precision",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "json": "json",
}
# where a warehouse names a type otherwise (BigQuery's GoogleSQL names; Snowflake keeps JSON in a VARIANT)
OTHER_NAMES = {
    "bigquery": {"string": "string", "integer": "int64", "bigint": "int64", "double": "float64", "boolean": "bool"},
    "snowflake": {"json": "variant", "timestamp": "timestamp_ntz"},
}

DECIMAL_RE = re.compile(r"decimal\((\d+),(\d+)\)")


def sql_type(spec_type: str) -> str:
    """The type's name in DuckDB, Postgres and Snowflake (json aside)."""
    m = DECIMAL_RE.fullmatch(spec_type)
    if m:
        return f"numeric({m.group(1)},{m.group(2)})"
    return _TYPES[spec_type]


def other_name(spec_type: str, warehouse: str) -> str | None:
    """The type's name on one warehouse type where it is not sql_type's (`int64` for `integer` on BigQuery)."""
    m = DECIMAL_RE.fullmatch(spec_type)
    if m and warehouse == "bigquery" and not _bigquery_numeric(int(m.group(1)), int(m.group(2))):
        return f"bignumeric({m.group(1)},{m.group(2)})"
    return OTHER_NAMES.get(warehouse, {}).get(spec_type)


def _bigquery_numeric(precision: int, scale: int) -> bool:
    """Whether BigQuery's NUMERIC holds decimal(p,s): a scale of at most 9 and at most 29 digits before the point;
    BIGNUMERIC holds the rest (a scale of up to 38, up to 38 digits before the point)."""
    return scale <= 9 and precision - scale <= 29


def type_name(spec_type: str, warehouse: str) -> str:
    """The type's name on one warehouse type (`int64` for `integer` on BigQuery): what the contract declares."""
    return other_name(spec_type, warehouse) or sql_type(spec_type)


def target_schema(warehouse: Any) -> str:
    """The schema dbt builds seeds and models in on a warehouse (its profile target's), as set or by default:
    DuckDB `main`, Postgres `public`, Snowflake `PUBLIC`, BigQuery the dataset."""
    if warehouse.type == "bigquery":
        return str(warehouse.get("dataset"))
    return str(warehouse.get("schema", _DEFAULT_SCHEMAS[warehouse.type]))


def target_database(warehouse: Any) -> str | None:
    """The database above that schema where a table's name says it: Snowflake's database, BigQuery's project."""
    return {"snowflake": warehouse.get("database"), "bigquery": warehouse.get("project")}.get(warehouse.type)


_DEFAULT_SCHEMAS = {"duckdb": "main", "postgres": "public", "snowflake": "PUBLIC"}
