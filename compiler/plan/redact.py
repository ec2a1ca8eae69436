"""What a plan may not print: values of PII columns and of restricted datasets.

Values reach a plan in two ways: in the generated files of a dataset (its seed rows, the value sets of its
expectations), whose diffs are withheld for counts and digests of the files (`sensitive`), and in the specs
themselves: a column's accepted values, and what a quality check on a secret column spells out (its values,
bounds, pattern, boolean expression or SQL), shown as a count of values or as "(not shown)" (`redact_values`),
in the attribute changes and in the snapshots. A dataset is secret if the specs say so now or said so in the
baseline (an edit that drops `pii: true` is itself shown without the values), and when neither side knows it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from compiler.plan.diff import AttrChange
from compiler.plan.model import ResourceChange
from compiler.spec.project import SpecProject

COLUMN_FIELDS = ("accepted_values",)  # what a column spec may list of its values
CHECK_FIELDS = ("values", "min", "max", "pattern", "expression", "sql")  # what a check may spell out


class Secrets:
    """What may not be shown of each dataset, as the specs say now or said in the baseline (`before`: address ->
    snapshot): a dataset that was PII or restricted before an edit stays so for the plan of that edit, and one
    known to neither side is treated as restricted (fail closed)."""

    def __init__(self, project: SpecProject, before: Mapping[str, Any] | None = None):
        self.project = project
        self.before = before or {}

    def _old(self, name: str) -> dict[str, Any]:
        address = f"dataset.{name}"
        snap = self.before.get(address) if address in self.before else None
        spec = snap.get("spec") if isinstance(snap, dict) else None
        return spec if isinstance(spec, dict) else {}

    def known(self, name: str) -> bool:
        return name in self.project.datasets or bool(self._old(name))

    def restricted(self, name: str) -> bool:
        ds = self.project.datasets.get(name)
        return (not self.known(name) or (ds is not None and ds.classification == "restricted")
                or self._old(name).get("classification") == "restricted")

    def hides(self, dataset: object, columns: Iterable[object], text: str = "") -> bool:
        """Whether values about these columns of the dataset (or about those `text`, an expression or SQL, names)
        may not be shown: the dataset is restricted or unknown, or one of them is PII."""
        if not isinstance(dataset, str) or self.restricted(dataset):
            return True
        secret = self.columns(dataset)
        if any(isinstance(c, str) and c in secret for c in columns):
            return True
        return bool(text) and any(re.search(rf"(?<![\w$]){re.escape(c)}(?![\w$])", text, re.IGNORECASE)
                                  for c in secret)

    def columns(self, name: str) -> set[str]:
        """The dataset's PII columns: declared now or before, or derived from PII through lineage."""
        ds = self.project.datasets.get(name)
        now = {c.name for c in ds.columns if c.pii} | set(self.project.lineage.pii.get(name, {})) if ds else set()
        old = {c.get("name") for c in self._old(name).get("columns") or [] if isinstance(c, dict) and c.get("pii")}
        return now | {c for c in old if isinstance(c, str)}


# generated files that hold no data values, whatever datasets they describe: the lineage files' static
# OpenLineage events carry names, types, descriptions and the transforms' SQL (code, shown in plans anyway)
VALUE_FREE = ("lineage/",)


def sensitive(project: SpecProject, owners: Iterable[str], before: Mapping[str, Any] | None = None,
              key: str = "") -> str | None:
    """Why the values in the generated file `key` may not be shown (its dataset is, or was, restricted or has
    PII columns), else None. The file's dataset is its first owner that is a dataset, or a quality rule's
    dataset; a file of VALUE_FREE holds none."""
    if key.startswith(VALUE_FREE):
        return None
    secrets = Secrets(project, before)
    for owner in owners:
        kind, _, name = owner.partition(".")
        if kind == "quality_rule" and name in project.rules:
            kind, name = "dataset", project.rules[name].dataset
        if kind != "dataset":
            continue
        if secrets.restricted(name):
            return f"dataset.{name} is restricted"
        pii = sorted(secrets.columns(name))
        return f"dataset.{name} has PII columns ({', '.join(pii)})" if pii else None
    return None


def redact_values(project: SpecProject, change: ResourceChange, before: Mapping[str, Any] | None = None
                  ) -> ResourceChange:
    """The change with every value it may not show concealed (a list by its length, anything else entirely)."""
    if change.kind not in ("Dataset", "QualityRule"):
        return change
    name = change.address.split(".", 1)[1]
    if not _spells_values(project, change, name):
        return change  # the common case, decided on the resources without making a snapshot
    secrets = Secrets(project, before)

    def secret_check(dataset: object, check: dict) -> bool:
        return secrets.hides(dataset, [check.get("column"), *(check.get("columns") or [])],
                             " ".join(str(check[k]) for k in ("expression", "sql") if check.get(k)))

    def hidden_paths(snap: dict | None) -> set[str]:
        """The attribute paths whose values may not be shown."""
        spec = (snap or {}).get("spec") or {}
        out = set()
        if change.kind == "Dataset":
            restricted, secret = secrets.restricted(name), secrets.columns(name)
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
    """A list as its length, anything else not at all (a digest of a short value gives it away)."""
    if isinstance(value, list):
        return f"({len(value)} values, not shown)"
    return None if value is None else "(not shown)"


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
