"""Rolling out deployments: manifests with the resolved model version, applied or left for GitOps."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.apply.context import RunContext, StepFailed
from compiler.apply.steps.registry import Registry, open_registry
from compiler.emit.kubernetes.resolved import CANDIDATE_ALIAS
from compiler.output.write import write_output
from compiler.spec.ir import Deployment, Model
from compiler.spec.project import SpecProject

# model name -> (version holding its alias, its URI, the challenger's); deployment address -> the same for a deployment
# that serves a version of its own (a pinned version, or an alias other than its model's)
Versions = dict[str, tuple[int, str, "int | None"]]


def state_versions(project: SpecProject, models: Mapping[str, dict]) -> Versions:
    """The versions the environment's state records for its models (`State.models`): the one holding each model's
    alias, and the challenger (the last candidate: promotion gives every candidate that alias)."""
    out: Versions = {}
    for name, info in models.items():
        model = project.models.get(name)
        if model is None or not info.get("alias_version"):
            continue
        out[name] = (int(info["alias_version"]), f"models:/{model.registry_name}/{info['alias_version']}",
                     _challenger(model, info))
    return out


def _challenger(model: Model, info: Mapping[str, Any]) -> int | None:
    challenger = info.get("candidate_version") if model.alias != CANDIDATE_ALIAS else None
    return int(challenger) if challenger else None


def served_version(versions: Versions, dep: Deployment) -> int | None:
    """The version `versions` resolve for the deployment (None: none yet)."""
    found = versions.get(dep.address) or versions.get(dep.model)
    return found[0] if found else None


@dataclass(frozen=True)
class Unservable:
    """A deployment that cannot be rolled out, and why."""

    deployment: str  # its address
    model: str  # its model's address
    why: str
    unapplied: bool = False  # its model has no version holding its alias in the environment yet


def resolve(ctx: RunContext, models: Mapping[str, dict], training: Collection[str] = ()
            ) -> tuple[Versions, list[Unservable]]:
    """The versions the environment's deployments serve, and why some cannot be rolled out (empty: all can).

    A deployment of the model's alias serves the version the state records for it (`models`), or the one this
    apply trains (`training`: model names); a pinned version must exist in the registry, and another alias must
    be held by a version there (the `challenger` alias is also given by a training of this apply)."""
    project, env = ctx.project, ctx.env.name
    versions = state_versions(project, models)
    problems: list[Unservable] = []
    registries: dict[str, Registry] = {}
    for dep in sorted(project.deployments.values(), key=lambda d: d.name):
        model = project.models.get(dep.model)
        if dep.environment != env or model is None:
            continue
        if not dep.serves_own_version(model.alias):
            if dep.model not in versions and dep.model not in training:
                problems.append(Unservable(dep.address, model.address, f"{dep.address} serves {model.address}, which "
                                           f"has no version holding the alias '{model.alias}' in environment "
                                           f"'{env}' yet", unapplied=True))
            continue
        if dep.model in training and (dep.version is not None or dep.alias == CANDIDATE_ALIAS):
            continue  # the training may register it, or move the challenger: the rollout step checks again
        if model.name not in registries:
            registries[model.name] = open_registry(ctx, model)
        reg = registries[model.name]
        info = models.get(model.name) or {}
        found = reg.version(dep.version) if dep.version is not None else reg.alias_version(str(dep.alias))
        if found is None:
            problems.append(Unservable(dep.address, model.address, _not_in_registry(dep, model, reg, env)))
            continue
        number = int(found.version)
        versions[dep.address] = (number, f"models:/{model.registry_name}/{number}", _challenger(model, info))
    return versions, problems


def _not_in_registry(dep: Deployment, model: Model, reg: Registry, env: str) -> str:
    held = reg.aliases()
    numbers = reg.numbers()
    where = f"registered model '{reg.name}' in environment '{env}'"
    if dep.version is not None:
        have = f"its versions: {', '.join(map(str, numbers))}" if numbers else "it has no version"
        return (f"{dep.address} pins version {dep.version} of {model.address}, which {where} does not have ({have}); "
                f"pin an existing version, or serve an alias instead (spec.alias)")
    holders = ", ".join(f"'{a}' -> {v}" for a, v in sorted(held.items())) or "none"
    return (f"{dep.address} serves the alias '{dep.alias}' of {model.address}, which no version of {where} holds "
            f"(aliases held: {holders}); serve one of those, or leave spec.alias out to serve the model's alias "
            f"'{model.alias}'")


def render_manifests(ctx: RunContext, versions: Versions) -> tuple[Path, dict[str, bytes]]:
    """Write the environment's manifests with resolved versions under .specops/manifests/<env>.

    Returns the folder and the manifests of the previous rollout that are no longer produced
    (their objects must be deleted from the cluster).
    """
    from compiler.emit.kubernetes import ResolvedModel, SourceRef, render

    triton = triton_repositories(ctx, versions)
    resolved = {name: ResolvedModel(version=v, storage_uri=uri, triton_uri=triton.get(name), challenger=challenger)
                for name, (v, uri, challenger) in versions.items()}
    prefix = f"k8s/{ctx.env.name}/"
    source = SourceRef(source_repository(ctx), ctx.git_sha) if ctx.git_sha else None
    arts = [a for a in render(ctx.project, resolved, only=ctx.env.name, source=source) if a.path.startswith(prefix)]
    if any(a.path.endswith("-source.configmap.yaml") for a in arts):
        missing = [what for what, known in (
            ("the repository (set the Project's repository.url)",
             source is not None and bool(source.repository or ctx.project.project.repository_url)),
            ("the revision (apply from a git checkout)", source is not None)) if not known]
        if missing:
            ctx.echo("   scheduled jobs fetch the specs from the ConfigMap's repository at the applied revision; not "
                     f"known here: {' and '.join(missing)}")
    target = ctx.root / ".specops" / "manifests" / ctx.env.name
    new = {a.path[len(prefix):] for a in arts}
    removed = {}
    if target.is_dir():
        for path in sorted(target.glob("*.yaml")):
            if path.name not in new and path.name != "kustomization.yaml":
                removed[path.name] = path.read_bytes()
    write_output(target, [type(a)(a.path[len(prefix):], a.content, a.owners, a.base) for a in arts], guard=False)
    return target, removed


def triton_repositories(ctx: RunContext, versions: Versions) -> dict[str, str]:
    """The Triton model repository of each resolved version a `triton` deployment of this environment serves (by
    the key of `versions`: the model's name, or the deployment's address when it serves a version of its own)."""
    keys = {}
    for d in ctx.project.deployments.values():
        if d.runtime != "triton" or d.environment != ctx.env.name:
            continue
        key = d.address if d.address in versions else d.model
        if key in versions:
            keys[key] = ctx.project.models[d.model]
    if not keys:
        return {}
    from mlflow.exceptions import MlflowException

    from compiler.apply.steps.triton import repository_uri

    out = {}
    for key, model in sorted(keys.items()):
        reg = open_registry(ctx, model)
        try:
            out[key] = repository_uri(reg.client, model.registry_name, versions[key][0])
        except MlflowException as exc:
            raise StepFailed(f"the Triton model repository of {model.registry_name} version {versions[key][0]} "
                             f"cannot be found: {exc.message[:200]}") from None
    return out


def laptop_only(ctx: RunContext) -> str | None:
    """Why the environment's deployments get no cluster manifests (the laptop-only rule), or None."""
    from compiler.spec import placement

    blockers = placement.blockers(ctx.env, "serving")
    if not blockers:
        return None
    return (f"environment '{ctx.env.name}' keeps its registry on this machine ({', '.join(blockers)}): its "
            f"deployments get no cluster manifests (the laptop-only rule, docs/production.md); the version is recorded "
            f"in the state")


