"""The dbt backend: datasets, transforms and quality rules as a runnable dbt project under dbt/."""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from compiler.emit.base import Artifact, Part, Unit, run_units
from compiler.emit.dbt.landing import landing_meta
from compiler.emit.dbt.names import TypeNames, freshness_period, relation, source_name, type_names
from compiler.emit.dbt.project_files import dbt_project, profiles
from compiler.emit.dbt.tests import check_test, column_property_tests, dataset_tests, singular_test
from compiler.emit.render import GENERATED, comment_safe, dbt_text, dump_yaml, sql_string
from compiler.shipped import data_dir
from compiler.spec.ir import Dataset, Transform
from compiler.spec.project import SpecProject
from compiler.spec.sqltext import INPUT_RE
from compiler.spec.warehouse_types import sql_type

PREFIX = "dbt"
COST = 1.1  # relative cost at 10,000 specs (compiler.emit.registry); the transforms' models are 55% of it
MODELS_SHARE = 0.55


def emit(project: SpecProject) -> list[Artifact]:
    """Every file of the dbt project."""
    return run_units(project, units(project))


def parts(project: SpecProject, environment: str | None = None) -> list[Part]:
    """Two halves that can run apart: the transforms' models, and everything else."""
    return [Part(PREFIX, partial(units, part="models"), COST * MODELS_SHARE),
            Part(PREFIX, partial(units, part="others"), COST * (1 - MODELS_SHARE))]


def units(project: SpecProject, part: Literal["all", "models", "others"] = "all") -> list[Unit]:
    """The backend's work in pieces (compiler.emit.base.Unit): project files, macros, sources, one seed per
    file dataset, one rule's singular tests, one transform's model."""
    out: list[Unit] = []
    if part in ("all", "others"):
        out += [Unit(("dbt", "project-files"), _project_files), Unit(("dbt", "macros"), _macros),
                Unit(("dbt", "sources"), _sources)]
        out += [Unit(("dbt", "seed", ds.name), partial(_seed_files, name=ds.name))
                for ds in project.external_datasets() if ds.source is not None and ds.source.type == "file"]
        out += [Unit(("dbt", "singular-tests", rule.name), partial(_singular_tests, name=rule.name))
                for rule in project.rules.values() if any(check.type == "sql" for check in rule.checks)]
    if part in ("all", "models"):
        out += [Unit(("dbt", "model", t.name), partial(_model_files, name=t.name)) for t in project.transforms.values()]
    return out


def _artifact(project: SpecProject, path: str, content: bytes, *owners: str) -> Artifact:
    # a file no particular resource owns belongs to every resource
    return Artifact(f"{PREFIX}/{path}", content, tuple(owners) or tuple(r.address for r in project.resources()))


def _model_files(project: SpecProject, name: str) -> list[Artifact]:
    t = project.transforms[name]
    ds = project.datasets[t.output]
    column_tests, model_tests = _check_tests(project, ds.name)
    return [
        _artifact(project, f"models/{ds.name}.sql", _model_sql(project, t, ds).encode("utf-8"), t.address, ds.address),
        _artifact(project, f"models/{ds.name}.yml", dump_yaml(
            {"version": 2, "models": [_model(t, ds, column_tests, model_tests, type_names(project.warehouse_types))]},
            GENERATED.format(source=f"{ds.loc.file} and {t.loc.file}")),
            ds.address, t.address, *sorted(r.address for r in project.rules_for(ds.name))),
    ]


def _project_files(project: SpecProject) -> list[Artifact]:
    return [
        _artifact(project, "dbt_project.yml", dump_yaml(dbt_project(project), GENERATED.format(source="specops.yaml")),
                  project.project.address),
        _artifact(project, "profiles.yml", dump_yaml(profiles(project),
                                                     GENERATED.format(source="the Environment specs")),
                  *sorted(e.address for e in project.environments.values())),
    ]


def _macros(project: SpecProject) -> list[Artifact]:
    macros = data_dir("templates") / "dbt" / "macros"
    owners = sorted(r.address for r in project.rules.values())
    return [_artifact(project, f"macros/{path.name}", path.read_bytes(), *owners)
            for path in sorted(macros.glob("*.sql"))]


def _seed_files(project: SpecProject, name: str) -> list[Artifact]:
    ds = project.datasets[name]
    assert ds.source is not None
    column_tests, model_tests = _check_tests(project, ds.name)
    owners = (ds.address, *sorted(r.address for r in project.rules_for(ds.name)))
    return [
        _artifact(project, f"seeds/{ds.name}.csv", ds.source.content or b"", ds.address),
        _artifact(project, f"seeds/{ds.name}.yml", dump_yaml({"version": 2, "seeds": [
            _seed(ds, column_tests, model_tests, type_names(project.warehouse_types))]},
            GENERATED.format(source=ds.loc.file)), *owners),
    ]


