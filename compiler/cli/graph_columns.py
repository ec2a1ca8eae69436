"""`specops graph --columns`: the column-level lineage, as text or JSON.

Selectors name columns as `dataset.column` (the dataset's name, then the column): `raw_sales.store_id+`
lists what reads it (transforms by SQL lineage, checks, models) and the columns derived from it, downstream;
`+customer_features.tenure_months` lists the columns it derives from, upstream; a bare `x.col` both. Without a
column selector, every produced dataset's columns are listed with their sources (of the selected resources).
"""

from __future__ import annotations

import json
import re

from compiler.spec.lineage import Lineage
from compiler.spec.project import SpecProject

_COLUMN_SELECTOR = re.compile(r"^(?P<up>\+)?(?P<ds>[a-z][a-z0-9_]*)\.(?P<col>[A-Za-z_][A-Za-z0-9_]*)(?P<down>\+)?$")


class ColumnSelectorError(ValueError):
    """A `dataset.column` selector naming no column of that dataset."""


def column_selectors(project: SpecProject, select: tuple[str, ...]) -> tuple[list[tuple[str, str, bool, bool]],
                                                                            tuple[str, ...]]:
    """([(dataset, column, upstream, downstream)], the other selectors): `dataset.column` terms that name a
    column of a dataset (never a resource address such as model.churn). A dataset's name with a column it does
    not have is an error, with the closest column."""
    if any(not s.strip() for s in select):
        return [], select  # the selection reports the empty selector
    columns, rest = [], []
    for term in " ".join(select).split():
        m = _COLUMN_SELECTOR.match(term)
        ds = project.datasets.get(m.group("ds")) if m else None
        if m and ds is not None and ds.column(m.group("col")) is not None:
            up, down = bool(m.group("up")), bool(m.group("down"))
            columns.append((m.group("ds"), m.group("col"), up or not down, down or not up))
        elif m and ds is not None and project.get(f"{m.group('ds')}.{m.group('col')}") is None:
            from compiler.spec.diagnostics import did_you_mean

            hint = did_you_mean(m.group("col"), ds.column_names) or f"its columns: {', '.join(ds.column_names)}"
            raise ColumnSelectorError(f"'{term}': dataset {ds.name} has no column '{m.group('col')}'; {hint}")
        else:
            rest.append(term)
    return columns, tuple(rest)


def _pii(lineage: Lineage, project: SpecProject, ds: str, col: str) -> bool:
    found = project.datasets.get(ds)
    declared = found.column(col) if found is not None else None
    return bool(declared is not None and declared.pii) or lineage.is_pii(ds, col)


def column_report(project: SpecProject, nodes: set[str], selected: list[tuple[str, str, bool, bool]]) -> dict:
    """The column lineage as data: the selected columns' readers and sources, else every produced dataset's."""
    lineage = project.lineage
    out: dict = {"dialect": lineage.dialect}
    if selected:
        items = []
        for ds, col, up, down in selected:
            item: dict = {"column": f"{ds}.{col}", "pii": _pii(lineage, project, ds, col)}
            if down:
                item["downstream"] = [{"reads": f"{d}.{c}", **r.to_json(),
                                       **({"column": f"{lineage.outputs.get(r.address.split('.', 1)[1])}.{r.output}"}
                                          if r.output else {})}
                                      for (d, c), r in lineage.downstream(ds, col)]
            if up:
                item["upstream"] = [{"column": f"{d}.{c}", "from": f"{sd}.{sc}"}
                                    for (d, c), (sd, sc) in lineage.upstream(ds, col)]
            items.append(item)
        out["columns"] = items
        return out
    datasets = []
    for name, t in sorted(project.transforms.items()):
        if t.address not in nodes and f"dataset.{t.output}" not in nodes:
            continue
        analysis = lineage.analysis_of(name)
        entry: dict = {"dataset": t.output, "transform": t.address}
        if analysis is None:
            entry["parsed"] = False
        else:
            entry.update(analysis.to_json())
            entry["pii"] = sorted(c for c in lineage.pii.get(t.output, {}))
        datasets.append(entry)
    out["datasets"] = datasets
    return out


def render_columns_text(report: dict) -> str:
    lines = [f"(SQL dialect: {report['dialect']})"]
    for item in report.get("columns", []):
        lines.append(f"{item['column']}" + ("  [pii]" if item["pii"] else ""))
        for up in item.get("upstream", []):
            lines.append(f"    <- {up['from']}" + (f"  (via {up['column']})" if up["column"] != item["column"] else ""))
        for down in item.get("downstream", []):
            target = down.get("column") or ""
            via = f"  (reads {down['reads']})" if down["reads"] != item["column"] else ""
            if target:
                lines.append(f"    -> {target}  by {down['address']}{via}")
            else:
                lines.append(f"    -> {down['address']} ({down['how']}){via}")
        if not item.get("upstream") and not item.get("downstream"):
            lines.append("    (nothing reads it)" if "downstream" in item else "    (no sources: an external column)")
    for entry in report.get("datasets", []):
        lines.append(f"dataset.{entry['dataset']}  <- {entry['transform']}")
        if not entry.get("parsed", True):
            lines.append(f"    (SQL not analysed: {entry.get('error', 'unknown')})")
            continue
        pii = set(entry.get("pii", []))
        for col, sources in entry["columns"].items():
            flag = "  [pii]" if col in pii else ""
            lines.append(f"    {col}{flag} <- {', '.join(sources) if sources else '(rows only: e.g. count(*))'}")
        reads = entry["row_reads"]
        if reads:
            shown = ", ".join(f"{r['column']} ({r['clause']})" for r in reads)
            lines.append(f"    rows <- {shown}")
        if entry.get("select_star"):
            lines.append(f"    select * from: {', '.join(entry['select_star'])}")
        for col, inputs in entry.get("whole_rows", {}).items():
            lines.append(f"    {col} holds whole rows of: {', '.join(inputs)}")
    return "\n".join(lines) + "\n"


def render_columns_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True) + "\n"
