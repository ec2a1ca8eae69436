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
    masking: bool = False  # the value is masked (hashed, or the output column is declared `masked: true`)


@dataclass(frozen=True)
class ColumnLineage:
    fields: Mapping[str, tuple[ColumnSource, ...]]  # output column -> where its values come from
    rows: tuple[ColumnSource, ...] = field(default=())  # columns every output row depends on (INDIRECT)


Resolve = Callable[[str], tuple[str, str]]  # dataset name -> (namespace, name)

# the analysis' row clauses (compiler.front.sql) -> OpenLineage's INDIRECT subtypes: HAVING and QUALIFY filter,
# as do INTERSECT and EXCEPT; DISTINCT and UNION (distinct) group by every column; a LIMIT's ORDER BY, like the
# query's own, sorts
ROW_SUBTYPES = {"join": "JOIN", "filter": "FILTER", "having": "FILTER", "qualify": "FILTER", "intersect": "FILTER",
                "except": "FILTER", "group by": "GROUP_BY", "distinct": "GROUP_BY", "union": "GROUP_BY",
                "order": "SORT"}
USE_SUBTYPES = {"conditional": "CONDITIONAL", "window": "WINDOW"}  # per column INDIRECT uses


def facet(lineage: ColumnLineage, resolve: Resolve) -> dict[str, Any]:
    """The columnLineage facet of a lineage, the datasets named as `resolve` names them. Several uses of one input
    column (a value and a condition, say) are one inputField with a transformation each."""

    names: dict[str, tuple[str, str]] = {}  # a job's columns come from a few datasets: each named once

    def refs(sources: Iterable[ColumnSource]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        index: dict[tuple[str, str], dict[str, Any]] = {}
        for src in sources:
            transformation: dict[str, Any] = {"type": src.type, "subtype": src.subtype}
            if src.masking:
                transformation["masking"] = True
            entry = index.get((src.dataset, src.column))
            if entry is not None:
                if transformation not in entry["transformations"]:
                    entry["transformations"].append(transformation)
                continue
            found = names.get(src.dataset)
            if found is None:
                found = names[src.dataset] = resolve(src.dataset)
            namespace, name = found
            entry = index[(src.dataset, src.column)] = {"namespace": namespace, "name": name, "field": src.column,
                                                        "transformations": [transformation]}
            out.append(entry)
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
    out = project.datasets.get(transform.output)
    masked = frozenset(c.name for c in out.columns if c.masked) if out is not None else frozenset()
    return from_sql_analysis(analysis.columns, analysis.row_reads, analysis.sort_reads, masked)


def from_sql_analysis(columns: Iterable[Any], row_reads: Iterable[tuple[str, str, str]],
                      sort_reads: Iterable[tuple[str, str]] = (), masked: frozenset[str] = frozenset()
                      ) -> ColumnLineage:
    """A ColumnLineage from a SQL analysis (compiler.spec.lineage.SqlAnalysis): its output columns (each with
    `.name`, `.sources` as (dataset, column) pairs, `.passthrough` and `.uses`), its row reads ((dataset, column,
    clause) triples) and the columns its ORDER BY reads. `masked`: the output columns declared `masked: true`.
    Sources a transform cannot follow (dataset names starting with `?`) are left out.

    A source's uses give its transformations: DIRECT (IDENTITY when copied as it is, AGGREGATION through an
    aggregate function, else TRANSFORMATION; `masking` when hashed or the column is declared masked) and INDIRECT
    (CONDITIONAL, WINDOW). A source whose use is not known is DIRECT, TRANSFORMATION."""
    fields: dict[str, tuple[ColumnSource, ...]] = {}
    for col in columns:
        uses: dict[tuple[str, str], set[str]] = {}
        for d, c, how in getattr(col, "uses", ()) or ():
            uses.setdefault((d, c), set()).add(how)
        found: list[ColumnSource] = []
        for d, c in col.sources:
            if d.startswith("?"):
                continue
            how = uses.get((d, c)) or {"direct"}
            masking = col.name in masked or "masking" in how
            if "direct" in how:
                subtype = "IDENTITY" if getattr(col, "passthrough", None) == (d, c) else "TRANSFORMATION"
                found.append(ColumnSource(d, c, "DIRECT", subtype, masking))
            if "aggregation" in how:
                found.append(ColumnSource(d, c, "DIRECT", "AGGREGATION", masking))
            found += [ColumnSource(d, c, "INDIRECT", USE_SUBTYPES[u]) for u in sorted(how) if u in USE_SUBTYPES]
        fields[col.name] = tuple(found)
    rows = [ColumnSource(d, c, "INDIRECT", ROW_SUBTYPES[clause]) for d, c, clause in row_reads
            if not d.startswith("?") and clause in ROW_SUBTYPES]
    rows += [ColumnSource(d, c, "INDIRECT", "SORT") for d, c in sort_reads if not d.startswith("?")]
    return ColumnLineage(fields, tuple(dict.fromkeys(rows)))  # in the analysis' (sorted) order, each once
