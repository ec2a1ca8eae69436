"""Which model version a deployment serves, and where its artifact lives.

At compile time the registry is not read: a deployment serves `models:/<registry name>@<alias>`
(or `models:/<registry name>/<version>` when it pins a version), and a KServe/Seldon storageUri,
unknown until a version is registered, carries `specops.dev/storage-uri: known-after-apply`.
`specops apply` renders again with the versions it registered (ResolvedModel, per Model name):
then MODEL_URI is `models:/<name>/<version>`, storageUri the version's artifact URI, and
`app.kubernetes.io/version` the version number, and a canary's candidate serves `models:/<name>/<version>` of
the challenger. A Deployment that pins a version keeps it; the resolved storage URI is used for it only when the
resolved version is that pin.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.spec.ir import Deployment, Model

KNOWN_AFTER_APPLY = "known-after-apply"
STORAGE_URI_ANNOTATION = "specops.dev/storage-uri"
CANDIDATE_ALIAS = "challenger"


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A registered model version: its number and its artifact location (download URI)."""

    version: int
    storage_uri: str
    triton_uri: str | None = None  # the version's Triton model repository (runtime triton), once exported
    challenger: int | None = None  # the version holding the `challenger` alias (a canary's candidate serves it)


@dataclass(frozen=True, slots=True)
class SourceRef:
    """The spec repository scheduled jobs fetch: its URL (None: the Project's repository.url) and the revision
    apply applied."""

    repository: str | None
    revision: str

    def key(self) -> tuple[str, ...]:
        return (self.repository or "", self.revision)


@dataclass(frozen=True, slots=True)
class ModelRef:
    """What one deployment serves."""

    model_uri: str  # for MLflow clients: models:/name@alias or models:/name/version
    storage_uri: str  # for KServe/Seldon: an artifact URI once resolved, else model_uri
    resolved: bool
    version: str | None  # the version number once known
    # a canary's candidate: the `challenger` alias, or once resolved its version (so the candidate's pods are
    # replaced when apply moves the alias: they load their model when they start)
    candidate_uri: str

    def annotations(self) -> dict[str, str]:
        return {} if self.resolved else {STORAGE_URI_ANNOTATION: KNOWN_AFTER_APPLY}


def model_ref(model: Model, deployment: Deployment, resolved: ResolvedModel | None) -> ModelRef:
    name = model.registry_name or model.name
    candidate = (f"models:/{name}/{resolved.challenger}" if resolved is not None and resolved.challenger is not None
                 else f"models:/{name}@{CANDIDATE_ALIAS}")
    if deployment.version is not None:
        uri = f"models:/{name}/{deployment.version}"
        if resolved is not None and resolved.version == deployment.version:
            return ModelRef(uri, resolved.storage_uri, True, str(resolved.version), candidate)
        return ModelRef(uri, uri, False, str(deployment.version), candidate)
    if resolved is not None:
        return ModelRef(f"models:/{name}/{resolved.version}", resolved.storage_uri, True, str(resolved.version),
                        candidate)
    uri = f"models:/{name}@{deployment.alias or model.alias}"
    return ModelRef(uri, uri, False, None, candidate)
