"""Attribute-level diffs of resource snapshots, and their classification.

Categories follow SQLMesh and dbt contracts: breaking (a consumer can break: a column dropped,
retyped or made required; a key changed; a model's inputs changed), non-breaking (additions, data
or logic changes that keep the contract), metadata (descriptions, owners, tags, labels).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from compiler.plan.sourcediff import landed_category

SEVERITY = {"metadata": 0, "non-breaking": 1, "breaking": 2}
METADATA_KEYS = {"description", "owner", "tags", "labels"}
# a dataset's columns kept, in another order (the contract's order is the table's: its producer rebuilds)
COLUMN_ORDER = "spec.columns(order)"


@dataclass(frozen=True, slots=True)
class AttrChange:
    path: str
    before: Any
    after: Any
    category: str = "non-breaking"
    forces_replacement: bool = False
    reason: str | None = None  # why this category, in words (e.g. what a SQL change does)
    # what a change does, as data: a transform's SQL (compiler.plan.sqldiff.SqlChange), or a file source's
    # content (compiler.plan.seeddiff.seed_detail)
    detail: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"path": self.path, "before": self.before, "after": self.after, "category": self.category}
        if self.forces_replacement:
            out["forces_replacement"] = True
        if self.reason:
            out["reason"] = self.reason
        if self.detail is not None:
            out["sql_change" if self.path == "spec.sql" else "seed_change"] = self.detail
        return out


_MISSING = object()


def _item_name(item: Any) -> str | None:
    """A list item's name: its `name`, or that of its only value (dbt tests: {not_null: {name: ...}})."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("name"), str):
        return item["name"]
    meta = item.get("meta")
    own = meta.get("specops") if isinstance(meta, dict) else None
    if isinstance(own, dict) and isinstance(own.get("check"), str):  # a GX expectation: the check it is
        return f"{item.get('type', '')}:{own['check']}"
    if len(item) == 1:
        (key, value), = item.items()
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            return f"{key}:{value['name']}"
    return None


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """Lists of named mappings (columns, checks, dbt tests) are compared by name, not position."""
    names = [_item_name(i) for i in items]
    if items and all(names) and len(set(names)) == len(names):
        return {n: i for n, i in zip(names, items, strict=True)}  # type: ignore[misc]
    return None


_DEFAULT_NAME = re.compile(r"^(.+)_[0-9a-f]{6}$")  # compiler.front.build.default_check_name: ..._<content hash>


