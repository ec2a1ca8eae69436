"""Semantic rules about values: schedules, column types checks apply to, regexes, metric bounds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from compiler.front.rules.context import Context
from compiler.spec.cron import cron_problem
from compiler.spec.diagnostics import Diagnostic
from compiler.spec.ir import Environment, Model
from compiler.spec.regex_dialects import ENGINES, engine_problems
from compiler.spec.warehouse_types import WAREHOUSE_NAMES

# reserved in DuckDB or Postgres (and in the warehouses below): column names go into generated SQL unquoted
_RESERVED_WORDS = (
    "all analyse analyze and any array as asc asymmetric between both by case cast check collate column constraint "
    "create cross current_catalog current_date current_role current_time current_timestamp current_user default "
    "deferrable desc distinct do else end except false fetch for foreign from full grant group having ilike in "
    "initially inner intersect into is isnull join lateral leading left like limit localtime localtimestamp natural "
    "not notnull null offset on only or order outer overlaps placing primary qualify references returning right "
    "row rows sample select session_user similar some symmetric table tablesample then to trailing true union "
    "unique user using variadic when where window with "
)
RESERVED = frozenset(_RESERVED_WORDS.split())
# the other warehouses' own reserved words (their documentation's lists), refused where an environment uses them
_SNOWFLAKE_WORDS = (
        "account all alter and any as between by case cast check column connect connection constraint create cross "
        "current current_date current_time current_timestamp current_user database delete distinct drop else exists "
        "false following for from full grant group gscluster having ilike in increment inner insert intersect into "
        "is issue join lateral left like localtime localtimestamp minus natural not null of on or order organization "
        "qualify regexp revoke right rlike row rows sample schema select set some start table tablesample then to "
        "trigger true try_cast union unique update using values view when whenever where window with")
_BIGQUERY_WORDS = (
        "all and any array as asc assert_rows_modified at between by case cast collate contains create cross cube "
        "current default define desc distinct else end enum escape except exclude exists extract false fetch "
        "following for from full group grouping groups hash having if ignore in inner intersect interval into is join "
        "lateral left like limit lookup merge natural new no not null nulls of on or order outer over partition "
        "preceding proto qualify range recursive respect right rollup rows select set some struct tablesample then "
        "to treat true unbounded union unnest using when where window with within")
WAREHOUSE_RESERVED = {"snowflake": frozenset(_SNOWFLAKE_WORDS.split()), "bigquery": frozenset(_BIGQUERY_WORDS.split())}
_NUMERIC = ("integer", "bigint", "double")
_TIME = ("date", "timestamp")
# checks of the whole dataset: at most one failing row, so a threshold (failing rows tolerated) means nothing
_ONE_ROW = {"row_count": "its number of rows", "freshness": "its newest value"}
_UNIT_INTERVAL = {"accuracy", "precision", "recall", "f1", "roc_auc"}


def _family(spec_type: str) -> str:
    if spec_type in _NUMERIC or spec_type.startswith("decimal"):
        return "number"
    if spec_type in _TIME:
        return "time"
    return spec_type


def _minutes(duration: str) -> int:
    return int(duration[:-1]) * {"m": 1, "h": 60, "d": 1440}[duration[-1]]


def check_schedules(ctx: Context) -> Iterator[Diagnostic]:
    """Cron fields are in range (they become CronJobs and GitHub schedules)."""
    for t in ctx.transforms.values():
        if t.schedule and (why := cron_problem(t.schedule)):
            yield ctx.at(t, ("spec", "schedule"), "bad-cron", f"schedule '{t.schedule}': {why}")
    for m in ctx.models.values():
        assert m.training is not None
        if m.training.schedule and (why := cron_problem(m.training.schedule)):
            yield ctx.at(m, ("spec", "training", "schedule"), "bad-cron", f"schedule '{m.training.schedule}': {why}")
        if m.drift and m.drift.schedule and (why := cron_problem(m.drift.schedule)):
            yield ctx.at(m, ("spec", "monitoring", "drift", "schedule"), "bad-cron",
                         f"schedule '{m.drift.schedule}': {why}")


def _wrong_type(ctx: Context, res: Any, path: tuple, what: str, column: str, dataset: Any,
                allowed: tuple[str, ...]) -> Iterator[Diagnostic]:
    col = dataset.column(column) if dataset is not None else None
    if col is not None and _family(col.type) not in allowed:
        kinds = " or ".join(sorted(set(allowed)))
        yield ctx.at(res, path, "column-type", f"{what} needs a {kinds} column; '{column}' of dataset.{dataset.name} "
                     f"is {col.type}")


def check_canary_share(ctx: Context) -> Iterator[Diagnostic]:
    """A replica-ratio canary (runtime mlflow) gets its share of the pods: say when that is far from the spec's."""
    for d in ctx.deployments.values():
        if d.runtime != "mlflow" or d.canary_percent is None:
            continue
        stable, candidate = d.canary_pods()
        share = round(100 * candidate / (stable + candidate))
        if abs(share - d.canary_percent) > 10:
            yield ctx.at(d, ("spec", "rollout", "canary_percent"), "canary-share",
                         f"the canary gets about {share}% of the requests ({candidate} of {stable + candidate} pods), "
                         f"not {d.canary_percent}%: with runtime mlflow its share is its share of the pods",
                         "raise replicas (or autoscaling.min_replicas) for a closer share, or use runtime kserve",
                         severity="warning")


