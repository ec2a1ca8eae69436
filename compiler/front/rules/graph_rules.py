"""Stage 4: the semantic rules of SPEC.md, as an ordered tuple of pure functions.

Each rule reads a Context (the IR plus the documents it came from, for precise locations) and
yields Diagnostics. `check_references` runs first; later rules may assume references resolve.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from compiler.front.documents import YamlPath
from compiler.front.rules.context import Context
from compiler.front.sql.semicolon import semicolon
from compiler.spec.dbt_habits import jinja_hint
from compiler.spec.diagnostics import Diagnostic, did_you_mean
from compiler.spec.ir import (
    Dataset,
    Deployment,
    Loc,
    Model,
    Resource,
    Transform,
)
from compiler.spec.lineage import Lineage
from compiler.spec.sqltext import DATASET_RE, INPUT_RE, inputs_used, line_col, stray_constructs, stray_jinja


def _missing(ctx: Context, res: Resource, path: YamlPath, kind: str, name: str, what: str) -> Iterator[Diagnostic]:
    """An unresolved-reference error, unless the target exists but failed its own schema check."""
    if name in ctx.by_kind()[kind] or f"{kind}.{name}" in ctx.invalid:
        return
    pool = ctx.by_kind()[kind]
    hint = did_you_mean(name, pool)
    if hint is None:
        other = [k for k, group in ctx.by_kind().items() if name in group and k != kind]
        if other:
            hint = f"'{name}' is a {other[0].replace('_', ' ')}, not a {kind.replace('_', ' ')}"
    if hint is None and pool:
        hint = f"known {kind.replace('_', ' ')}s: {', '.join(sorted(pool)[:8])}"
    yield ctx.at(res, path, "unresolved-reference",
                 f"{what} '{name}' is not a defined {kind.replace('_', ' ')}", hint)


def check_references(ctx: Context) -> Iterator[Diagnostic]:
    """Every name points at a resource of the right kind."""
    if ctx.project.default_environment:
        yield from _missing(ctx, ctx.project, ("spec", "default_environment"), "environment",
                            ctx.project.default_environment, "default_environment")
    for t in ctx.transforms.values():
        for i, name in enumerate(t.inputs):
            yield from _missing(ctx, t, ("spec", "inputs", i), "dataset", name, "input")
        yield from _missing(ctx, t, ("spec", "output"), "dataset", t.output, "output")
    for r in ctx.rules.values():
        yield from _missing(ctx, r, ("spec", "dataset"), "dataset", r.dataset, "dataset")
        for i, c in enumerate(r.checks):
            if c.to_dataset:
                yield from _missing(ctx, r, ("spec", "checks", i, "to"), "dataset", c.to_dataset,
                                    "relationship target")
    for m in ctx.models.values():
        assert m.training is not None
        yield from _missing(ctx, m, ("spec", "training", "dataset"), "dataset", m.training.dataset,
                            "training dataset")
    for d in ctx.deployments.values():
        yield from _missing(ctx, d, ("spec", "model"), "model", d.model, "model")
        yield from _missing(ctx, d, ("spec", "environment"), "environment", d.environment, "environment")


def check_producers(ctx: Context) -> Iterator[Diagnostic]:
    """A produced dataset has exactly one producing transform; an external one has none."""
    producers: dict[str, list[Transform]] = {}
    for t in ctx.transforms.values():
        if t.output in ctx.datasets:
            producers.setdefault(t.output, []).append(t)
    for name, ds in ctx.datasets.items():
        made_by = producers.get(name, [])
        if ds.external and made_by:
            source = ctx.related(ds, ("spec", "source"), f"dataset.{name} has its source here")
            for t in made_by:
                yield ctx.at(t, ("spec", "output"), "external-output",
                             f"output '{name}' is an external dataset (it has a source); a transform cannot produce "
                             "it", f"remove spec.source from dataset.{name}, or write to another dataset",
                             related=(source,))
        elif not ds.external and not made_by and name not in ctx.claimed_outputs:
            yield ctx.at(ds, ("metadata", "name"), "no-producer",
                         f"dataset '{name}' has no source and no transform produces it",
                         "add spec.source for an external dataset, or a Transform with output: " + name)
        if len(made_by) > 1:  # reported at each producer: any of them may be the one to change
            for t in made_by:
                others = [o for o in made_by if o is not t]
                yield ctx.at(t, ("spec", "output"), "two-producers",
                             f"dataset '{name}' is also produced by {', '.join(o.address for o in others)}",
                             "each produced dataset has exactly one producing transform",
                             related=tuple(ctx.related(o, ("spec", "output"), "also produced here") for o in others))


def check_cycles(ctx: Context) -> Iterator[Diagnostic]:
    for cycle in ctx.graph.cycles():
        first = next((a for a in cycle if a.startswith("transform.")), cycle[0])
        res = _resource(ctx, first)
        if res is None:
            continue
        shown = " -> ".join([*cycle, cycle[0]])
        path: YamlPath = ("spec",)
        if isinstance(res, Transform):  # point at the input that closes the loop
            before = cycle[cycle.index(first) - 1].partition(".")[2]
            if before in res.inputs:
                path = ("spec", "inputs", res.inputs.index(before))
        yield ctx.at(res, path, "cycle", f"dependency cycle: {shown}",
                     "a dataset cannot depend on itself; break the loop")


def check_sql(ctx: Context) -> Iterator[Diagnostic]:
    """`{{ input('x') }}` names declared inputs, every input is used, no other templating."""
    tables = _SourceTables(ctx)
    for t in ctx.transforms.values():
        loc = t.sql_loc
        assert loc is not None
        if not t.sql.strip():
            continue  # an unreadable or empty SQL text was reported when the IR was built
        used = inputs_used(t.sql)
        names = {p.name for p in used}
        for p in used:
            if p.name not in t.inputs:
                line, col = _sql_position(loc, t.sql, p.offset)
                hint = did_you_mean(p.name, t.inputs) or f"declared inputs: {', '.join(t.inputs)}"
                yield Diagnostic("undeclared-input", f"input('{p.name}') is not among the transform's inputs",
                                 loc.file, line, col, t.address, hint)
        for i, name in enumerate(t.inputs):
            if name not in names and name in ctx.datasets:  # an unresolved input is reported already
                yield ctx.at(t, ("spec", "inputs", i), "unused-input",
                             f"input '{name}' is declared but the SQL never reads {{{{ input('{name}') }}}}",
                             "use it in the SQL or remove it from inputs")
        for stray, text in stray_constructs(t.sql, INPUT_RE):  # every one: a file with three is fixed in one round
            line, col = _sql_position(loc, t.sql, stray)
            yield Diagnostic("sql-template", "only {{ input('name') }} may be templated in transform SQL",
                             loc.file, line, col, t.address, jinja_hint(text, t.inputs, tables.get, ctx.datasets))
        if (found := semicolon(t.sql, ctx.lineage.dialect)) is not None:
            line, col = _sql_position(loc, t.sql, found.offset)
            if found.final:
                yield Diagnostic("sql-semicolon", "the SQL ends with ';', which breaks the dbt model it becomes",
                                 loc.file, line, col, t.address, "remove the final ';'")
            else:
                yield Diagnostic("sql-semicolon", "the SQL holds more than one statement (';' ends the first): a "
                                 "transform is one query, the dbt model it becomes", loc.file, line, col, t.address,
                                 "keep one SELECT (earlier steps can be CTEs: with a as (...) select ...)")
    for r in ctx.rules.values():
        for i, c in enumerate(r.checks):
            if c.sql is not None:
                if stray_jinja(c.sql, DATASET_RE) is not None:
                    yield ctx.at(r, ("spec", "checks", i, "sql"), "sql-template",
                                 "only {{ dataset }} may be templated in a sql check")
                if not DATASET_RE.search(c.sql):
                    yield ctx.at(r, ("spec", "checks", i, "sql"), "sql-template",
                                 "a sql check must read {{ dataset }}", "write: select * from {{ dataset }} where ...")
                found = semicolon(DATASET_RE.sub(lambda m: "x" * len(m.group(0)), c.sql), ctx.lineage.dialect)
                if found is not None and found.final:
                    yield ctx.at(r, ("spec", "checks", i, "sql"), "sql-semicolon",
                                 "the check's SQL ends with ';', which breaks the dbt test it becomes (dbt runs it "
                                 "as a subquery)", "remove the final ';'")
                elif found is not None:
                    yield ctx.at(r, ("spec", "checks", i, "sql"), "sql-semicolon",
                                 "the check's SQL holds more than one statement (';' ends the first): the dbt test "
                                 "it becomes runs one query", "keep one SELECT of the failing rows")


class _SourceTables:
    """The dataset whose source is a (schema, table), for the hint on a dbt `source()`; built on first use."""

    def __init__(self, ctx: Context):
        self._ctx = ctx
        self._found: dict[tuple[str, str], str] | None = None

    def get(self, schema: str, table: str) -> str | None:
        if self._found is None:
            self._found = {}
            for name in sorted(self._ctx.datasets):
                src = self._ctx.datasets[name].source
                if src is not None and src.type == "table" and src.schema and src.table:
                    self._found.setdefault((src.schema.lower(), src.table.lower()), name)
        return self._found.get((schema.lower(), table.lower()))


def _sql_position(loc: Loc, sql: str, offset: int) -> tuple[int, int]:
    """File line and column of `offset` in a transform's SQL that starts at `loc`."""
    line, col = line_col(sql, offset)
    return loc.line + line, loc.col + col - 1


