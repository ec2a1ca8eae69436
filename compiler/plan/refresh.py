"""Which data work must run from scratch (dbt --full-refresh), so that no incremental model stays stale.

An incremental model only merges the rows its `updated_at` filter finds newer than what it holds. That is
right while its inputs only grow; after any other change its old rows are wrong and an incremental run
leaves them so. An incremental transform is therefore rebuilt from scratch when:

- (a seed, reloaded: a column retyped, or added or dropped with its file's content; dbt seed otherwise
  truncates the table and keeps its columns and types;)
- its own SQL (other than formatting), incremental settings (unique key, updated_at), materialization,
  inputs or output changed, or its output's contract did (columns added, dropped, retyped);
- its environment's warehouse moved (another type, file, host, database, schema, account, project or dataset):
  every table is built there from scratch;
- something upstream of it was rewritten rather than appended to: a file source whose new content does
  not start with the old content (a CSV appended to keeps every earlier byte), another source whose
  settings changed, or any breaking change (a column dropped or retyped, a transform's rows or values
  changed);
- rows were appended to a file source upstream that its `updated_at` filter could skip: unless its
  `updated_at` copies a column of that file directly and every appended row's value there is newer than
  every earlier row's, an incremental run is not trusted to take them all.

What depends on a model rebuilt from scratch runs after it with --full-refresh too (the data work
downstream: transforms, and their checks). `--full-refresh` on plan or apply asks for it everywhere (with
--select, for the selected part: a backfill), as `dbt build --full-refresh` does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

from compiler.plan.appended import AppendedRows
from compiler.plan.diff import COLUMN_ORDER
from compiler.plan.impact import Impact, relocates, reshapes_seed
from compiler.spec.ir import Dataset
from compiler.spec.project import SpecProject

DATA_WORK = ("rebuild", "reload", "rerun")
_OWN = {"spec.sql": "its SQL changed", "spec.incremental": "its incremental settings changed",
        "spec.materialization": "it became incremental", "spec.inputs": "its inputs changed",
        "spec.output": "its output changed"}
REQUESTED = "full refresh requested (--full-refresh)"
_COLUMN = re.compile(r"spec\.columns\[(\w+)\](?:\.(\w+))?")  # a whole column, or one of its attributes


def forced_causes(project: SpecProject, selected: set[str] | None) -> list[str]:
    """The transforms a --full-refresh rebuilds (the selected ones, or all), as direct causes for the walk."""
    return sorted(t.address for t in project.transforms.values() if selected is None or t.address in selected)


def mark(project: SpecProject, direct: dict[str, tuple[str, list[Any]]], impacts: list[Impact],
         forced: set[str] = frozenset()) -> list[Impact]:
    """`impacts` with full_refresh set (and a note saying why) where the data work must run from scratch."""
    data = {i.address: i for i in impacts if i.work in DATA_WORK}
    why: dict[str, str] = {}
    if forced:
        why = {a: REQUESTED for a in data}
    else:
        for cause, (category, changes) in sorted(direct.items()):
            live = [c for c in changes if getattr(c, "category", "non-breaking") != "metadata"]
            if category == "metadata" or (changes and not live):
                continue
            if cause.startswith("environment.") and relocates(live):
                for address in sorted(data):  # nothing is there yet: built from scratch, incremental or not
                    if data[address].work in ("rebuild", "reload"):
                        why.setdefault(address, f"the warehouse of {cause} moved: built there from scratch")
                continue
            own = _own_refresh(project, cause, live)
            if own and own[0] in data:
                why.setdefault(*own)
            content = _new_content(project, cause, live)  # a file source's new bytes, read once per cause
            rewrite = _rewrites(project, cause, category, live, content)
            rows = None if rewrite else appended_rows(content)
            if rewrite is None and rows is None:
                continue
            for address in sorted(project.graph.downstream(cause)):
                if address not in data or not _incremental(project, address):
                    continue
                if rewrite:
                    why.setdefault(address, rewrite)
                elif rows is not None and not rows.only_newer(project, address):
                    why.setdefault(address, f"{cause} got rows its updated_at filter may skip (an incremental run "
                                            "takes them all only when updated_at copies a column of that file and "
                                            "every new row is newer there)")
        for address in sorted(why):  # what depends on a model rebuilt from scratch follows it
            for below in sorted(project.graph.downstream(address)):
                if below in data and below not in why:
                    why[below] = f"runs after the full refresh of {address}, which it reads"
    if not why and not forced:
        return impacts
    out = []
    for i in impacts:
        if forced and "(new)" in i.via:  # a transform the walk starts from, not a new one: the plan says why
            i = replace(i, via=tuple("" if v == "(new)" and i.path[k] in forced else v for k, v in enumerate(i.via)))
        if i.address in why:
            note = why[i.address]
            i = replace(i, full_refresh=True, notes=(*i.notes, note) if note not in i.notes else i.notes)
        out.append(i)
    return out


def _incremental(project: SpecProject, address: str) -> bool:
    kind, _, name = address.partition(".")
    t = project.transforms.get(name) if kind == "transform" else None
    return t is not None and t.materialization == "incremental"


def _own_refresh(project: SpecProject, cause: str, changes: list[Any]) -> tuple[str, str] | None:
    """(incremental transform, why) when a direct change makes that transform stale by itself."""
    kind, _, name = cause.partition(".")
    if kind == "transform" and _incremental(project, cause):
        for c in changes:
            for prefix, reason in _OWN.items():
                if c.path.startswith(prefix):
                    return cause, f"rebuilt from scratch: {reason}"
        return None
    if kind == "dataset":
        ds = project.datasets.get(name)
        if ds is not None and ds.source is not None and ds.source.type == "file" and (reshapes_seed(
                [c.path for c in changes]) or any((c.detail or {}).get("header_changed") for c in changes)):
            return cause, "reloaded from scratch: its columns changed (dbt seed keeps the table's columns and types " \
                          "otherwise)"
        producer = project.producer(name)
        if producer is not None and _incremental(project, producer.address) and any(
                (m := _COLUMN.fullmatch(c.path)) is not None and m.group(2) in (None, "type", "required")
                for c in changes):
            return producer.address, f"rebuilt from scratch: the contract of dataset.{name} changed"
        if producer is not None and _incremental(project, producer.address) and any(
                c.path == COLUMN_ORDER for c in changes):  # an incremental run keeps the table's columns as they are
            return producer.address, f"rebuilt from scratch: the columns of dataset.{name} are in another order"
    return None


def _rewrites(project: SpecProject, cause: str, category: str, changes: list[Any],
              content: NewContent | None) -> str | None:
    """Why a direct change rewrites rows below it (so incremental models there go stale), or None when it only
    appends (appended_rows) or changes no data; `content` is _new_content's for it."""
    kind, _, name = cause.partition(".")
    if kind == "dataset":
        ds = project.datasets.get(name)
        source = [c for c in changes if c.path.startswith("spec.source")]
        if ds is not None and ds.source is not None and source:
            if content is not None:
                if content[2] or all((c.detail or {}).get("columns_only") for c in source):
                    return None  # the rows before are there as they were
                return f"{ds.source.path} was rewritten, not appended to"
            return f"the source of {cause} changed"
    if kind == "transform" and _incremental(project, cause) and _own_refresh(project, cause, changes):
        return f"{cause} was rebuilt from scratch"
    if category == "breaking":
        return f"a breaking change of {cause}"
    return None