def _sources(project: SpecProject) -> list[Artifact]:
    sources: dict[str, list[dict[str, Any]]] = {}
    where: dict[str, tuple[str | None, str | None]] = {}  # source name -> (its schema, its database)
    tables = [ds for ds in project.external_datasets() if ds.source is not None and ds.source.type != "file"]
    types = type_names(project.warehouse_types)
    for ds in tables:
        assert ds.source is not None
        column_tests, model_tests = _check_tests(project, ds.name)
        name = source_name(ds)
        sources.setdefault(name, []).append(_source_table(ds, column_tests, model_tests, types))
        if ds.source.type == "table":
            where[name] = (ds.source.schema or "main", ds.source.database)
    if not sources:
        return []
    return [_artifact(project, "models/_sources.yml", dump_yaml({"version": 2, "sources": [
        _source(name, entries, *where.get(name, (name, None))) for name, entries in sorted(sources.items())
    ]}, GENERATED.format(source="the external Dataset specs")), *sorted(ds.address for ds in tables))]


def _singular_tests(project: SpecProject, name: str) -> list[Artifact]:
    rule = project.rules[name]
    out = []
    for check in rule.checks:
        if check.type == "sql":
            sql = singular_test(project, rule, check).encode("utf-8")
            out.append(_artifact(project, f"tests/{check.name}.sql", sql, rule.address))
            if check.description:
                # a singular test's description can only be given in a property file
                out.append(_artifact(project, f"tests/{check.name}.yml", dump_yaml({"version": 2, "data_tests": [
                    {"name": check.name, "description": dbt_text(check.description)}]},
                    GENERATED.format(source=rule.loc.file)), rule.address))
    return out


def _check_tests(project: SpecProject, dataset: str) -> tuple[dict[tuple[str, str], list[dict]], dict[str, list[dict]]]:
    """The dataset's QualityRule checks grouped by (dataset, column), and its model-level tests by dataset."""
    column_tests: dict[tuple[str, str], list[dict]] = {}
    model_tests: dict[str, list[dict]] = {}
    for rule in project.rules_for(dataset):
        for check in rule.checks:
            made = check_test(project, rule, check)
            if made is None:
                continue
            column, entry = made
            if column is None:
                model_tests.setdefault(rule.dataset, []).append(entry)
            else:
                column_tests.setdefault((rule.dataset, column), []).append(entry)
    return column_tests, model_tests


def _meta(ds: Dataset, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"address": ds.address, "source_file": ds.loc.file,
                            "classification": ds.classification}
    if ds.meta.owner:
        meta["owner"] = dbt_text(ds.meta.owner)
    if ds.retention:
        meta["retention"] = ds.retention
    if ds.pii_columns:
        meta["pii_columns"] = list(ds.pii_columns)
    if ds.meta.labels:
        meta["labels"] = {k: dbt_text(v) for k, v in ds.meta.labels}
    meta.update(extra or {})
    return {"specops": meta}


def _columns(ds: Dataset, column_tests: dict, types: TypeNames, *, contract: bool) -> list[dict[str, Any]]:
    cols = []
    for col in ds.columns:
        entry: dict[str, Any] = {"name": col.name}
        if col.description:
            entry["description"] = dbt_text(col.description)
        entry["data_type"] = types(col.type)
        if contract and col.required:
            entry["constraints"] = [{"type": "not_null"}]
        meta: dict[str, Any] = {"type": col.type}
        if col.pii:
            meta["pii"] = True
        entry["meta"] = {"specops": meta}
        tests = column_property_tests(ds, col.name) + column_tests.get((ds.name, col.name), [])
        if tests:
            entry["data_tests"] = tests
        cols.append(entry)
    return cols


def _seed(ds: Dataset, column_tests: dict, model_tests: dict, types: TypeNames) -> dict[str, Any]:
    assert ds.source is not None
    config: dict[str, Any] = {
        "column_types": {c.name: types(c.type) for c in ds.columns},
        "tags": ["specops", *ds.meta.tags],
        "meta": _meta(ds, {"source_path": ds.source.path}),
    }
    if ds.source.delimiter:
        config["delimiter"] = ds.source.delimiter
    return _entry(ds, config, column_tests, model_tests, types, contract=False)


def _entry(ds: Dataset, config: dict[str, Any], column_tests: dict, model_tests: dict, types: TypeNames, *,
           contract: bool,
           identifier: str | None = None) -> dict[str, Any]:
    """A seed, source table or model entry: name, docs, config, columns with their tests, dataset tests."""
    entry: dict[str, Any] = {"name": ds.name}
    if ds.meta.description:
        entry["description"] = dbt_text(ds.meta.description)
    if identifier:
        entry["identifier"] = identifier
    entry["config"] = config
    entry["columns"] = _columns(ds, column_tests, types, contract=contract)
    tests = dataset_tests(ds) + model_tests.get(ds.name, [])
    if tests:
        entry["data_tests"] = tests
    return entry


