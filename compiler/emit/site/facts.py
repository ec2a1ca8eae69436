"""What a resource's page says, as plain data: sections of label/value rows and tables.

Only what the specs declare is shown, never data: no seed rows or file contents (a file source is
named by its path), no secret values (settings named like a secret are left out, URLs lose any
user:password@), and PII only as a flag on a column or feature.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from compiler.plan.redact import Secrets
from compiler.spec.ir import (
    Check,
    Dataset,
    Deployment,
    Environment,
    Model,
    QualityRule,
    Resource,
    Transform,
)
from compiler.spec.project import SpecProject
from compiler.spec.runners import transform_runner

_SECRET_KEY = re.compile(r"(^|_)(password|passwd|pwd|token|secret|api_?key|private_?key|credentials?)$", re.I)
_URL_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]*@")

Row = tuple[str, str]


@dataclass(frozen=True)
class Table:
    """A table of a page: a caption, column headings, rows of cells (text), and an optional note."""

    caption: str
    headings: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str | None = None
    # cells (row, column) that name a resource: rendered as links to its page
    links: Mapping[tuple[int, int], str] = field(default_factory=dict)
    # cells that are flags (PII): rendered as a badge
    flags: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True)
class Code:
    caption: str
    text: str
    language: str
    where: str | None = None


@dataclass(frozen=True)
class Section:
    title: str
    rows: tuple[Row, ...] = ()
    tables: tuple[Table, ...] = ()
    code: tuple[Code, ...] = ()
    # resource addresses listed under the rows, linked
    links: tuple[tuple[str, str], ...] = ()  # (label, address)
    todo: str | None = None  # a feature not available yet, said plainly on the page


@dataclass(frozen=True)
class ModelVersion:
    """What the environment's model registry said about a model (specops docs --registry ENV)."""

    environment: str
    registered_model: str
    alias: str
    version: str | None = None
    metrics: tuple[tuple[str, float], ...] = ()
    run_id: str | None = None
    problem: str | None = None  # why nothing could be read (unreachable, no such model or alias)


# column-level lineage of a transform: output column -> the (dataset address, column) pairs it is derived from
ColumnLineage = Mapping[str, tuple[tuple[str, str], ...]]
LineageSource = Callable[[SpecProject, Transform], ColumnLineage | None]


def no_column_lineage(_project: SpecProject, _transform: Transform) -> ColumnLineage | None:
    """A lineage source that knows nothing (transform pages then say so)."""
    return None


def sql_column_lineage(project: SpecProject, transform: Transform) -> ColumnLineage | None:
    """The default lineage source: the analysis of the transform's SQL made while checking the project
    (compiler.front.sql). Sources it could not follow (names starting with `?`) are left out."""
    analysis = project.lineage.sql.get(transform.name)
    if analysis is None or not analysis.ok:
        return None
    return {col.name: tuple((f"dataset.{d}", c) for d, c in col.sources if not d.startswith("?"))
            for col in analysis.columns}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def safe_setting(key: str, value: Any) -> str | None:
    """A setting as shown, or None when it must not be: a value under a secret-looking name."""
    if _SECRET_KEY.search(key):
        return None
    text = _text(value)
    return _URL_USERINFO.sub(r"\1", text)


def _rows(*pairs: tuple[str, Any]) -> tuple[Row, ...]:
    """Rows with a value; empty values are left out."""
    return tuple((label, _text(value)) for label, value in pairs if value not in (None, "", (), []))


# --- sections by kind --------------------------------------------------------------------------


