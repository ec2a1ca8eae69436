"""The laptop-only rule (compiler.spec.placement): workloads an environment's cluster could not run are left out
of its manifests, and validate says so once per environment. The environment named `dev` is the laptop's by
convention (as for its single replica): there, leaving them out is what is meant, and only the compiled README
lists them."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.front.rules.context import Context
from compiler.spec import placement
from compiler.spec.diagnostics import Diagnostic
from compiler.spec.runners import retrain_runner, transform_runner


def check_laptop_only(ctx: Context) -> Iterator[Diagnostic]:
    for env in sorted(ctx.environments.values(), key=lambda e: e.name):
        if env.namespace is None or env.is_dev or not placement.embedded(env):
            continue
        left_out: list[str] = []
        reasons: dict[str, None] = {}
        deployed = sorted((d for d in ctx.deployments.values() if d.environment == env.name), key=lambda d: d.name)
        for d in deployed:
            if not placement.in_cluster(env, "serving"):
                left_out.append(d.address)
                reasons.update(dict.fromkeys(placement.blockers(env, "serving")))
        for name in sorted({d.model for d in deployed}):
            model = ctx.models.get(name)
            if model is None:
                continue
            # only jobs that would be this cluster's: retraining run elsewhere (github, airflow, kubeflow) is not
            jobs = [("retrain", retrain_runner(model, ctx.deployments.values(), ctx.environments) == "kubernetes"),
                    ("drift", model.drift is not None and model.drift.schedule)]
            for component, scheduled in jobs:
                if scheduled and not placement.in_cluster(env, component):
                    left_out.append(f"{model.address} ({component} job)")
                    reasons.update(dict.fromkeys(placement.blockers(env, component)))
        for t in sorted(ctx.transforms.values(), key=lambda x: x.name):
            if transform_runner(t) == "kubernetes" and not placement.in_cluster(env, "transform"):
                left_out.append(f"{t.address} (dbt job)")
                reasons.update(dict.fromkeys(placement.blockers(env, "transform")))
        for ds in sorted(ctx.datasets.values(), key=lambda x: x.name):
            k = ds.source.kafka if ds.source is not None else None
            if k is not None and k.schedule and not k.connect_cluster and not placement.in_cluster(env, "land"):
                left_out.append(f"{ds.address} (landing job)")
                reasons.update(dict.fromkeys(placement.blockers(env, "land")))
        if not left_out:
            continue
        key = ("spec", "mlflow", "tracking_uri") if env.embedded_registry else ("spec", "warehouse")
        yield ctx.at(env, key, "laptop-only",
                     f"environment '{env.name}' keeps its {' and '.join(reasons)} on the machine that holds the "
                     f"repository, where pods in its cluster cannot reach them: {', '.join(left_out)} "
                     f"{'is' if len(left_out) == 1 else 'are'} not emitted as Kubernetes manifests",
                     "the environment still runs where the repository is (specops apply, train, drift); to run it "
                     "in a cluster, use a server warehouse and an http(s) mlflow.tracking_uri (docs/production.md)",
                     severity="warning")
