"""Which workloads of an environment can run in a Kubernetes cluster (the laptop-only rule).

An embedded warehouse (a DuckDB file) and an embedded MLflow store (a SQLite or file URI) live on the machine
that holds the repository: a pod cannot reach them. So, in an environment that has one:

    serving (every runtime)    needs the registry        -> not emitted when the registry is embedded
    retrain, drift (CronJobs)  need registry + warehouse -> not emitted when either is embedded
    transform (dbt CronJobs)   needs the warehouse       -> not emitted when the warehouse is embedded
    land (kafka landing jobs)  needs the warehouse       -> not emitted when the warehouse is embedded

Those workloads are left out of the environment's manifests (an environment left with none gets no
k8s/<env>/ folder), validate warns once per environment naming them, and the compiled README lists them.
The environment still works where it lives: `specops apply`, `train` and `drift` run on the laptop or CI runner.
"""

from __future__ import annotations

from compiler.spec.ir import Environment

NEEDS: dict[str, tuple[str, ...]] = {
    "serving": ("registry",),
    "retrain": ("warehouse", "registry"),
    "drift": ("warehouse", "registry"),
    "transform": ("warehouse",),
    "land": ("warehouse",),
}


def embedded(env: Environment) -> dict[str, str]:
    """What of the environment lives in a local file: {"warehouse": path, "registry": uri}."""
    out = {}
    if env.embedded_warehouse:
        out["warehouse"] = f"DuckDB file {env.warehouse.get('path')}"
    if env.embedded_registry:
        out["registry"] = f"MLflow store {env.tracking_uri}"
    return out


def in_cluster(env: Environment, component: str) -> bool:
    """Whether a workload of this component can run in the environment's cluster."""
    local = embedded(env)
    return not any(need in local for need in NEEDS[component])


def blockers(env: Environment, component: str) -> list[str]:
    """What keeps the component out of the cluster ("DuckDB file ...", "MLflow store ..."), in NEEDS order."""
    local = embedded(env)
    return [local[need] for need in NEEDS[component] if need in local]
