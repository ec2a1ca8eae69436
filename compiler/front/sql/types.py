"""Comparing a type the SQL casts to with a column's declared type, where the answer is certain."""

from __future__ import annotations

import functools
import re

# sqlglot DataType names -> the spec's type; names left out (FLOAT, SMALLINT, ...) are never compared
_SQL_TO_SPEC = {
    "VARCHAR": "string", "TEXT": "string", "NVARCHAR": "string", "CHAR": "string", "NCHAR": "string",
    "BPCHAR": "string", "INT": "integer", "BIGINT": "bigint", "DOUBLE": "double", "BOOLEAN": "boolean",
    "DATE": "date", "TIMESTAMP": "timestamp", "TIMESTAMPNTZ": "timestamp", "DATETIME": "timestamp",
    "JSON": "json", "TIMESTAMPTZ": "timestamptz", "SMALLINT": "smallint", "TINYINT": "tinyint",
}


@functools.lru_cache(maxsize=512)
def cast_type(cast: str) -> str | None:
    """The spec type a cast's type text (compiler.front.sql.analyze: `DECIMAL(10,2)`, `INT`) stands for."""
    m = re.fullmatch(r"(DECIMAL|NUMERIC|BIGDECIMAL)\((\d+),\s*(\d+)\)", cast)
    if m:
        return f"decimal({m.group(2)},{m.group(3)})"
    name = cast.split("(", 1)[0]
    if name in ("VARCHAR", "CHAR", "NVARCHAR", "NCHAR") or name in _SQL_TO_SPEC:
        return _SQL_TO_SPEC.get(name)
    return None


def mismatch(declared: str, cast: str) -> bool:
    """True only when the cast certainly gives another type than the declared one."""
    found = cast_type(cast)
    return found is not None and found != declared
