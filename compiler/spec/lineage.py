"""Column-level lineage as plain data: what one transform's SQL reads and produces, and the project's whole.

`SqlAnalysis` is what compiler.front.sql makes of one transform's SQL (sqlglot, no I/O here); `Lineage`
joins the analyses of every transform with the other readers of columns (quality checks, models) to answer
"what reads dataset.x.col" and "is this column PII", for validate, plan, graph and docs alike.

Column references are `(dataset, column)` pairs; a reference to a table that is not a declared input
(which SQL may name, though specops cannot follow it) has a dataset name starting with `?`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

OPEN_OUTPUTS = "the output columns are not all known (select * over an unknown source)"
Ref = tuple[str, str]  # (dataset, column)
# (dataset, column, clause): a column the rows depend on, and where: join, filter, group by, having, ...
RowRef = tuple[str, str, str]
# how an output column uses an input column (OutputColumn.uses): its values (direct; aggregation: through an
# aggregate function; masking as well: through a hash), or to decide them (conditional: a CASE/IF condition or an
# aggregate's FILTER; window: a window's PARTITION BY / ORDER BY)
USES = ("direct", "aggregation", "masking", "conditional", "window")
# UnknownColumn.kind: a column of several sources of the query (`candidates` are their aliases); a USING column
# that `source`, one side of the join, does not have; a select-list alias where the warehouse reads none (Postgres:
# HAVING, `order by a + 1`), which no input has either; a name a set operation's ORDER BY reads that is none of its
# result's columns (`candidates`), or one inside an expression where the warehouse reads whole ones only (Postgres);
# a CTE (`name`) that the CTE `source` reads before its definition, which makes it no relation there; a column of
# `source`, another FROM item of the query, that a subquery in its FROM reads without LATERAL (Postgres rejects it)
AMBIGUOUS, USING, ALIAS, RESULT, FORWARD, LATERAL = "ambiguous", "using", "alias", "result", "forward", "lateral"


@dataclass(frozen=True, slots=True)
class OutputColumn:
    """One column the SQL produces."""

    name: str
    sources: tuple[Ref, ...]  # the input columns its values derive from
    fingerprint: str  # digest of its derivation: equal fingerprints, equal values (given equal inputs)
    offset: int  # where its expression starts in the SQL text
    cast: str | None = None  # the SQL type of an outermost CAST, normalised by sqlglot (e.g. DECIMAL(10, 2)), or of
    # the one it was made with in a CTE or subquery it is copied from
    passthrough: Ref | None = None  # the input column it copies unchanged (possibly renamed), if it does
    uses: tuple[RowRef, ...] = ()  # (dataset, column, one of USES) for its sources, as far as the analysis tells


@dataclass(frozen=True, slots=True)
class UnknownColumn:
    """A column the SQL names that its source does not have (validate reports it)."""

    name: str
    source: str  # the input dataset (or CTE / alias) it was looked up in; '' when unqualified
    offset: int
    candidates: tuple[str, ...] = ()  # the columns it could have meant (the aliases, with `qualifier`)
    qualifier: bool = False  # `source` is no table or alias of the query at all (`x.site` with no `x`)
    kind: str = ""  # what is wrong with it (UNKNOWN_KINDS); '' when it is no column of `source`


@dataclass(frozen=True, slots=True)
class SqlAnalysis:
    """What a transform's SQL does, as far as static analysis can tell.

    `ok` is False when the SQL could not be parsed or analysed (`error`, at `error_offset`): everything
    else is then unknown, and a plan treats any change of it as breaking.
    """

    ok: bool
    normal: str = ""  # digest of the normalised query: formatting, comments and keyword case do not count
    columns: tuple[OutputColumn, ...] = ()
    row_reads: tuple[RowRef, ...] = ()  # columns that filters, joins, groupings, ... read
    rows: str = ""  # digest of everything that decides which rows come out (not the projections)
    row_clauses: tuple[str, ...] = ()  # the row-changing constructs present: join, filter, group by, ...
    star_inputs: tuple[str, ...] = ()  # inputs read through `select *` (their new columns flow through)
    unknown: tuple[UnknownColumn, ...] = ()
    notes: tuple[str, ...] = ()  # parts that could not be followed (best effort)
    error: str | None = None
    error_offset: int = 0
    clause_digests: tuple[tuple[str, str], ...] = ()  # (row clause, digest of what decides it): which one changed
    sort_reads: tuple[Ref, ...] = ()  # the columns the query's ORDER BY reads (the order of its rows)
    # (input, output column): the column holds whole rows of the input (`row_to_json(e)`, `to_json(e)`, `select e`):
    # it derives from every column of the input, and a new column of the input changes its values
    whole_rows: tuple[Ref, ...] = ()
    # (name, offset) of each table the query names itself, not through {{ input() }}: a transform's SQL reads its
    # inputs only (a `sql` check may read other tables)
    tables: tuple[tuple[str, int], ...] = ()

    def column(self, name: str) -> OutputColumn | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    def to_plain(self) -> tuple[Any, ...]:
        """Nested tuples of str/int/bool/None (marshal-able: compiler.speed keeps them)."""
        return (self.ok, self.normal, tuple(tuple(_plain_col(c)) for c in self.columns), self.row_reads, self.rows,
                self.row_clauses, self.star_inputs, tuple((u.name, u.source, u.offset, u.candidates,
                                                                 u.qualifier, u.kind) for u in self.unknown),
                self.notes, self.error, self.error_offset, self.clause_digests, self.sort_reads, self.whole_rows,
                self.tables)

    @classmethod
    def from_plain(cls, data: tuple[Any, ...]) -> SqlAnalysis:
        ok, normal, cols, row_reads, rows, clauses, stars, unknown, notes, error, offset, parts, sorts, whole, named = (
            data)
        return cls(ok, normal, tuple(OutputColumn(n, tuple(map(tuple, s)), f, o, c, tuple(p) if p else None,
                                                  tuple(map(tuple, u)))
                                     for n, s, f, o, c, p, u in cols),
                   tuple(map(tuple, row_reads)), rows, tuple(clauses), tuple(stars),
                   tuple(UnknownColumn(n, s, o, tuple(c), bool(q), k) for n, s, o, c, q, k in unknown), tuple(notes),
                   error, offset, tuple((str(k), str(v)) for k, v in parts), tuple(map(tuple, sorts)),
                   tuple(map(tuple, whole)), tuple((str(n), int(o)) for n, o in named))

    def to_json(self) -> dict[str, Any]:
        return {
            "parsed": self.ok,
            **({"error": self.error} if self.error else {}),
            "columns": {c.name: [f"{d}.{col}" for d, col in c.sources] for c in self.columns},
            "row_reads": [{"column": f"{d}.{col}", "clause": clause} for d, col, clause in self.row_reads],
            "row_clauses": list(self.row_clauses),
            **({"select_star": list(self.star_inputs)} if self.star_inputs else {}),
            **({"whole_rows": {c: [d for d, o in self.whole_rows if o == c] for c in dict.fromkeys(
                o for _, o in self.whole_rows)}} if self.whole_rows else {}),
            **({"notes": list(self.notes)} if self.notes else {}),
        }


def _plain_col(c: OutputColumn) -> tuple[Any, ...]:
    return (c.name, c.sources, c.fingerprint, c.offset, c.cast, c.passthrough, c.uses)


UNPARSED = SqlAnalysis(ok=False, error="not analysed")


@dataclass(frozen=True, slots=True)
class Reader:
    """Something that reads a column: `address` and how (`value -> out_col`, a clause, a feature, a check)."""

    address: str
    how: str
    output: str | None = None  # the output column of a transform whose values it feeds

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "how": self.how, **({"output": self.output} if self.output else {})}


@dataclass(frozen=True)
class Lineage:
    """The column lineage of a checked project.

    `sql`: transform name -> its SqlAnalysis; `outputs`: transform name -> its output dataset;
    `other_readers`: (dataset, column) -> readers that are not SQL (checks, models' features/target).
    `declared_pii`/`masked`: dataset -> the columns the specs flag `pii: true` / `masked: true`.
    """

    sql: Mapping[str, SqlAnalysis] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    other_readers: Mapping[Ref, tuple[Reader, ...]] = field(default_factory=dict)
    declared_pii: Mapping[str, frozenset[str]] = field(default_factory=dict)
    masked: Mapping[str, frozenset[str]] = field(default_factory=dict)
    dataset_order: tuple[str, ...] = ()  # produced datasets in dependency order (for derived PII)
    dialect: str = "duckdb"  # the SQL dialect the analyses were made in
    expressions: Mapping[str, SqlAnalysis] = field(default_factory=dict)  # check expression -> its columns
    # (dataset, a `sql` check's text) -> its analysis, the dataset read as its one input (check_query)
    check_queries: Mapping[tuple[str, str], SqlAnalysis] = field(default_factory=dict)

    @functools.cached_property
    def _sql_readers(self) -> dict[Ref, tuple[Reader, ...]]:
        out: dict[Ref, list[Reader]] = {}
        for name, analysis in sorted(self.sql.items()):
            address = f"transform.{name}"
            for col in analysis.columns:
                for ref in col.sources:
                    out.setdefault(ref, []).append(Reader(address, f"→ {col.name}", col.name))
            seen: set[tuple[Ref, str]] = set()
            for ds, column, clause in analysis.row_reads:
                if ((ds, column), clause) not in seen:
                    seen.add(((ds, column), clause))
                    out.setdefault((ds, column), []).append(Reader(address, clause))
        return {k: tuple(v) for k, v in out.items()}

    def readers(self, dataset: str, column: str) -> tuple[Reader, ...]:
        """Every reader of `dataset.column`: transforms (by SQL lineage), checks and models."""
        return self._sql_readers.get((dataset, column), ()) + tuple(self.other_readers.get((dataset, column), ()))

    @functools.cached_property
    def _reads_by(self) -> dict[str, frozenset[Ref]]:
        out: dict[str, set[Ref]] = {}
        for ref, readers in self.other_readers.items():
            for r in readers:
                out.setdefault(r.address, set()).add(ref)
        return {k: frozenset(v) for k, v in out.items()}

    def reads_of(self, address: str) -> frozenset[Ref]:
        """The columns a check or model reads (its quality rule's checks, its features, target and split column)."""
        return self._reads_by.get(address, frozenset())

    def analysis_of(self, transform: str) -> SqlAnalysis | None:
        return self.sql.get(transform)

    def sources_of(self, dataset: str, column: str) -> tuple[Ref, ...]:
        """The input columns a produced dataset's column derives from (empty when unknown or external)."""
        transform = self._producer.get(dataset)
        analysis = self.sql.get(transform) if transform else None
        col = analysis.column(column) if analysis is not None else None
        return col.sources if col is not None else ()

    @functools.cached_property
    def _producer(self) -> dict[str, str]:
        return {out: t for t, out in self.outputs.items()}

    @functools.cached_property
    def pii(self) -> dict[str, dict[str, tuple[Ref, ...]]]:
        """dataset -> {column: the PII columns it derives from ((dataset, column) of a declared one, or
        itself when declared)}: declared `pii: true`, or derived (through SQL) from a PII column and not
        `masked: true`."""
        found: dict[str, dict[str, tuple[Ref, ...]]] = {}
        for ds, cols in self.declared_pii.items():
            if cols:
                found[ds] = {c: ((ds, c),) for c in cols}
        for ds in self.dataset_order:
            transform = self._producer.get(ds)
            analysis = self.sql.get(transform) if transform else None
            if analysis is None:
                continue
            masked = self.masked.get(ds, frozenset())
            for col in analysis.columns:
                if col.name in masked or col.name in found.get(ds, {}):
                    continue
                origins = tuple(sorted({o for src, c in col.sources for o in found.get(src, {}).get(c, ())}))
                if origins:
                    found.setdefault(ds, {})[col.name] = origins
        return found

    def is_pii(self, dataset: str, column: str) -> bool:
        return column in self.pii.get(dataset, {})

    def pii_origin(self, dataset: str, column: str) -> tuple[Ref, ...]:
        return self.pii.get(dataset, {}).get(column, ())

    def downstream(self, dataset: str, column: str) -> list[tuple[Ref, Reader]]:
        """Everything that reads `dataset.column`, directly or through columns derived from it (breadth first):
        (the column read, its reader). A filter, join or grouping reads it for all rows of its transform's output."""
        out: list[tuple[Ref, Reader]] = []
        seen = {(dataset, column)}
        queue = [(dataset, column)]
        while queue:
            ref = queue.pop(0)
            for reader in self.readers(*ref):
                out.append((ref, reader))
                if reader.output is not None:
                    nxt = (self.outputs.get(reader.address.split(".", 1)[1], ""), reader.output)
                    if nxt[0] and nxt not in seen:
                        seen.add(nxt)
                        queue.append(nxt)
        return out

    def upstream(self, dataset: str, column: str) -> list[tuple[Ref, Ref]]:
        """The columns `dataset.column` derives from, transitively: (column, a source of it), breadth first."""
        out: list[tuple[Ref, Ref]] = []
        seen = {(dataset, column)}
        queue = [(dataset, column)]
        while queue:
            ref = queue.pop(0)
            for src in self.sources_of(*ref):
                out.append((ref, src))
                if src not in seen:
                    seen.add(src)
                    queue.append(src)
        return out

    def column_edges(self) -> list[tuple[str, str, str]]:
        """(from `dataset.column`, to `dataset.column` or a reader's address, how), sorted: the column graph."""
        edges = set()
        for t, analysis in self.sql.items():
            out = self.outputs.get(t, "")
            for col in analysis.columns:
                for ds, c in col.sources:
                    edges.add((f"{ds}.{c}", f"{out}.{col.name}", f"transform.{t}"))
            for ds, c, clause in analysis.row_reads:
                edges.add((f"{ds}.{c}", f"transform.{t}", clause))
        for (ds, c), readers in self.other_readers.items():
            for r in readers:
                edges.add((f"{ds}.{c}", r.address, r.how))
        return sorted(edges)


def merge_readers(pairs: Iterable[tuple[Ref, Reader]]) -> dict[Ref, tuple[Reader, ...]]:
    """Each column's readers, in first-seen order, each once."""
    out: dict[Ref, dict[Reader, None]] = {}
    for ref, reader in pairs:
        found = out.get(ref)
        if found is None:
            out[ref] = {reader: None}
        else:
            found[reader] = None
    return {k: tuple(v) for k, v in out.items()}
