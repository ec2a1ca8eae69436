"""Rolling out deployments: manifests with the resolved model version, applied or left for GitOps."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from compiler.apply.context import RunContext, StepFailed
from compiler.emit.kubernetes.resolved import CANDIDATE_ALIAS
from compiler.output.write import write_output
from compiler.spec.project import SpecProject

Versions = dict[str, tuple[int, str, "int | None"]]  # model -> (version holding its alias, its URI, the challenger's)


def state_versions(project: SpecProject, models: Mapping[str, dict]) -> Versions:
    """The versions the environment's state records for its models (`State.models`): the one holding each model's
    alias, and the challenger (the last candidate: promotion gives every candidate that alias)."""
    out: Versions = {}
    for name, info in models.items():
        model = project.models.get(name)
        if model is None or not info.get("alias_version"):
            continue
        challenger = info.get("candidate_version") if model.alias != CANDIDATE_ALIAS else None
        out[name] = (int(info["alias_version"]), f"models:/{model.registry_name}/{info['alias_version']}",
                     int(challenger) if challenger else None)
    return out


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
    if any(a.path.endswith("-source.configmap.yaml") for a in arts) and (
            source is None or not (source.repository or ctx.project.project.repository_url)):
        ctx.echo("   scheduled jobs fetch the specs from the ConfigMap's repository at the applied revision, and "
                 "neither is known here: set the Project's repository.url, and apply from a git checkout")
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
    """The Triton model repository of each resolved version a `triton` deployment of this environment serves."""
    names = sorted({d.model for d in ctx.project.deployments.values()
                    if d.runtime == "triton" and d.environment == ctx.env.name and d.model in versions})
    if not names:
        return {}
    from mlflow.exceptions import MlflowException

    from compiler.apply.steps.registry import open_registry
    from compiler.apply.steps.triton import repository_uri

    out = {}
    for name in names:
        model = ctx.project.models[name]
        reg = open_registry(ctx, model)
        try:
            out[name] = repository_uri(reg.client, model.registry_name, versions[name][0])
        except MlflowException as exc:
            raise StepFailed(f"the Triton model repository of {model.registry_name} version {versions[name][0]} "
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


def unresolved(project: SpecProject, env: str, models: dict[str, dict], training: set[str]) -> list[tuple[str, str]]:
    """(deployment, model) of the environment's deployments that would be rolled out without a model version:
    no pinned version, no version holding the alias in the environment's state (`models`), and no training of
    the model (`training`: model names) in this apply to give it one."""
    out = []
    for dep in sorted(project.deployments.values(), key=lambda d: d.name):
        if dep.environment != env or dep.version is not None:
            continue
        if (models.get(dep.model) or {}).get("alias_version") or dep.model in training:
            continue
        out.append((dep.address, f"model.{dep.model}"))
    return out


def unresolved_message(project: SpecProject, env: str, found: list[tuple[str, str]]) -> str:
    parts = []
    for dep, model in found:
        spec = project.models.get(model.split(".", 1)[1])
        alias = spec.alias if spec is not None else "champion"
        parts.append(f"{dep} serves {model}, which has no version holding the alias '{alias}' in environment "
                     f"'{env}' yet")
    first_dep, first_model = found[0]
    return ("; ".join(parts) + f". Apply the model first: specops apply --env {env} --select {first_model} "
            f"(or --select +{first_dep} for everything it needs)")
