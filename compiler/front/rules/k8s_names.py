"""Kubernetes names two resources would both claim (compiler.spec.k8snames): applying one would overwrite the
other's object.

- `k8s-name-clash`: in one environment's namespace, two resources whose objects have the same kind and name, e.g.
  Deployment `m_retrain` and the retraining CronJob of Model `m` (both with a ServiceAccount `m-retrain`).
  The names come from `namespace_objects`, what the kubernetes backend emits, so every suffix it derives is covered.
- `shared-namespace`: two environments with the same namespace on the same cluster (the same kubernetes.context,
  or neither setting one) get objects of the same names (the jobs, `<project>-source`, `<project>-secrets`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from compiler.front.rules.context import Context
from compiler.spec.diagnostics import Diagnostic
from compiler.spec.ir import Environment, Resource
from compiler.spec.k8snames import Named, namespace_objects
from compiler.spec.project import SpecProject


def check_object_names(ctx: Context) -> Iterator[Diagnostic]:
    """One error per pair of resources claiming the same object, at the later one (in file order)."""
    project = SpecProject(root=ctx.root or Path("."), project=ctx.project, environments=ctx.environments,
                          datasets=ctx.datasets, rules=ctx.rules, transforms=ctx.transforms, models=ctx.models,
                          deployments=ctx.deployments, graph=ctx.graph)
    clashes: dict[tuple[str, str], list[tuple[Environment, Named, Named]]] = {}
    for env in sorted(ctx.environments.values(), key=lambda e: e.name):
        first: dict[tuple[str, str], Named] = {}
        for obj in namespace_objects(project, env):
            seen = first.setdefault((obj.kind, obj.name), obj)
            if seen.owner.address == obj.owner.address:
                continue
            earlier, later = sorted((seen, obj), key=lambda o: _order(ctx, o.owner))
            clashes.setdefault((earlier.owner.address, later.owner.address), []).append((env, earlier, later))
    for (_, _), found in sorted(clashes.items()):
        env, earlier, later = found[0]
        objects = sorted({f"{b.kind} {b.name}" for _, _, b in found})
        envs = sorted({e.name for e, _, _ in found})
        where = f"environment{'s' if len(envs) > 1 else ''} {', '.join(envs)}"
        message = (f"{later.owner.address} ({later.what}) and {earlier.owner.address} ({earlier.what}) both make "
                   f"the Kubernetes object{'s' if len(objects) > 1 else ''} {', '.join(objects)} in the namespace of "
                   f"{where}: applying one would overwrite the other")
        yield ctx.at(later.owner, later.path, "k8s-name-clash", message,
                     f"rename {later.owner.address} or {earlier.owner.address}: Kubernetes names are derived from "
                     "resource names ('_' becomes '-') and the suffixes specops adds (docs/spec.md, Kubernetes names)",
                     related=(ctx.related(earlier.owner, earlier.path, f"{earlier.owner.address} makes "
                                                                      f"{earlier.kind} {earlier.name} here"),))


def check_shared_namespaces(ctx: Context) -> Iterator[Diagnostic]:
    """Environments whose manifests go to the same namespace of the same cluster."""
    first: dict[tuple[str | None, str], Environment] = {}
    for env in sorted(ctx.environments.values(), key=lambda e: _order(ctx, e)):
        if env.namespace is None:
            continue
        other = first.setdefault((env.context, env.namespace), env)
        if other is env:
            continue
        cluster = f"kubernetes.context '{env.context}'" if env.context else "no kubernetes.context (the same cluster)"
        path = ("spec", "kubernetes", "namespace")
        yield ctx.at(env, path, "shared-namespace",
                     f"environments '{env.name}' and '{other.name}' both use namespace '{env.namespace}' with "
                     f"{cluster}: their objects have the same names (jobs, ConfigMap, Secret, NetworkPolicies), "
                     "so applying one overwrites the other",
                     "give each environment its own kubernetes.namespace, or set kubernetes.context to tell their "
                     "clusters apart",
                     related=(ctx.related(other, path, f"environment '{other.name}' uses it here"),))


def _order(ctx: Context, res: Resource) -> tuple[str, int, str]:
    """Where a resource is written: file, document, then address."""
    doc = ctx.docs.get(res.address)
    return (doc.file, doc.index, res.address) if doc is not None else ("", 0, res.address)
