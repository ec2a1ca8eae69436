"""How specops names map onto dbt: relations, types and durations."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from compiler.spec.ir import Dataset
from compiler.spec.project import SpecProject

SOURCE_FOR_EXTERNAL = "external"

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
_OTHER_NAMES = {
    "bigquery": {"string": "string", "integer": "int64", "bigint": "int64", "double": "float64", "boolean": "bool"},
    "snowflake": {"json": "variant"},
}

TypeNames = Callable[[str], str]


def sql_type(spec_type: str) -> str:
    """The type's name in DuckDB, Postgres and Snowflake (json aside)."""
    m = re.fullmatch(r"decimal\((\d+),(\d+)\)", spec_type)
    if m:
        return f"numeric({m.group(1)},{m.group(2)})"
    return _TYPES[spec_type]


def type_names(warehouses: Iterable[str]) -> TypeNames:
    """How the dbt project names a spec type, given the project's warehouse types: the plain name, or where one
    of those warehouses names it otherwise, a Jinja choice on dbt's `target.type` (rendered in SQL, and in the
    property files' data_type and column_types)."""
    others = sorted(w for w in set(warehouses) if w in _OTHER_NAMES)

    def name(spec_type: str) -> str:
        plain = sql_type(spec_type)
        choices = [(w, _OTHER_NAMES[w][spec_type]) for w in others if spec_type in _OTHER_NAMES[w]]
        if not choices:
            return plain
        return "{{ " + " ".join(f"'{n}' if target.type == '{w}' else" for w, n in choices) + f" '{plain}' }}}}"

    return name


def source_name(ds: Dataset) -> str:
    """The dbt source a `table`, `external` or landed (dvc, kafka) dataset belongs to."""
    assert ds.source is not None
    if ds.source.type == "table":
        return ds.source.schema or "main"
    if ds.source.landing is not None:
        return ds.source.landing.schema
    return SOURCE_FOR_EXTERNAL


def relation(project: SpecProject, dataset: str) -> str:
    """The Jinja expression (without braces) that reads a dataset in dbt."""
    ds = project.datasets[dataset]
    if ds.source is None or ds.source.type == "file":
        return f"ref('{dataset}')"
    return f"source('{source_name(ds)}', '{dataset}')"


def minutes(duration: str) -> int:
    value, unit = int(duration[:-1]), duration[-1]
    return value * {"m": 1, "h": 60, "d": 1440}[unit]


def freshness_period(duration: str) -> dict[str, object]:
    value, unit = int(duration[:-1]), duration[-1]
    return {"count": value, "period": {"m": "minute", "h": "hour", "d": "day"}[unit]}
