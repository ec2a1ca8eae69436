"""Landing the sources specops loads itself into the environment's warehouse, for dbt to read as sources.

- dvc: the version the specs pin (the md5 of the committed .dvc file, or `rev` of another repository) is
  fetched with dvc and replaces the landing table, cast to the declared column types.
- kafka: one bounded batch after the landed offsets is read, each message checked against the declared
  columns, and appended with the partitions' new offsets in one transaction (exactly once into the warehouse).
  Where a KafkaConnector lands the topic (compiler.emit.kubernetes.landing), only the table is made.

`apply` lands a dataset when the plan says its data changed (a new DVC version, a new or changed kafka source);
`specops land` lands one now (what the landing CronJob runs). See docs/sources.md.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from compiler.apply.context import RunContext, StepFailed
from compiler.apply.landing import dvcfetch
from compiler.apply.landing.kafka import Batch, consume
from compiler.apply.landing.messages import BadMessage, parse_value, row_of
from compiler.apply.landing.warehouse import NULL, Table, connect
from compiler.spec.ir import Dataset
from compiler.spec.landing import brokers, connector_lands, payload_columns


@dataclass
class Landed:
    rows: int  # rows landed by this run (dvc: the rows of the table)
    summary: str


def land(ctx: RunContext, ds: Dataset, reset: bool = False, limit: int | None = None) -> Landed:
    """Land `ds` (a dvc or kafka dataset) into ctx.env's warehouse; StepFailed says why it could not."""
    src = ds.source
    if src is None or not src.landed:
        raise StepFailed(f"dataset.{ds.name} is not a dvc or kafka source: nothing to land")
    scratch = ctx.root / ".specops" / "landing" / ctx.env.name
    if src.dvc is not None:
        path = dvcfetch.fetch(ctx.root, ds, scratch, ctx.echo)
        wh = connect(ctx.root, ctx.env)
        try:
            with wh.transaction():
                rows = wh.replace_from_csv(Table.of(ds), path, src.delimiter or ",")
        finally:
            wh.close()
        version = f"rev {src.dvc.rev} of {src.dvc.repo}" if src.dvc.repo else f"md5 {src.dvc.md5}"
        return Landed(rows, f"{rows} rows of {src.path} ({version}) into {Table.of(ds).shown}")
    if connector_lands(ds, ctx.env):  # messages arrive through Kafka Connect: only make the table they land in
        wh = connect(ctx.root, ctx.env)
        try:
            with wh.transaction():
                wh.create(Table.of(ds))
        finally:
            wh.close()
        return Landed(0, f"no message: {Table.of(ds).shown} is ready, and the KafkaConnector on "
                         f"{src.kafka.connect_cluster if src.kafka else '?'} lands the topic into it")
    return _land_kafka(ctx, ds, scratch, reset, limit)


def _land_kafka(ctx: RunContext, ds: Dataset, scratch: Path, reset: bool, limit: int | None) -> Landed:
    src = ds.source
    assert src is not None and src.kafka is not None
    k, table = src.kafka, Table.of(ds)
    group = f"specops.{ctx.project.project.name}.{ds.name}"
    wh = connect(ctx.root, ctx.env)
    try:
        with wh.transaction():
            wh.ensure_offsets(table.schema)
            wh.lock_offsets(table.schema)
            if reset:
                wh.reset(table)
            wh.create(table)
            landed = wh.offsets(table, k.topic)
            batch = consume(k, brokers(ds, ctx.env), group, landed, limit or k.max_messages)
            rows, skipped = _rows(ds, batch)
            for part, (was, first) in sorted(batch.lost.items()):
                ctx.echo(f"   warning: partition {part}: offsets {was}..{first - 1} were deleted by the topic's "
                         "retention before they were landed")
            if rows:
                staged = _stage(scratch, ds, rows)
                try:
                    wh.append_csv(table, staged)
                finally:
                    staged.unlink(missing_ok=True)
            if batch.next_offsets != landed:
                wh.save_offsets(table, k.topic, batch.next_offsets, dt.datetime.now(dt.UTC).replace(tzinfo=None)
                                .isoformat(sep=" ", timespec="seconds"))
    finally:
        wh.close()
    note = f", skipped {len(skipped)} that did not fit ({skipped[0]}{', ...' if len(skipped) > 1 else ''})" \
        if skipped else ""
    return Landed(len(rows), f"{len(rows)} message(s) of topic {k.topic} into {table.shown}{note}")


def _rows(ds: Dataset, batch: Batch) -> tuple[list[list[str | None]], list[str]]:
    src = ds.source
    assert src is not None and src.kafka is not None
    k = src.kafka
    payload = payload_columns(ds)
    types = {c.name: c.type for c in ds.columns}
    rows: list[list[str | None]] = []
    skipped: list[str] = []
    for m in batch.messages:
        metadata = {
            "_kafka_topic": k.topic, "_kafka_partition": m.partition, "_kafka_offset": m.offset,
            "_kafka_timestamp": _timestamp(m.timestamp_ms),
            "_kafka_key": m.key.decode("utf-8", "replace") if m.key is not None else None,
        }
        metadata = {name: value for name, value in metadata.items() if name in types}
        try:
            rows.append(row_of(parse_value(m.value, k.format, payload, src.delimiter or ","), metadata, types))
        except BadMessage as exc:
            where = f"partition {m.partition} offset {m.offset}: {exc}"
            if k.on_error == "fail":
                raise StepFailed(f"message at {where} (nothing of this batch was landed; on_error: skip would skip "
                                 "it)") from None
            skipped.append(where)
    return rows, skipped


def _timestamp(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")


def _stage(scratch: Path, ds: Dataset, rows: list[list[str | None]]) -> Path:
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / f"{ds.name}.batch.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow([c.name for c in ds.columns])
        for row in rows:
            out.writerow([NULL if v is None else v for v in row])
    return path

