"""Consuming one bounded batch of a topic (confluent-kafka, imported only here).

The batch is bounded twice: at most `max_messages`, and each partition is read up to its end as the broker
reports it while reading (a partition EOF). Partitions are assigned directly at the offsets the warehouse says
were landed last (no consumer-group rebalance, nothing committed to Kafka): the warehouse's offsets table is the
one record of what was landed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from compiler.apply.context import StepFailed
from compiler.spec.ir import Kafka

TIMEOUT = 30.0  # seconds to wait for the brokers (metadata, watermarks) and for a silent partition


@dataclass
class Message:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None


@dataclass
class Batch:
    messages: list[Message] = field(default_factory=list)
    next_offsets: dict[int, int] = field(default_factory=dict)  # partition -> next offset after this batch
    lost: dict[int, tuple[int, int]] = field(default_factory=dict)  # partition -> (landed up to, first kept)
    partitions: int = 0


def client_config(kafka: Kafka, brokers: tuple[str, ...], group: str, environ: dict[str, str] | None = None
                  ) -> dict[str, Any]:
    """The consumer's settings: the spec's consumer settings, then specops' own (credentials from the
    environment variables `security` names)."""
    environ = os.environ if environ is None else environ
    security = dict(kafka.security)
    conf: dict[str, Any] = {k: v for k, v in kafka.consumer}
    conf.update({"bootstrap.servers": ",".join(brokers), "group.id": group, "enable.auto.commit": False,
                 "enable.auto.offset.store": False, "enable.partition.eof": True, "isolation.level": "read_committed",
                 "auto.offset.reset": kafka.start, "security.protocol": security.get("protocol", "PLAINTEXT")})
    if security.get("mechanism"):
        conf["sasl.mechanism"] = security["mechanism"]
    for key, setting in (("username_env", "sasl.username"), ("password_env", "sasl.password")):
        name = security.get(key)
        if name:
            if name not in environ:
                raise StepFailed(f"environment variable {name} (security.{key}) is not set")
            conf[setting] = environ[name]
    return conf


def consume(kafka: Kafka, brokers: tuple[str, ...], group: str, landed: dict[int, int], limit: int) -> Batch:
    """Up to `limit` messages after the `landed` offsets (partition -> next offset) of each partition."""
    try:
        from confluent_kafka import Consumer, KafkaException
    except ImportError:
        raise StepFailed("landing a kafka source needs confluent-kafka: pip install 'specops[kafka]'") from None
    errors: list[str] = []
    conf = {**client_config(kafka, brokers, group), "error_cb": lambda err: errors.append(str(err))}
    try:
        consumer = Consumer(conf)
    except KafkaException as exc:
        raise StepFailed(f"kafka consumer settings: {exc}") from None
    try:
        return _consume(consumer, kafka, brokers, landed, limit, errors)
    except KafkaException as exc:
        raise StepFailed(f"kafka: {exc.args[0].str() if exc.args else exc}") from None
    finally:
        consumer.close()


def _consume(consumer: Any, kafka: Kafka, brokers: tuple[str, ...], landed: dict[int, int], limit: int,
             errors: list[str]) -> Batch:
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, TopicPartition
    topic = kafka.topic
    meta = consumer.list_topics(topic, timeout=TIMEOUT)
    info = meta.topics.get(topic)
    if info is None or info.error is not None or not info.partitions:
        why = info.error.str() if info is not None and info.error is not None else "no partitions"
        seen = f" ({errors[-1]})" if errors else ""
        raise StepFailed(f"topic '{topic}' is not readable on {', '.join(brokers)}: {why}{seen}")
    batch = Batch(partitions=len(info.partitions))
    assign = []
    for part in sorted(info.partitions):
        low, _ = consumer.get_watermark_offsets(TopicPartition(topic, part), timeout=TIMEOUT, cached=False)
        start = landed.get(part)
        if start is not None and start < low:  # retention deleted messages that were never landed
            batch.lost[part] = (start, low)
            start = low
        if start is not None:
            batch.next_offsets[part] = start
        # a partition never landed starts at its beginning or end (the end's offset is learnt at its EOF)
        assign.append(TopicPartition(topic, part, start if start is not None else
                                     OFFSET_BEGINNING if kafka.start == "earliest" else OFFSET_END))
    consumer.assign(assign)
    ends = {tp.partition for tp in assign}  # partitions not read to their end yet
    quiet_since = time.monotonic()
    while ends and len(batch.messages) < limit:
        msgs = consumer.consume(num_messages=min(500, limit - len(batch.messages)), timeout=1.0)
        if not msgs and time.monotonic() - quiet_since > TIMEOUT:
            raise StepFailed(f"partitions {sorted(ends)} of '{topic}' sent neither messages nor their end for "
                             f"{TIMEOUT:.0f}s" + (f" ({errors[-1]})" if errors else ""))
        for msg in msgs:
            quiet_since = time.monotonic()
            part = msg.partition()
            if msg.error() is not None:
                if msg.error().code() == msg.error()._PARTITION_EOF:  # read up to the end as of now
                    ends.discard(part)
                    batch.next_offsets[part] = max(batch.next_offsets.get(part, 0), msg.offset())
                    continue
                raise StepFailed(f"kafka: {msg.error().str()}")
            if part not in ends or msg.offset() < batch.next_offsets.get(part, 0):
                continue
            ts_type, ts = msg.timestamp()
            batch.messages.append(Message(part, msg.offset(), msg.key(), msg.value(), ts if ts_type else None))
            batch.next_offsets[part] = msg.offset() + 1
            if len(batch.messages) >= limit:
                break
    return batch