def _rehashed(gone: list[str], new: list[str]) -> dict[str, str]:
    """Old name -> new name of the items whose default names differ only in their content hash (one of each)."""
    def stems(names: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for n in names:
            if (m := _DEFAULT_NAME.match(n)) is not None:
                out.setdefault(m.group(1), []).append(n)
        return out

    before, after = stems(gone), stems(new)
    return {olds[0]: after[stem][0] for stem, olds in before.items()
            if len(olds) == 1 and len(after.get(stem, ())) == 1}


def diff_values(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, before, after) for every leaf that differs; _MISSING marks absence."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in [*before, *[k for k in after if k not in before]]:
            sub = f"{path}.{key}" if path else str(key)
            out += diff_values(before.get(key, _MISSING), after.get(key, _MISSING), sub)
        return out
    if isinstance(before, list) and isinstance(after, list):
        kb, ka = _keyed(before), _keyed(after)
        if kb is not None and ka is not None:
            out = []
            renamed = _rehashed([n for n in kb if n not in ka], [n for n in ka if n not in kb])
            for name in [*kb, *[n for n in ka if n not in kb and n not in renamed.values()]]:
                if name in renamed:  # a check whose default name follows its content: one check, changed
                    old, new = kb[name], ka[renamed[name]]
                    out += [d for d in diff_values(old, new, f"{path}[{renamed[name]}]")
                            if d[0] != f"{path}[{renamed[name]}].name"]
                    continue
                out += diff_values(kb.get(name, _MISSING), ka.get(name, _MISSING), f"{path}[{name}]")
            if path.endswith("columns"):  # columns are ordered (a table's, a contract's): a move is a change
                kept_before, kept_after = [n for n in kb if n in ka], [n for n in ka if n in kb]
                if kept_before != kept_after:
                    out.append((f"{path}(order)", kept_before, kept_after))
            return out
    if before == after:
        return []
    return [(path, before, after)]


# --- classification ------------------------------------------------------------------------------


def _category(kind: str, path: str, before: Any, after: Any) -> tuple[str, bool]:
    """(category, forces replacement) of one attribute change of a resource of `kind`."""
    leaf = path.rsplit(".", 1)[-1]
    if path.startswith("metadata.") or leaf in METADATA_KEYS:
        return "metadata", False
    added, removed = before is _MISSING, after is _MISSING
    if kind == "Dataset":
        if path.startswith("spec.columns["):
            if removed and path.count(".") == 1:
                return "breaking", False  # a whole column dropped
            if added and path.count(".") == 1:
                return "non-breaking", False
            if leaf == "type":
                return "breaking", False
            if leaf == "required":
                return ("breaking" if after is True else "non-breaking"), False
            if leaf == "unique":
                return ("breaking" if after is True else "non-breaking"), False
            if leaf == "accepted_values":
                return ("breaking" if _narrowed(before, after) else "non-breaking"), False
            if leaf in ("pii", "masked"):
                return "non-breaking", False
            return "non-breaking", False
        if path.startswith("spec.primary_key"):
            return "breaking", False
        if path.startswith("spec.source.type"):
            return "breaking", True
        if (landed := landed_category(path)) is not None:
            return landed
        if path in ("spec.classification", "spec.retention"):
            return "metadata", False
        return "non-breaking", False
    if kind == "Transform":
        if path.startswith("spec.materialization") or path.startswith("spec.incremental.unique_key"):
            return "non-breaking", True
        if path.startswith("spec.output"):
            return "breaking", True
        if path.startswith(("spec.schedule", "spec.runner")):
            return "non-breaking", False
        if path == "spec.sql_file":  # where the SQL is kept: its text is compared as spec.sql
            return "metadata", False
        return "non-breaking", False
    if kind == "Model":
        if path.startswith(("spec.training.features", "spec.training.target", "spec.training.dataset")):
            return "breaking", False
        if path.startswith(("spec.task", "spec.framework", "spec.registry_name")):
            return "breaking", True
        return "non-breaking", False
    if kind == "Environment" and path.startswith("spec.kafka_brokers"):
        return "metadata", False  # where kafka sources are read from: their landing jobs change, nothing else
    if kind == "Environment" and path.startswith("spec.pushgateway"):
        return "metadata", False  # where drift scores are pushed: the drift jobs' settings change, nothing else
    if kind == "Deployment":
        if path == "spec.model":
            return "breaking", True  # another model behind the endpoint: its callers' inputs and outputs change
        if path.startswith(("spec.environment", "spec.runtime")):
            return "non-breaking", True
        return "non-breaking", False
    return "non-breaking", False


# why a change has its category, where the path alone does not say it
_REASONS = {
    ("Deployment", "spec.model"): "another model is served: the endpoint's inputs (features) and outputs change "
                                  "for its callers",
}


def _narrowed(before: Any, after: Any) -> bool:
    """An accepted-values constraint added, or values taken away."""
    if not isinstance(after, list):
        return False
    if not isinstance(before, list):
        return True
    return not {str(v) for v in before} <= {str(v) for v in after}


def classify(kind: str, before: dict[str, Any], after: dict[str, Any]) -> tuple[str, str, list[AttrChange]]:
    """(action, category, changes) between two snapshots of one resource; action 'no-op' when equal."""
    changes = []
    for path, b, a in diff_values(before, after):
        category, replace = _category(kind, path, b, a)
        changes.append(AttrChange(path, None if b is _MISSING else b, None if a is _MISSING else a,
                                  category, replace, _REASONS.get((kind, path))))
    if not changes:
        return "no-op", "metadata", []
    category = max((c.category for c in changes), key=SEVERITY.__getitem__)
    action = "replace" if any(c.forces_replacement for c in changes) else "update"
    return action, category, changes