def check_column_types(ctx: Context) -> Iterator[Diagnostic]:
    """Checks, freshness and incremental settings make sense for the columns' types."""
    for ds in ctx.datasets.values():
        if ds.freshness:
            yield from _wrong_type(ctx, ds, ("spec", "freshness", "column"), "freshness", ds.freshness.column, ds,
                                   ("time",))
            f = ds.freshness
            if f.warn_after and f.error_after and _minutes(f.warn_after) > _minutes(f.error_after):
                yield ctx.at(ds, ("spec", "freshness", "warn_after"), "freshness-order",
                             f"warn_after {f.warn_after} is longer than error_after {f.error_after}",
                             "warn first: warn_after should be the shorter duration")
        for i, col in enumerate(ds.columns):
            if col.pii and col.masked:
                yield ctx.at(ds, ("spec", "columns", i, "masked"), "pii-and-masked",
                             f"column '{col.name}' is both pii and masked: it is treated as PII",
                             "masked marks a column derived from PII that no longer holds it: keep one of the two",
                             key=True, severity="warning")
            m = re.fullmatch(r"decimal\((\d+),(\d+)\)", col.type) if col.type.startswith("decimal") else None
            if m and (int(m.group(1)) > 38 or int(m.group(2)) > int(m.group(1))):
                yield ctx.at(ds, ("spec", "columns", i, "type"), "column-type",
                             f"{col.type}: precision is at most 38 and the scale at most the precision")
            if col.accepted_values:
                yield from _accepted(ctx, ds, ("spec", "columns", i, "accepted_values"), col.type, col.accepted_values)
    for r in ctx.rules.values():
        ds = ctx.datasets.get(r.dataset)
        for i, c in enumerate(r.checks):
            base = ("spec", "checks", i)
            if c.threshold is not None and c.type in _ONE_ROW:
                yield ctx.at(r, (*base, "threshold"), "check-threshold",
                             f"a {c.type} check has no threshold: it tests the whole dataset ({_ONE_ROW[c.type]}), "
                             "so there are no failing rows to tolerate",
                             "remove the threshold (loosen the check's own bound instead, or set severity: warn)",
                             key=True)
            if c.type == "freshness" and c.column:
                yield from _wrong_type(ctx, r, (*base, "column"), "a freshness check", c.column, ds, ("time",))
            elif c.type == "range" and c.column:
                # its bounds are numbers: on a date or timestamp the warehouse cannot compare them (use freshness,
                # or an expression check, for time)
                yield from _wrong_type(ctx, r, (*base, "column"), "a range check", c.column, ds, ("number",))
                if c.min is not None and c.max is not None and c.min > c.max:
                    yield ctx.at(r, (*base, "min"), "bad-range", f"min {c.min} is greater than max {c.max}")
            elif c.type == "regex" and c.column:
                yield from _wrong_type(ctx, r, (*base, "column"), "a regex check", c.column, ds, ("string",))
                try:
                    re.compile(c.pattern or "")
                except re.error as exc:
                    yield ctx.at(r, (*base, "pattern"), "bad-regex",
                                 f"pattern is not a valid regular expression: {exc}")
                else:
                    yield from _regex_dialects(ctx, r, (*base, "pattern"), c.pattern or "")
            elif c.type == "row_count" and c.min is not None and c.max is not None and c.min > c.max:
                yield ctx.at(r, (*base, "min"), "bad-range", f"min {c.min} is greater than max {c.max}")
            elif c.type == "accepted_values" and c.column and ds is not None and (col := ds.column(c.column)):
                yield from _accepted(ctx, r, (*base, "values"), col.type, c.values)
            elif c.type == "relationship" and c.column and c.to_dataset and c.to_column and ds is not None:
                here, there = ds.column(c.column), ctx.datasets.get(c.to_dataset)
                other = there.column(c.to_column) if there else None
                if here and other and _family(here.type) != _family(other.type):
                    yield ctx.at(r, (*base, "to"), "column-type",
                                 f"'{c.column}' is {here.type} but {c.to_dataset}.{c.to_column} is {other.type}",
                                 "a relationship joins columns of the same kind of type")
    for m in ctx.models.values():
        tr = m.training
        ds = ctx.datasets.get(tr.dataset) if tr is not None else None
        if tr is not None and tr.split is not None and tr.split.strategy == "time" and tr.split.column:
            yield from _wrong_type(ctx, m, ("spec", "training", "split", "column"), "a time split",
                                   tr.split.column, ds, ("time",))
        if m.drift is not None and m.drift.window is not None:
            yield from _wrong_type(ctx, m, ("spec", "monitoring", "drift", "window", "column"), "a drift window",
                                   m.drift.window.column, ds, ("time",))
    for t in ctx.transforms.values():
        out = ctx.datasets.get(t.output)
        if t.incremental and out is not None:
            yield from _wrong_type(ctx, t, ("spec", "incremental", "updated_at"), "incremental.updated_at",
                                   t.incremental.updated_at, out, ("time", "number"))