def _column_problem(ds: Dataset | None, column: str) -> str | None:
    if ds is None or ds.column(column) is not None:
        return None
    return did_you_mean(column, ds.column_names) or f"columns of dataset.{ds.name}: {', '.join(ds.column_names)}"


def check_columns(ctx: Context) -> Iterator[Diagnostic]:
    """Columns named by keys, checks, features, targets and incremental settings exist."""

    def missing(res: Resource, path: YamlPath, ds: Dataset | None, column: str) -> Iterator[Diagnostic]:
        if ds is not None and ds.column(column) is None:
            yield ctx.at(res, path, "unknown-column", f"column '{column}' is not a column of dataset.{ds.name}",
                         _column_problem(ds, column))

    for ds in ctx.datasets.values():
        for i, col in enumerate(ds.primary_key):
            yield from missing(ds, ("spec", "primary_key", i), ds, col)
        if ds.freshness:
            yield from missing(ds, ("spec", "freshness", "column"), ds, ds.freshness.column)
        seen: set[str] = set()
        for i, col in enumerate(ds.columns):
            if col.name in seen:
                yield ctx.at(ds, ("spec", "columns", i, "name"), "duplicate-column",
                             f"column '{col.name}' is declared twice")
            seen.add(col.name)
    for r in ctx.rules.values():
        ds = ctx.datasets.get(r.dataset)
        for i, c in enumerate(r.checks):
            base = ("spec", "checks", i)
            if c.column:
                yield from missing(r, (*base, "column"), ds, c.column)
            for j, col in enumerate(c.columns):
                yield from missing(r, (*base, "columns", j), ds, col)
            if c.to_dataset and c.to_dataset in ctx.datasets and c.to_column:
                yield from missing(r, (*base, "to"), ctx.datasets[c.to_dataset], c.to_column)
    for t in ctx.transforms.values():
        out = ctx.datasets.get(t.output)
        if t.incremental and out:
            for col in t.incremental.unique_key:
                yield from missing(t, ("spec", "incremental", "unique_key"), out, col)
            yield from missing(t, ("spec", "incremental", "updated_at"), out, t.incremental.updated_at)
        if t.incremental and t.materialization != "incremental":
            yield ctx.at(t, ("spec", "incremental"), "incremental-unused",
                         f"incremental settings are given but materialization is '{t.materialization}': they are "
                         "not used", "set materialization: incremental, or remove spec.incremental", key=True,
                         severity="warning")  # harmless (SPEC's Transform example has both)
    for m in ctx.models.values():
        tr = m.training
        assert tr is not None
        ds = ctx.datasets.get(tr.dataset)
        for i, f in enumerate(tr.features):
            yield from missing(m, ("spec", "training", "features", i), ds, f)
        yield from missing(m, ("spec", "training", "target"), ds, tr.target)
        if tr.split is not None and tr.split.column:
            yield from missing(m, ("spec", "training", "split", "column"), ds, tr.split.column)
            if tr.split.column == tr.target:
                yield ctx.at(m, ("spec", "training", "split", "column"), "split-on-target",
                             f"the split column '{tr.split.column}' is the target", "split on a time or group column")
        if m.drift is not None and m.drift.window is not None:
            yield from missing(m, ("spec", "monitoring", "drift", "window", "column"), ds, m.drift.window.column)
        if tr.target in tr.features:
            i = tr.features.index(tr.target)
            yield ctx.at(m, ("spec", "training", "features", i), "target-in-features",
                         f"the target '{tr.target}' is also listed among the features",
                         "a model cannot learn from its own label: remove it from features")


