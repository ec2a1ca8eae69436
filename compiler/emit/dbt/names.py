"""How specops names map onto dbt: relations, types and durations."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from compiler.spec.ir import Dataset
from compiler.spec.project import SpecProject
from compiler.spec.warehouse_types import OTHER_NAMES, other_name, sql_type

SOURCE_FOR_EXTERNAL = "external"

TypeNames = Callable[[str], str]


def type_names(warehouses: Iterable[str]) -> TypeNames:
    """How the dbt project names a spec type, given the project's warehouse types: the plain name, or where one
    of those warehouses names it otherwise, a Jinja choice on dbt's `target.type` (rendered in SQL, and in the
    property files' data_type and column_types)."""
    others = sorted(w for w in set(warehouses) if w in OTHER_NAMES)

    def name(spec_type: str) -> str:
        plain = sql_type(spec_type)
        choices = [(w, n) for w in others if (n := other_name(spec_type, w)) is not None]
        if not choices:
            return plain
        return "{{ " + " ".join(f"'{n}' if target.type == '{w}' else" for w, n in choices) + f" '{plain}' }}}}"

    return name


def source_name(ds: Dataset) -> str:
    """The dbt source a `table`, `external` or landed (dvc, kafka) dataset belongs to: its schema, or with a database
    of its own `<database>__<schema>` (one dbt source is one database and schema)."""
    assert ds.source is not None
    if ds.source.type == "table":
        schema = ds.source.schema or "main"
        return re.sub(r"[^A-Za-z0-9_]", "_", f"{ds.source.database}__{schema}") if ds.source.database else schema
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
