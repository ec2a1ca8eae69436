"""The apply loop: record the desired state and its pending work, then do the work in graph order.

State is saved before any work starts (desired snapshots + the list of pending work) and after
each step that succeeded (its work removed from the list), so an apply that is killed or fails is
finished by the next one, and an apply with nothing to do changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from compiler import __version__
from compiler.apply import lineage
from compiler.apply.context import RunContext, StepFailed
from compiler.apply.state import State
from compiler.emit.base import Artifact
from compiler.emit.compile import Compiled
from compiler.emit.dbt.names import source_name
from compiler.emit.manifest import sha256
from compiler.output.write import write_output, write_workflows
from compiler.paths import shown
from compiler.plan.baseline import applied_dir
from compiler.plan.impact import Impact
from compiler.plan.model import Plan
from compiler.plan.scope import artifact_in_scope, head_snapshots

if TYPE_CHECKING:
    from compiler.apply.steps.dbt import DbtResult


@dataclass
class ApplyOutcome:
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # address -> why
    skipped: dict[str, str] = field(default_factory=dict)
    warned: list[str] = field(default_factory=list)  # checks that found failing rows they allow, in words
    models: dict[str, dict] = field(default_factory=dict)
    manifests: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


def record_desired(ctx: RunContext, state: State, compiled: Compiled, plan: Plan) -> None:
    """Save the target snapshots and the pending work before touching anything."""
    env = ctx.env.name
    head = head_snapshots(ctx.project, env)
    if plan.selection:  # a partial apply: what was not selected stays as it was, still to be planned
        chosen = set(plan.selection)
        others = {a: s for a, s in state.resources.items() if a not in chosen}
        state.resources = {**others, **{a: s for a, s in head.items() if a in chosen}}
    else:
        state.resources = head
        # a model removed from the specs (or renamed) is no model of the environment any more: its versions stay in
        # the registry, which a model added again under its name reads (as a first apply of a model does)
        state.models = {name: info for name, info in state.models.items() if name in ctx.project.models}
    folder = applied_dir(ctx.root, env)
    kept = _applied_files(folder, state, compiled, plan, env)
    state.artifacts = {key: sha256(content) for key, content in kept.items()}
    for impact in plan.impacts:
        state.pending[impact.address] = impact.to_json()
    for impact in plan.left_pending:  # what the selected changes cause outside the selection: the next apply's
        state.pending[impact.address] = {**impact.to_json(), "origin": "selection"}
    state.serial += 1
    state.tool_version = __version__
    ctx.save_state(state)
    write_output(folder, [Artifact(key.replace(":", "/", 1), content, ()) for key, content in kept.items()],
                 guard=False)


def _applied_files(folder: Path, state: State, compiled: Compiled, plan: Plan, env: str) -> dict[str, bytes]:
    """The generated files an apply records as applied (key -> bytes): all of them, or with a selection those of the
    selected resources, the others as the last apply recorded them (a file none recorded yet is left out). Their
    resources' snapshots stay as they were too, so the next plan shows their changes and diffs again."""
    head = {a.key: a for a in compiled.artifacts if artifact_in_scope(a.key, env)}
    if not plan.selection:
        return {key: a.content for key, a in head.items()}
    chosen = set(plan.selection)
    out = {}
    for key in sorted(set(head) | set(state.artifacts)):
        art = head.get(key)
        if art is not None and chosen.intersection(art.owners):
            out[key] = art.content
            continue
        if key not in state.artifacts or not artifact_in_scope(key, env):
            continue  # a new file outside the selection: still to be applied
        path = folder / key.replace(":", "/", 1)
        try:
            out[key] = path.read_bytes()
        except OSError:
            continue  # the last apply's copy is gone: recorded as never applied, its diff then shows in full
    return out


def _done(ctx: RunContext, state: State, outcome: ApplyOutcome, addresses: list[str]) -> None:
    for address in addresses:
        state.pending.pop(address, None)
        outcome.done.append(address)
    ctx.save_state(state)


def _blocked(ctx: RunContext, impact: Impact, failed: set[str]) -> str | None:
    """The failed upstream resource that stops this work, if any."""
    graph = ctx.project.graph
    for up in sorted(graph.upstream(impact.address)):
        if up in failed:
            return up
    return None


