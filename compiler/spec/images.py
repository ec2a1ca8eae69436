"""Image tags: derived from the inputs that go into an image, so a tag changes exactly when a rebuild is
needed, and never from the clock. (Image names are compiler.emit.images'.)"""

from __future__ import annotations

import hashlib

from compiler import __version__
from compiler.spec.ir import Model


def tag(*parts: bytes | str) -> str:
    h = hashlib.sha256(__version__.encode())
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode("utf-8"))
        h.update(b"\0")
    return "sha-" + h.hexdigest()[:12]


def model_tag(model: Model) -> str:
    """What a model's images are built from changes with: the training code, framework and the tool."""
    assert model.training is not None
    return tag(model.framework, model.training.entrypoint_source)


def train_tag(python_version: str, model: Model, spec_digest: str) -> str:
    """The training image holds every spec and the files they name (`specops train` checks the whole
    repository), so its tag follows the whole project's digest."""
    return tag(python_version, model_tag(model), spec_digest)


def dbt_tag(data_digests: list[str]) -> str:
    """The dbt image holds the data layer's specs: its tag follows their digests (`address=digest`)."""
    return tag(*data_digests)
