"""Following each change downstream, column by column: data, checks, models, deployments.

A change is turned into what it does to data: a dataset's rows change (new seed data, another source,
a changed filter or join), or some of its columns (dropped, retyped, other values, added). That effect
flows only to consumers that read an affected column (the SQL's lineage, a check's columns, a model's
features and target) or whose input rows change: a transform that reads a changed column rebuilds, and
its output's columns fed by it change in turn; a model retrains only when its training rows or one of its
columns can change; a deployment rolls out only when its model retrains or its own spec changes.

Each impacted resource gets the work it needs (rebuild, reload, rerun, retrain, rollout) and the path
that causes it, with the column at each step: dataset.raw_sales.quantity ~ breaking -> transform.x
(filter) -> dataset.sales -> model.m (feature total) retrain -> deployment.api rollout.
"""

from __future__ import annotations

import heapq
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from compiler.plan.diff import COLUMN_ORDER, SEVERITY
from compiler.plan.sourcediff import DATA_VERSION_PATHS
from compiler.spec.project import SpecProject

WORKS = ("rebuild", "reload", "rerun", "retrain", "evaluate", "rollout")  # every work an impact can be
WORK = {"transform": "rebuild", "quality_rule": "rerun", "model": "retrain", "deployment": "rollout"}

Step = tuple[str, str]  # (address, what at that step: a column, or how it is read, in parentheses)
Trail = tuple[Step, ...]

_COLUMN = re.compile(r"spec\.columns\[(\w+)\](?:\.(\w+))?")
# dataset attributes that change the generated model's contract: its producer rebuilds
_CONTRACT_LEAVES = {None, "type", "required"}
# an environment's warehouse attributes that say where its tables are (not how specops signs in or how many
# threads dbt runs): a change moves every table of the environment to a place that holds none of them yet
# (not the port: a connection pooler in front of the same database is no move)
_LOCATION = ("spec.warehouse.type", *(f"spec.warehouse.settings.{k}" for k in
                                      ("path", "host", "database", "schema", "account", "project", "dataset")))
# environment attributes its deployments' manifests do not name
_ENV_NO_ROLLOUT = ("spec.warehouse", "spec.required_approval", "spec.allow_pii", "spec.state", "spec.lineage",
                   "spec.kafka_brokers", "spec.pushgateway")
# model attributes that change neither training nor what is served
_MODEL_NO_WORK = ("spec.training.schedule", "spec.drift")
# model attributes that only decide which version holds the alias: the candidate and the champion are evaluated
# again (compiler.apply.steps.train.evaluate_model), nothing is trained
_MODEL_GATES = ("spec.metrics", "spec.max_regression")


@dataclass(frozen=True)
class Impact:
    address: str
    work: str  # rebuild | reload | rerun | retrain | evaluate | rollout
    cause: str  # the directly changed resource
    category: str  # the cause's category, carried downstream
    path: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    via: tuple[str, ...] = field(default=())  # per step of `path`: the column, or how it is read ('' if nothing)
    full_refresh: bool = False  # data work: rebuild from scratch (dbt --full-refresh), not incrementally
    # a table or view run in the full-refresh build: every build rebuilds it whole, so it is no other work there
    whole: bool = False
    environments: tuple[str, ...] = ()  # in a plan of every environment: where the work happens

    @property
    def from_scratch(self) -> bool:
        """Data work that a full refresh makes other than usual: an incremental model rebuilt, a seed recreated."""
        return self.full_refresh and not self.whole and self.work in ("rebuild", "reload")

    @property
    def label(self) -> str:
        """The work as plans show it: `rebuild (full refresh)` for a rebuild from scratch (where it means something:
        an incremental model, a seed; a table or a view is rebuilt whole by every build)."""
        return f"{self.work} (full refresh)" if self.from_scratch else self.work

    def steps(self) -> list[str]:
        """The path as a reader sees it: `dataset.x.col`, `transform.t (filter)`, `model.m`."""
        out = []
        for i, address in enumerate(self.path):
            what = self.via[i] if i < len(self.via) else ""
            if not what:
                out.append(address)
            elif what.startswith("("):
                out.append(f"{address} {what}")
            else:
                out.append(f"{address}.{what}")
        return out

    def to_json(self) -> dict[str, Any]:
        out = {"address": self.address, "work": self.work, "cause": self.cause, "category": self.category,
               "direct": self.address == self.cause, "path": list(self.path), "notes": list(self.notes)}
        if any(self.via):
            out["via"] = list(self.via)
            out["steps"] = self.steps()
        if self.full_refresh:
            out["full_refresh"] = True
        if self.environments:
            out["environments"] = list(self.environments)
        return out


