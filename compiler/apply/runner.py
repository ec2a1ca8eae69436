"""The apply loop: record the desired state and its pending work, then do the work in graph order.

State is saved before any work starts (desired snapshots + the list of pending work) and after
each step that succeeded (its work removed from the list), so an apply that is killed or fails is
finished by the next one, and an apply with nothing to do changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from compiler import __version__
from compiler.apply import lineage
from compiler.apply.context import RunContext, StepFailed
from compiler.apply.state import State
from compiler.emit.compile import Compiled
from compiler.emit.manifest import sha256
from compiler.output.write import write_output, write_workflows
from compiler.paths import shown
from compiler.plan.baseline import applied_dir
from compiler.plan.impact import Impact
from compiler.plan.model import Plan
from compiler.plan.scope import artifact_in_scope, head_snapshots


@dataclass
class ApplyOutcome:
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # address -> why
    skipped: dict[str, str] = field(default_factory=dict)
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
    state.artifacts = {a.key: sha256(a.content) for a in compiled.artifacts if artifact_in_scope(a.key, env)}
    for impact in plan.impacts:
        state.pending[impact.address] = impact.to_json()
    state.serial += 1
    state.tool_version = __version__
    ctx.save_state(state)
    folder = applied_dir(ctx.root, env)
    kept = [a for a in compiled.artifacts if artifact_in_scope(a.key, env)]
    write_output(folder, [type(a)(a.key.replace(":", "/", 1), a.content, a.owners, "output") for a in kept],
                 guard=False)


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
        _run_dbt(ctx, state, outcome, data, failed, first=not plan.baseline.lineage)
    for impact in [i for i in impacts if i.work == "retrain"]:
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
    return name


def _run_dbt(ctx: RunContext, state: State, outcome: ApplyOutcome, data: list[Impact], failed: set[str],
             first: bool) -> None:
    from compiler.apply.steps.dbt import DbtResult, run_dbt

    select = sorted({f"tag:rule_{a.split('.', 1)[1]}" if a.startswith("quality_rule.") else _dbt_node(ctx, a)
                     for a in (i.address for i in data)})
    label = "dbt build (everything)" if first else f"dbt build --select {' '.join(select)}"
    result: DbtResult | None = None
    runs = lineage.start_data(ctx.lineage, ctx, [i.address for i in data], first)
    try:
        with ctx.step(label):
            result = run_dbt(ctx, "build", None if first else select)
            if not result.ok:
                raise StepFailed(f"dbt reported failures on: {', '.join(sorted(result.failed_nodes)) or 'see above'}")
        lineage.finish_data(ctx.lineage, ctx, runs, None)
    except StepFailed as exc:
        lineage.finish_data(ctx.lineage, ctx, runs, str(exc))
        bad = result.failed_nodes if result else set()
        for impact in data:
            if not bad or _dbt_node(ctx, impact.address) in bad:
                outcome.failed[impact.address] = str(exc)
                failed.add(impact.address)
        failed.update(f"dataset.{n}" for n in bad)
    _done(ctx, state, outcome, [i.address for i in data if i.address not in failed])


def _run_training(ctx: RunContext, state: State, outcome: ApplyOutcome, impact: Impact, failed: set[str]) -> None:
    from compiler.apply.steps.train import train_model

    model = ctx.project.models[impact.address.split(".", 1)[1]]
    run = lineage.start_training(ctx.lineage, ctx, model.name)
    result = None
    try:
        with ctx.step(f"train {model.address} on dataset.{model.training.dataset if model.training else '?'}"):
            result = train_model(ctx, model)
            metrics = ", ".join(f"{k}={v:.4f}" for k, v in sorted(result.metrics.items()))
            ctx.echo(f"   registered {model.registry_name} version {result.version} ({metrics})")
            state.models[model.name] = result.to_state(model)
            ctx.save_state(state)
            outcome.models[model.name] = result.to_state(model)
            if not result.promoted:
                kept = f"version {result.alias_version}" if result.alias_version else "no version"
                raise StepFailed(f"alias '{model.alias}' not moved (still {kept}): " + "; ".join(result.reasons))
            ctx.echo(f"   alias '{model.alias}' -> version {result.version}")
    except StepFailed as exc:
        lineage.finish_training(ctx.lineage, ctx, run, result.version if result else None, str(exc))
        outcome.failed[impact.address] = str(exc)
        failed.add(impact.address)
        return
    lineage.finish_training(ctx.lineage, ctx, run, result.version, None)
    _done(ctx, state, outcome, [impact.address])


def _run_rollout(ctx: RunContext, state: State, outcome: ApplyOutcome, rollouts: list[Impact],
                 failed: set[str]) -> None:
    from compiler.apply.steps.deploy import kubectl_apply, kubectl_delete, laptop_only, render_manifests

    ready = []
    for impact in rollouts:
        blocker = _blocked(ctx, impact, failed)
        if blocker:
            outcome.skipped[impact.address] = f"upstream {blocker} failed"
        else:
            ready.append(impact)
    if not ready:
        return
    versions: dict[str, tuple[int, str]] = {}
    for name, info in state.models.items():
        if info.get("alias_version"):
            model = ctx.project.models.get(name)
            if model is not None:
                versions[name] = (int(info["alias_version"]), f"models:/{model.registry_name}/{info['alias_version']}")
    try:
        with ctx.step(f"roll out {', '.join(i.address for i in ready)}"):
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