def rollouts_without_version(ctx: RunContext, state: State, compiled: Compiled, plan: Plan) -> str | None:
    """Why this apply must not start, when it would roll out a deployment whose model has no version in the
    environment (none recorded, none trained by this apply): e.g. `apply --select deployment.x` before the
    model was ever applied there."""
    from compiler.apply.steps.deploy import refusal, resolve

    prefix = f"k8s/{ctx.env.name}/"
    if not any(i.work == "rollout" for i in plan.impacts) and not any(
            a.key.startswith(prefix) for a in plan.artifact_changes):
        return None
    training = {i.address.split(".", 1)[1] for i in plan.impacts if i.work in ("retrain", "evaluate")}
    try:
        _, problems = resolve(ctx, state.models, training)
    except StepFailed as exc:
        return f"the registry cannot be read to resolve the versions the deployments serve: {exc}"
    return refusal(ctx.env.name, problems) if problems else None


def run(ctx: RunContext, state: State, compiled: Compiled, plan: Plan) -> ApplyOutcome:
    outcome = ApplyOutcome()
    ctx.lineage = ctx.lineage or lineage.open_sink(ctx)
    write_output(ctx.out_dir, compiled.artifacts)
    write_workflows(compiled.workflows_dir, compiled.artifacts, compiled.workflow_prefix)
    record_desired(ctx, state, compiled, plan)
    impacts = plan.impacts
    failed: set[str] = set()
    data = [i for i in impacts if i.work in ("rebuild", "reload", "rerun")]
    if data:
        from compiler.apply.steps.land import land_sources

        data = land_sources(ctx, plan, data, failed, outcome.failed, outcome.skipped)  # dvc and kafka sources
    if data:
        # a first apply builds everything in one dbt build; one with --select only the selected work, as planned
        _run_dbt(ctx, state, outcome, data, failed, first=not plan.baseline.lineage and not plan.selection)
    for impact in [i for i in impacts if i.work in ("retrain", "evaluate")]:
        blocker = _blocked(ctx, impact, failed)
        if blocker:
            outcome.skipped[impact.address] = f"upstream {blocker} failed"
            failed.add(impact.address)
            continue
        _run_training(ctx, state, outcome, impact, failed)
    rollouts = [i for i in impacts if i.work == "rollout"]
    prefix = f"k8s/{ctx.env.name}/"
    env_address = f"environment.{ctx.env.name}"
    manifests_changed = any(a.key.startswith(prefix) for a in plan.artifact_changes)
    # the environment's scheduled jobs fetch the specs at the applied revision: any applied change moves it
    moves_source = bool(impacts) and any(a.key.startswith(prefix) and a.key.endswith("-source.configmap.yaml")
                                         for a in compiled.artifacts)
    if (manifests_changed or moves_source or env_address in state.pending) and not rollouts:
        # a schedule, label or removal changes the manifests without any deployment rolling out
        sync = Impact(env_address, "rollout", env_address, "non-breaking", (env_address,), ("manifests changed",))
        state.pending[env_address] = sync.to_json()
        ctx.save_state(state)
        rollouts = [sync]
    if rollouts:
        _run_rollout(ctx, state, outcome, rollouts, failed)
    return outcome


def _dbt_node(ctx: RunContext, address: str) -> str:
    """The dbt node (dataset name) that carries a piece of data work."""
    kind, name = address.split(".", 1)
    if kind == "transform":
        return ctx.project.transforms[name].output
    if kind == "quality_rule":
        return ctx.project.rules[name].dataset
    ds = ctx.project.datasets.get(name) if kind == "dataset" else None
    if ds is not None and ds.source is not None and ds.source.type != "file":  # a dbt source (a table, an external
        return f"source:{source_name(ds)}.{name}"  # file, a landed topic): its tests; a file source is a seed
    return name


def _refreshed_datasets(ctx: RunContext, data: list[Impact]) -> set[str]:
    """The datasets the --full-refresh build rebuilds or reloads."""
    return {_dbt_node(ctx, i.address).rsplit(".", 1)[-1] for i in data
            if i.full_refresh and i.address.startswith(("transform.", "dataset."))}


