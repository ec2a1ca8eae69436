"""The hand-maintained JSON Schemas in schemas/: well-formed, agree with SPEC.md's examples, strict."""

import copy
import json
import pathlib
import re

import jsonschema
import pytest

SCHEMAS_DIR = pathlib.Path(__file__).resolve().parent.parent / "schemas"

FILES = {
    "Project": "project.schema.json",
    "Environment": "environment.schema.json",
    "Dataset": "dataset.schema.json",
    "QualityRule": "quality_rule.schema.json",
    "Transform": "transform.schema.json",
    "Model": "model.schema.json",
    "Deployment": "deployment.schema.json",
}
OWNER_REQUIRED = {"Dataset", "Transform", "Model", "Deployment"}


def load(kind):
    return json.loads((SCHEMAS_DIR / FILES[kind]).read_text(encoding="utf-8"))


def validator(kind):
    return jsonschema.Draft202012Validator(load(kind))


def errors(kind, doc):
    return sorted(validator(kind).iter_errors(doc), key=lambda e: list(e.absolute_path))


# --------------------------------------------------------------------------- SPEC.md examples

SPEC_EXAMPLES = {
    "Project": {
        "apiVersion": "specops/v1",
        "kind": "Project",
        "metadata": {"name": "acme_analytics", "owner": "@acme/platform"},
        "spec": {
            "specs": ["specs"],
            "output": "build",
            "workflows_dir": ".github/workflows",
            "default_environment": "dev",
            "image_registry": "ghcr.io/acme",
            "python_version": "3.11",
            "kubernetes_version": "1.31",
        },
    },
    "Environment": {
        "apiVersion": "specops/v1",
        "kind": "Environment",
        "metadata": {"name": "prod"},
        "spec": {
            "warehouse": {"type": "duckdb", "path": ".specops/prod.duckdb"},
            "mlflow": {"tracking_uri": "sqlite:///.specops/mlflow.db"},
            "kubernetes": {"namespace": "ml-prod", "context": "prod-cluster"},
            "protection": {"required_approval": True, "allow_pii": False},
        },
    },
    "Dataset": {
        "apiVersion": "specops/v1",
        "kind": "Dataset",
        "metadata": {"name": "raw_orders", "owner": "@acme/data-eng"},
        "spec": {
            "source": {"type": "table", "schema": "raw", "table": "orders"},
            "columns": [
                {
                    "name": "order_id",
                    "type": "integer",
                    "description": "Order key.",
                    "required": True,
                    "unique": True,
                },
                {"name": "status", "type": "string", "accepted_values": ["placed", "shipped", "returned"]},
                {"name": "email", "type": "string", "pii": True},
                {"name": "ordered_at", "type": "timestamp"},
            ],
            "primary_key": ["order_id"],
            "freshness": {"column": "ordered_at", "warn_after": "12h", "error_after": "24h"},
            "classification": "internal",
            "retention": "365d",
        },
    },
    "QualityRule": {
        "apiVersion": "specops/v1",
        "kind": "QualityRule",
        "metadata": {"name": "orders_checks", "owner": "@acme/data-eng"},
        "spec": {
            "dataset": "orders_clean",
            "severity": "error",
            "checks": [
                {"type": "not_null", "column": "order_id"},
                {"type": "unique", "columns": ["order_id"]},
                {"type": "accepted_values", "column": "status", "values": ["placed", "shipped", "returned"]},
                {"type": "range", "column": "amount", "min": 0, "max": 100000},
                {"type": "row_count", "min": 1},
                {"type": "relationship", "column": "customer_id", "to": "customers.customer_id"},
                {"type": "freshness", "column": "ordered_at", "max_age": "24h"},
                {"type": "regex", "column": "email", "pattern": "^[^@]+@[^@]+$"},
                {"type": "expression", "expression": "discount <= amount"},
                {"type": "sql", "sql": "select * from {{ dataset }} where amount < 0"},
                {
                    "type": "not_null",
                    "column": "email",
                    "severity": "warn",
                    "threshold": {"max_failure_percent": 1.0},
                    "name": "email_mostly_present",
                },
            ],
        },
    },
    "Transform": {
        "apiVersion": "specops/v1",
        "kind": "Transform",
        "metadata": {"name": "build_orders_clean", "owner": "@acme/data-eng"},
        "spec": {
            "inputs": ["raw_orders", "customers"],
            "output": "orders_clean",
            "sql": (
                "select o.order_id, o.customer_id, o.amount, o.ordered_at\n"
                "from {{ input('raw_orders') }} o\n"
                "join {{ input('customers') }} c using (customer_id)\n"
            ),
            "materialization": "table",
            "incremental": {"unique_key": "order_id", "updated_at": "ordered_at"},
            "schedule": "0 * * * *",
        },
    },
    "Model": {
        "apiVersion": "specops/v1",
        "kind": "Model",
        "metadata": {"name": "churn", "owner": "@acme/ml"},
        "spec": {
            "task": "classification",
            "framework": "sklearn",
            "training": {
                "dataset": "customer_features",
                "features": ["tenure_months", "monthly_spend", "support_tickets"],
                "target": "churned",
                "entrypoint": "training/churn.py",
                "params": {"C": 1.0, "max_iter": 200},
                "test_size": 0.2,
                "random_seed": 42,
                "resources": {"cpu": "2", "memory": "4Gi", "gpu": 0},
                "schedule": "0 3 * * 1",
            },
            "registry": {"name": "churn", "alias": "champion"},
            "validation": {
                "metrics": [{"name": "roc_auc", "min": 0.75}, {"name": "log_loss", "max": 0.6}],
                "max_regression": 0.01,
            },
            "monitoring": {"drift": {"method": "psi", "threshold": 0.2, "schedule": "0 6 * * *"}},
            "governance": {"allow_pii_features": False},
        },
    },
    "Deployment": {
        "apiVersion": "specops/v1",
        "kind": "Deployment",
        "metadata": {"name": "churn_api", "owner": "@acme/ml"},
        "spec": {
            "model": "churn",
            "environment": "prod",
            "alias": "champion",
            "runtime": "mlflow",
            "replicas": 2,
            "autoscaling": {"min_replicas": 2, "max_replicas": 10, "target_cpu_percent": 70},
            "resources": {
                "requests": {"cpu": "250m", "memory": "512Mi"},
                "limits": {"cpu": "1", "memory": "1Gi"},
            },
            "port": 8000,
            "rollout": {"canary_percent": 10},
            "network": {"allow_from_namespaces": ["gateway"]},
            "monitoring": {
                "alerts": {"p95_latency_ms": 300, "error_rate": 0.01},
                "labels": {"release": "kube-prometheus-stack"},
            },
        },
    },
}


