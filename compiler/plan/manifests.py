"""Rollouts that no spec of a deployment asks for, but its generated manifests do.

A deployment's Kubernetes manifests are made from its own spec, its model, its environment and the Project
(the image registry, the Python version in the image tags, ...). apply re-applies whatever manifests changed, so
when a project- or environment-level setting changes what a deployment's manifests say, its pods are replaced
just as when its own spec changes: the plan says so, with the setting that causes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from compiler.plan.artifacts import ArtifactChange
from compiler.plan.impact import Impact
from compiler.plan.model import ResourceChange
from compiler.spec.project import SpecProject

_IMAGE = re.compile(rb"^\s*(?:-\s+)?image:\s*['\"]?([^'\"\s]+)", re.MULTILINE)


def manifest_rollouts(project: SpecProject, changes: list[ResourceChange], impacts: list[Impact],
                      artifact_changes: list[ArtifactChange], owners: Mapping[str, tuple[str, ...]],
                      old_files: Mapping[str, bytes | None], new_files: Mapping[str, bytes]) -> list[Impact]:
    """A rollout of each deployment whose k8s manifests change although nothing planned rolls it out, caused by
    the changed Project or environment (else by what the compiler now writes), with why: the image or the
    manifests."""
    planned = {i.address for i in impacts}
    acted = {c.address: c for c in changes}
    found: dict[str, list[ArtifactChange]] = {}
    for a in artifact_changes:
        main = owners.get(a.key, ("",))[0]  # the deployment whose manifest it is (a deleted file: none)
        owner = main if a.key.startswith("k8s/") and main.partition(".")[2] in project.deployments and \
            main.startswith("deployment.") else None
        if owner is None or owner in planned or acted.get(owner) is not None:
            continue
        found.setdefault(owner, []).append(a)
    out = []
    for address, files in sorted(found.items()):
        dep = project.deployments[address.split(".", 1)[1]]
        causes = [c for c in (project.project.address, f"environment.{dep.environment}") if c in acted]
        images = _images(files, old_files, new_files)
        why = "(image changed)" if images else "(manifests changed)"
        note = (f"its container image changes: {images}" if images else
                "its generated Kubernetes manifests change: " + ", ".join(a.key for a in files[:3])
                + (f" and {len(files) - 3} more" if len(files) > 3 else ""))
        if causes:
            cause = causes[0]
            category = acted[cause].category
            out.append(Impact(address, "rollout", cause, category, (cause, address), (f"{note}; apply re-applies "
                              "them and the pods are replaced",), ("", why)))
        else:  # no spec changed: the compiler writes them otherwise (another specops version)
            out.append(Impact(address, "rollout", address, "non-breaking", (address,), (
                f"{note}, although no spec changed (another specops version?); apply re-applies them",), (why,)))
    return out


def _images(files: list[ArtifactChange], old_files: Mapping[str, bytes | None],
            new_files: Mapping[str, bytes]) -> str:
    """`old → new` for each container image the files name otherwise ('' when none changed or not known)."""
    pairs: dict[tuple[str, str], None] = {}
    for a in files:
        old, new = old_files.get(a.key) if a.key in old_files else None, new_files.get(a.key)
        if old is None or new is None:
            continue
        before = [m.decode() for m in _IMAGE.findall(old)]
        after = [m.decode() for m in _IMAGE.findall(new)]
        if before != after:
            for b, n in zip(before, after, strict=False):
                if b != n:
                    pairs[(b, n)] = None
    return ", ".join(f"{b} → {n}" for b, n in pairs)