def _checks(ctx: RunContext, address: str) -> set[str]:
    """The datasets a quality rule's checks read (none for other work): run after any of them is rebuilt in the
    --full-refresh build, not before it against the table the rebuild replaces (a resumed apply ran a rule that
    had failed on the old table first, and that failure then blocked the rebuild that fixes it)."""
    kind, _, name = address.partition(".")
    rule = ctx.project.rules.get(name) if kind == "quality_rule" else None
    if rule is None:
        return set()
    return {rule.dataset, *(c.to_dataset for c in rule.checks if c.to_dataset)}


def _run_dbt(ctx: RunContext, state: State, outcome: ApplyOutcome, data: list[Impact], failed: set[str],
             first: bool) -> None:
    """The data work in one dbt build, or two: what needs no full refresh first (it may feed what does), then
    the incremental models to rebuild from scratch and what depends on them, with --full-refresh."""
    if first and not failed:
        _dbt_build(ctx, state, outcome, data, failed, None, any(i.full_refresh for i in data))
        return
    late = _refreshed_datasets(ctx, data)
    for full_refresh in (False, True):
        group = [i for i in data if bool(i.full_refresh or _checks(ctx, i.address) & late) == full_refresh]
        ready = []
        for impact in group:
            blocker = _blocked(ctx, impact, failed)
            if blocker:
                outcome.skipped[impact.address] = f"upstream {blocker} failed"
                failed.add(impact.address)
            else:
                ready.append(impact)
        if ready:
            select = sorted({f"tag:rule_{a.split('.', 1)[1]}" if a.startswith("quality_rule.") else _dbt_node(ctx, a)
                             for a in (i.address for i in ready)})
            if first:  # a first apply whose landing failed: what is left, with everything it reads
                select = sorted(s if s.startswith(("tag:", "source:")) else f"+{s}" for s in select)
            _dbt_build(ctx, state, outcome, ready, failed, select, full_refresh)


def _dbt_build(ctx: RunContext, state: State, outcome: ApplyOutcome, data: list[Impact], failed: set[str],
               select: list[str] | None, full_refresh: bool) -> None:
    from compiler.apply.steps.dbt import explain, explain_warning, run_dbt

    flag = " --full-refresh" if full_refresh else ""
    label = f"dbt build{flag} (everything)" if select is None else f"dbt build{flag} --select {' '.join(select)}"
    result: DbtResult | None = None
    found: list[tuple[str, str, str]] = []  # (dataset, address, what failed) of the nodes that failed
    skipped: set[str] = set()  # datasets whose nodes dbt skipped because of a failure upstream
    runs = lineage.start_data(ctx.lineage, ctx, [i.address for i in data], select is None)
    try:
        with ctx.step(label):
            result = run_dbt(ctx, "build", select, full_refresh)
            for warning in result.warnings:  # a check's failing rows it allows: said here, not only in dbt's log
                outcome.warned.append(explain_warning(ctx.project, warning))
                ctx.echo(f"   warning: {outcome.warned[-1]}")
            if not result.ok:
                skipped = {f.dataset for f in result.failures if f.status == "skipped"}
                found = [(f.dataset, *explain(ctx.project, f)) for f in result.failures if f.status != "skipped"]
                for _, _, text in found:
                    ctx.echo(f"   {text}")
                extra = f", {len(result.failures) - len(found)} skipped because of them" if skipped else ""
                raise StepFailed(f"{len(found)} dbt node(s) failed{extra}" if found else "dbt failed: see above")
        lineage.finish_data(ctx.lineage, ctx, runs, None)
    except StepFailed as exc:
        lineage.finish_data(ctx.lineage, ctx, runs, str(exc))
        bad = result.failed_nodes if result else set()
        for impact in data:
            node = _dbt_node(ctx, impact.address).rsplit(".", 1)[-1]  # a landed source: source:<schema>.<name>
            if bad and node not in bad:
                continue
            own = [text for _, owner, text in found if owner == impact.address]
            if not own and result is not None and impact.address.startswith("quality_rule."):
                # each of its checks ran and holds: the failures are another resource's (a model, a column test,
                # another rule on the dataset)
                checks = {c.name for c in ctx.project.rules[impact.address.split(".", 1)[1]].checks}  # dbt test names
                if checks <= result.held:
                    continue
                if any(f.status == "skipped" and f.resource_type == "test" and f.name in checks
                       for f in result.failures):  # dbt skipped one of them: a node it reads failed
                    own = ["skipped by dbt: a node its checks read failed (see above)"]
            if not own and impact.address.startswith(("transform.", "dataset.")):
                own = [text for dataset, _, text in found if dataset == node]
            if own:
                outcome.failed[impact.address] = "; ".join(own)
            elif node in skipped:
                outcome.failed[impact.address] = "skipped by dbt: a node it depends on failed (see above)"
            elif bad:
                outcome.failed[impact.address] = f"dbt reported failures on: {', '.join(sorted(bad))}"
            else:
                outcome.failed[impact.address] = str(exc)
            failed.add(impact.address)
        failed.update(f"dataset.{n}" for n in bad)
    _done(ctx, state, outcome, [i.address for i in data if i.address not in failed])