def sections(project: SpecProject, res: Resource, registry: Mapping[str, ModelVersion] | None = None,
             lineage: LineageSource = sql_column_lineage, before: Mapping[str, Any] | None = None) -> list[Section]:
    """The kind-specific sections of a resource's page, in reading order; `before`, the baseline's snapshots of a
    plan's changed datasets, keeps hidden what was secret there (compiler.plan.redact.Secrets)."""
    secrets = Secrets(project, before)
    if isinstance(res, Dataset):
        return _dataset(project, res, secrets)
    if isinstance(res, QualityRule):
        return [_checks_section(secrets, res, title=f"Checks ({len(res.checks)})")]
    if isinstance(res, Transform):
        return _transform(project, res, lineage)
    if isinstance(res, Model):
        return _model(project, res, (registry or {}).get(res.name))
    if isinstance(res, Deployment):
        return _deployment(project, res)
    if isinstance(res, Environment):
        return _environment(project, res)
    return []


def _dataset(project: SpecProject, ds: Dataset, secrets: Secrets) -> list[Section]:
    src = ds.source
    if src is None:
        producer = project.producer(ds.name)
        origin = Section("Produced by", links=((producer.address, producer.address),) if producer else ())
    else:
        where = (f"{src.schema}.{src.table}" if src.schema else src.table) if src.type == "table" else (
            src.path if src.type in ("file", "dvc") else src.kafka.topic if src.kafka else src.uri)
        landing = f"{src.landing.schema}.{src.landing.table}" if src.landing else None
        version = (src.dvc.md5 or f"{src.dvc.repo} @ {src.dvc.rev}") if src.dvc else None
        origin = Section("Source", _rows(("type", src.type), ("location", where), ("version", version),
                                         ("format", src.format or (src.kafka.format if src.kafka else None)),
                                         ("delimiter", src.delimiter), ("landing table", landing)))
    fresh = ds.freshness
    pii = _pii(project, ds.name)
    rows = _rows(("classification", ds.classification), ("retention", ds.retention),
                 ("primary key", ds.primary_key), ("PII columns", len(pii) or None),
                 ("freshness", f"{fresh.column}: warn after {fresh.warn_after or '-'}, error after "
                               f"{fresh.error_after or '-'}" if fresh else None))
    cols = Table(
        f"Columns ({len(ds.columns)})", ("column", "type", "required", "unique", "PII", "accepted values",
                                         "description"),
        tuple((c.name, c.type, "yes" if c.required else "", "yes" if c.unique else "", pii.get(c.name, ""),
               _concealed(c.accepted_values) if secrets.hides(ds.name, (c.name,)) else _text(c.accepted_values),
               c.description or "") for c in ds.columns),
        flags=frozenset((i, 4) for i, c in enumerate(ds.columns) if c.name in pii),
    )
    out = [origin, Section("Contract", rows, (cols,))]
    rules = project.rules_for(ds.name)
    if rules:
        out.append(_checks_section(secrets, *rules, title=f"Quality checks ({sum(len(r.checks) for r in rules)})"))
    else:
        out.append(Section("Quality checks", todo="no quality rule checks this dataset"))
    return out


def _check_detail(check: Check) -> str:
    parts = []
    if check.columns:
        parts.append("columns " + ", ".join(check.columns))
    if check.values:
        parts.append("values " + _text(check.values))
    if check.min is not None:
        parts.append(f"min {_text(check.min)}")
    if check.max is not None:
        parts.append(f"max {_text(check.max)}")
    if check.to_dataset:
        parts.append(f"references {check.to_dataset}.{check.to_column}")
    if check.max_age:
        parts.append(f"max age {check.max_age}")
    if check.pattern:
        parts.append(f"pattern {check.pattern}")
    if check.expression:
        parts.append(check.expression)
    if check.threshold is not None:
        thr = check.threshold
        if thr.max_failures is not None:
            parts.append(f"tolerates {thr.max_failures} failing rows")
        if thr.max_failure_percent is not None:
            parts.append(f"tolerates {_text(thr.max_failure_percent)}% failing rows")
    return "; ".join(parts)


