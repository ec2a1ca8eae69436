"""What a Model's framework allows: training it here, and serving it with a deployment's runtime."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.front.rules.context import Context
from compiler.spec.diagnostics import Diagnostic
from compiler.spec.frameworks import TRAINABLE, TRITON_EXPORTABLE


def check_frameworks(ctx: Context) -> Iterator[Diagnostic]:
    """A framework the trainer cannot train (warning); a Triton deployment of a model it cannot export, or with
    alerts Triton's metrics cannot feed."""
    for m in ctx.models.values():
        if m.framework not in TRAINABLE and m.training is not None:
            yield ctx.at(m, ("spec", "framework"), "framework-untrained",
                         f"framework '{m.framework}' is not trained by this version of specops: its images are "
                         "built, but apply's training step will fail",
                         f"use one of {', '.join(TRAINABLE)} (docs/ml-platforms.md)", severity="warning")
    for d in ctx.deployments.values():
        model = ctx.models.get(d.model)
        if d.runtime != "triton" or model is None:
            continue
        if model.framework not in TRITON_EXPORTABLE:
            yield ctx.at(d, ("spec", "runtime"), "triton-framework",
                         f"runtime triton serves models exported to TorchScript, and model '{model.name}' is a "
                         f"{model.framework} model",
                         f"use framework {' or '.join(TRITON_EXPORTABLE)} for model '{model.name}', or runtime "
                         "kserve (the MLflow format) for this deployment")
        if d.p95_latency_ms is not None or d.error_rate is not None:
            yield ctx.at(d, ("spec", "monitoring", "alerts"), "triton-alerts",
                         "monitoring.alerts is not supported with runtime triton: Triton's metrics have no request "
                         "latency histogram nor status codes to alert on",
                         "remove monitoring.alerts, or serve with runtime kserve or mlflow", key=True)
