"""Where scheduled retraining and transforms run (compiler.spec.runners): a runner must have something to run."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.front.rules.context import Context
from compiler.spec.diagnostics import Diagnostic
from compiler.spec.runners import cluster_environments, needs_namespace


def check_runners(ctx: Context) -> Iterator[Diagnostic]:
    """`training.runner` needs a schedule, and an in-cluster one a deployed environment with a namespace; a
    transform's `runner` needs a schedule."""
    for m in ctx.models.values():
        tr = m.training
        if tr is None or not tr.runner:
            continue
        path = ("spec", "training", "runner")
        if not tr.schedule:
            yield ctx.at(m, path, "runner-without-schedule",
                         f"runner '{tr.runner}' has no effect: the model has no training.schedule",
                         "add spec.training.schedule, or remove the runner", severity="warning")
        elif needs_namespace(tr.runner) and not cluster_environments(m, ctx.deployments.values(), ctx.environments):
            yield ctx.at(m, path, "runner-nowhere",
                         f"runner '{tr.runner}' runs retraining in the Kubernetes namespace of each environment the "
                         f"model is deployed to, and model '{m.name}' is deployed to none that has one and keeps its "
                         f"warehouse and registry off the laptop (docs/production.md)",
                         "deploy the model to an environment with kubernetes.namespace, or use runner github or "
                         "airflow")
    for t in ctx.transforms.values():
        if t.runner and not t.schedule:
            yield ctx.at(t, ("spec", "runner"), "runner-without-schedule",
                         f"runner '{t.runner}' has no effect: the transform has no schedule",
                         "add spec.schedule, or remove the runner", severity="warning")