def check_ml_policy(ctx: Context) -> Iterator[Diagnostic]:
    """PII features need consent; aliases are not reserved (the schema keeps metric gates to the task)."""
    for m in ctx.models.values():
        tr = m.training
        assert tr is not None
        ds = ctx.datasets.get(tr.dataset)
        if ds is not None and not m.allow_pii_features:
            for i, f in enumerate(tr.features):
                col = ds.column(f)
                if col is not None and (col.pii or ctx.lineage.is_pii(ds.name, f)):
                    yield ctx.at(m, ("spec", "training", "features", i), "pii-feature",
                                 f"feature '{f}' is a PII column of dataset.{ds.name}{_derived(ctx, ds.name, f)}",
                                 "drop the feature, or set spec.governance.allow_pii_features: true (or mark the "
                                 "column masked: true if its SQL masks or hashes the PII)")
        if re.fullmatch(r"v\d+", m.alias):
            yield ctx.at(m, ("spec", "registry", "alias"), "reserved-alias",
                         f"alias '{m.alias}' is reserved by MLflow for version numbers", "use e.g. champion")


def _derived(ctx: Context, dataset: str, column: str) -> str:
    origins = [o for o in ctx.lineage.pii_origin(dataset, column) if o != (dataset, column)]
    return f" (derived from {', '.join(f'{d}.{c}' for d, c in origins)})" if origins else ""