def _regex_dialects(ctx: Context, rule: Any, path: tuple, pattern: str) -> Iterator[Diagnostic]:
    """What the environments' warehouses reject or read otherwise in a pattern Python's `re` compiles: the dbt
    test runs it in each warehouse's engine (compiler.spec.regex_dialects)."""
    # every environment builds every dataset (one dbt project, a target per environment); none: dbt's DuckDB
    warehouses = sorted({e.warehouse.type for e in ctx.environments.values()}) or ["duckdb"]
    found: dict[tuple[str, bool, str | None], tuple[Any, list[str]]] = {}
    for w in warehouses:
        for p in engine_problems(pattern, ENGINES[w]):
            found.setdefault((p.construct.kind, p.rejects, p.reads_as), (p, []))[1].append(WAREHOUSE_NAMES[w])
    for p, names in sorted(found.values(), key=lambda f: f[0].construct.offset):
        where = " and ".join(names) + (" (environments' warehouses)" if len(names) > 1 else
                                       " (an environment's warehouse)")
        at = f"'{p.construct.text}' at character {p.construct.offset + 1}"
        # Both are errors: a construct the engine rejects fails every run of the test, and one it reads otherwise
        # (\b as a backspace on Postgres) is worse, a test that passes or fails other rows than the spec says,
        # silently; a warning would let such a check ship.
        if p.rejects:
            message = f"{where} rejects {p.what} ({at}): the check's test would end in an error there"
        else:
            message = (f"{where} reads {at} as {p.reads_as}, not as {p.what}: the check would test other values "
                       "than the pattern says")
        yield ctx.at(rule, path, "regex-dialect", message, p.hint)