def _run_training(ctx: RunContext, state: State, outcome: ApplyOutcome, impact: Impact, failed: set[str]) -> None:
    from compiler.apply.steps.train import evaluate_model, previous_alias, refusal, report, train_model

    model = ctx.project.models[impact.address.split(".", 1)[1]]
    if impact.work == "evaluate":
        label = f"evaluate {model.address} (its gates changed: the candidate and the champion, no training)"
    else:
        label = f"train {model.address} on dataset.{model.training.dataset if model.training else '?'}"
    run = lineage.start_training(ctx.lineage, ctx, model.name)
    result = None
    try:
        with ctx.step(label):
            renamed = previous_alias(model, state.models.get(model.name))
            result = (evaluate_model(ctx, model, renamed) if impact.work == "evaluate" else
                      train_model(ctx, model, renamed=renamed))
            report(ctx.echo, model, result)
            state.models[model.name] = {**state.models.get(model.name, {}), **result.to_state(model)}
            ctx.save_state(state)
            outcome.models[model.name] = result.to_state(model)
            if result.refused:
                raise StepFailed(refusal(model, result))
    except StepFailed as exc:
        lineage.finish_training(ctx.lineage, ctx, run, result.version if result else None, str(exc))
        outcome.failed[impact.address] = str(exc)
        failed.add(impact.address)
        return
    lineage.finish_training(ctx.lineage, ctx, run, result.version, None)
    _done(ctx, state, outcome, [impact.address])


def _run_rollout(ctx: RunContext, state: State, outcome: ApplyOutcome, rollouts: list[Impact],
                 failed: set[str]) -> None:
    from compiler.apply.steps.deploy import (
        kubectl_apply,
        kubectl_delete,
        laptop_only,
        refusal,
        render_manifests,
        resolve,
    )

    ready = []
    for impact in rollouts:
        blocker = _blocked(ctx, impact, failed)
        if blocker:
            outcome.skipped[impact.address] = f"upstream {blocker} failed"
        else:
            ready.append(impact)
    if not ready:
        return
    try:
        with ctx.step(f"roll out {', '.join(i.address for i in ready)}"):
            versions, problems = resolve(ctx, state.models)
            if problems:  # never a manifest with a placeholder for the model version, nor one of no version
                raise StepFailed(refusal(ctx.env.name, problems))
            folder, removed = render_manifests(ctx, versions)
            manifests = any(folder.glob("*.yaml"))
            outcome.manifests = folder if manifests else None
            note = laptop_only(ctx)
            if note:
                ctx.echo(f"   {note}")
            if ctx.env.context:
                if manifests:
                    kubectl_apply(ctx, folder)
                if removed:
                    kubectl_delete(ctx, removed)
            elif manifests or removed:
                ctx.echo(f"   environment '{ctx.env.name}' has no kubernetes.context: the manifests are ready for "
                         f"GitOps in {shown(folder)} (kubectl apply --server-side -k {shown(folder)})")
                if removed:
                    ctx.echo(f"   removed from the folder (delete their objects in your GitOps repository): "
                             f"{', '.join(sorted(removed))}")
    except StepFailed as exc:
        for impact in ready:
            outcome.failed[impact.address] = str(exc)
        return
    _done(ctx, state, outcome, [i.address for i in ready])