def own_work(project: SpecProject, address: str, attr_paths: list[str]) -> str | None:
    """The work a directly changed resource needs itself."""
    kind, _, name = address.partition(".")
    if kind == "dataset":
        ds = project.datasets.get(name)
        if ds is not None and ds.source is not None:
            if not attr_paths or any(p.startswith("spec.source") for p in attr_paths):  # new, or its data moved
                return "reload" if ds.source.type == "file" or ds.source.landed else "rerun"  # landed: dvc, kafka
            if ds.source.type == "file" and any(retypes(p) for p in attr_paths):
                return "reload"  # a seed's table gets other column types: loaded again (from scratch)
            return "rerun" if any(not _same_data(p) for p in attr_paths) else None
        if ds is not None and not _contract(attr_paths) and any(not _same_data(p) for p in attr_paths):
            return "rerun"  # only its tests change (unique, accepted values, keys, freshness)
        return None  # its producing transform rebuilds it (added as an impact), or nothing runs
    if kind == "transform" and attr_paths and all(p.startswith(("spec.schedule", "spec.runner")) for p in attr_paths):
        return None  # only the CronJob or DAG changes (an artifact)
    if kind == "model" and attr_paths and all(p.startswith(_MODEL_NO_WORK) for p in attr_paths):
        return None  # only the schedules (CronJobs) change
    if kind == "model" and attr_paths and all(p.startswith((*_MODEL_GATES, *_MODEL_NO_WORK)) for p in attr_paths):
        return "evaluate"  # only the gates change: decide again, train nothing
    return WORK.get(kind)


def relocates(changes: list[Any]) -> bool:
    """Whether an environment's attribute changes move its warehouse (its tables are then built anew there): a
    DuckDB file written otherwise (`./x.duckdb`) is the same file."""
    for c in changes:
        if c.path == "spec.warehouse.settings.path" and isinstance(c.before, str) and isinstance(c.after, str):
            if posixpath.normpath(c.before) != posixpath.normpath(c.after):
                return True
        elif c.path == "spec.warehouse" or c.path.startswith(_LOCATION):
            return True
    return False


def retypes(path: str) -> bool:
    """Whether an attribute change is a column's type (a seed's table has the CSV's columns, in the spec's types)."""
    m = _COLUMN.fullmatch(path)
    return m is not None and m.group(2) == "type"


def reshapes_seed(paths: list[str]) -> bool:
    """Whether a seed's table gets other columns: a column retyped, or added or dropped with the file's content
    (dbt seed truncates an existing table and keeps its columns and types; only --full-refresh makes it anew)."""
    columns = any((m := _COLUMN.fullmatch(p)) is not None and m.group(2) is None for p in paths)
    return any(retypes(p) for p in paths) or (columns and any(p.startswith("spec.source.content") for p in paths))


def _same_data(path: str) -> bool:
    """Whether an attribute change leaves a dataset's data and tests as they are: its flags, or its columns' order
    (a produced dataset's producer rebuilds for that; a source's table keeps its own order)."""
    m = _COLUMN.fullmatch(path)
    return path == COLUMN_ORDER or (m is not None and m.group(2) in ("pii", "masked"))


def _contract(paths: list[str]) -> bool:
    return any(p == COLUMN_ORDER or ((m := _COLUMN.fullmatch(p)) is not None and m.group(2) in _CONTRACT_LEAVES)
               for p in paths)


