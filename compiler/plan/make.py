"""Building a plan: head (the specs now) against a baseline (last apply, or another git revision)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from compiler import __version__
from compiler.emit.compile import Compiled, compile_for_plan
from compiler.plan.artifacts import NOT_DIFFED, ArtifactChange, content_diff
from compiler.plan.baseline import BaselineData, StateSummary, from_git, from_summary, head_sha, state_summary
from compiler.plan.diff import AttrChange, classify
from compiler.plan.impact import Impact, follow
from compiler.plan.model import Plan, ResourceChange
from compiler.plan.scope import artifact_in_scope, in_scope
from compiler.spec.project import SpecProject
from compiler.spec.snapshot import snapshot_digest

MAX_FILE_DIFFS = 200  # beyond this many updated files a plan lists them without their diffs


def make_plan(project: SpecProject, compiled: Compiled, base: BaselineData, env: str | None,
              selected: set[str] | None = None, git_sha: str | None = None) -> Plan:
    head = {r.address: r for r in project.resources() if in_scope(r.address, env, project)}
    old_snaps = base.resources
    before = {a for a in old_snaps  # a deployment's snapshot is looked at only to know its environment
              if env is None or (not (a.startswith("environment.") and a != f"environment.{env}")
              and not (a.startswith("deployment.") and old_snaps[a].get("spec", {}).get("environment")
                       not in (None, env)))}
    changes: list[ResourceChange] = []
    direct: dict[str, tuple[str, list[AttrChange]]] = {}
    known = base.resource_digests or {}
    for address in sorted(set(head) | before):
        res = head.get(address)
        if address in before and res is not None and (
                known.get(address) or snapshot_digest(old_snaps[address])) == project.digest(address):
            continue  # the common case: equal digests, without decoding or building either snapshot
        old = old_snaps[address] if address in before else None
        file = res.loc.file if res else None
        if old is None:
            assert res is not None  # the snapshot of a new resource is made if the plan is written as JSON
            changes.append(ResourceChange(address, res.KIND, "create", "non-breaking", (), file, None, res))
            direct[address] = ("non-breaking", [])
            continue
        new = res.snapshot if res is not None else None
        kind = (new or old).get("kind", "")
        if new is None:
            changes.append(ResourceChange(address, kind, "delete", "breaking", (), None, old, None))
        else:
            action, category, attrs = classify(kind, old, new)
            if action == "no-op":
                continue
            changes.append(ResourceChange(address, kind, action, category, tuple(attrs), file, old, new))
            direct[address] = (category, attrs)
    impacts = [i for i in follow(project, direct) if in_scope(i.address, env, project)]
    listed = {i.address for i in impacts}
    for address, item in sorted(base.pending.items()):
        if address not in listed and project.get(address) is not None and in_scope(address, env, project):
            impacts.append(Impact(address, item["work"], item.get("cause", address),
                                  item.get("category", "non-breaking"), tuple(item.get("path", [address])),
                                  (*item.get("notes", ()), "pending from an earlier apply"),
                                  bool(item.get("full_refresh", False))))
    if impacts:
        order = project.graph.rank()
        impacts.sort(key=lambda i: (order.get(i.address, 0), i.address))
    if selected is not None:
        changes = [c for c in changes if c.address in selected]
        impacts = [i for i in impacts if i.address in selected]
    head_art = {a.key: a for a in compiled.artifacts if artifact_in_scope(a.key, env)}
    if selected is not None:  # a selected plan lists the files of the selected resources only
        head_art = {k: a for k, a in head_art.items() if selected.intersection(a.owners)}
    artifact_changes = []
    base_keys = {k for k in base.digests if artifact_in_scope(k, env)}
    if selected is not None:
        base_keys &= set(head_art)
    head_digests = {k: compiled.digest(a) for k, a in head_art.items()}
    diffed = 0
    for key in sorted(set(head_art) | base_keys):
        art = head_art.get(key)
        old_digest, new_digest = base.digests.get(key), head_digests.get(key)
        if old_digest == new_digest:
            continue
        owner = art.owners[0] if art and art.owners else None
        if art is None:
            action, diff = "delete", ""
        elif old_digest is None:
            action, diff = "create", ""
        else:
            action, diff = "update", NOT_DIFFED.format(limit=MAX_FILE_DIFFS)
            if diffed < MAX_FILE_DIFFS:
                old_bytes = base.artifacts.get(key)
                if old_bytes is None:
                    diff = "(previous content not kept)"
                else:
                    diffed += 1
                    diff = content_diff(key, old_bytes, art.content)
        artifact_changes.append(ArtifactChange(key, action, owner, old_digest, new_digest, diff))
    return Plan(
        environment=env, baseline=base.info, spec_digest=project.spec_digest, tool_version=__version__,
        resource_changes=changes, impacts=impacts, artifact_changes=artifact_changes,
        artifact_digests=head_digests,
        selection=sorted(selected) if selected is not None else [], git_sha=git_sha,
    )


def plan_environment(project: SpecProject, env: str | None, against: str | None, selected: set[str] | None,
                     compile: Callable[[SpecProject, str | None], Compiled] = compile_for_plan,
                     summary: Callable[[Path, str], StateSummary] = state_summary) -> tuple[Compiled, Plan]:
    """The compiled project and the plan of `env` against its last apply, or against git revision `against`.

    `compile` makes the artifacts the plan compares (compile_for_plan's, or apply's whole compile) and
    `summary` reads the environment's state; faster equivalents may be passed (compiler.speed).
    """
    compiled = compile(project, env)
    if against:
        base = from_git(project.root, against, env)
    else:
        if env is None:
            raise ValueError("a plan against the last apply needs an environment")
        base = from_summary(project.root, summary(project.root, env), env, project.project.name)
    return compiled, make_plan(project, compiled, base, env, selected, head_sha(project.root))
