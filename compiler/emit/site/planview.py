"""A saved plan (`specops plan --format json` or `--out`) read for the docs site: what to mark on the graph.

The plan is checked for the fields the site uses (format 1.x; readers ignore fields they do not
know, as the plan's schema says), and every problem is reported with where it is. Diffs of data
files (dbt seeds, CSV and other data formats) are never carried into the site: they would show rows.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from compiler.plan.impact import WORKS
from compiler.spec.diagnostics import Diagnostic, SpecError

ACTIONS = ("create", "update", "delete", "replace")
CATEGORIES = ("breaking", "non-breaking", "metadata")
DATA_SUFFIXES = (".csv", ".tsv", ".psv", ".parquet", ".jsonl", ".ndjson", ".avro", ".orc", ".xlsx", ".xls")
MAX_DIFF_CHARS = 2_000_000  # diffs past this much text are left to plan.json: the page stays quick to open


@dataclass(frozen=True)
class AttributeChange:
    path: str
    before: str
    after: str
    category: str
    forces_replacement: bool


@dataclass(frozen=True)
class Change:
    address: str
    kind: str
    action: str
    category: str
    file: str | None
    attributes: tuple[AttributeChange, ...]


@dataclass(frozen=True)
class ImpactItem:
    address: str
    work: str
    cause: str
    category: str
    path: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class FileChange:
    anchor: str  # id of its entry on plan.html
    path: str
    action: str
    owner: str | None
    diff: str | None  # None: not shown (see `withheld`)
    withheld: str | None = None


@dataclass(frozen=True)
class PlanView:
    environment: str | None
    baseline: str
    complete: bool
    summary_line: str
    summary: tuple[tuple[str, int], ...]
    changes: tuple[Change, ...]
    impacts: tuple[ImpactItem, ...]
    files: tuple[FileChange, ...]
    spec_digest: str | None
    # the baseline's snapshots of the changed datasets: what was secret there stays hidden on the site, as in the
    # plan (an edit dropping `pii: true` must not show what it hid)
    datasets_before: tuple[tuple[str, dict[str, Any]], ...] = ()

    @functools.cached_property
    def _changes(self) -> dict[str, Change]:
        return {c.address: c for c in self.changes}

    @functools.cached_property
    def _impacts(self) -> dict[str, ImpactItem]:
        return {i.address: i for i in self.impacts}

    @functools.cached_property
    def _files(self) -> dict[str, list[FileChange]]:
        out: dict[str, list[FileChange]] = {}
        for f in self.files:
            if f.owner:
                out.setdefault(f.owner, []).append(f)
        return out

    def change_of(self, address: str) -> Change | None:
        return self._changes.get(address)

    def impact_of(self, address: str) -> ImpactItem | None:
        return self._impacts.get(address)

    def files_of(self, address: str) -> list[FileChange]:
        """The changed generated files the resource owns."""
        return self._files.get(address, [])

    def by_work(self, work: str) -> list[str]:
        return [i.address for i in self.impacts if i.work == work]


def read_plan(text: str, file: str) -> dict[str, Any]:
    """The plan's JSON, or SpecError naming the file, line and column of what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError([Diagnostic("plan-file", f"not valid JSON: {exc.msg}", file, exc.lineno, exc.colno,
                                    hint="pass a file written by `specops plan --out FILE` or "
                                         "`specops plan --format json`")]) from None
    problems = _problems(data)
    if problems:
        raise SpecError([Diagnostic("plan-file", p, file, 1, 1,
                                    hint="pass a file written by `specops plan --out FILE` or "
                                         "`specops plan --format json`") for p in problems])
    return data