def _pii(project: SpecProject, dataset: str) -> dict[str, str]:
    """The dataset's PII columns, each with its flag: `PII` where the spec says so, `PII (from x.y)` where it is
    derived through SQL from a PII column (what validate's rules take as PII)."""
    ds = project.datasets.get(dataset)
    declared = set(ds.pii_columns) if ds else set()
    return {column: "PII" if column in declared else
            f"PII (from {', '.join(sorted({f'{d}.{c}' for d, c in origin}))})"
            for column, origin in project.lineage.pii.get(dataset, {}).items()} | {c: "PII" for c in declared}


def _concealed(values: object) -> str:
    return f"({len(values)} values, not shown: PII)" if isinstance(values, tuple | list) and values else ""


def _checks_section(secrets: Secrets, *rules: QualityRule, title: str | None = None) -> Section:
    rows, links, code = [], {}, []
    for rule in rules:
        for check in rule.checks:
            r = len(rows)
            hidden = secrets.hides(rule.dataset, (check.column or "", *check.columns),
                             f"{check.expression or ''} {check.sql or ''}")
            detail = "(values, bounds, pattern or SQL not shown: PII or restricted)" if hidden and (
                check.values or check.min is not None or check.max is not None or check.pattern
                or check.expression or check.sql) else _check_detail(check)
            rows.append((check.name, check.type, check.column or "", check.severity, detail,
                         rule.address, check.description or ""))
            links[(r, 5)] = rule.address
            if check.sql and not hidden:
                code.append(Code(f"{rule.name}: {check.name}", check.sql.strip(), "sql", str(check.loc)))
    table = Table("", ("check", "type", "column", "severity", "detail", "rule", "description"), tuple(rows),
                  links=links)
    rule_rows: tuple[Row, ...] = ()
    if len(rules) == 1:
        rule_rows = _rows(("dataset", f"dataset.{rules[0].dataset}"), ("default severity", rules[0].severity))
    return Section(title or "Checks", rule_rows, (table,), tuple(code))


def _transform(project: SpecProject, t: Transform, lineage: LineageSource) -> list[Section]:
    inc = t.incremental
    rows = _rows(("inputs", [f"dataset.{i}" for i in t.inputs]), ("output", f"dataset.{t.output}"),
                 ("materialization", t.materialization),
                 ("incremental",
                  f"unique key {', '.join(inc.unique_key)}, updated at {inc.updated_at}" if inc else None),
                 ("schedule", f"{t.schedule} ({transform_runner(t)})" if t.schedule else None),
                 ("SQL file", t.sql_file))
    where = str(t.sql_loc) if t.sql_loc else None
    out = [Section("Transform", rows, code=(Code("SQL", t.sql.rstrip(), "sql", where),))]
    out.append(_lineage_section(project, t, lineage(project, t)))
    return out


def _lineage_section(project: SpecProject, t: Transform, found: ColumnLineage | None) -> Section:
    if found is None:
        return Section("Column lineage", todo="the SQL of this transform could not be analysed, so its column "
                       "lineage is unknown (specops validate names what it could not follow)")
    rows, links = [], {}
    for column in sorted(found):
        sources = found[column]
        rows.append((column, ", ".join(f"{a.split('.', 1)[1]}.{c}" for a, c in sources)))
    pii = _pii(project, t.output)
    table = Table("", ("output column", "derived from"), tuple(rows), links=links,
                  flags=frozenset((i, 0) for i, r in enumerate(rows) if r[0] in pii))
    return Section("Column lineage", tables=(table,))