def appended_rows(content: NewContent | None) -> AppendedRows | None:
    """The rows a direct change appends to a file source (and nothing else of its source; `content` is
    _new_content's for it), or None."""
    if content is None or not content[2]:
        return None
    ds, source, _ = content
    size = {c.path.rsplit(".", 1)[-1]: c.before for c in source}["size"]  # appended() checked it
    return AppendedRows(ds, size)


NewContent = tuple[Dataset, list[Any], bool]


def _new_content(project: SpecProject, cause: str, changes: list[Any]) -> NewContent | None:
    """(the file source, its attribute changes, whether its new content only appends lines) when a direct change
    gives a file source new content and changes nothing else of its source; None otherwise."""
    kind, _, name = cause.partition(".")
    ds = project.datasets.get(name) if kind == "dataset" else None
    source = [c for c in changes if c.path.startswith("spec.source")]
    if ds is None or ds.source is None or ds.source.type != "file" or not source or not all(
            c.path.startswith("spec.source.content") for c in source):
        return None
    return ds, source, appended(ds.source.content, source)


def appended(content: bytes | None, changes: list[Any]) -> bool:
    """Whether a file source's new `content` is its old content with lines added at the end (the old digest and
    size are in the attribute changes of spec.source.content)."""
    old = {c.path.rsplit(".", 1)[-1]: c.before for c in changes}
    size, digest = old.get("size"), old.get("sha256")
    if content is None or not isinstance(size, int) or not isinstance(digest, str) or len(content) < size:
        return False
    if hashlib.sha256(content[:size]).hexdigest() != digest:
        return False
    # the old last line was complete, or the first added byte ends it: no line of the old file changed
    return size == 0 or content[size - 1:size] == b"\n" or content[size:size + 1] in (b"\n", b"\r")


def rebuilt_whole(project: SpecProject, impacts: list[Impact]) -> list[Impact]:
    """`impacts` with the tables and views of the full-refresh build marked `whole`: dbt rebuilds them whole in
    any build, so a plan does not call their rebuild a full refresh (they run in that build to follow what they
    read)."""
    out = []
    for i in impacts:
        kind, _, name = i.address.partition(".")
        t = project.transforms.get(name) if kind == "transform" and i.full_refresh else None
        out.append(replace(i, whole=True) if t is not None and t.materialization != "incremental" else i)
    return out
