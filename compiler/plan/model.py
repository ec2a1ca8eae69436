"""The plan as data: built once, rendered as text, markdown or JSON, saved and re-checked by apply."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from compiler.plan.artifacts import ArtifactChange
from compiler.plan.diff import AttrChange
from compiler.plan.impact import Impact
from compiler.spec.ir import Resource

FORMAT_VERSION = "1.7"  # 1.2: baseline.sha; 1.3: baseline.errors; 1.4: other_environments, lineage whole_rows,
# sql_change kind "unfollowed"; 1.5: seed_change (a file source's content, written as sql_change before); 1.6: the
# Project is a resource change (kind Project), taken_over_by, takes_over, renamed, other_environments' resources,
# impact items' environments; 1.7: seed_change.same_values, a change `spec.columns(order)` (a dataset's columns in
# another order), baseline.no_project
SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "-/+"}
ACTIONS = {"create": ["create"], "update": ["update"], "delete": ["delete"], "replace": ["delete", "create"]}


@dataclass(frozen=True)
class ResourceChange:
    address: str
    kind: str
    action: str  # create | update | delete | replace
    category: str  # breaking | non-breaking | metadata
    changes: tuple[AttrChange, ...]
    file: str | None
    before: dict[str, Any] | None
    # the snapshot after, or the resource whose snapshot it is (made when asked: a first plan has thousands)
    after_of: dict[str, Any] | Resource | None
    # a deleted transform whose output another transform of the head builds: that one (its table is taken over,
    # not left behind); on that transform's create, the deleted one (`renamed` when nothing but the name differs)
    taken_over_by: str | None = None
    takes_over: str | None = None
    renamed: bool = False
    left: str | None = None  # what apply does and leaves of a destroy, where the specs decide it (else by kind)

    @property
    def after(self) -> dict[str, Any] | None:
        after = self.after_of
        return after if after is None or isinstance(after, dict) else after.snapshot

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address, "kind": self.kind, "file": self.file,
            "change": {"actions": ACTIONS[self.action], "before": self.before, "after": self.after,
                       "attributes": [c.to_json() for c in self.changes],
                       "replace_paths": [c.path for c in self.changes if c.forces_replacement]},
            "action": self.action, "category": self.category,
            **({"taken_over_by": self.taken_over_by} if self.taken_over_by else {}),
            **({"takes_over": self.takes_over, "renamed": self.renamed} if self.takes_over else {}),
        }


@dataclass(frozen=True)
class Baseline:
    kind: str  # state | git
    ref: str | None = None
    lineage: str | None = None
    serial: int | None = None
    state_digest: str | None = None
    spec_digest: str | None = None
    sha: str | None = None  # the commit `ref` named when the plan was made (a git baseline)
    # where the specs at `ref` fail to validate (REF:path:line:col [code]; no message: it may quote a value): the
    # plan then compares with nothing there, rather than giving no plan to a pull request that fixes them
    errors: tuple[str, ...] = ()
    # the repository path of the specops.yaml the revision lacks (a project new there, or moved): compared with
    # nothing, and said so
    no_project: str | None = None


@dataclass
class Plan:
    environment: str | None
    baseline: Baseline
    spec_digest: str
    tool_version: str
    resource_changes: list[ResourceChange]
    impacts: list[Impact]
    artifact_changes: list[ArtifactChange]
    artifact_digests: dict[str, str] = field(default_factory=dict)
    selection: list[str] = field(default_factory=list)
    git_sha: str | None = None
    approvals: list[str] = field(default_factory=list)  # environments whose required_approval applies
    lineage: Mapping[str, dict] = field(default_factory=dict)  # changed transform -> its SQL lineage (JSON)
    full_refresh: bool = False  # made with --full-refresh: every (selected) transform rebuilt from scratch
    # a plan of one environment against a git revision: the other environments the change adds, changes or
    # removes (environment name -> create | update | delete); each has its own plan (--env NAME)
    other_environments: dict[str, str] = field(default_factory=dict)
    # and the resources only each of them has (itself, its deployments) that the change adds, changes or removes
    other_changes: dict[str, list[str]] = field(default_factory=dict)
    # a selected plan against the state: (selected work, the dataset it builds, a dataset it reads) where the one
    # read was never applied in the environment and the selection leaves it out: the work would fail on a missing
    # table (said in the text and markdown plans, not in JSON)
    unbuilt_reads: list[tuple[str, str, str]] = field(default_factory=list)
    # a selected plan against the state: the work outside the selection that the selected changes cause (a rebuild
    # downstream, a retrain, a rollout...): apply leaves it pending in the state for the next apply, which does it
    # (said in the text and markdown plans, not in JSON)
    left_pending: list[Impact] = field(default_factory=list)
    _actions: dict[str, str] | None = field(default=None, repr=False, compare=False)

    def action_of(self, address: str) -> str | None:
        """The action planned for a resource (None when it has no change of its own)."""
        if self._actions is None:
            self._actions = {c.address: c.action for c in self.resource_changes}
        return self._actions.get(address)

    @property
    def has_changes(self) -> bool:
        return bool(self.resource_changes or self.impacts or self.artifact_changes)

    def summary(self) -> dict[str, int]:
        actions = Counter(c.action for c in self.resource_changes)
        work = Counter(i.work for i in self.impacts)
        return {
            "add": actions["create"], "change": actions["update"], "replace": actions["replace"],
            "destroy": actions["delete"], "breaking": sum(c.category == "breaking" for c in self.resource_changes),
            "rebuild": work["rebuild"], "reload": work["reload"], "rerun": work["rerun"],
            "retrain": work["retrain"], "evaluate": work["evaluate"], "rollout": work["rollout"],
            "full_refresh": sum(i.from_scratch for i in self.impacts),  # incremental models and seeds
            "artifacts_changed": len(self.artifact_changes),
        }

    def summary_line(self) -> str:
        s = self.summary()
        others = sum(len(self.other_changes.get(n) or [n]) for n in self.other_environments)
        elsewhere = (f"{others} change{'s' if others > 1 else ''} in other environments "
                     f"({', '.join(sorted(self.other_environments))})" if others else "")
        if not self.has_changes:
            if elsewhere:
                return f"No changes in {self.environment}; {elsewhere}: see their plans."
            return "No changes. The specs match the baseline."
        line = (f"Plan: {s['add']} to add, {s['change']} to change, {s['replace']} to replace, "
                f"{s['destroy']} to destroy")
        line += f" · impact: {s['rebuild']} rebuild, {s['retrain']} retrain"
        line += f", {s['evaluate']} evaluate" if s["evaluate"] else ""
        line += f", {s['rollout']} rollout ({s['reload']} reload, {s['rerun']} checks re-run"
        line += f", {s['full_refresh']} from scratch)" if s["full_refresh"] else ")"
        line += f" · {s['artifacts_changed']} generated file(s) changed"
        return line + (f" · {elsewhere}" if elsewhere else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "tool_version": self.tool_version,
            "environment": self.environment,
            "complete": not self.selection,
            "applyable": self.baseline.kind == "state",
            "selection": self.selection,
            "baseline": {k: list(v) if k == "errors" else v for k, v in vars(self.baseline).items()
                         if k not in ("errors", "no_project") or v},
            "head": {"spec_digest": self.spec_digest, "git_sha": self.git_sha},
            "resource_changes": [c.to_json() for c in self.resource_changes],
            "impact": {
                "items": [i.to_json() for i in self.impacts],
                **{w: [i.address for i in self.impacts if i.work == w]
                   for w in ("rebuild", "reload", "rerun", "retrain", "evaluate", "rollout")},
            },
            "full_refresh": self.full_refresh,
            "artifact_changes": [a.to_json() for a in self.artifact_changes],
            "approvals": list(self.approvals),
            "other_environments": [{"environment": n, "action": a, "resources": list(self.other_changes.get(n, []))}
                                   for n, a in sorted(self.other_environments.items())],
            "lineage": dict(sorted(self.lineage.items())),
            "artifact_digests": dict(sorted(self.artifact_digests.items())),
            "summary": self.summary(),
            "summary_line": self.summary_line(),
        }
