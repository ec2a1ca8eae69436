"""Column lineage: which input columns each output column of a job comes from, and the columnLineage facet.

The facet is built from a `ColumnLineage` (output column -> its sources, plus the columns the rows depend
on). It is emitted only where the lineage is known, never guessed from matching column names:

- a seed load (a file dataset loaded by dbt): each table column is the CSV column of that name, by what
  `dbt seed` does (DIRECT, IDENTITY);
- a transform: from the analysis of its SQL made while checking the project (`project.lineage.sql`,
  compiler.front.sql), through `from_sql_analysis`. A transform whose SQL could not be analysed carries no
  facet; a column whose derivation could not be followed lists only the sources that could.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from compiler.emit.lineage import facets
from compiler.spec.ir import Dataset, Transform
from compiler.spec.project import SpecProject


@dataclass(frozen=True, slots=True)
class ColumnSource:
    """One input column an output column (or the output's rows) depends on."""

    dataset: str  # a dataset name of the project
    column: str
    type: str = "DIRECT"  # DIRECT: the value derives from it; INDIRECT: it decides which rows (join, filter, ...)
    subtype: str = "TRANSFORMATION"  # IDENTITY, TRANSFORMATION, AGGREGATION; JOIN, FILTER, GROUP_BY, SORT, ...


@dataclass(frozen=True)
class ColumnLineage:
    fields: Mapping[str, tuple[ColumnSource, ...]]  # output column -> where its values come from
    rows: tuple[ColumnSource, ...] = field(default=())  # columns every output row depends on (INDIRECT)


Resolve = Callable[[str], tuple[str, str]]  # dataset name -> (namespace, name)


def facet(lineage: ColumnLineage, resolve: Resolve) -> dict[str, Any]:
    """The columnLineage facet of a lineage, the datasets named as `resolve` names them."""

    names: dict[str, tuple[str, str]] = {}  # a job's columns come from a few datasets: each named once

    def refs(sources: Iterable[ColumnSource]) -> list[dict[str, Any]]:
        out = []
        for src in sources:
            found = names.get(src.dataset)
            if found is None:
                found = names[src.dataset] = resolve(src.dataset)
            namespace, name = found
            out.append({"namespace": namespace, "name": name, "field": src.column,
                        "transformations": [{"type": src.type, "subtype": src.subtype}]})
        return out

    body: dict[str, Any] = {"fields": {col: {"inputFields": refs(srcs)} for col, srcs in lineage.fields.items()}}
    if lineage.rows:
        body["dataset"] = refs(lineage.rows)
    return facets.facet("columnLineage", **body)


def seed_lineage(ds: Dataset) -> ColumnLineage:
    """A seed's table columns are its CSV's columns of the same names (dbt seed loads them as they are)."""
    return ColumnLineage({c.name: (ColumnSource(ds.name, c.name, "DIRECT", "IDENTITY"),) for c in ds.columns})


def transform_lineage(project: SpecProject, transform: Transform) -> ColumnLineage | None:
    """The column lineage of a transform's SQL, when its analysis succeeded."""
    analysis = project.lineage.sql.get(transform.name)
    if analysis is None or not analysis.ok:
        return None
    return from_sql_analysis(analysis.columns, analysis.row_reads)


def from_sql_analysis(columns: Iterable[Any], row_reads: Iterable[tuple[str, str, str]]) -> ColumnLineage:
    """A ColumnLineage from a SQL analysis (compiler.spec.lineage.SqlAnalysis of issue #13): its output columns
    (each with `.name`, `.sources` as (dataset, column) pairs and `.passthrough`), and its row reads
    ((dataset, column, clause) triples). Sources a transform cannot follow (dataset names starting with `?`)
    are left out."""
    fields: dict[str, tuple[ColumnSource, ...]] = {}
    for col in columns:
        subtype = "IDENTITY" if getattr(col, "passthrough", None) else "TRANSFORMATION"
        fields[col.name] = tuple(ColumnSource(d, c, "DIRECT", subtype) for d, c in col.sources
                                 if not d.startswith("?"))
    rows = tuple(ColumnSource(d, c, "INDIRECT", clause.upper().replace(" ", "_")) for d, c, clause in row_reads
                 if not d.startswith("?"))
    return ColumnLineage(fields, rows)
