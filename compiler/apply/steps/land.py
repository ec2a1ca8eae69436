"""The apply step before dbt: land the dvc and kafka datasets whose data the plan says changed.

A dataset is landed when it has `reload` work: it is new, its DVC version changed, or its kafka source did (a
new topic or landing table starts the table over). The dataset's own work then goes on to dbt, which tests the
landed rows; when landing fails, that dataset and all the data work downstream of it are not run (the work
stays pending, and the next apply tries again).
"""

from __future__ import annotations

from compiler.apply.context import RunContext, StepFailed
from compiler.plan.impact import Impact
from compiler.plan.model import Plan


def needs_landing(ctx: RunContext, impact: Impact) -> bool:
    kind, _, name = impact.address.partition(".")
    ds = ctx.project.datasets.get(name) if kind == "dataset" else None
    return impact.work == "reload" and ds is not None and ds.source is not None and ds.source.landed


def land_sources(ctx: RunContext, plan: Plan, data: list[Impact], failed: set[str],
                 outcome_failed: dict[str, str], outcome_skipped: dict[str, str]) -> list[Impact]:
    """Land what `data` needs landed; the data work that can still run (the rest is failed or skipped)."""
    todo = [i for i in data if needs_landing(ctx, i)]
    if not todo:
        return data
    from compiler.apply import lineage
    from compiler.apply.landing import land
    from compiler.emit.lineage.jobs import land_job

    replaced = {c.address for c in plan.resource_changes if c.action == "replace"}
    for impact in todo:
        ds = ctx.project.datasets[impact.address.split(".", 1)[1]]
        reset = impact.address in replaced  # another topic or landing table: the table starts over
        run = lineage.start(ctx.lineage, land_job(ctx.project, ctx.env, ds))  # OpenLineage, when configured
        try:
            with ctx.step(f"land {impact.address}" + (" (starting over)" if reset else "")):
                ctx.echo(f"   landed {land(ctx, ds, reset=reset).summary}")
        except StepFailed as exc:
            outcome_failed[impact.address] = str(exc)
            failed.add(impact.address)
            lineage.finish(ctx.lineage, run, str(exc))
        else:
            lineage.finish(ctx.lineage, run)
    if not failed:
        return data
    graph = ctx.project.graph
    remaining = []
    for impact in data:
        if impact.address in failed:
            continue
        blocker = next((up for up in sorted(graph.upstream(impact.address)) if up in failed), None)
        if blocker is not None:
            outcome_skipped[impact.address] = f"upstream {blocker} failed"
            failed.add(impact.address)
        else:
            remaining.append(impact)
    return remaining
