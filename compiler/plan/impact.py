"""Following each change downstream through the one graph: data, checks, models, deployments.

Each impacted resource gets the work it needs (rebuild, reload, rerun, retrain, rollout) and the
path that causes it, starting at a direct change: dataset.customers ~ breaking -> transform.x
rebuild -> dataset.features -> model.churn retrain -> deployment.churn_api rollout.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from compiler.plan.diff import SEVERITY
from compiler.spec.project import SpecProject

WORK = {"transform": "rebuild", "quality_rule": "rerun", "model": "retrain", "deployment": "rollout"}


@dataclass(frozen=True)
class Impact:
    address: str
    work: str  # rebuild | reload | rerun | retrain | rollout
    cause: str  # the directly changed resource
    category: str  # the cause's category, carried downstream
    path: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    full_refresh: bool = False  # data work: rebuild from scratch (dbt --full-refresh), not incrementally

    def to_json(self) -> dict[str, Any]:
        out = {"address": self.address, "work": self.work, "cause": self.cause, "category": self.category,
               "direct": self.address == self.cause, "path": list(self.path), "notes": list(self.notes)}
        if self.full_refresh:
            out["full_refresh"] = True
        return out


def own_work(project: SpecProject, address: str, attr_paths: list[str]) -> str | None:
    """The work a directly changed resource needs itself."""
    kind = address.split(".", 1)[0]
    if kind == "dataset":
        ds = project.datasets.get(address.split(".", 1)[1])
        if ds is not None and ds.source is not None:
            return "reload" if ds.source.type == "file" else "rerun"
        return None  # its producing transform rebuilds it (added as an impact)
    if kind == "transform" and attr_paths and all(p.startswith("spec.schedule") for p in attr_paths):
        return None  # only the CronJob changes (an artifact)
    return WORK.get(kind)


def _dropped_columns(changes: list[Any]) -> list[str]:
    out = []
    for c in changes:
        m = re.fullmatch(r"spec\.columns\[(\w+)\]", c.path)
        if m and c.after is None:
            out.append(m.group(1))
    return out


def follow(project: SpecProject, direct: dict[str, tuple[str, list[Any]]]) -> list[Impact]:
    """Impacts of direct changes {address: (category, attribute changes)}, dependencies first.

    One breadth-first walk per cause, most severe first; a node an earlier cause already walked
    through is not walked again (everything below it is claimed already), so the whole is linear
    in the size of the graph even when every resource changed (a first plan).
    """
    graph = project.graph
    found: dict[str, Impact] = {}
    expanded: set[str] = set()
    order = sorted(direct.items(), key=lambda kv: (-SEVERITY[kv[1][0]], kv[0]))
    for cause, (category, changes) in order:
        if category == "metadata" or cause not in graph:
            continue
        work = own_work(project, cause, [c.path for c in changes])
        if work:
            found.setdefault(cause, Impact(cause, work, cause, category, (cause,)))
        kind, name = cause.split(".", 1)
        producer = project.producer(name) if kind == "dataset" else None
        if producer is not None:  # the transform writing the changed dataset runs again (upstream of it)
            found.setdefault(producer.address, Impact(producer.address, "rebuild", cause, category,
                                                      (cause, producer.address), ("produces the changed dataset",)))
        if kind == "transform" and work is None:
            continue  # only its schedule changed: nothing downstream has to run
        dropped = _dropped_columns(changes)
        parent: dict[str, str | None] = {cause: None}
        queue = deque([cause])
        while queue:
            node = queue.popleft()
            if node in expanded:
                continue
            expanded.add(node)
            for child in graph.children(node):
                if child in parent:
                    continue
                parent[child] = node
                queue.append(child)
                child_work = WORK.get(child.split(".", 1)[0])
                if child_work and child not in found:
                    found[child] = Impact(child, child_work, cause, category, _path(parent, child),
                                          _notes(project, child, cause, dropped))
    if not found:
        return []
    rank = graph.rank()  # in graph order (make_plan sorts by it too: computed once)
    return sorted(found.values(), key=lambda i: (rank[i.address], i.address))


def _path(parent: dict[str, str | None], node: str) -> tuple[str, ...]:
    steps = [node]
    while (up := parent[steps[-1]]) is not None:
        steps.append(up)
    return tuple(reversed(steps))


def _notes(project: SpecProject, target: str, cause: str, dropped: list[str]) -> tuple[str, ...]:
    """Say which dropped columns a downstream resource reads directly from the changed dataset."""
    if not dropped or not cause.startswith("dataset."):
        return ()
    source = cause.split(".", 1)[1]
    kind, name = target.split(".", 1)
    notes = []
    if kind == "transform" and source in project.transforms[name].inputs:
        sql = project.transforms[name].sql.lower()
        for col in dropped:
            if re.search(rf"\b{re.escape(col.lower())}\b", sql):
                notes.append(f"its SQL reads dropped column '{col}' of dataset.{source}")
    elif kind == "model":
        tr = project.models[name].training
        assert tr is not None
        if tr.dataset == source:
            for col in dropped:
                if col in tr.features or col == tr.target:
                    notes.append(f"trained on dropped column '{col}'")
    return tuple(notes)