def _problems(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return ["a specops plan is a JSON object"]
    version = str(data.get("format_version", ""))
    if version.split(".")[0] != "1":
        return [f"format_version {version or '(missing)'} is not 1.x: not a specops plan this version can read"]
    out = []
    shapes = {"resource_changes": list, "impact": dict, "artifact_changes": list, "summary_line": str}
    for key, shape in shapes.items():
        if not isinstance(data.get(key), shape):
            out.append(f"'{key}' is missing or not a JSON {shape.__name__.replace('dict', 'object')}")
    if out:
        return out
    for i, c in enumerate(data["resource_changes"]):
        if not (isinstance(c, dict) and isinstance(c.get("address"), str) and c.get("action") in ACTIONS
                and c.get("category") in CATEGORIES):
            out.append(f"resource_changes[{i}] needs an address, an action ({', '.join(ACTIONS)}) and a category")
    items = data["impact"].get("items", [])
    for i, item in enumerate(items if isinstance(items, list) else [None]):
        if not (isinstance(item, dict) and isinstance(item.get("address"), str) and item.get("work") in WORKS
                and isinstance(item.get("path"), list) and all(isinstance(p, str) for p in item["path"])):
            out.append(f"impact.items[{i}] needs an address, a work ({', '.join(WORKS)}) and a path")
    for i, a in enumerate(data["artifact_changes"]):
        if not (isinstance(a, dict) and isinstance(a.get("path"), str) and isinstance(a.get("action"), str)):
            out.append(f"artifact_changes[{i}] needs a path and an action")
    return out[:20]


def is_data_file(path: str) -> bool:
    """A generated file holding data (a dbt seed's rows): its diff would show values. An environment's static
    OpenLineage file (lineage/<env>.jsonl) is metadata, as the plan shows it, not rows."""
    tail = path.rsplit(":", 1)[-1].lower()
    if tail.startswith("lineage/") and tail.count("/") == 1 and tail.endswith(".jsonl"):
        return False
    return tail.endswith(DATA_SUFFIXES) or ("/seeds/" in f"/{tail}" and not tail.endswith((".yml", ".yaml")))


def _value(v: Any) -> str:
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return text if len(text) <= 400 else text[:397] + "..."


def _baseline(b: Any) -> str:
    if not isinstance(b, dict):
        return "unknown"
    if b.get("kind") == "git":
        return f"git {b.get('ref')}"
    if not b.get("lineage"):
        return "nothing applied yet"
    return f"last apply (serial {b.get('serial')})"


def plan_view(data: dict[str, Any]) -> PlanView:
    """The parts of a checked plan (read_plan) that the site shows."""
    changes = []
    for c in sorted(data["resource_changes"], key=lambda c: c["address"]):
        attrs = (c.get("change") or {}).get("attributes") or []
        changes.append(Change(
            c["address"], str(c.get("kind", "")), c["action"], c["category"], c.get("file"),
            tuple(AttributeChange(str(a.get("path", "")), _value(a.get("before")), _value(a.get("after")),
                                  str(a.get("category", "")), bool(a.get("forces_replacement")))
                  for a in attrs if isinstance(a, dict)),
        ))
    impacts = tuple(ImpactItem(i["address"], i["work"], str(i.get("cause", "")), str(i.get("category", "")),
                               tuple(i["path"]), tuple(str(n) for n in i.get("notes") or ()))
                    for i in data["impact"].get("items", []))
    files, budget = [], MAX_DIFF_CHARS
    for n, a in enumerate(sorted(data["artifact_changes"], key=lambda a: a["path"]), start=1):
        diff, withheld = a.get("diff") if isinstance(a.get("diff"), str) else "", None
        if is_data_file(a["path"]):
            diff, withheld = None, "a data file: the site never shows its rows"
        elif len(diff) > budget:
            diff, withheld = None, "past the page's size limit: see the diff in the plan file"
        else:
            budget -= len(diff)
        files.append(FileChange(f"file-{n}", a["path"], a["action"], a.get("owner"), diff, withheld))
    summary = data.get("summary") if isinstance(data.get("summary"), dict) else {}
    head = data.get("head") if isinstance(data.get("head"), dict) else {}
    return PlanView(
        environment=data.get("environment"), baseline=_baseline(data.get("baseline")),
        complete=bool(data.get("complete", True)), summary_line=data["summary_line"],
        summary=tuple((k, int(v)) for k, v in sorted(summary.items()) if isinstance(v, int)),
        changes=tuple(changes), impacts=impacts, files=tuple(files), spec_digest=head.get("spec_digest"),
        datasets_before=tuple((c["address"], before) for c in sorted(data["resource_changes"],
                                                                     key=lambda c: c["address"])
                              if str(c["address"]).startswith("dataset.")
                              and isinstance(before := (c.get("change") or {}).get("before"), dict)),
    )