def pii_features(model: Model, datasets: dict[str, Dataset], lineage: Lineage | None = None) -> list[str]:
    """The features of `model` that are PII columns of its training dataset (declared, or derived by lineage)."""
    assert model.training is not None
    ds = datasets.get(model.training.dataset)
    if ds is None:
        return []
    return [f for f in model.training.features if (c := ds.column(f)) is not None
            and (c.pii or (lineage is not None and lineage.is_pii(ds.name, f)))]


def check_deployments(ctx: Context) -> Iterator[Diagnostic]:
    """Replicas, namespaces and PII governance of deployments."""
    for d in ctx.deployments.values():
        env = ctx.environments.get(d.environment)
        model = ctx.models.get(d.model)
        if env is None:
            continue
        if not env.is_dev:
            if d.autoscaling is None and d.replicas < 2:
                yield ctx.at(d, ("spec", "replicas"), "replicas",
                             f"replicas is {d.replicas} in environment '{env.name}'; at least 2 are required "
                             "outside dev", "set replicas: 2 or more (or autoscaling.min_replicas)")
            if d.autoscaling is not None and d.autoscaling.min_replicas < 2:
                yield ctx.at(d, ("spec", "autoscaling", "min_replicas"), "replicas",
                             f"autoscaling.min_replicas is {d.autoscaling.min_replicas} in environment "
                             f"'{env.name}'; at least 2 are required outside dev")
        if d.autoscaling is not None and d.autoscaling.max_replicas < d.autoscaling.min_replicas:
            yield ctx.at(d, ("spec", "autoscaling", "max_replicas"), "autoscaling",
                         "autoscaling.max_replicas is below min_replicas")
        spec = ctx.docs[d.address].data.get("spec") or {}
        if d.runtime != "mlflow" and isinstance(spec, dict) and "port" in spec:
            yield ctx.at(d, ("spec", "port"), "unused-setting",
                         f"port is the container port of runtime mlflow's model server; runtime {d.runtime} serves "
                         "on its own server's port, so this port is not used",
                         "remove port (or use runtime: mlflow)", key=True, severity="warning")
        yield from _ignored_by_runtime(ctx, d, spec if isinstance(spec, dict) else {})
        if env.namespace is None:
            yield ctx.at(d, ("spec", "environment"), "no-namespace",
                         f"environment '{env.name}' has no kubernetes.namespace, which a deployment needs",
                         f"set spec.kubernetes.namespace in environment.{env.name}")
        pii = pii_features(model, ctx.datasets, ctx.lineage) if model is not None else []
        if pii and not env.allow_pii:
            yield ctx.at(d, ("spec", "environment"), "pii-deployment",
                         f"model '{model.name}' is trained on PII features ({', '.join(pii)}) and environment "
                         f"'{env.name}' does not allow PII",
                         f"set protection.allow_pii: true on environment.{env.name} if that is intended")