def _accepted(ctx: Context, res: Any, path: tuple, col_type: str, values: tuple[Any, ...]) -> Iterator[Diagnostic]:
    family = _family(col_type)
    for j, v in enumerate(values):
        ok = (isinstance(v, str) if family in ("string", "time", "json") else
              isinstance(v, bool) if family == "boolean" else
              isinstance(v, (int, float)) and not isinstance(v, bool))
        if not ok:
            hint = f'quote it: "{v}"' if family == "string" else None
            yield ctx.at(res, (*path, j), "value-type", f"accepted value {v!r} does not fit a {col_type} column", hint)
        elif family == "time" and not _iso_time(col_type, v):
            # the warehouse casts the literal to the column's type: one it cannot read fails the test on every run
            shape = "a date (YYYY-MM-DD)" if col_type == "date" else "a timestamp (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]])"
            if re.fullmatch(_ISO_DATE if col_type == "date" else _ISO_TIMESTAMP, v):
                shape = "a real " + ("date" if col_type == "date" else "time")  # 2024-02-30: the form, no such day
            yield ctx.at(res, (*path, j), "value-type",
                         f"accepted value {v!r} is not {shape}: the warehouse cannot compare a {col_type} column "
                         "with it", "write an ISO date" + ("" if col_type == "date" else " or time, without a zone")
                         + ": " + ("2026-12-05" if col_type == "date" else "2026-12-05 06:44:39"))


_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_ISO_TIMESTAMP = _ISO_DATE + r"(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?"


def _iso_time(col_type: str, value: str) -> bool:
    """Whether every warehouse reads `value` as a date (or a timestamp without zone) of that type: ISO 8601, in
    range (no month 13), no offset (a time without zone would drop it)."""
    from datetime import date, datetime

    if not re.fullmatch(_ISO_DATE if col_type == "date" else _ISO_TIMESTAMP, value):
        return False
    parse = date.fromisoformat if col_type == "date" else datetime.fromisoformat
    try:
        parse(value)
    except ValueError:
        return False
    return True


def check_names(ctx: Context) -> Iterator[Diagnostic]:
    """Column names that generated SQL cannot use, and check names that would collide as dbt tests."""
    used = sorted({e.warehouse.type for e in ctx.environments.values()} & set(WAREHOUSE_RESERVED))
    for ds in ctx.datasets.values():
        for i, col in enumerate(ds.columns):
            where = "" if col.name in RESERVED else next((f" in {WAREHOUSE_NAMES[w]} (an environment's warehouse)"
                                                          for w in used if col.name in WAREHOUSE_RESERVED[w]), None)
            if where is not None:
                yield ctx.at(ds, ("spec", "columns", i, "name"), "reserved-word",
                             f"column name '{col.name}' is an SQL reserved word{where}", "rename it, e.g. "
                             f"{col.name}_value or {ds.name}_{col.name}")
    seen: dict[str, tuple[Any, int]] = {}
    for r in ctx.rules.values():
        for i, c in enumerate(r.checks):
            first = seen.get(c.name)
            if first is None:
                seen[c.name] = (r, i)
                continue
            other, j = first
            written = ctx.docs[r.address].data["spec"]["checks"][i]
            where = ("spec", "checks", i, "name" if "name" in written else "type")
            yield ctx.at(r, where, "duplicate-check",
                         f"check name '{c.name}' is already used by {other.address} (check {j + 1})",
                         "check names become dbt test names, which are unique across the project")