def example(kind):
    return copy.deepcopy(SPEC_EXAMPLES[kind])


# --------------------------------------------------------------------------- files


def test_one_file_per_kind_the_plan_schema_and_the_bundle():
    assert sorted(p.name for p in SCHEMAS_DIR.glob("*.schema.json")) == sorted(
        [*FILES.values(), "plan.schema.json", "specops.schema.json"])  # the last: every kind (schema_bundle.py)


@pytest.mark.parametrize("kind", FILES)
def test_schema_file_is_valid_and_well_formed(kind):
    path = SCHEMAS_DIR / FILES[kind]
    text = path.read_text(encoding="utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    # pretty-printed with 2-space indent, key order preserved (not sorted), trailing newline
    assert text == json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://specops.dev/schemas/v1/{FILES[kind]}"
    assert schema["title"] and schema["description"]
    assert schema["properties"]["apiVersion"]["const"] == "specops/v1"
    assert schema["properties"]["kind"]["const"] == kind
    expected_required = ["apiVersion", "kind", "metadata"] + ([] if kind == "Project" else ["spec"])
    assert schema["required"] == expected_required
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("kind", FILES)
def test_schema_is_self_contained(kind):
    schema = load(kind)
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    for r in refs:
        assert r.startswith("#/$defs/"), r
        assert r[len("#/$defs/") :] in schema["$defs"], r


def _objects(node, path="#"):
    """Yield (path, schema) for every subschema that declares properties (an object schema)."""
    if isinstance(node, dict):
        if "properties" in node and (node.get("type") == "object"):
            yield path, node
        for k, v in node.items():
            yield from _objects(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _objects(v, f"{path}/{i}")


@pytest.mark.parametrize("kind", FILES)
def test_every_object_is_closed(kind):
    for path, node in _objects(load(kind)):
        closed = node.get("additionalProperties") is False or node.get("unevaluatedProperties") is False
        assert closed, f"{FILES[kind]} {path} accepts unknown keys"


@pytest.mark.parametrize("kind", FILES)
def test_every_property_is_described(kind):
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            if _is_declaration(node):
                return
            for name, sub in (node.get("properties") or {}).items():
                if "description" not in sub:
                    missing.append(f"{path}/properties/{name}")
            for k, v in node.items():
                walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}/{i}")

    walk(load(kind), "#")
    # `if` conditions (discriminator consts) and the Model's per-task narrowing of metric names
    # re-mention properties already described at their declaration.
    narrowing = "#/properties/spec/allOf/"
    missing = [m for m in missing if "/if/" not in m and not (kind == "Model" and m.startswith(narrowing))]
    assert not missing, missing


def _is_declaration(node):
    return isinstance(node, dict) and str(node.get("$comment", "")).startswith(
        "Declares the keys of this type"
    )


def _unions(node, path="#"):
    """Yield (path, schema) for every discriminated union (object closed with unevaluatedProperties)."""
    if isinstance(node, dict):
        if node.get("unevaluatedProperties") is False:
            yield path, node
        for k, v in node.items():
            yield from _unions(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _unions(v, f"{path}/{i}")


UNIONS = {
    ("Environment", "#/properties/spec/properties/warehouse"),
    ("Environment", "#/properties/spec/properties/state"),
    ("Dataset", "#/properties/spec/properties/source"),
    ("QualityRule", "#/properties/spec/properties/checks/items"),
}


def test_discriminated_unions_follow_the_if_then_pattern():
    found = set()
    for kind in FILES:
        for path, union in _unions(load(kind)):
            found.add((kind, path))
            assert "additionalProperties" not in union and "oneOf" not in union and "anyOf" not in union
            types = union["properties"]["type"]["enum"]
            assert "type" in union["required"]
            validating = [b for b in union["allOf"] if not _is_declaration(b)]
            declaring = [b for b in union["allOf"] if _is_declaration(b)]
            keys = {}
            for branch in validating:
                assert branch["if"] == {
                    "properties": {"type": {"const": branch["if"]["properties"]["type"]["const"]}},
                    "required": ["type"],
                }
                keys[branch["if"]["properties"]["type"]["const"]] = set(branch["then"]["properties"])
            assert sorted(keys) == sorted(types), path
            # one always-valid declaration per type, naming exactly the same keys
            assert {
                b["if"]["properties"]["type"]["const"]: set(b["then"]["properties"]) for b in declaring
            } == keys
            for b in declaring:
                assert set(b["then"]) == {"properties"} and all(
                    v == {} for v in b["then"]["properties"].values()
                )
    assert found == UNIONS


def test_shared_defs_are_identical_across_files():
    schemas = {kind: load(kind) for kind in FILES}
    metas = {}
    for kind, schema in schemas.items():
        meta = copy.deepcopy(schema["$defs"]["metadata"])
        required = meta.pop("required")
        assert required == (["name", "owner"] if kind in OWNER_REQUIRED else ["name"]), kind
        metas[kind] = meta
        assert schema["properties"]["metadata"]["$ref"] == "#/$defs/metadata"
    first = metas["Project"]
    for kind, meta in metas.items():
        assert meta == first, f"$defs/metadata of {FILES[kind]} differs from project.schema.json"
    # every other shared definition is copied verbatim
    by_name = {}
    for kind, schema in schemas.items():
        for name, definition in schema["$defs"].items():
            if name == "metadata":
                continue
            if name in by_name:
                assert definition == by_name[name][1], f"$defs/{name}: {FILES[kind]} vs {by_name[name][0]}"
            else:
                by_name[name] = (FILES[kind], definition)


def test_metadata_patterns():
    meta = load("Dataset")["$defs"]["metadata"]["properties"]
    assert meta["name"]["pattern"] == "^[a-z][a-z0-9_]{0,62}$"
    assert meta["tags"]["items"]["pattern"] == "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$"
    # Kubernetes label keys: an optional DNS-subdomain prefix, then a name
    keys = re.compile(meta["labels"]["propertyNames"]["pattern"])
    for good in ("cost_center", "team", "realty.io/team", "app.kubernetes.io/part-of"):
        assert keys.match(good), good
    for bad in ("-team", "team-", "Realty.io/team", "a/b/c", "x" * 64):
        assert not keys.match(bad), bad


# --------------------------------------------------------------------------- valid documents


@pytest.mark.parametrize("kind", FILES)
def test_spec_md_example_is_valid(kind):
    assert errors(kind, example(kind)) == []


def test_minimal_documents_are_valid():
    assert errors("Project", {"apiVersion": "specops/v1", "kind": "Project", "metadata": {"name": "p"}}) == []
    env = {"apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "dev"}, "spec": {}}
    assert errors("Environment", env) == []


@pytest.mark.parametrize(
    "warehouse",
    [
        {"type": "duckdb"},
        {
            "type": "postgres",
            "host": "db",
            "port": 5433,
            "database": "a",
            "schema": "s",
            "user": "u",
            "password_env": "PG_PASSWORD",
            "threads": 8,
        },
        {
            "type": "snowflake",
            "account": "acme-1",
            "database": "DB",
            "schema": "S",
            "warehouse": "WH",
            "role": "R",
            "user": "u",
            "password_env": "SNOWFLAKE_PASSWORD",
        },
        {"type": "bigquery", "project": "p", "dataset": "d", "keyfile_env": "GOOGLE_KEYFILE"},
    ],
)
def test_each_warehouse_type_is_valid(warehouse):
    doc = example("Environment")
    doc["spec"]["warehouse"] = warehouse
    assert errors("Environment", doc) == []


@pytest.mark.parametrize(
    "source",
    [
        {"type": "file", "path": "data/orders.csv"},
        {"type": "file", "path": "data/orders.csv", "delimiter": ";"},
        {"type": "external", "uri": "s3://bucket/orders/*.parquet", "format": "parquet"},
    ],
)
def test_each_source_type_is_valid(source):
    doc = example("Dataset")
    doc["spec"]["source"] = source
    assert errors("Dataset", doc) == []


def test_produced_dataset_and_column_types():
    doc = example("Dataset")
    del doc["spec"]["source"]
    doc["spec"]["columns"].append({"name": "amount", "type": "decimal(12, 2)"})
    doc["spec"]["columns"].append({"name": "payload", "type": "json"})
    assert errors("Dataset", doc) == []


def test_transform_variants_are_valid():
    doc = example("Transform")
    del doc["spec"]["sql"]
    doc["spec"]["sql_file"] = "sql/orders_clean.sql"
    doc["spec"]["materialization"] = "incremental"
    doc["spec"]["incremental"] = {"unique_key": ["order_id", "line_no"], "updated_at": "ordered_at"}
    assert errors("Transform", doc) == []


def test_deployment_with_version_is_valid():
    doc = example("Deployment")
    del doc["spec"]["alias"]
    doc["spec"]["version"] = 3
    doc["spec"]["resources"]["limits"]["cpu"] = 2
    assert errors("Deployment", doc) == []


def test_regression_model_is_valid():
    doc = example("Model")
    doc["spec"]["task"] = "regression"
    doc["spec"]["validation"]["metrics"] = [{"name": "rmse", "max": 10}, {"name": "r2", "min": 0.5}]
    assert errors("Model", doc) == []


# --------------------------------------------------------------------------- invalid documents


def _set(doc, path, value):
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _del(doc, path):
    node = doc
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]


INVALID = [
    # (id, kind, mutation, expected message fragment)
    ("unknown top-level key", "Dataset", lambda d: _set(d, ["specs"], {}), "'specs' was unexpected"),
    ("unknown metadata key", "Model", lambda d: _set(d, ["metadata", "nmae"], "x"), "'nmae' was unexpected"),
    (
        "unknown spec key",
        "Transform",
        lambda d: _set(d, ["spec", "materialisation"], "view"),
        "'materialisation' was unexpected",
    ),
    (
        "unknown key in a check",
        "QualityRule",
        lambda d: _set(d, ["spec", "checks", 0, "columns"], ["x"]),
        "'columns' was unexpected",
    ),
    (
        "unknown key in a nested object",
        "Deployment",
        lambda d: _set(d, ["spec", "resources", "requests", "gpu"], 1),
        "'gpu' was unexpected",
    ),
    (
        "literal password",
        "Environment",
        lambda d: _set(
            d,
            ["spec", "warehouse"],
            {"type": "postgres", "host": "h", "database": "d", "user": "u", "password": "hunter2"},
        ),
        "'password' was unexpected",
    ),
    (
        "wrong apiVersion",
        "Dataset",
        lambda d: _set(d, ["apiVersion"], "specops/v2"),
        "'specops/v1' was expected",
    ),
    ("wrong kind", "Dataset", lambda d: _set(d, ["kind"], "Model"), "'Dataset' was expected"),
    ("wrong type", "Deployment", lambda d: _set(d, ["spec", "replicas"], "2"), "is not of type 'integer'"),
    (
        "wrong type boolean",
        "Dataset",
        lambda d: _set(d, ["spec", "columns", 0, "required"], "yes"),
        "is not of type 'boolean'",
    ),
    ("bad name pattern", "Dataset", lambda d: _set(d, ["metadata", "name"], "Raw-Orders"), "does not match"),
    (
        "bad column name",
        "Dataset",
        lambda d: _set(d, ["spec", "columns", 0, "name"], "Order ID"),
        "does not match",
    ),
    (
        "bad column type",
        "Dataset",
        lambda d: _set(d, ["spec", "columns", 0, "type"], "varchar"),
        "does not match",
    ),
    (
        "missing owner on Dataset",
        "Dataset",
        lambda d: _del(d, ["metadata", "owner"]),
        "'owner' is a required property",
    ),
    (
        "missing owner on Deployment",
        "Deployment",
        lambda d: _del(d, ["metadata", "owner"]),
        "'owner' is a required property",
    ),
    ("missing spec", "Dataset", lambda d: _del(d, ["spec"]), "'spec' is a required property"),
    (
        "table source with path",
        "Dataset",
        lambda d: _set(d, ["spec", "source", "path"], "data/x.csv"),
        "'path' was unexpected",
    ),
    (
        "table source without table",
        "Dataset",
        lambda d: _del(d, ["spec", "source", "table"]),
        "'table' is a required property",
    ),
    (
        "unknown source type",
        "Dataset",
        lambda d: _set(d, ["spec", "source", "type"], "ftp"),
        "is not one of",
    ),
    (
        "file source escaping the repo",
        "Dataset",
        lambda d: _set(d, ["spec", "source"], {"type": "file", "path": "../orders.csv"}),
        "does not match",
    ),
    (
        "absolute file source",
        "Dataset",
        lambda d: _set(d, ["spec", "source"], {"type": "file", "path": "/etc/orders.csv"}),
        "does not match",
    ),
    (
        "duckdb warehouse with host",
        "Environment",
        lambda d: _set(d, ["spec", "warehouse", "host"], "h"),
        "'host' was unexpected",
    ),
    (
        "threshold with both keys",
        "QualityRule",
        lambda d: _set(
            d, ["spec", "checks", 10, "threshold"], {"max_failures": 1, "max_failure_percent": 1.0}
        ),
        "has too many properties",
    ),
    (
        "empty threshold",
        "QualityRule",
        lambda d: _set(d, ["spec", "checks", 10, "threshold"], {}),
        "should be non-empty",
    ),
    (
        "range without bounds",
        "QualityRule",
        lambda d: _set(d, ["spec", "checks", 3], {"type": "range", "column": "amount"}),
        "is not valid under any",
    ),
    (
        "relationship target without column",
        "QualityRule",
        lambda d: _set(d, ["spec", "checks", 5, "to"], "customers"),
        "does not match",
    ),
    (
        "bad duration",
        "QualityRule",
        lambda d: _set(d, ["spec", "checks", 6, "max_age"], "1 day"),
        "does not match",
    ),
    ("no checks", "QualityRule", lambda d: _set(d, ["spec", "checks"], []), "should be non-empty"),
    (
        "freshness without thresholds",
        "Dataset",
        lambda d: _set(d, ["spec", "freshness"], {"column": "ordered_at"}),
        "is not valid under any",
    ),
    (
        "sql and sql_file",
        "Transform",
        lambda d: _set(d, ["spec", "sql_file"], "sql/x.sql"),
        "is valid under each",
    ),
    ("neither sql nor sql_file", "Transform", lambda d: _del(d, ["spec", "sql"]), "is not valid under any"),
    (
        "incremental without settings",
        "Transform",
        lambda d: (_set(d, ["spec", "materialization"], "incremental"), _del(d, ["spec", "incremental"])),
        "'incremental' is a required property",
    ),
    ("bad cron", "Transform", lambda d: _set(d, ["spec", "schedule"], "hourly"), "does not match"),
    ("alias and version", "Deployment", lambda d: _set(d, ["spec", "version"], 3), "should not be valid"),
    (
        "reserved registry alias",
        "Model",
        lambda d: _set(d, ["spec", "registry", "alias"], "v2"),
        "should not be valid",
    ),
    (
        "regression metric on a classifier",
        "Model",
        lambda d: _set(d, ["spec", "validation", "metrics", 0], {"name": "rmse", "max": 1}),
        "is not one of",
    ),
    (
        "test_size out of range",
        "Model",
        lambda d: _set(d, ["spec", "training", "test_size"], 1),
        "greater than or equal to the maximum",
    ),
    (
        "missing entrypoint",
        "Model",
        lambda d: _del(d, ["spec", "training", "entrypoint"]),
        "'entrypoint' is a required property",
    ),
    (
        "nested object param",
        "Model",
        lambda d: _set(d, ["spec", "training", "params", "grid"], {"a": 1}),
        "is not of type",
    ),
    (
        "default namespace",
        "Environment",
        lambda d: _set(d, ["spec", "kubernetes", "namespace"], "default"),
        "should not be valid",
    ),
    (
        "bad memory quantity",
        "Deployment",
        lambda d: _set(d, ["spec", "resources", "limits", "memory"], "1 GB"),
        "does not match",
    ),
    ("port below 1024", "Deployment", lambda d: _set(d, ["spec", "port"], 80), "less than the minimum"),
    ("bad python version", "Project", lambda d: _set(d, ["spec", "python_version"], 3.11), "is not of type"),
    ("duplicate tags", "Dataset", lambda d: _set(d, ["metadata", "tags"], ["a", "a"]), "non-unique"),
    (
        "non-string label",
        "Dataset",
        lambda d: _set(d, ["metadata", "labels"], {"cost_center": 42}),
        "is not of type 'string'",
    ),
]


@pytest.mark.parametrize(
    ("kind", "mutate", "fragment"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_document_is_rejected(kind, mutate, fragment):
    doc = example(kind)
    mutate(doc)
    errs = errors(kind, doc)
    assert errs, "document should be invalid"
    messages = [e.message for e in errs]
    best = jsonschema.exceptions.best_match(errs)
    assert any(fragment in m for m in messages) or fragment in best.message, messages


@pytest.mark.parametrize(
    "path",
    ["data/orders.csv", "data/sub/x.csv", "a..b/c.csv"],
)
def test_relative_path_accepts(path):
    pattern = load("Dataset")["$defs"]["relative_path"]["pattern"]
    assert re.search(pattern, path)


@pytest.mark.parametrize(
    "path", ["/abs.csv", "../x.csv", "data/../../x.csv", "data/..", "C:/x.csv", "\\x.csv"]
)
def test_relative_path_rejects(path):
    pattern = load("Dataset")["$defs"]["relative_path"]["pattern"]
    assert not re.search(pattern, path)


@pytest.mark.parametrize(
    ("kind", "mutate"),
    [
        ("Dataset", lambda d: _set(d, ["spec", "source"], {"type": "file", "path": "../orders.csv"})),
        ("QualityRule", lambda d: _set(d, ["spec", "checks", 6, "max_age"], "1 day")),
        ("QualityRule", lambda d: _set(d, ["spec", "checks", 3], {"type": "range", "column": "amount"})),
        (
            "Environment",
            lambda d: _set(
                d,
                ["spec", "warehouse"],
                {"type": "postgres", "host": "h", "port": 0, "database": "d", "user": "u"},
            ),
        ),
    ],
    ids=["source", "check", "check-anyof", "warehouse"],
)
def test_bad_value_in_a_union_branch_is_reported_once(kind, mutate):
    """A failing per-type branch must not also report its valid keys as unexpected."""
    doc = example(kind)
    mutate(doc)
    errs = errors(kind, doc)
    assert len(errs) == 1, [e.message for e in errs]
    assert "Unevaluated properties" not in errs[0].message


def _schema_defaults() -> dict[str, list[object]]:
    """Every `default` the kinds' schemas declare, by property name."""
    found: dict[str, list[object]] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if isinstance(prop, dict) and "default" in prop:
                    found.setdefault(name, []).append(prop["default"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for kind in FILES:
        walk(load(kind))
    return found


def test_the_front_end_fills_in_the_defaults_the_schemas_document():
    """The IR builder writes each default in code (`spec.get("port", 8000)`); the schemas (and docs/spec.md, made
    from them) document them too. Every literal default in the front end must be one the schemas declare for a
    property of that name (autoscaling's target_cpu_percent was documented as 80 and built as 70)."""
    import ast

    defaults = _schema_defaults()
    front = SCHEMAS_DIR.parent / "compiler" / "front"
    checked, wrong = 0, []
    for path in sorted(front.rglob("*.py")):
        if "sql" in path.relative_to(front).parts:
            continue  # SQL syntax trees, not spec documents
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                    and len(node.args) == 2 and all(isinstance(a, ast.Constant) for a in node.args)):
                continue
            key, value = node.args[0].value, node.args[1].value
            if key in defaults:
                checked += 1
                if value not in defaults[key]:
                    wrong.append(f"{path.name}:{node.lineno}: {key} defaults to {value!r}, the schemas say "
                                 f"{defaults[key]}")
    assert checked >= 10  # the test looks at something
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("written", "hint"), [
    ("int", "write integer"), ("INT64", "write bigint"), ("varchar", "write string"), ("text", "write string"),
    ("float", "write double"), ("timestamptz", "write timestamp"), ("jsonb", "write json"),
    ("numeric", "write decimal(p,s)"), ("strng", "did you mean 'string'")])
def test_a_column_type_written_as_a_warehouse_names_it_gets_the_specs_name(written, hint):
    """`int` was 'did you mean bigint' (the closest spelling) and `varchar` had no hint at all."""
    from compiler.front.schemas import _one_of_hint

    options = ["string", "integer", "bigint", "double", "decimal(p,s)", "boolean", "date", "timestamp", "json"]
    assert hint in (_one_of_hint(written, options) or "")