def _model(project: SpecProject, m: Model, live: ModelVersion | None) -> list[Section]:
    out = []
    tr = m.training
    if tr is not None:
        ds = project.datasets.get(tr.dataset)
        pii = _pii(project, tr.dataset)
        types = {c.name: c.type for c in ds.columns} if ds else {}
        rows = _rows(("dataset", f"dataset.{tr.dataset}"), ("target", tr.target), ("entrypoint", tr.entrypoint),
                     ("params", dict(tr.params) or None), ("test size", tr.test_size), ("random seed", tr.random_seed),
                     ("cpu", tr.cpu), ("memory", tr.memory), ("gpu", tr.gpu or None), ("schedule", tr.schedule))
        feats = Table(f"Features ({len(tr.features)})", ("feature", "type", "PII"),
                      tuple((f, types.get(f, ""), pii.get(f, "")) for f in tr.features),
                      flags=frozenset((i, 2) for i, f in enumerate(tr.features) if f in pii))
        out.append(Section("Training", rows, (feats,)))
    gates = Table("Metric gates", ("metric", "min", "max", "better"),
                  tuple((g.name, _text(g.min), _text(g.max), "higher" if g.greater_is_better else "lower")
                        for g in m.metrics))
    drift = m.drift
    out.append(Section("Validation and registry", _rows(
        ("task", m.task), ("framework", m.framework), ("registered model", m.registry_name), ("alias", m.alias),
        ("max regression", m.max_regression),
        ("drift", f"{drift.method} over {_text(drift.threshold)}" + (f", {drift.schedule}" if drift.schedule else "")
         if drift else None),
        ("PII features allowed", m.allow_pii_features or None)), (gates,)))
    if live is not None:
        out.append(_registry_section(live))
    deps = project.deployments_of(m.name)
    out.append(Section(f"Deployments ({len(deps)})", links=tuple((f"{d.address} ({d.environment})", d.address)
                                                               for d in deps)))
    return out


def _registry_section(live: ModelVersion) -> Section:
    title = f"Registry in environment {live.environment}"
    if live.problem:
        return Section(title, _rows(("registered model", live.registered_model), ("alias", live.alias),
                                    ("status", live.problem)))
    metrics = Table("Metrics of the alias holder's run", ("metric", "value"),
                    tuple((k, _text(v)) for k, v in live.metrics))
    return Section(title, _rows(("registered model", live.registered_model), ("alias", live.alias),
                                ("version", live.version), ("run", live.run_id)), (metrics,) if live.metrics else ())


def _deployment(project: SpecProject, d: Deployment) -> list[Section]:
    auto = d.autoscaling
    rows = _rows(("model", f"model.{d.model}"), ("environment", f"environment.{d.environment}"),
                 ("serves", f"version {d.version}" if d.version is not None else f"alias {d.alias}"),
                 ("runtime", d.runtime),
                 ("replicas", f"{auto.min_replicas}-{auto.max_replicas} (autoscaled at {auto.target_cpu_percent}% CPU)"
                  if auto else d.replicas),
                 ("canary", f"{d.canary_percent}% of traffic" if d.canary_percent else "none (all at once)"),
                 ("port", d.port), ("requests", dict(d.requests) or None), ("limits", dict(d.limits) or None),
                 ("allowed from namespaces", d.allow_from_namespaces),
                 ("alert: p95 latency (ms)", d.p95_latency_ms), ("alert: error rate", d.error_rate),
                 ("monitoring labels", dict(d.monitoring_labels) or None))
    env = project.environments.get(d.environment)
    if env is not None:
        rows += _rows(("namespace", env.namespace), ("approval required", env.required_approval or None))
    return [Section("Serving", rows)]


def _environment(project: SpecProject, env: Environment) -> list[Section]:
    settings = [(f"warehouse {k}", shown) for k, v in env.warehouse.settings
                if v is not None and (shown := safe_setting(k, v)) is not None]
    rows = _rows(("warehouse", env.warehouse.type), *settings,
                 ("MLflow tracking", safe_setting("tracking_uri", env.tracking_uri)),
                 ("namespace", env.namespace), ("kube context", env.context),
                 ("approval required", env.required_approval), ("PII allowed", env.allow_pii))
    deps = sorted((d for d in project.deployments.values() if d.environment == env.name), key=lambda d: d.address)
    return [Section("Environment", rows),
            Section(f"Deployments ({len(deps)})", links=tuple((d.address, d.address) for d in deps))]
