"""The grafana backend: a Grafana 11 dashboard per Deployment, built with grafana-foundation-sdk.

    grafana/<env>/<deployment>.json   import it (UI, API, provisioning, or a grafana_dashboard ConfigMap)

Panels, over the Prometheus data source picked in the `datasource` variable:
    Traffic   request rate; error rate (5xx share) with the deployment's error_rate alert as a line
    Latency   p50 and p95 with the p95_latency_ms alert as a line
    Model     prediction distribution (runtime mlflow: share of predictions per class, or quantiles of the
              predicted value for a regression); drift score (specops_drift_score against the threshold)
The series are those the PrometheusRule alerts read (compiler.emit.serving_metrics), so a dashboard and
its alerts never disagree. KServe's and Seldon's servers export no predictions: their Model row says so.

The SDK (pinned to its Grafana 11.6 build in pyproject.toml) is imported only when a dashboard is built,
never by `validate`; it costs about 0.07 s once per process.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from compiler.emit.base import Artifact, Unit, run_units
from compiler.emit.serving_metrics import (
    DRIFT_METRIC,
    PREDICTION_VALUE,
    PREDICTIONS,
    REQUEST_METRICS,
    drift_series,
    matchers,
    prediction_series,
    request_series,
)
from compiler.spec import placement
from compiler.spec.ir import Deployment, Model
from compiler.spec.k8snames import fit_name
from compiler.spec.project import SpecProject

PREFIX = "grafana"
COST = 0.34  # relative cost at 10,000 specs (compiler.emit.registry)
UID_LIMIT = 40  # Grafana's limit on a dashboard uid
RATE = "[$__rate_interval]"


def emit(project: SpecProject) -> list[Artifact]:
    return run_units(project, units(project))


def units(project: SpecProject) -> list[Unit]:
    """One dashboard per Deployment served in its environment's cluster (a Kubernetes namespace, and not left out
    by the laptop-only rule: compiler.spec.placement), where its metrics live, but runtime triton's (Triton's own
    metrics have no request histogram nor status codes: docs/ml-platforms.md)."""
    return [Unit(("grafana", name), partial(_dashboard_file, name=name)) for name in sorted(project.deployments)
            if project.deployments[name].runtime in REQUEST_METRICS]


def _dashboard_file(project: SpecProject, name: str) -> list[Artifact]:
    d = project.deployments[name]
    env = project.environments[d.environment]
    if env.namespace is None or not placement.in_cluster(env, "serving"):  # no pod serves it: no metrics
        return []
    model = project.models[d.model]
    data = dashboard(project.project.name, d, model, env.namespace)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return [Artifact(f"{PREFIX}/{env.name}/{d.name}.json", text.encode("utf-8"),
                     (d.address, model.address, env.address))]


def dashboard(project_name: str, d: Deployment, model: Model, namespace: str) -> dict[str, Any]:
    """The dashboard of one deployment, as Grafana's JSON model (a dict)."""
    from grafana_foundation_sdk.builders.dashboard import Dashboard, DatasourceVariable, Row
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import DashboardCursorSync

    runtime = REQUEST_METRICS[d.runtime]
    requests = matchers(*request_series(d, namespace))
    errors = matchers(*request_series(d, namespace), (runtime.status_label, "=~", "5.."))
    buckets = f"{runtime.histogram}_bucket{requests}"
    board = (
        Dashboard(f"specops / {project_name} / {d.name} ({d.environment})")
        .uid(fit_name(f"specops-{project_name}-{d.name}".replace("_", "-"), UID_LIMIT))
        .tags(["specops", project_name, d.environment, f"model:{model.name}"])
        .description(f"Serving {model.address} as {d.address} ({d.runtime}) in namespace {namespace}.")
        .refresh("1m").time("now-6h", "now").timezone("utc").tooltip(DashboardCursorSync.CROSSHAIR)
        .editable()
        .with_variable(DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
        .with_row(Row("Traffic"))
        .with_panel(_timeseries("Request rate", "reqps", [(f"sum(rate({runtime.counter}{requests}{RATE}))",
                                                          "requests/s")]))
        .with_panel(_timeseries("Error rate (5xx share)", "percentunit",
                                [(f"sum(rate({runtime.counter}{errors}{RATE})) / "
                                  f"sum(rate({runtime.counter}{requests}{RATE}))", "5xx share")],
                                limit=d.error_rate, minimum=0))
        .with_row(Row("Latency"))
        .with_panel(_timeseries("Scoring latency p50 / p95", "s",
                                [(f"histogram_quantile({q}, sum by (le) (rate({buckets}{RATE})))", f"p{int(q * 100)}")
                                 for q in (0.5, 0.95)],
                                limit=d.p95_latency_ms / 1000 if d.p95_latency_ms is not None else None, span=24))
        .with_row(Row("Model"))
        .with_panel(_predictions(d, model, namespace))
        .with_panel(_drift(model, d.environment))
    )
    return _number_panels(json.loads(JSONEncoder(sort_keys=True).encode(board.build())))


def _number_panels(data: dict[str, Any]) -> dict[str, Any]:
    """Every panel, rows and the panels of a collapsed row included, gets its id: 1, 2, ... in dashboard order
    (the SDK leaves a row's at 0 and a panel's unset; Grafana wants them unique within a dashboard)."""
    number = 0
    for panel in data.get("panels", []):
        for item in (panel, *panel.get("panels", [])):
            number += 1
            item["id"] = number
    return data


def _datasource() -> Any:
    from grafana_foundation_sdk.models.dashboard import DataSourceRef

    return DataSourceRef(type_val="prometheus", uid="${datasource}")


def _timeseries(title: str, unit: str, queries: list[tuple[str, str]], *, limit: float | None = None,
                minimum: float | None = None, span: int = 12, stack: bool = False) -> Any:
    from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig, StackingConfig, VizLegendOptions
    from grafana_foundation_sdk.builders.dashboard import ThresholdsConfig
    from grafana_foundation_sdk.builders.prometheus import Dataquery
    from grafana_foundation_sdk.builders.timeseries import Panel
    from grafana_foundation_sdk.models.common import (
        GraphThresholdsStyleMode,
        LegendDisplayMode,
        LegendPlacement,
        StackingMode,
    )
    from grafana_foundation_sdk.models.dashboard import Threshold, ThresholdsMode

    panel = (Panel().title(title).unit(unit).datasource(_datasource()).height(8).span(span)
             .legend(VizLegendOptions().display_mode(LegendDisplayMode.LIST).placement(LegendPlacement.BOTTOM)
                     .show_legend(True)))
    for i, (expr, legend) in enumerate(queries):
        panel = panel.with_target(Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + i)).range())
    if minimum is not None:
        panel = panel.min(minimum)
    if stack:
        panel = panel.stacking(StackingConfig().mode(StackingMode.PERCENT)).fill_opacity(60)
    if limit is not None:  # the alert's threshold, drawn as a dashed line
        panel = (panel.thresholds(ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps([
                    Threshold(value=None, color="green"), Threshold(value=limit, color="red")]))
                 .thresholds_style(GraphThresholdsStyleConfig().mode(GraphThresholdsStyleMode.DASHED)))
    return panel


