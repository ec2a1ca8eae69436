"""dvc and kafka sources without running them: validation errors with their place, the version read from a .dvc
file, plan categories, what dbt, Kubernetes and Docker get (checked by the real tools and, for the Strimzi
KafkaConnector whose CRD no package here ships, by a schema written by hand), and the message parser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from landing_support import dataset, transform, write_repo

from compiler.apply.landing.messages import BadMessage, parse_value, row_of
from compiler.emit.base import Artifact
from compiler.emit.registry import emit_all
from compiler.front.check import check_repository, require_project
from compiler.output.k8s_policy import check_files
from compiler.plan.diff import classify
from compiler.spec.diagnostics import Diagnostic

REPO = Path(__file__).resolve().parent.parent
CLICKSTREAM = REPO / "examples" / "clickstream"
CONNECTOR_SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "strimzi" / "kafkaconnector.v1beta2.schema.json")
                              .read_text(encoding="utf-8"))
DVC_FILE = "outs:\n- md5: 691ae5c77f214012839f4fb78e47f261\n  size: 80\n  hash: md5\n  path: countries.csv\n"
COLUMNS = [{"name": "code", "type": "string"}]
KAFKA = {"type": "kafka", "brokers": ["broker:9092"], "topic": "views", "format": "json"}


def _diags(root: Path) -> list[Diagnostic]:
    return check_repository(root)[1]


def _one(root: Path, code: str) -> Diagnostic:
    found = [d for d in _diags(root) if d.code == code]
    assert len(found) == 1, [(d.code, d.message) for d in _diags(root)]
    return found[0]


def _line(root: Path, needle: str) -> int:
    lines = (root / "specs" / "all.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, 1) if needle in text)


# --- validation -----------------------------------------------------------------------------------------------


def test_a_dvc_path_must_be_tracked(tmp_path: Path):
    root = write_repo(tmp_path, [dataset("countries", {"type": "dvc", "path": "data/countries.csv"}, COLUMNS)])
    d = _one(root, "dvc-untracked")
    assert d.message == "'data/countries.csv' is not tracked by DVC: data/countries.csv.dvc does not exist"
    assert (d.file, d.line) == ("specs/all.yaml", _line(root, "path: data/countries.csv"))
    assert "dvc add data/countries.csv" in (d.hint or "")


@pytest.mark.parametrize(("content", "message"), [
    ("outs: []\n", "expected exactly one entry under `outs`"),
    ("outs:\n- md5: abc\n  path: countries.csv\n", "its output has no md5"),
    ("outs:\n- md5: 691ae5c77f214012839f4fb78e47f261\n  path: other.csv\n", "its output is 'other.csv'"),
    ("outs:\n- md5: 691ae5c77f214012839f4fb78e47f261.dir\n  path: countries.csv\n", "is a directory"),
    ("outs: [unclosed\n", "not a readable .dvc file"),
], ids=["no-outs", "no-md5", "other-path", "directory", "not-yaml"])
def test_a_dvc_file_must_name_one_version(tmp_path: Path, content: str, message: str):
    root = write_repo(tmp_path, [dataset("countries", {"type": "dvc", "path": "data/countries.csv"}, COLUMNS)])
    (root / "data").mkdir()
    (root / "data" / "countries.csv.dvc").write_text(content, encoding="utf-8")
    d = _one(root, "dvc-file")
    assert d.message.startswith("data/countries.csv.dvc: ") and message in d.message


def test_the_dvc_version_is_read_into_the_resource(tmp_path: Path):
    root = write_repo(tmp_path, [dataset("countries", {"type": "dvc", "path": "data/countries.csv",
                                                       "remote": "storage"}, COLUMNS)])
    (root / "data").mkdir()
    (root / "data" / "countries.csv.dvc").write_text(DVC_FILE, encoding="utf-8")
    project = require_project(root)
    ds = project.datasets["countries"]
    assert ds.source is not None and ds.source.dvc is not None
    assert (ds.source.dvc.md5, ds.source.dvc.size, ds.source.dvc.hash) == ("691ae5c77f214012839f4fb78e47f261", 80,
                                                                            "md5")
    assert ds.input_files() == ("data/countries.csv.dvc",)  # what images copy and caches watch, not the data
    assert (ds.source.landing.schema, ds.source.landing.table) == ("landing", "countries")
    before = project.digest("dataset.countries")
    (root / "data" / "countries.csv.dvc").write_text(DVC_FILE.replace("691ae5", "000000"), encoding="utf-8")
    from conftest import checked

    for use_cache in (False, True, True):  # the cache sees the .dvc file change too
        again, _ = checked(root, use_cache)
        assert again is not None and again.digest("dataset.countries") != before


@pytest.mark.parametrize(("source", "code", "needle", "message"), [
    ({"rev": "v1"}, "dvc-rev", "rev: v1", "rev needs repo"),
    ({"repo": "https://example.com/r.git"}, "dvc-rev", "repo: https", "repo needs rev"),
], ids=["rev-without-repo", "repo-without-rev"])
def test_dvc_revisions(tmp_path: Path, source: dict, code: str, needle: str, message: str):
    root = write_repo(tmp_path, [dataset("countries", {"type": "dvc", "path": "data/countries.csv", **source},
                                         COLUMNS)])
    d = _one(root, code)
    assert message in d.message and d.line == _line(root, needle)


@pytest.mark.parametrize(("source", "columns", "code", "needle", "message"), [
    ({"brokers": ["broker:99999"]}, None, "bad-broker", "- broker:99999", "port 99999 is not between 1 and 65535"),
    ({"consumer": {"group.id": "mine"}}, None, "kafka-setting", "group.id", "consumer setting 'group.id' is specops'"),
    ({"consumer": {"sasl.username": "me"}}, None, "kafka-setting", "sasl.username", "is specops' own"),
    ({"security": {"protocol": "SASL_SSL", "mechanism": "PLAIN", "username_env": "U"}}, None, "kafka-security",
     "protocol: SASL_SSL", "protocol SASL_SSL needs security.password_env"),
    ({"security": {"username_env": "U"}}, None, "kafka-security", "username_env", "only used with a SASL protocol"),
    ({"delimiter": ";"}, None, "kafka-format", "delimiter", "delimiter applies to format csv only"),
    ({"schedule": "*/5 * * * *", "connect": {"cluster": "c"}}, None, "kafka-landing", "connect:", "not both"),
    ({"format": "csv", "connect": {"cluster": "c"}}, None, "kafka-landing", "connect:", "connect needs format json"),
    ({"schedule": "61 * * * *"}, None, "bad-cron", "schedule:", "schedule '61 * * * *'"),
    ({}, [*COLUMNS, {"name": "_kafka_offset", "type": "integer"}], "kafka-column", "type: integer",
     "metadata column '_kafka_offset' is bigint, not integer"),
    ({}, [*COLUMNS, {"name": "_kafka_headers", "type": "json"}], "kafka-column", "_kafka_headers",
     "'_kafka_headers' is not a Kafka metadata column"),
    ({"connect": {"cluster": "c"}}, [*COLUMNS, {"name": "_kafka_key", "type": "string"}], "kafka-column",
     "_kafka_key", "the KafkaConnector (connect) cannot fill '_kafka_key'"),
    ({}, [{"name": "_kafka_offset", "type": "bigint"}], "kafka-column", "columns:", "at least one column read"),
], ids=["port", "owned-setting", "sasl-setting", "sasl-incomplete", "security-without-sasl", "json-delimiter",
        "schedule-and-connect", "connect-csv", "cron", "metadata-type", "metadata-name", "connect-key",
        "no-payload"])
def test_kafka_rules(tmp_path: Path, source: dict, columns: list | None, code: str, needle: str, message: str):
    root = write_repo(tmp_path, [dataset("views", {**KAFKA, **source}, columns or COLUMNS)])
    d = _one(root, code)
    assert message in d.message, d.message
    assert (d.file, d.line) == ("specs/all.yaml", _line(root, needle)), d


def test_credentials_only_through_environment_variables(tmp_path: Path):
    root = write_repo(tmp_path, [dataset("views", {**KAFKA, "security": {"protocol": "SASL_SSL", "mechanism": "PLAIN",
                                                                         "username_env": "U", "password": "hunter2"}},
                                         COLUMNS)])
    d = _one(root, "literal-secret")
    assert "'password' holds a literal secret" in d.message and d.line == _line(root, "password: hunter2")
    root = write_repo(tmp_path / "b", [dataset("views", {**KAFKA, "consumer": {"ssl.key.password": "x"}}, COLUMNS)])
    assert _one(root, "literal-secret").line == _line(root, "ssl.key.password")


def test_two_datasets_may_not_land_into_one_table_and_warehouses_are_named(tmp_path: Path):
    root = write_repo(tmp_path, [
        {"apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "dev"},
         "spec": {"warehouse": {"type": "duckdb"}}},
        {"apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "prod"},
         "spec": {"warehouse": {"type": "snowflake", "account": "a", "database": "d", "schema": "s",
                                "warehouse": "w", "user": "u", "password_env": "P"}}},
        dataset("views", KAFKA, COLUMNS),
        dataset("views_again", {**KAFKA, "landing": {"table": "views"}}, COLUMNS),
    ])
    clash = _one(root, "landing-clash")
    assert clash.message == "dataset.views already lands into landing.views" and clash.related
    warning = _one(root, "landing-warehouse")
    assert warning.severity == "warning" and "snowflake" in warning.message and warning.address == "environment.prod"


# --- plan categories ------------------------------------------------------------------------------------------


def _snapshot(source: dict, **spec: Any) -> dict:
    return {"kind": "Dataset", "metadata": {"name": "x"}, "spec": {"source": source, **spec}}


@pytest.mark.parametrize(("path", "before", "after", "category", "replace"), [
    ("kafka.topic", "views", "clicks", "breaking", True),
    ("kafka.format", "json", "csv", "breaking", False),
    ("landing.table", "views", "views_v2", "breaking", True),
    ("kafka.brokers", ["a:1"], ["b:1"], "metadata", False),
    ("kafka.max_messages", 10, 20, "metadata", False),
    ("kafka.consumer", {}, {"fetch.max.bytes": 1}, "metadata", False),
    ("kafka.schedule", None, "*/5 * * * *", "metadata", False),
    ("dvc.md5", "a" * 32, "b" * 32, "non-breaking", False),
    ("dvc.rev", "v1", "v2", "non-breaking", False),
    ("dvc.remote", "storage", "backup", "metadata", False),
])
def test_categories_of_landed_source_changes(path: str, before: Any, after: Any, category: str, replace: bool):
    def source(value: Any) -> dict:
        out: dict = {"type": "kafka", "kafka": {}, "dvc": {}, "landing": {}}
        group, key = path.split(".")
        out[group][key] = value
        return out

    action, found, changes = classify("Dataset", _snapshot(source(before)), _snapshot(source(after)))
    assert (found, action) == (category, "replace" if replace else "update")
    assert changes and all(c.path.startswith(f"spec.source.{path}") for c in changes), changes


def test_environment_brokers_are_metadata():
    before = {"kind": "Environment", "metadata": {"name": "dev"}, "spec": {"kafka_brokers": ["a:1"]}}
    after = {"kind": "Environment", "metadata": {"name": "dev"}, "spec": {"kafka_brokers": ["b:1"]}}
    assert classify("Environment", before, after)[1] == "metadata"


def test_older_snapshots_compare_equal():
    """Sources kept in a state before dvc and kafka existed have none of their fields: unchanged specs stay equal."""
    project = require_project(REPO / "examples" / "churn")
    snap = project.datasets["customers"].snapshot
    assert not {"landing", "dvc", "kafka"} & set(snap["spec"]["source"])
    assert "kafka_brokers" not in project.environments["dev"].snapshot["spec"]


# --- what is emitted ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clickstream() -> tuple[Any, list[Artifact]]:
    project = require_project(CLICKSTREAM)
    return project, emit_all(project)


def _objects(artifacts: list[Artifact], prefix: str) -> dict[str, dict]:
    return {a.path: yaml.safe_load(a.content) for a in artifacts if a.path.startswith(prefix)
            and a.path.endswith(".yaml") and not a.path.endswith("kustomization.yaml")}


def test_landed_sources_are_dbt_sources_over_the_landing_tables(clickstream):
    _, artifacts = clickstream
    sources = yaml.safe_load(next(a.content for a in artifacts if a.path == "dbt/models/_sources.yml"))
    (landing,) = sources["sources"]
    assert (landing["name"], landing["schema"]) == ("landing", "landing")
    tables = {t["name"]: t for t in landing["tables"]}
    assert set(tables) == {"countries", "page_views", "signups"}
    meta = tables["countries"]["config"]["meta"]["specops"]["landing"]
    assert meta["type"] == "dvc" and len(meta["md5"]) == 32 and meta["remote"] == "storage"
    assert tables["signups"]["config"]["meta"]["specops"]["landing"]["landed_by"].startswith("KafkaConnector")
    model = next(a.content for a in artifacts if a.path == "dbt/models/daily_traffic.sql").decode()
    assert "{{ source('landing', 'page_views') }}" in model and "{{ source('landing', 'countries') }}" in model
    assert not any(a.path.startswith("dbt/seeds/") for a in artifacts)  # nothing of the data is in the output


def test_the_kafka_connector_follows_the_handwritten_strimzi_schema(clickstream):
    _, artifacts = clickstream
    objs = _objects(artifacts, "k8s/")
    connectors = {p: o for p, o in objs.items() if o["kind"] == "KafkaConnector"}
    assert list(connectors) == ["k8s/prod/signups-sink.kafkaconnector.yaml"]  # prod is postgres; dev has no Connect
    (obj,) = connectors.values()
    validator = jsonschema.Draft202012Validator(CONNECTOR_SCHEMA)
    assert [e.message for e in validator.iter_errors(obj)] == []
    assert obj["metadata"]["labels"]["strimzi.io/cluster"] == "analytics-connect"
    config = obj["spec"]["config"]
    assert config["connection.password"] == "${secrets:clickstream-prod/clickstream-secrets:WAREHOUSE_PASSWORD}"
    assert (config["topics"], config["table.name.format"]) == ("signups", "landing.signups")
    assert config["transforms.specopsMetadata.offset.field"] == "_kafka_offset"
    # the schema can fail: what the operator refuses is refused
    bad = json.loads(json.dumps(obj))
    bad["spec"]["config"]["tasks.max"] = "3"
    bad["spec"]["tasksmax"] = 1
    assert len(list(validator.iter_errors(bad))) == 2


def test_landing_cron_jobs_and_their_network_policy(clickstream):
    _, artifacts = clickstream
    objs = _objects(artifacts, "k8s/")
    # dev's warehouse is a DuckDB file on the laptop: no pod could land into it (the laptop-only rule)
    assert not any(p.startswith("k8s/dev/") and "land" in p for p in objs)
    job = objs["k8s/prod/page-views-land.cronjob.yaml"]
    assert job["spec"]["schedule"] == "*/10 * * * *" and job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["args"] == ["specops", "land", "page_views", "--env", "prod"]
    assert c["image"].startswith("ghcr.io/acme/clickstream-land:sha-")
    # like every job, it runs in the spec repository fetched at the applied revision: the image holds no specs
    (fetch,) = pod["initContainers"]
    assert fetch["name"] == "fetch-specs" and c["workingDir"].startswith("/src/repo")
    assert {e["name"]: e.get("valueFrom") for e in fetch["env"]}["GITSYNC_REF"] == {
        "configMapKeyRef": {"name": "clickstream-source", "key": "revision"}}
    assert "k8s/prod/clickstream-source.configmap.yaml" in objs
    policy = objs["k8s/prod/clickstream-land.networkpolicy.yaml"]
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "land"
    assert [p["port"] for p in policy["spec"]["egress"][1]["ports"]] == [443, 5432, 9092]
    # only the keys it uses, from the one Secret of the secrets table
    secrets = next(v for v in pod["volumes"] if v["name"] == "specops-secrets")
    assert secrets["secret"]["secretName"] == "clickstream-secrets"
    assert [i["key"] for i in secrets["secret"]["items"]] == ["WAREHOUSE_PASSWORD"]
    assert not any("signups" in p and "cronjob" in p for p in objs)  # the connector lands signups
    assert check_files([(a.path, a.content) for a in artifacts if a.path.startswith("k8s/")]) == []


def _tool(name: str) -> str | None:
    for candidate in (Path(sys.executable).parent / name, REPO / ".venv" / "bin" / name, REPO / ".tools" / "bin" / name):
        if candidate.exists():
            return str(candidate)
    return shutil.which(name)


def _written(artifacts: list[Artifact], tmp_path: Path, prefix: str) -> list[str]:
    files = []
    for a in artifacts:
        if a.path.startswith(prefix):
            path = tmp_path / a.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(a.content)
            files.append(str(path))
    return sorted(files)


def test_kubernetes_validate_accepts_the_landing_objects(clickstream, tmp_path: Path):
    tool = _tool("kubernetes-validate")
    if tool is None:
        pytest.skip("kubernetes-validate is not installed")
    project, artifacts = clickstream
    files = [f for f in _written(artifacts, tmp_path, "k8s/") if not f.endswith("kustomization.yaml")]
    run = subprocess.run([tool, "--strict", "-k", f"{project.project.kubernetes_version}.0", *files],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "passed for resource cronjob/" in run.stdout.lower() or "cronjob" in run.stdout.lower()


def test_the_landing_image(clickstream, tmp_path: Path):
    _project, artifacts = clickstream
    docker = {a.path: a.content.decode() for a in artifacts if a.path.startswith("docker/land/")}
    assert set(docker) == {"docker/land/Dockerfile", "docker/land/entrypoint.sh", "docker/land/requirements.txt"}
    assert "confluent-kafka==" in docker["docker/land/requirements.txt"]
    # code only: no spec or data file is copied in, and its tag follows its packages, not the specs
    assert "specs/" not in docker["docker/land/Dockerfile"] and ".dvc" not in docker["docker/land/Dockerfile"]
    assert "COPY [\"dist/\", \"/wheels/\"]" in docker["docker/land/Dockerfile"]
    churn = emit_all(require_project(REPO / "examples" / "churn"))
    assert not any(a.path.startswith("docker/land/") for a in churn)  # only when a landing CronJob uses it
    tool = _tool("hadolint")
    if tool is None:
        pytest.skip("hadolint is not installed")
    (dockerfile,) = [f for f in _written(artifacts, tmp_path, "docker/land/") if f.endswith("Dockerfile")]
    run = subprocess.run([tool, dockerfile], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_dbt_parses_the_example_without_its_data(clickstream, tmp_path: Path):
    """The compiled project is complete without the landed data (no seed to fetch first)."""
    tool = _tool("dbt")
    if tool is None:
        pytest.skip("dbt is not installed")
    _project, artifacts = clickstream
    _written(artifacts, tmp_path, "dbt/")
    env = {**os.environ, "SPECOPS_ROOT": str(tmp_path), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "WAREHOUSE_PASSWORD": "not-used-by-parse"}
    for target in ("dev", "prod"):
        run = subprocess.run([tool, "parse", "--no-partial-parse", "--project-dir", str(tmp_path / "dbt"),
                              "--profiles-dir", str(tmp_path / "dbt"), "--target", target, "--target-path",
                              str(tmp_path / "target" / target), "--log-path", str(tmp_path / "logs")],
                             capture_output=True, text=True, timeout=300, env=env, check=False)
        assert run.returncode == 0, run.stdout[-3000:]
        manifest = json.loads((tmp_path / "target" / target / "manifest.json").read_text())
        assert {s["name"] for s in manifest["sources"].values()} == {"countries", "page_views", "signups"}


# --- reading messages -----------------------------------------------------------------------------------------


TYPES = {"id": "string", "n": "integer", "at": "timestamp", "ok": "boolean", "tags": "json", "x": "double"}


@pytest.mark.parametrize(("raw", "fmt", "expected"), [
    (b'{"id": "a", "n": 3, "at": "2024-06-01T10:00:00", "ok": true, "tags": ["x"], "x": 1.5}', "json",
     ["a", "3", "2024-06-01T10:00:00", "true", '["x"]', "1.5"]),
    (b'{"schema": {}, "payload": {"id": "b"}}', "json", ["b", None, None, None, None, None]),
    (b'a,3,2024-06-01,false,"{""k"":1}",', "csv", ["a", "3", "2024-06-01", "false", '{"k":1}', None]),
])
def test_messages_become_rows_of_text(raw: bytes, fmt: str, expected: list):
    payload = parse_value(raw, fmt, tuple(TYPES), ",")
    assert row_of(payload, {}, TYPES) == expected


@pytest.mark.parametrize(("raw", "fmt", "message"), [
    (None, "json", "no value (a tombstone)"),
    (b"\xff", "json", "not UTF-8"),
    (b"[1]", "json", "a JSON list, not an object"),
    (b'{"n": "three"}', "json", "column n: 'three' is not an integer"),
    (b'{"n": 3000000000}', "json", "is not an integer"),
    (b'{"ok": "maybe"}', "json", "column ok: 'maybe' is not a boolean"),
    (b'{"at": "yesterday"}', "json", "column at: 'yesterday' is not a timestamp"),
    (b'{"id": {"a": 1}}', "json", "a JSON object where a string was expected"),
    (b"a,b", "csv", "2 CSV fields; the declared columns are 6"),
])
def test_messages_that_do_not_fit(raw: bytes | None, fmt: str, message: str):
    with pytest.raises(BadMessage, match=None) as info:
        row_of(parse_value(raw, fmt, tuple(TYPES), ","), {}, TYPES)
    assert message in str(info.value)


def test_the_example_validates_and_its_plan_names_landing_work(tmp_path: Path):
    project, diags = check_repository(CLICKSTREAM)
    assert project is not None and [d for d in diags if d.severity == "error"] == []
    from compiler.plan.impact import follow

    impacts = {i.address: i.work for i in follow(project, {a: ("non-breaking", []) for a in (
        "dataset.countries", "dataset.page_views", "dataset.signups", "transform.build_daily_traffic")})}
    assert impacts["dataset.countries"] == impacts["dataset.page_views"] == impacts["dataset.signups"] == "reload"


def test_every_new_source_type_is_documented():
    doc = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    for heading in ("## file", "## table", "## external", "## dvc", "## kafka"):
        assert heading in doc
    assert "hand-written" in doc.lower() or "written by hand" in doc.lower()
    _ = transform  # the helpers are shared with the end-to-end tests


def test_lineage_and_gx_name_the_landing_tables(clickstream):
    """OpenLineage: a `.land` job per landed dataset, from the topic (the environment's brokers when it sets them)
    or the DVC file into the landing table; GX suites query the landing table."""
    _project, artifacts = clickstream
    for env, topic_ns, table_ns, table in (
            ("dev", "kafka://127.0.0.1:19092", "duckdb://.specops/dev.duckdb", "dev.landing.page_views"),
            ("prod", "kafka://kafka-0.kafka.svc:9092", "postgres://warehouse.internal:5432",
             "analytics.landing.page_views")):
        content = next(a.content for a in artifacts if a.path == f"lineage/{env}.jsonl")
        events = {e["job"]["name"]: e for e in map(json.loads, content.splitlines())}
        land = events["dataset.page_views.land"]
        assert [(i["namespace"], i["name"]) for i in land["inputs"]] == [(topic_ns, "page_views")]
        assert [(o["namespace"], o["name"]) for o in land["outputs"]] == [(table_ns, table)]
        countries = events["dataset.countries.land"]
        assert [(i["namespace"], i["name"]) for i in countries["inputs"]] == [("file", "data/countries.csv")]
        transform = events["transform.build_daily_traffic"]
        assert (table_ns, table) in [(i["namespace"], i["name"]) for i in transform["inputs"]]
    suite = json.loads(next(a.content for a in artifacts if a.path == "gx/expectations/dev/page_views_checks.json"))
    assert suite["meta"]["specops"]["table"] == "landing.page_views"
