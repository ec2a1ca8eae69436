"""What a plan may not print: values of PII columns and of restricted datasets (counts and digests instead).

Values reach a plan in two ways: in the generated files of a dataset (its seed rows, the value sets of its
expectations), whose diffs are withheld (`sensitive`), and in the specs themselves: a column's accepted values,
and what a quality check on a secret column spells out (its values, bounds, pattern, boolean expression or SQL),
which are shown as a count or a digest (`redact_values`), in the attribute changes and in the snapshots.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from compiler.plan.diff import AttrChange
from compiler.plan.model import ResourceChange
from compiler.spec.ir import Dataset
from compiler.spec.project import SpecProject

COLUMN_FIELDS = ("accepted_values",)  # what a column spec may list of its values
CHECK_FIELDS = ("values", "min", "max", "pattern", "expression", "sql")  # what a check may spell out


def sensitive(project: SpecProject, owners: Iterable[str]) -> str | None:
    """Why the values in a generated file may not be shown (its dataset is restricted, or has PII columns),
    else None. The file's dataset is its first owner that is a dataset, or a quality rule's dataset."""
    for owner in owners:
        kind, _, name = owner.partition(".")
        if kind == "quality_rule" and name in project.rules:
            kind, name = "dataset", project.rules[name].dataset
        if kind != "dataset":
            continue
        ds = project.datasets.get(name)
        if ds is None:
            return None
        if ds.classification == "restricted":
            return f"dataset.{name} is restricted"
        pii = secret_columns(project, ds)
        return f"dataset.{name} has PII columns ({', '.join(pii)})" if pii else None
    return None


def secret_columns(project: SpecProject, ds: Dataset) -> list[str]:
    """The dataset's PII columns: declared, or derived from PII through lineage."""
    return sorted({c.name for c in ds.columns if c.pii} | set(project.lineage.pii.get(ds.name, {})))


def redact_values(project: SpecProject, change: ResourceChange) -> ResourceChange:
    """The change with every value it may not show replaced by a count (a list) or a digest (anything else)."""
    if change.kind not in ("Dataset", "QualityRule"):
        return change
    name = change.address.split(".", 1)[1]
    if not _spells_values(project, change, name):
        return change  # the common case, decided on the resources without making a snapshot

    def secret_check(dataset: object, check: dict) -> bool:
        ds = project.datasets.get(dataset) if isinstance(dataset, str) else None
        if ds is None:
            return False
        if ds.classification == "restricted":
            return True
        secret = set(secret_columns(project, ds))
        named = [check.get("column"), *(check.get("columns") or [])]
        if any(isinstance(c, str) and c in secret for c in named):
            return True
        text = " ".join(str(check[k]) for k in ("expression", "sql") if check.get(k))
        return bool(text) and any(re.search(rf"(?<![\w$]){re.escape(c)}(?![\w$])", text, re.IGNORECASE)
                                  for c in secret)

    def hidden_paths(snap: dict | None) -> set[str]:
        """The attribute paths whose values may not be shown."""
        spec = (snap or {}).get("spec") or {}
        out = set()
        if change.kind == "Dataset":
            ds = project.datasets.get(name)
            secret = set(secret_columns(project, ds)) if ds is not None else set()
            restricted = ds is not None and ds.classification == "restricted"
            for col in spec.get("columns") or []:
                if isinstance(col, dict) and (restricted or col.get("name") in secret or col.get("pii")):
                    out |= {f"spec.columns[{col.get('name')}].{k}" for k in COLUMN_FIELDS if col.get(k) is not None}
        else:
            for check in spec.get("checks") or []:
                if isinstance(check, dict) and secret_check(spec.get("dataset"), check):
                    out |= {f"spec.checks[{check.get('name')}].{k}" for k in CHECK_FIELDS if check.get(k) is not None}
        return out

    paths = hidden_paths(change.before) | hidden_paths(change.after)
    if not paths:
        return change
    items = {p.rsplit(".", 1)[0] for p in paths}  # a whole column or check added or removed spells them too
    attrs = tuple(_through(a, conceal) if a.path in paths else
                  _through(a, _concealed_item) if a.path in items else a
                  for a in change.changes)
    return replace(change, changes=attrs, before=_concealed(change.before, change.kind),
                    after_of=_concealed(change.after, change.kind))


def conceal(value: object) -> object:
    """A list as its length, anything else as a short digest: enough to see that it changed."""
    if isinstance(value, list):
        return f"({len(value)} values, not shown)"
    if value is None:
        return None
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"(not shown, sha256 {digest})"


def _through(attr: AttrChange, how: Callable[[object], object]) -> AttrChange:
    return replace(attr, before=how(attr.before), after=how(attr.after))


def _spells_values(project: SpecProject, change: ResourceChange, name: str) -> bool:
    """Whether the change's resource, before or now, spells out anything that could be a value."""
    spec = (change.before or {}).get("spec") or {}
    fields = COLUMN_FIELDS if change.kind == "Dataset" else CHECK_FIELDS
    if any(isinstance(i, dict) and any(i.get(k) not in (None, []) for k in fields)
           for i in (spec.get("columns") or spec.get("checks") or [])):
        return True
    if change.kind == "Dataset":
        ds = project.datasets.get(name)
        return ds is not None and any(c.accepted_values is not None for c in ds.columns)
    rule = project.rules.get(name)
    return rule is not None and any(getattr(c, k, None) not in (None, ()) for c in rule.checks for k in CHECK_FIELDS)


def _concealed_item(item: object) -> object:
    if not isinstance(item, dict):
        return item
    return {k: conceal(v) if k in COLUMN_FIELDS + CHECK_FIELDS else v for k, v in item.items()}


def _concealed(snap: dict | None, kind: str) -> dict | None:
    """A copy of a snapshot with every column's or check's values concealed."""
    if snap is None:
        return None
    out = copy.deepcopy(snap)
    spec = out.get("spec") or {}
    items = spec.get("columns") if kind == "Dataset" else spec.get("checks")
    if isinstance(items, list):
        spec["columns" if kind == "Dataset" else "checks"] = [_concealed_item(i) for i in items]
    return out