def check_registry_names(ctx: Context) -> Iterator[Diagnostic]:
    """One Model per MLflow registered model: two would share its versions (a version of one reused as the other's,
    the newest trained from one evaluated as the other's), its `challenger` alias, and with one alias the champion,
    while the state records each as its own."""
    first: dict[str, Model] = {}
    for m in sorted(ctx.models.values(), key=lambda m: (ctx.docs[m.address].file, ctx.docs[m.address].locate(()))):
        other = first.setdefault(m.registry_name, m)
        if other is m:
            continue
        same = f", with the same alias '{m.alias}'" if m.alias == other.alias else ""
        yield ctx.at(m, _registry_name(ctx, m), "shared-registered-model",
                     f"the MLflow registered model '{m.registry_name}' is written by {other.address} already{same}",
                     "give each model its own registry.name: two models in one registered model share its versions "
                     "and its 'challenger' alias, and with one alias each moves the version the other serves",
                     related=(ctx.related(other, _registry_name(ctx, other),
                                          f"{other.address} writes '{m.registry_name}' here"),))


def check_shared_registries(ctx: Context) -> Iterator[Diagnostic]:
    """Two environments on one MLflow tracking server share every registered model and its alias: an apply or train
    in one moves the version the other serves, and each state records its own. A warning: a team may mean it. Local
    registries (a file in the repository, the laptop's) are not judged: environments sharing one there, as every
    environment without `mlflow` does, serve nothing from it."""
    if not ctx.models:
        return
    first: dict[str, Environment] = {}
    for env in sorted(ctx.environments.values(), key=lambda e: (ctx.docs[e.address].file, e.name)):
        if not env.remote_tracking:
            continue
        uri = env.tracking_uri.rstrip("/")
        other = first.setdefault(uri, env)
        if other is env:
            continue
        written = (ctx.docs[env.address].data.get("spec") or {}).get("mlflow") or {}
        path = ("spec", "mlflow", "tracking_uri") if "tracking_uri" in written else ("metadata", "name")
        yield ctx.at(env, path, "shared-registry",
                     f"environment '{env.name}' uses the MLflow registry of environment '{other.name}' ({uri}): "
                     "registered models and their aliases are per registry, so a training in one moves the version "
                     "the other serves, while each environment's state records its own",
                     f"give '{env.name}' a tracking server of its own", severity="warning")


def _registry_name(ctx: Context, m: Model) -> tuple[str, ...]:
    """Where the model's registered model name is written: registry.name, else its name (the default)."""
    registry = (ctx.docs[m.address].data.get("spec") or {}).get("registry") or {}
    return ("spec", "registry", "name") if "name" in registry else ("metadata", "name")


def check_model_gates(ctx: Context) -> Iterator[Diagnostic]:
    """Gates that no model could pass, or that contradict themselves."""
    for m in ctx.models.values():
        for i, g in enumerate(m.metrics):
            path = ("spec", "validation", "metrics", i)
            if g.min is not None and g.max is not None and g.min > g.max:
                yield ctx.at(m, (*path, "min"), "bad-gate", f"{g.name}: min {g.min} is greater than max {g.max}")
            if g.name in _UNIT_INTERVAL or g.name == "r2":
                top = 1.0
                if g.min is not None and g.min > top:
                    yield ctx.at(m, (*path, "min"), "bad-gate",
                                 f"{g.name} is at most {top:g}; min {g.min} can never pass")
            if g.name in ("log_loss", "rmse", "mae") and g.max is not None and g.max < 0:
                yield ctx.at(m, (*path, "max"), "bad-gate", f"{g.name} is never negative; max {g.max} can never pass")
        if m.decision_threshold is not None and m.task != "classification":
            yield ctx.at(m, ("spec", "decision_threshold"), "threshold-task",
                         f"decision_threshold applies to classification models; this one's task is {m.task}",
                         "remove decision_threshold", key=True)