@dataclass
class _Effect:
    """How one dataset's data changes, and the trail (from a direct change) that says why."""

    cause: str
    category: str
    rows: Trail | None = None
    columns: dict[str, tuple[str, Trail]] = field(default_factory=dict)  # column -> (dropped|retyped|changed|added)


class _Walk:
    def __init__(self, project: SpecProject):
        self.project = project
        self.graph = project.graph
        self.lineage = project.lineage
        self.found: dict[str, Impact] = {}
        self.effects: dict[str, _Effect] = {}
        self.queue: list[tuple[int, str]] = []
        self.rank = self.graph.rank()
        self.done: set[str] = set()  # datasets whose effect has flowed downstream

    def add(self, address: str, work: str, cause: str, category: str, trail: Trail, notes: tuple[str, ...] = ()
            ) -> None:
        if address not in self.found or (work == "retrain" and self.found[address].work == "evaluate"):
            self.found[address] = Impact(address, work, cause, category, tuple(a for a, _ in trail), notes,
                                         tuple(v for _, v in trail))

    def effect(self, dataset: str, cause: str, category: str, rows: Trail | None,
               columns: dict[str, tuple[str, Trail]]) -> None:
        if rows is None and not columns:
            return
        e = self.effects.get(dataset)
        if e is None:
            e = self.effects[dataset] = _Effect(cause, category)
            heapq.heappush(self.queue, (self.rank.get(f"dataset.{dataset}", 0), dataset))
        if e.rows is None and rows is not None:
            e.rows = rows
        for col, found in columns.items():
            e.columns.setdefault(col, found)

    # --- direct changes -------------------------------------------------------------------------------

    def direct(self, cause: str, category: str, changes: list[Any]) -> None:
        paths = [c.path for c in changes]
        kind, _, name = cause.partition(".")
        work = own_work(self.project, cause, paths)
        first = _first_column(changes) if kind == "dataset" else ""
        if work:
            self.add(cause, work, cause, category, ((cause, first),))
        if kind == "dataset":
            self.direct_dataset(cause, name, category, changes)
        elif kind == "transform":
            self.direct_transform(cause, name, category, changes)
        elif kind == "model" and work:
            self.rollouts(cause, category, ((cause, ""),))
        elif kind == "environment":
            if relocates(changes):
                self.relocated(cause, category)
            if all(p.startswith(_ENV_NO_ROLLOUT) for p in paths) and paths:
                return  # what its deployments' manifests say is the same
            for child in self.graph.children(cause):
                if child.startswith("deployment."):
                    self.add(child, "rollout", cause, category, ((cause, ""), (child, "")))

    def relocated(self, cause: str, category: str) -> None:
        """The environment's warehouse is another one: every source is loaded (or checked) there again and every
        transform builds its table there, then what reads them follows as data that changed."""
        why = (cause, "(warehouse moved)")
        for name, ds in sorted(self.project.datasets.items()):
            if ds.source is not None:
                work = "reload" if ds.source.type == "file" or ds.source.landed else "rerun"
                self.add(ds.address, work, cause, category, (why, (ds.address, "")))
                self.effect(name, cause, category, (why, (ds.address, "")), {})
        for t in sorted(self.project.transforms.values(), key=lambda t: t.name):
            self.add(t.address, "rebuild", cause, category, (why, (t.address, "")))
            self.effect(t.output, cause, category, (why, (t.address, ""), (f"dataset.{t.output}", "")), {})

    def direct_dataset(self, cause: str, name: str, category: str, changes: list[Any]) -> None:
        producer = self.project.producer(name)
        if producer is not None and _contract([c.path for c in changes]):
            self.add(producer.address, "rebuild", cause, category, ((cause, _first_column(changes)),
                                                                    (producer.address, "")),
                     ("produces the changed dataset",))
        rows: Trail | None = None
        columns: dict[str, tuple[str, Trail]] = {}
        for c in changes:
            m = _COLUMN.fullmatch(c.path)
            if m is not None:
                col, leaf = m.group(1), m.group(2)
                if leaf is None:
                    how = "dropped" if c.after is None else "added" if c.before is None else "changed"
                elif leaf == "type":
                    how = "retyped"
                else:
                    continue  # constraints and flags: the data is the same
                columns.setdefault(col, (how, ((cause, col),)))
            elif c.path.startswith("spec.source") and c.category != "metadata" and (
                    edited := (c.detail or {}).get("values_changed")):  # the same rows (compiler.plan.seeddiff)
                for col in edited:
                    columns.setdefault(col, ("changed", ((cause, f"(values of {col})"),)))
            elif c.path.startswith("spec.source") and rows is None and c.category != "metadata" and not (
                    c.detail or {}).get("columns_only"):  # new bytes, the same rows (compiler.plan.seeddiff)
                rows = ((cause, "(data)" if c.path.startswith(DATA_VERSION_PATHS) else "(source)"),)
        self.effect(name, cause, category, rows, columns)

    def direct_transform(self, cause: str, name: str, category: str, changes: list[Any]) -> None:
        t = self.project.transforms.get(name)
        if t is None:
            return
        rows: Trail | None = None
        columns: dict[str, tuple[str, Trail]] = {}
        out = f"dataset.{t.output}"
        if not changes:  # a new transform: what it writes is new
            rows = ((cause, "(new)"), (out, ""))
        for c in changes:
            if c.path == "spec.output":
                rows = ((cause, "(output)"), (out, ""))
            elif c.path == "spec.sql":
                d = c.detail
                if d is None or d.get("rows_change"):
                    rows = rows or ((cause, f"({', '.join(d.get('clauses') or ['rows'])})" if d else "(SQL)"),
                                    (out, ""))
                if d is not None:
                    for col in d.get("removed", ()):
                        columns.setdefault(col, ("dropped", ((cause, f"(drops {col})"), (out, col))))
                    for col in d.get("changed", ()):
                        columns.setdefault(col, ("changed", ((cause, f"(→ {col})"), (out, col))))
                    for col in d.get("added", ()):
                        columns.setdefault(col, ("added", ((cause, f"(adds {col})"), (out, col))))
        self.effect(t.output, cause, category, rows, columns)

    def rollouts(self, model: str, category: str, trail: Trail, cause: str | None = None) -> None:
        for child in self.graph.children(model):
            if child.startswith("deployment."):
                self.add(child, "rollout", cause or model, category, (*trail, (child, "")))

    # --- data flowing downstream ------------------------------------------------------------------------

    def flow(self) -> None:
        done = self.done
        while self.queue:
            _, dataset = heapq.heappop(self.queue)
            if dataset in done:
                continue
            done.add(dataset)
            e = self.effects[dataset]
            for child in self.graph.children(f"dataset.{dataset}"):
                kind, _, name = child.partition(".")
                if kind == "transform":
                    self.into_transform(dataset, e, name)
                elif kind == "quality_rule":
                    self.into_rule(dataset, e, child)
                elif kind == "model":
                    self.into_model(dataset, e, name)

    def into_transform(self, dataset: str, e: _Effect, name: str) -> None:
        t = self.project.transforms[name]
        address, out = t.address, f"dataset.{t.output}"
        analysis = self.lineage.analysis_of(name)
        rows: Trail | None = None
        columns: dict[str, tuple[str, Trail]] = {}
        notes: list[str] = []
        if e.rows is not None:
            rows = (*e.rows, (address, "(reads its rows)"), (out, ""))
        elif analysis is None or not analysis.ok:
            changed = [trail for how, trail in e.columns.values() if how != "added"]
            if changed:  # what the SQL reads is unknown: assume everything
                rows = (*changed[0], (address, "(SQL not analysed)"), (out, ""))
        else:
            for col, (how, trail) in sorted(e.columns.items()):
                if how == "added":
                    if dataset in analysis.star_inputs:
                        columns.setdefault(col, ("added", (*trail, (address, "(select *)"), (out, col))))
                        notes.append(f"select * passes the new column '{col}' of dataset.{dataset} into its output")
                    for oc in sorted({o for d, o in analysis.whole_rows if d == dataset}):  # row_to_json(e): new key
                        columns.setdefault(oc, ("changed", (*trail, (address, f"(whole row → {oc})"), (out, oc))))
                    continue
                fed = [c.name for c in analysis.columns if (dataset, col) in c.sources]
                for oc in fed:
                    columns.setdefault(oc, ("changed", (*trail, (address, f"(→ {oc})"), (out, oc))))
                clauses = sorted({cl for d, c, cl in analysis.row_reads if d == dataset and c == col})
                if clauses and rows is None:
                    rows = (*trail, (address, f"({', '.join(clauses)})"), (out, ""))
                if how == "dropped" and (fed or clauses):
                    notes.append(f"its SQL reads dropped column '{col}' of dataset.{dataset}")
        if rows is None and not columns:
            return
        trail = rows if rows is not None else next(iter(columns.values()))[1]
        # a new column passed on by select * breaks the output's declared columns: breaking for this consumer
        category = "breaking" if any(how == "added" for how, _ in columns.values()) else e.category
        self.add(address, "rebuild", e.cause, category, trail[:-1], tuple(notes))
        self.effect(t.output, e.cause, category, rows, columns)

    def into_rule(self, dataset: str, e: _Effect, address: str) -> None:
        if e.rows is not None:
            self.add(address, "rerun", e.cause, e.category, (*e.rows, (address, "")))
            return
        reads = self.lineage.reads_of(address)
        for col, (how, trail) in sorted(e.columns.items()):
            if how != "added" and (dataset, col) in reads:
                self.add(address, "rerun", e.cause, e.category, (*trail, (address, "(check)")))
                return

    def into_model(self, dataset: str, e: _Effect, name: str) -> None:
        m = self.project.models[name]
        tr = m.training
        if tr is None or tr.dataset != dataset:
            return
        trail: Trail | None = None
        notes: tuple[str, ...] = ()
        if e.rows is not None:
            trail = (*e.rows, (m.address, "(training rows)"))
        else:
            split = tr.split_strategy.column  # the trainer reads it too: which rows are held out
            for col in (*tr.features, tr.target, *([split] if split else [])):
                found = e.columns.get(col)
                if found is not None and found[0] != "added":
                    role = "target" if col == tr.target else "feature" if col in tr.features else "split column"
                    trail = (*found[1], (m.address, f"({role} {col})"))
                    if found[0] == "dropped":
                        notes = (f"trained on dropped column '{col}'",)
                    break
        if trail is None:
            return
        self.add(m.address, "retrain", e.cause, e.category, trail, notes)
        self.rollouts(m.address, e.category, trail, e.cause)


def _first_column(changes: list[Any]) -> str:
    for c in changes:
        m = _COLUMN.fullmatch(c.path) or _COLUMN.match(c.path)
        if m is not None:
            return m.group(1)
    return ""


def follow(project: SpecProject, direct: dict[str, tuple[str, list[Any]]]) -> list[Impact]:
    """Impacts of direct changes {address: (category, attribute changes)}, dependencies first.

    Direct changes are taken most severe first (the first to reach a resource gives its path); the data
    effects then flow through the datasets in graph order, each dataset once: linear in the graph's size.
    """
    walk = _Walk(project)
    order = sorted(direct.items(), key=lambda kv: (-SEVERITY[kv[1][0]], kv[0]))
    for severity in sorted({SEVERITY[c] for c, _ in direct.values()}, reverse=True):
        for cause, (category, changes) in order:  # the breaking changes and what they reach first
            if SEVERITY[category] == severity and category != "metadata" and cause in walk.graph:
                walk.direct(cause, category, changes)
        walk.flow()
    if not walk.found:
        return []
    return sorted(walk.found.values(), key=lambda i: (walk.rank.get(i.address, 0), i.address))
