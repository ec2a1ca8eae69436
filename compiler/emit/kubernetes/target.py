"""The environment a set of manifests is rendered for, and the identity of a deployment's objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compiler.emit.kubernetes.labels import Identity, metadata
from compiler.emit.kubernetes.resolved import ModelRef, ResolvedModel, model_ref
from compiler.spec.images import model_tag
from compiler.spec.ir import Deployment, Environment, Model
from compiler.spec.k8snames import served_name
from compiler.spec.project import SpecProject


@dataclass(frozen=True)
class Target:
    project: SpecProject
    env: Environment
    resolved: Mapping[str, ResolvedModel]

    @property
    def namespace(self) -> str:
        assert self.env.namespace is not None
        return self.env.namespace

    @property
    def part_of(self) -> str:
        return self.project.project.k8s_name


@dataclass(frozen=True)
class Served:
    """One Deployment spec in its environment: names, identity and model reference."""

    target: Target
    deployment: Deployment
    model: Model
    ref: ModelRef
    resolved: ResolvedModel | None  # the version apply resolved for it, if any
    name: str
    ident: Identity

    def meta(self, name: str | None = None, *, monitoring: bool = False,
             annotations: dict[str, str] | None = None) -> dict[str, Any]:
        extra = dict(self.deployment.monitoring_labels) if monitoring else None
        return metadata(self.ident, name or self.name, self.target.namespace, extra_labels=extra,
                        extra_annotations=annotations)


def resolved_for(target: Target, d: Deployment, model: Model) -> ResolvedModel | None:
    """The version apply resolved for the deployment: its own (by address: a pinned version, or another alias than
    the model's), else the model's alias' (by model name) when that is what it serves."""
    own = target.resolved.get(d.address)
    if own is not None or d.serves_own_version(model.alias):
        return own
    return target.resolved.get(model.name)


def served(target: Target, d: Deployment) -> Served:
    model = target.project.models[d.model]
    resolved = resolved_for(target, d, model)
    ref = model_ref(model, d, resolved)
    name = served_name(d)
    ident = Identity(app=model.k8s_name, instance=name, component="server",
                     version=ref.version or model_tag(model), part_of=target.part_of, resource=d)
    return Served(target, d, model, ref, resolved, name, ident)
