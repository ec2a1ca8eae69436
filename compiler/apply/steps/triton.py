"""The Triton model repository of a PyTorch model, written at apply time beside the registered version.

When a Model is served by a `triton` deployment (compiler/emit/kubernetes/triton.py), training exports the fitted
module to TorchScript (torch.jit.trace on the training rows' first rows, checked against the module's own
outputs) and logs, as the artifacts `triton/` of the version's MLflow run, the layout Triton loads:

    <model>/config.pbtxt      platform pytorch_libtorch, INPUT__0 float32 [features] -> OUTPUT__0 float32
                              [classes] (or [1] for a regressor), max_batch_size 64 with dynamic batching,
                              CPU instances; parameters record the feature order and the classes
    <model>/1/model.pt        the TorchScript module

config.pbtxt is Triton's ModelConfig in protobuf text format, written here as text (tritonclient is not needed at
run time; the tests parse it with tritonclient's model_config_pb2).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

from compiler.apply.context import StepFailed
from compiler.spec.frameworks import TRITON_EXPORTABLE
from compiler.spec.ir import Model
from compiler.spec.project import SpecProject

ARTIFACT_PATH = "triton"
MAX_BATCH_SIZE = 64
INPUT, OUTPUT = "INPUT__0", "OUTPUT__0"  # the libtorch backend's naming convention


def served_by_triton(project: SpecProject, model: Model) -> bool:
    return model.framework in TRITON_EXPORTABLE and any(
        d.model == model.name and d.runtime == "triton" for d in project.deployments.values())


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_text(name: str, features: list[str], outputs: int, classes: list[Any]) -> str:
    """The model's config.pbtxt (protobuf text format of Triton's ModelConfig)."""
    params = {"specops_features": ",".join(features)}
    if classes:
        params["specops_classes"] = ",".join(str(c) for c in classes)
    lines = [
        f"name: {_quoted(name)}",
        'platform: "pytorch_libtorch"',
        f"max_batch_size: {MAX_BATCH_SIZE}",
        f"input [ {{ name: {_quoted(INPUT)} data_type: TYPE_FP32 dims: [ {len(features)} ] }} ]",
        f"output [ {{ name: {_quoted(OUTPUT)} data_type: TYPE_FP32 dims: [ {outputs} ] }} ]",
        "instance_group [ { kind: KIND_CPU count: 1 } ]",
        "dynamic_batching { }",
        *(f"parameters {{ key: {_quoted(k)} value {{ string_value: {_quoted(v)} }} }}" for k, v in params.items()),
    ]
    return "\n".join(lines) + "\n"


def export(module: Any, sample: Any) -> tuple[Any, int]:
    """The module traced to TorchScript (outputs always n x k), and k; checked on `sample` (a float32 tensor)."""
    import torch

    with torch.no_grad():
        expected = module(sample)
    flat = expected.dim() == 1

    class Batched(torch.nn.Module):  # a regressor's n outputs as n x 1, as Triton's batching wants
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> Any:
            return self.inner(x).reshape(-1, 1)

    wrapped = Batched(module).eval() if flat else module
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch 2.13 deprecates torch.jit (in favour of torch.export)
        try:
            traced = torch.jit.trace(wrapped, sample, check_trace=False)
        except Exception as exc:
            raise StepFailed(f"exporting the module to TorchScript for Triton failed: {type(exc).__name__}: "
                             f"{str(exc)[:300]}") from None
        got = traced(sample)
    want = expected.reshape(-1, 1) if flat else expected
    if got.shape != want.shape or not torch.allclose(got, want, atol=1e-5):
        raise StepFailed("the TorchScript export for Triton answers differently from the module (data-dependent "
                         "control flow in forward()?)")
    return traced, int(got.shape[1])


def log_repository(model: Model, module: Any, X: Any, classes: list[Any]) -> None:
    """Export and log the model repository under the active MLflow run's artifacts `triton/`."""
    import mlflow
    import torch

    assert model.training is not None
    sample = torch.from_numpy(X.head(MAX_BATCH_SIZE).to_numpy(dtype="float32", copy=True))
    traced, outputs = export(module, sample)
    with tempfile.TemporaryDirectory(prefix="specops-triton-") as tmp:
        folder = Path(tmp) / model.name
        (folder / "1").mkdir(parents=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced.save(str(folder / "1" / "model.pt"))
        (folder / "config.pbtxt").write_text(config_text(model.name, list(model.training.features), outputs,
                                                         classes), encoding="utf-8")
        mlflow.log_artifacts(tmp, ARTIFACT_PATH)


def repository_uri(client: Any, registry_name: str, version: int) -> str:
    """Where a registered version's model repository is (its run's artifacts `triton/`)."""
    run_id = client.get_model_version(registry_name, str(version)).run_id
    if not client.list_artifacts(run_id, ARTIFACT_PATH):
        raise StepFailed(f"{registry_name} version {version} has no Triton model repository (it was trained before "
                         f"a triton deployment served it): train a new version with `specops train --no-reuse`")
    return client.get_run(run_id).info.artifact_uri.rstrip("/") + "/" + ARTIFACT_PATH