def _ignored_by_runtime(ctx: Context, d: Deployment, spec: dict[str, Any]) -> Iterator[Diagnostic]:
    """Settings the runtime's serving objects cannot carry, so the spec promises what will not happen: warnings."""
    if d.runtime in ("kserve", "triton") and d.canary_percent is not None:
        # KServe splits traffic by canaryTrafficPercent in Serverless (Knative) mode only; specops emits Standard
        # mode, where KServe 0.19 (the CRD specops targets) ignores the field: a rollout replaces the model at once
        yield ctx.at(d, ("spec", "rollout", "canary_percent"), "unused-setting",
                     f"runtime {d.runtime} serves in KServe's Standard mode, where KServe ignores a canary's "
                     "traffic share (canaryTrafficPercent works in Serverless mode only): a rollout sends all "
                     "traffic to the new version at once",
                     "for a canary use runtime mlflow (a replica-ratio canary) or seldon (an Experiment); or remove "
                     "rollout", key=True, severity="warning")
    if d.runtime == "seldon":
        # a Seldon Model states a memory requirement and replica counts, no CPU or limits
        resources = spec.get("resources") if isinstance(spec.get("resources"), dict) else {}
        unused = [(("spec", "resources", "requests", "cpu"), "resources.requests.cpu")] if "cpu" in (
            resources.get("requests") or {}) else []
        if resources.get("limits"):
            unused.append((("spec", "resources", "limits"), "resources.limits"))
        auto = spec.get("autoscaling") if isinstance(spec.get("autoscaling"), dict) else {}
        if "target_cpu_percent" in auto:
            unused.append((("spec", "autoscaling", "target_cpu_percent"), "autoscaling.target_cpu_percent"))
        for path, name in unused:
            yield ctx.at(d, path, "unused-setting",
                         f"runtime seldon does not use {name}: a Seldon Model states only a memory requirement "
                         "(resources.requests.memory) and its replica counts",
                         f"remove {name} (or use runtime mlflow or kserve)", key=True, severity="warning")


def _resource(ctx: Context, address: str) -> Resource | None:
    kind, _, name = address.partition(".")
    return ctx.by_kind().get(kind, {}).get(name)


def check_gx_translation(ctx: Context) -> Iterator[Diagnostic]:
    """A regex check with a `max_failures` threshold has no Great Expectations equivalent (compiler.emit.gx.checks):
    its suite leaves it out, so GX alone would not run it."""
    for rule in ctx.rules.values():
        for i, check in enumerate(rule.checks):
            thr = check.threshold
            if check.type == "regex" and thr is not None and thr.max_failures is not None:
                yield ctx.at(rule, ("spec", "checks", i, "threshold"), "gx-untranslated",
                             f"check {check.name}: a regex check with max_failures has no Great Expectations "
                             "equivalent (GX's regex expectation takes a share, `mostly`, not a count, and a query "
                             "would need each warehouse's regex function): its GX suite leaves it out "
                             "(meta.specops.untranslated); dbt runs it",
                             "use max_failure_percent (GX's mostly), or accept that only dbt runs it "
                             "(docs/integrations.md)", key=True, severity="warning")