def _source(name: str, tables: list[dict[str, Any]], schema: str | None, database: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if database:
        entry["database"] = database
    if name != "external":
        entry["schema"] = schema
    entry["tables"] = tables
    return entry


def _source_table(ds: Dataset, column_tests: dict, model_tests: dict, types: TypeNames) -> dict[str, Any]:
    assert ds.source is not None
    config: dict[str, Any] = {"tags": ["specops", *ds.meta.tags], "meta": _meta(ds)}
    if ds.source.type == "external":
        config["meta"]["external_location"] = external_location(ds.source.format, ds.source.uri or "", ds)
    if ds.freshness:
        fresh: dict[str, Any] = {}
        if ds.freshness.warn_after:
            fresh["warn_after"] = freshness_period(ds.freshness.warn_after)
        if ds.freshness.error_after:
            fresh["error_after"] = freshness_period(ds.freshness.error_after)
        config["freshness"] = fresh
        config["loaded_at_field"] = ds.freshness.column
    if ds.source.landed:
        config["meta"]["specops"]["landing"] = landing_meta(ds)
    identifier = ds.source.table if ds.source.type == "table" else None
    if ds.source.landing is not None:
        identifier = ds.source.landing.table
    return _entry(ds, config, column_tests, model_tests, types, contract=False, identifier=identifier)


def external_location(fmt: str | None, uri: str, ds: Dataset | None = None) -> str:
    """dbt-duckdb's external_location: a SQL call, escaped for str.format_map and for dbt's Jinja. A CSV is read
    with the declared columns' types (DuckDB's `types`), not the ones it would guess (`zip` of 5 digits: BIGINT,
    where a `string` column and its checks want text); a Parquet file carries its own."""
    if fmt == "parquet":
        call = f"read_parquet({sql_string(uri)})"
    else:
        types = ", ".join(f"{sql_string(c.name)}: {sql_string(sql_type(c.type))}" for c in ds.columns) if ds else ""
        call = f"read_csv_auto({sql_string(uri)}" + (f", types={{{types}}})" if types else ")")
    return dbt_text(call.replace("{", "{{").replace("}", "}}"))


def _model(t: Transform, ds: Dataset, column_tests: dict, model_tests: dict, types: TypeNames) -> dict[str, Any]:
    meta = _meta(ds, {"transform": t.address, "transform_file": t.loc.file})
    if t.meta.owner:
        meta["specops"]["transform_owner"] = dbt_text(t.meta.owner)
    if t.schedule:
        meta["specops"]["schedule"] = t.schedule
    config: dict[str, Any] = {
        "materialized": t.materialization,
        "contract": {"enforced": True},
        "tags": sorted({"specops", *ds.meta.tags, *t.meta.tags}),
        "meta": meta,
    }
    if t.materialization == "incremental":
        config["on_schema_change"] = "append_new_columns"
    return _entry(ds, config, column_tests, model_tests, types, contract=t.materialization != "view")


def _model_sql(project: SpecProject, t: Transform, ds: Dataset) -> str:
    """The transform's SQL, its inputs as ref()/source(), inside a select that casts every declared column
    to its declared type (as SQLMesh does): the enforced contract then holds on every warehouse, where
    `sum(integer)` may be a HUGEINT (DuckDB) or a numeric (PostgreSQL)."""
    body = INPUT_RE.sub(lambda m: "{{ " + relation(project, m.group("name")) + " }}", t.sql).strip()
    origin = t.sql_file or t.loc.file
    lines = [f"-- {comment_safe(GENERATED.format(source=f'{origin} ({t.address})'))}"]
    # built after the other dataset of its relationship checks, so that a DAG task runs them
    # (compiler.spec.relationships); dbt reads these comments as dependencies
    lines += ["-- depends_on: {{ " + relation(project, other) + " }}" for other in project.build_after(ds.name)]
    if t.materialization == "incremental":
        assert t.incremental is not None
        keys = ", ".join(f"'{k}'" for k in t.incremental.unique_key)
        lines.append(f"{{{{ config(materialized='incremental', unique_key=[{keys}]) }}}}")
    types = type_names(project.warehouse_types)
    casts = [f"    cast({c.name} as {types(c.type)}) as {c.name}" for c in ds.columns]
    lines += ["select", ",\n".join(casts), "from (", body, ") as specops_transform"]
    if t.materialization == "incremental":
        assert t.incremental is not None
        lines += ["{% if is_incremental() %}",
                  f"where {t.incremental.updated_at} > (select max({t.incremental.updated_at}) from {{{{ this }}}})",
                  "{% endif %}"]
    return "\n".join(lines) + "\n"