def _text(title: str, content: str, span: int = 12) -> Any:
    from grafana_foundation_sdk.builders.text import Panel
    from grafana_foundation_sdk.models.text import TextMode

    return Panel().title(title).mode(TextMode.MARKDOWN).content(content).height(8).span(span)


def _predictions(d: Deployment, model: Model, namespace: str) -> Any:
    if not REQUEST_METRICS[d.runtime].predictions:
        return _text("Prediction distribution",
                     f"Runtime `{d.runtime}` serves the model with its own server, which exports no predictions. "
                     "Serve it with runtime `mlflow` (the specops serving image) to see them here.")
    series = matchers(*prediction_series(d, namespace))
    if model.task == "classification":
        return _timeseries("Prediction distribution (share per class)", "percentunit",
                           [(f"sum by (prediction) (rate({PREDICTIONS}{series}{RATE}))", "{{prediction}}")],
                           stack=True)
    buckets = f"{PREDICTION_VALUE}_bucket{series}"
    return _timeseries("Prediction distribution (quantiles)", "short",
                       [(f"histogram_quantile({q}, sum by (le) (rate({buckets}{RATE})))", f"p{int(q * 100)}")
                        for q in (0.1, 0.5, 0.9)])


def _drift(model: Model, environment: str) -> Any:
    from grafana_foundation_sdk.builders.common import ReduceDataOptions
    from grafana_foundation_sdk.builders.dashboard import ThresholdsConfig
    from grafana_foundation_sdk.builders.gauge import Panel
    from grafana_foundation_sdk.builders.prometheus import Dataquery
    from grafana_foundation_sdk.models.dashboard import Threshold, ThresholdsMode

    if model.drift is None:
        return _text("Drift score", f"{model.address} has no `monitoring.drift`: no drift score is computed.")
    threshold = model.drift.threshold
    return (Panel().title(f"Drift score ({model.drift.method}, alert above {threshold:g})").datasource(_datasource())
            .height(8).span(12).min(0).max(max(1.0, 2 * threshold))
            .with_target(Dataquery().expr(f"max({DRIFT_METRIC}{matchers(*drift_series(model.name, environment))})")
                         .instant().ref_id("A"))
            .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
            .thresholds(ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps([
                Threshold(value=None, color="green"), Threshold(value=threshold, color="red")]))
            .show_threshold_markers(True))
