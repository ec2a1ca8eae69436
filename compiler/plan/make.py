"""Building a plan: head (the specs now) against a baseline (last apply, or another git revision)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from compiler import __version__
from compiler.emit.compile import Compiled, compile_for_plan
from compiler.front.load import FileWork, each_file
from compiler.front.sql import SqlJob, SqlWork, analyze_each
from compiler.front.sql.project import sql_job
from compiler.plan import refresh
from compiler.plan.artifacts import NOT_DIFFED, REDACTED, ArtifactChange, content_diff, redacted_diff
from compiler.plan.baseline import (
    BaselineData,
    StateSummary,
    environment_resources,
    from_git,
    from_summary,
    head_sha,
    state_summary,
)
from compiler.plan.cascade import NOTE as DROPPED_VIEW
from compiler.plan.cascade import with_dropped_views
from compiler.plan.diff import SEVERITY, AttrChange, classify
from compiler.plan.impact import Impact, follow
from compiler.plan.manifests import manifest_rollouts
from compiler.plan.model import Plan, ResourceChange
from compiler.plan.redact import redact_values, sensitive
from compiler.plan.scope import artifact_in_scope, in_scope
from compiler.plan.seeddiff import COLUMNS_ONLY, SEED_KEY, seed_detail
from compiler.plan.sqldiff import canonical_jobs, compare, same_query
from compiler.spec.lineage import Lineage, SqlAnalysis
from compiler.spec.project import SpecProject
from compiler.spec.snapshot import snapshot_digest

MAX_FILE_DIFFS = 200  # beyond this many updated files a plan lists them without their diffs
# what a plan says of work left pending in the state, by the command that left it (its "origin"; apply by default)
PENDING_ORIGINS = {"apply": "pending from an earlier apply", "promote": "pending from `specops promote`",
                   "selection": "pending: an earlier apply's selection left it out"}


def make_plan(project: SpecProject, compiled: Compiled, base: BaselineData, env: str | None,
              selected: set[str] | None = None, git_sha: str | None = None, sql: SqlWork = analyze_each,
              full_refresh: bool = False) -> Plan:
    """The plan of `env`: head (`project`, `compiled`) against `base`. `sql` analyses the baseline's SQL
    (compiler.front.sql; compiler.speed passes a remembering one). With `full_refresh` every transform (every
    selected one) is rebuilt from scratch, with what depends on it (compiler.plan.refresh)."""
    head = {r.address: r for r in project.resources() if in_scope(r.address, env, project)}
    old_snaps = _project_renamed(base.resources, project.project.address)
    if project.project.address in old_snaps:  # a baseline from before the Project was recorded: not compared
        head[project.project.address] = project.project
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
    _takeovers(project, changes, direct, sql)
    changes = [_deleted_deployment(project, c) if c.kind == "Deployment" and c.action == "delete" else c
               for c in changes]
    _categorize_sql(project, changes, direct, sql)
    _seed_columns(project, changes, direct, base.artifacts)
    forced = set(refresh.forced_causes(project, selected)) if full_refresh else set()
    walked = {**{a: ("non-breaking", []) for a in forced}, **direct}
    impacts = [i for i in follow(project, walked) if in_scope(i.address, env, project)]
    listed = {i.address: n for n, i in enumerate(impacts)}
    for address, item in sorted(base.pending.items()):
        if address in listed and item["work"] == "retrain" and impacts[listed[address]].work == "evaluate" and \
                item.get("cause", address) != address:
            impacts[listed[address]] = replace(impacts[listed[address]], work="retrain")  # data changed before
        elif address not in listed and project.get(address) is not None and in_scope(address, env, project):
            origin = PENDING_ORIGINS.get(item.get("origin", "apply"), "pending from an earlier apply")
            impacts.append(Impact(address, item["work"], item.get("cause", address),
                                  item.get("category", "non-breaking"), tuple(item.get("path", [address])),
                                  tuple(dict.fromkeys((*item.get("notes", ()), origin))),
                                  full_refresh=bool(item.get("full_refresh", False))))
    impacts = refresh.rebuilt_whole(project, with_dropped_views(project, env, refresh.mark(project, walked, impacts,
                                                                                           forced)))
    if impacts:
        order = project.graph.rank()
        impacts.sort(key=lambda i: (order.get(i.address, 0), i.address))
    left_pending = _left_pending(project, base, selected, direct, impacts)
    if selected is not None:
        changes = [c for c in changes if c.address in selected]
        waiting = {i.address for i in left_pending}
        # selected work that waits on work left out (a rollout of a model whose retrain is excluded) waits with it:
        # done now, it would serve the old version and be ticked off, and the retrain's rollout never planned
        held = [i for i in impacts if i.address in selected and waiting.intersection(i.path[:-1])]
        left_pending += [i for i in held if i.address not in base.pending]
        impacts = [i for i in impacts if i.address in selected and i not in held]
    head_art = {a.key: a for a in compiled.artifacts if artifact_in_scope(a.key, env)}
    if selected is not None:  # a selected plan lists the files of the selected resources only
        head_art = {k: a for k, a in head_art.items() if selected.intersection(a.owners)}
    artifact_changes = []
    base_keys = {k for k in base.digests if artifact_in_scope(k, env)}
    if selected is not None:
        base_keys &= set(head_art)
    head_digests = {k: compiled.digest(a) for k, a in head_art.items()}
    others, other_changes = _other_environments(project, base, env)
    changed = {c.address for c in changes} | {a for found in other_changes.values() for a in found}
    diffed = 0
    for key in sorted(set(head_art) | base_keys):
        art = head_art.get(key)
        old_digest, new_digest = base.digests.get(key), head_digests.get(key)
        if old_digest == new_digest:
            continue
        owner = _credited(art.owners, changed) if art and art.owners else None
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
                    secret = sensitive(project, art.owners, old_snaps, key)
                    diff = redacted_diff(secret, old_bytes, art.content) if secret else content_diff(
                        key, old_bytes, art.content)
        redacted = action == "update" and diff.startswith(REDACTED)
        artifact_changes.append(ArtifactChange(key, action, owner, old_digest, new_digest, diff, redacted))
    rollouts = [i for i in manifest_rollouts(project, changes, impacts, artifact_changes,
                                             {k: a.owners for k, a in head_art.items()}, base.artifacts,
                                             {k: a.content for k, a in head_art.items()})
                if selected is None or i.address in selected]
    if rollouts:
        order = project.graph.rank()
        impacts = sorted([*impacts, *rollouts], key=lambda i: (order.get(i.address, 0), i.address))
    if env is None:  # a plan of every environment: say where each piece of work happens
        impacts = [replace(i, environments=_where(project, i.address)) for i in impacts]
    changes = [redact_values(project, c, old_snaps) for c in changes]
    return Plan(
        environment=env, baseline=base.info, spec_digest=project.spec_digest, tool_version=__version__,
        resource_changes=changes, impacts=impacts, artifact_changes=artifact_changes,
        artifact_digests=head_digests,
        selection=sorted(selected) if selected is not None else [], git_sha=git_sha,
        approvals=_approvals(project, env, changes, impacts), lineage=_lineage(project, changes),
        full_refresh=full_refresh, other_environments=others, other_changes=other_changes,
        unbuilt_reads=_unbuilt_reads(project, base, selected, impacts), left_pending=left_pending,
    )


def _left_pending(project: SpecProject, base: BaselineData, selected: set[str] | None,
                  direct: Mapping[str, tuple[str, list[AttrChange]]], impacts: list[Impact]) -> list[Impact]:
    """The work outside the selection that the selected changes cause and that nothing else would bring back once
    they are applied (their snapshots recorded): apply keeps it pending in the state, for the next apply. Work that
    a change outside the selection causes too is planned again from that change; work pending already stays
    pending; what only --full-refresh of the selection causes is no change to the data downstream (but a view
    PostgreSQL drops with a relation the selection replaces is: compiler.plan.cascade)."""
    if not selected or base.info.kind != "state":
        return []
    run = _rules_run_with(project, selected)
    outside = [i for i in impacts if i.address not in selected and i.address not in base.pending and
               i.address not in run and (
        len(i.path) > 1 and i.path[-2] in selected if DROPPED_VIEW in i.notes else i.cause in direct)]
    if not outside:
        return []
    again = {i.address for i in follow(project, {a: c for a, c in direct.items() if a not in selected})}
    return [i for i in outside if i.address not in again]


def _rules_run_with(project: SpecProject, selected: set[str]) -> set[str]:
    """The quality rules whose checks the dbt build of the selection runs (dbt builds a selected model or seed with
    its tests): those on a selected dataset, unless a relationship check reads a dataset the selection leaves out
    (indirect selection `buildable` then leaves that test out)."""
    return {r.address for r in project.rules.values() if f"dataset.{r.dataset}" in selected and all(
        c.type != "relationship" or f"dataset.{c.to_dataset}" in selected for c in r.checks)}


def _unbuilt_reads(project: SpecProject, base: BaselineData, selected: set[str] | None,
                   impacts: list[Impact]) -> list[tuple[str, str, str]]:
    """(a selected transform's work, a dataset it reads) where no apply in the environment built or loaded that
    dataset (it is not in the state) and the selection leaves it out: the dbt build of the selection would fail on
    a missing table. A table or external source is the warehouse's own: never built, assumed there."""
    if not selected or base.info.kind != "state":
        return []
    out = []
    for impact in impacts:
        t = project.transforms.get(impact.address.split(".", 1)[1]) if impact.address.startswith(
            "transform.") else None
        for name in t.inputs if t is not None else ():
            ds, address = project.datasets.get(name), f"dataset.{name}"
            source = ds.source.type if ds is not None and ds.source is not None else None
            if source in (None, "file") and address not in selected and address not in base.resources:
                out.append((impact.address, t.output, address))
    return sorted(set(out))


def _takeovers(project: SpecProject, changes: list[ResourceChange],
               direct: dict[str, tuple[str, list[AttrChange]]], sql: SqlWork) -> None:
    """A deleted transform whose output dataset another transform builds now leaves no table behind: that one
    takes it over (the dbt model is named after the dataset). When the new one is the deleted one renamed (nothing
    but metadata differs: the same inputs and output, and the same query, written alike or only otherwise formatted,
    as an edit of its SQL in place would be metadata), it is a rename: metadata, nothing rebuilt. In place."""
    created = {c.address: i for i, c in enumerate(changes) if c.kind == "Transform" and c.action == "create"}
    for i, c in enumerate(changes):
        if c.kind != "Transform" or c.action != "delete" or c.before is None:
            continue
        output = (c.before.get("spec") or {}).get("output")
        producer = project.producer(output) if isinstance(output, str) else None
        if producer is None:
            continue
        j = created.get(producer.address)
        attrs = classify("Transform", c.before, changes[j].after or {})[2] if j is not None else []
        # each difference from the deleted transform, its SQL's as an edit in place would be categorized
        found = [_sql_category(project, c.before, producer.name, sql) if a.path == "spec.sql" else a.category
                 for a in attrs]
        renamed = j is not None and all(f == "metadata" for f in found)
        changes[i] = replace(c, taken_over_by=producer.address, category="metadata" if renamed else "non-breaking")
        if j is not None:
            worst = max(found, key=SEVERITY.__getitem__) if found else changes[j].category
            changes[j] = replace(changes[j], takes_over=c.address, renamed=renamed,
                                 category="metadata" if renamed else max(
                                     worst, changes[j].category, key=SEVERITY.__getitem__))
            if renamed:
                direct.pop(producer.address, None)  # its table is there, built by the same SQL


def _sql_category(project: SpecProject, before: Mapping[str, Any], name: str, sql: SqlWork) -> str:
    """The category of the change from the SQL of a transform's snapshot `before` to that of transform `name` now,
    as an edit in place (compiler.plan.sqldiff: metadata when it is the same query, such as formatting, comments or
    the query's own names; breaking when either cannot be analysed)."""
    t, new = project.transforms.get(name), project.lineage.analysis_of(name)
    job = _old_job(project, before)
    if t is None or new is None or job is None:
        return "breaking"
    now = sql_job(t, project.datasets, project.lineage.dialect)
    old = sql([job])[0]
    pair = canonical_jobs(job, now) if compare(old, new).kind not in ("format", "unknown") else None
    done = sql(list(pair)) if pair is not None else None
    found = compare(old, new, (done[0], done[1]) if done is not None else None, partial(same_query, job, now))
    return found.category


def _old_job(project: SpecProject, before: Mapping[str, Any]) -> SqlJob | None:
    """The SQL of a transform's snapshot, analysed as the plan does (the head's dialect, the columns its inputs
    have now); None without SQL."""
    spec = before.get("spec") or {}
    text = spec.get("sql")
    if not isinstance(text, str):
        return None
    inputs = spec.get("inputs") or []
    schema = tuple((n, project.datasets[n].column_names) for n in dict.fromkeys(inputs) if n in project.datasets)
    return text, project.lineage.dialect, schema


def _where(project: SpecProject, address: str) -> tuple[str, ...]:
    """The environments whose apply does a resource's work: a deployment's or an environment's own; data work and
    training in every environment (each has its warehouse and registry)."""
    kind, _, name = address.partition(".")
    if kind == "deployment" and name in project.deployments:
        return (project.deployments[name].environment,)
    if kind == "environment":
        return (name,)
    return tuple(sorted(project.environments))


def _deleted_deployment(project: SpecProject, change: ResourceChange) -> ResourceChange:
    """A destroyed deployment says what apply does with its Kubernetes objects in its environment: kubectl deletes
    them where the environment has a kube context; elsewhere apply deletes nothing and whatever syncs the
    manifests (a GitOps tool) must remove them."""
    name = ((change.before or {}).get("spec") or {}).get("environment")
    env = project.environments.get(name) if isinstance(name, str) else None
    if env is not None and env.context:
        left = f"apply deletes its Kubernetes objects (kubectl delete, context '{env.context}')"
    elif env is not None:
        left = (f"environment '{name}' has no kubernetes.context: apply deletes nothing in the cluster; its objects "
                "are gone from the environment's manifests, and the GitOps tool that syncs them must delete them "
                "(prune)")
    else:
        left = (f"its environment '{name}' is removed too: apply deletes nothing in the cluster; delete its objects "
                "there (or let the GitOps tool that syncs the manifests prune them)")
    return replace(change, left=left)


def _project_renamed(snaps: Mapping[str, dict], address: str) -> Mapping[str, dict]:
    """The baseline's snapshots with its Project under the head's address: a renamed Project is one Project
    changed (its metadata.name), not one destroyed and another created."""
    old = next((a for a in snaps if a.startswith("project.")), None)
    if old is None or old == address:
        return snaps
    return {**{a: s for a, s in snaps.items() if a != old}, address: snaps[old]}


def _other_environments(project: SpecProject, base: BaselineData, env: str | None
                        ) -> tuple[dict[str, str], dict[str, list[str]]]:
    """For a plan of `env` against a git revision (which has every environment's specs; a state has one
    environment's), the other environments the specs add, change or remove, and in each the resources only it
    has (itself, its deployments) that the change adds, changes or removes."""
    old = base.environment_digests
    if env is None or old is None:
        return {}, {}
    new = environment_resources(project)
    found: dict[str, str] = {}
    changed: dict[str, list[str]] = {}
    for name in sorted((set(old) | set(new)) - {env}):
        before, after = old.get(name, {}), new.get(name, {})
        addresses = sorted(a for a in set(before) | set(after) if before.get(a) != after.get(a))
        if not addresses:
            continue
        envs = f"environment.{name}"
        found[name] = ("delete" if envs in before and envs not in after else
                       "create" if envs in after and envs not in before else "update")
        changed[name] = addresses
    return found, changed


def _credited(owners: tuple[str, ...], changed: set[str]) -> str:
    """The owner a changed file is shown with: its main owner when this change touches it, else (a file several
    resources make: README.md, profiles.yml, the workflows) the first owner the change touches, else the main
    owner."""
    if owners[0] in changed:
        return owners[0]
    return next((o for o in owners if o in changed), owners[0])


def _lineage(project: SpecProject, changes: list[ResourceChange]) -> Mapping[str, dict]:
    names = [c.address.split(".", 1)[1] for c in changes if c.kind == "Transform" and c.action != "delete"]
    return LineageJson(project.lineage, [n for n in names if project.lineage.analysis_of(n) is not None])


class LineageJson(Mapping[str, dict]):
    """The changed transforms' lineage as JSON, made when the plan is written as JSON (a first plan has
    thousands)."""

    def __init__(self, lineage: Lineage, names: list[str]):
        self.lineage, self.names = lineage, names

    def __getitem__(self, name: str) -> dict:
        found = self.lineage.analysis_of(name) if name in self.names else None
        if found is None:
            raise KeyError(name)
        return found.to_json()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def _approvals(project: SpecProject, env: str | None, changes: list[ResourceChange],
               impacts: list[Impact]) -> list[str]:
    """Environments whose protection.required_approval a reviewer must give for this plan."""
    if not (changes or impacts):
        return []
    if env is not None:
        e = project.environments.get(env)
        return [env] if e is not None and e.required_approval else []
    # a plan of every environment (the pull request's): where the work happens, and where each change applies (a
    # deployment in its environment, an environment in itself, any other resource in every environment)
    envs = {e for i in impacts for e in i.environments}  # set by make_plan (_where) in a plan of every environment
    for c in changes:
        kind, _, name = c.address.partition(".")
        if kind == "deployment" and name not in project.deployments:  # a removed one: where it served
            served = ((c.before or {}).get("spec") or {}).get("environment")
            envs.update([served] if isinstance(served, str) else [])
        else:
            envs.update(_where(project, c.address))
    return sorted(e for e in envs if e in project.environments and project.environments[e].required_approval)


def _categorize_sql(project: SpecProject, changes: list[ResourceChange],
                    direct: dict[str, tuple[str, list[AttrChange]]], sql: SqlWork) -> None:
    """Give each changed transform SQL the category of what it does (compiler.plan.sqldiff), in place."""
    lineage = project.lineage
    todo: list[tuple[int, int, SqlJob]] = []
    for i, change in enumerate(changes):
        if change.kind != "Transform" or change.before is None:
            continue
        for j, attr in enumerate(change.changes):
            if attr.path == "spec.sql" and isinstance(attr.before, str) and (job := _old_job(
                    project, change.before)) is not None:
                todo.append((i, j, job))
    if not todo:
        return
    olds = sql([job for _, _, job in todo])
    names = [changes[i].address.split(".", 1)[1] for i, _, _ in todo]
    news = [lineage.analysis_of(name) for name in names]
    pairs = _canonical(project, names, [job for _, _, job in todo], olds, news, sql)
    for (i, j, job), name, old, new, pair in zip(todo, names, olds, news, pairs, strict=True):
        change = changes[i]
        if new is None:
            continue
        now = sql_job(project.transforms[name], project.datasets, project.lineage.dialect)
        found = compare(old, new, pair, partial(same_query, job, now))
        attrs = list(change.changes)
        attrs[j] = replace(attrs[j], category=found.category, reason=found.reason(), detail=found.to_json())
        _annotated(changes, direct, i, attrs, max((a.category for a in attrs), key=SEVERITY.__getitem__))


def _canonical(project: SpecProject, names: list[str], jobs: list[SqlJob], olds: list[SqlAnalysis],
               news: list[SqlAnalysis | None], sql: SqlWork) -> list[tuple[SqlAnalysis, SqlAnalysis] | None]:
    """Both versions of each changed transform SQL analysed again with their own names canonicalised (aliases,
    CTE names, the columns of CTEs and subqueries), where they differ as written: a renamed alias changes nothing."""
    todo: dict[int, tuple[SqlJob, SqlJob]] = {}
    for k, (name, job, old, new) in enumerate(zip(names, jobs, olds, news, strict=True)):
        t = project.transforms.get(name)
        if new is None or t is None or compare(old, new).kind in ("format", "unknown"):
            continue
        pair = canonical_jobs(job, sql_job(t, project.datasets, project.lineage.dialect))
        if pair is not None:
            todo[k] = pair
    done = iter(sql([j for pair in todo.values() for j in pair]) if todo else [])
    return [(next(done), next(done)) if k in todo else None for k in range(len(names))]


def _annotated(changes: list[ResourceChange], direct: dict[str, tuple[str, list[AttrChange]]], i: int,
               attrs: list[AttrChange], category: str | None = None) -> None:
    """Change `i` with its attribute changes annotated (and its category, when given), in the plan's list and
    in the direct changes the impact walk starts from."""
    change = changes[i]
    category = category or change.category
    changes[i] = replace(change, changes=tuple(attrs), category=category)
    direct[change.address] = (category, attrs)


def _seed_columns(project: SpecProject, changes: list[ResourceChange],
                  direct: dict[str, tuple[str, list[AttrChange]]], old_files: Mapping[str, bytes | None]) -> None:
    """Note on the new bytes of a file source whether its header changed and whether they only add or drop
    columns (compiler.plan.seeddiff), in place: the seed then reloads from scratch, and its readers' rows may stay
    as they were."""
    for i, change in enumerate(changes):
        kind, _, name = change.address.partition(".")
        ds = project.datasets.get(name) if kind == "dataset" and change.action == "update" else None
        if ds is None or ds.source is None or ds.source.type != "file" or not ds.source.content:
            continue
        content = [j for j, a in enumerate(change.changes) if a.path.startswith("spec.source.content")]
        key = SEED_KEY.format(name=name)
        old = old_files.get(key) if content and key in old_files else None
        detail = seed_detail(old, ds.source.content, ds.source.delimiter or ",") if old is not None else None
        if not detail:
            continue
        attrs = list(change.changes)
        for j in content:
            attrs[j] = replace(attrs[j], detail=detail, reason=_seed_reason(detail),
                               category="metadata" if detail.get("same_values") else attrs[j].category)
        _annotated(changes, direct, i, attrs, max((a.category for a in attrs), key=SEVERITY.__getitem__))


def _seed_reason(detail: dict[str, Any]) -> str:
    if detail.get("same_values"):
        return "the same header and values, row for row, written otherwise (quoting): nothing is loaded again"
    if detail.get("columns_only"):
        return COLUMNS_ONLY
    if detail.get("header_changed"):
        return "its header changed: the seed's table gets other columns"
    return f"only values of {', '.join(detail['values_changed'])} changed: the same rows, row by row"


def plan_environment(project: SpecProject, env: str | None, against: str | None, selected: set[str] | None,
                     compile: Callable[[SpecProject, str | None], Compiled] = compile_for_plan,
                     summary: Callable[[Path, str], StateSummary] = state_summary,
                     sql: SqlWork = analyze_each, base: BaseWork | None = None,
                     full_refresh: bool = False) -> tuple[Compiled, Plan]:
    """The compiled project and the plan of `env` against its last apply, or against git revision `against`.

    `compile` makes the artifacts the plan compares (compile_for_plan's, or apply's whole compile) and
    `summary` reads the environment's state, `sql` analyses SQL, `base` does the per-file work, the compile and
    the digests of a git baseline; faster equivalents may be passed (compiler.speed).
    """
    compiled = compile(project, env)
    if against:
        work = base or BaseWork()
        baseline = from_git(project.root, against, env, sql=sql, files=work.files, compile=work.compile,
                            digests=work.digests)
    else:
        if env is None:
            raise ValueError("a plan against the last apply needs an environment")
        baseline = from_summary(project.root, summary(project.root, env), env, project.project.name)
    return compiled, make_plan(project, compiled, baseline, env, selected, head_sha(project.root), sql,
                               full_refresh)


@dataclass(frozen=True)
class BaseWork:
    """How a git baseline is loaded, compiled and digested (compiler.speed passes faster equivalents)."""

    files: FileWork = each_file
    compile: Callable[[SpecProject, str | None], Compiled] = compile_for_plan
    digests: Callable[[SpecProject], SpecProject] | None = None