def source_repository(ctx: RunContext) -> str | None:
    """The repository scheduled jobs fetch: the Project's repository.url, else the GitHub repository the apply
    workflow runs in, else the https `origin` remote of the checkout."""
    import os

    if ctx.project.project.repository_url:
        return ctx.project.project.repository_url
    server, repo = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    if server and repo:
        return f"{server.rstrip('/')}/{repo}.git"
    proc = subprocess.run(["git", "remote", "get-url", "origin"], cwd=ctx.root, capture_output=True, text=True,
                          check=False)
    url = proc.stdout.strip()
    return url if proc.returncode == 0 and url.startswith("https://") and "@" not in url else None


def kubectl_delete(ctx: RunContext, removed: dict[str, bytes]) -> None:
    """Delete the objects of manifests a spec change removed (kubectl apply never deletes anything)."""
    import tempfile

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise StepFailed("kubectl is not installed; cannot delete removed objects: " + ", ".join(sorted(removed)))
    with tempfile.TemporaryDirectory(prefix="specops-removed-") as tmp:
        for name, content in removed.items():
            (Path(tmp) / name).write_bytes(content)
        args = [kubectl, "delete", "--ignore-not-found", "--context", str(ctx.env.context), "-f", tmp]
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
    for line in (proc.stdout + proc.stderr).splitlines():
        ctx.echo(f"   kubectl | {line}")
    if proc.returncode != 0:
        raise StepFailed(f"kubectl delete failed with exit code {proc.returncode}")


def kubectl_apply(ctx: RunContext, folder: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise StepFailed(f"environment '{ctx.env.name}' has kubernetes.context '{ctx.env.context}' but kubectl is "
                         f"not installed; the manifests are in {folder}")
    args = [kubectl, "apply", "--server-side", "--field-manager=specops", "--context", str(ctx.env.context),
            "-k", str(folder)]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    for line in (proc.stdout + proc.stderr).splitlines():
        ctx.echo(f"   kubectl | {line}")
    if proc.returncode != 0:
        raise StepFailed(f"kubectl apply failed with exit code {proc.returncode}")


def refusal(env: str, problems: list[Unservable]) -> str:
    """Why deployments cannot be rolled out (`resolve`'s problems), with what to do about a model never applied."""
    text = "; ".join(p.why for p in problems)
    first = next((p for p in problems if p.unapplied), None)
    if first is None:
        return text
    return (text + f". Apply the model first: specops apply --env {env} --select {first.model} (or --select "
            f"+{first.deployment} for everything it needs)")
