"""Rules about sources: a table source's database, and the sources specops lands itself (dvc, kafka): values the
schema cannot judge alone."""

from __future__ import annotations

from collections.abc import Iterator

from compiler.front.rules.context import Context
from compiler.spec.cron import cron_problem
from compiler.spec.diagnostics import Diagnostic
from compiler.spec.ir import Dataset, Resource
from compiler.spec.landing import CONNECT_FIELDS, KAFKA_METADATA, LANDING_WAREHOUSES, owned_setting

_SOURCE = ("spec", "source")
_SASL = ("SASL_PLAINTEXT", "SASL_SSL")


def check_landed_sources(ctx: Context) -> Iterator[Diagnostic]:
    """Brokers, topics, consumer settings, credentials, metadata columns, DVC revisions, landing tables."""
    landed = [ds for ds in ctx.datasets.values() if ds.source is not None and ds.source.landed]
    for ds in landed:
        if ds.source is not None and ds.source.kafka is not None:
            yield from _kafka(ctx, ds)
        else:
            yield from _dvc(ctx, ds)
    yield from _clashes(ctx, landed)
    yield from _warehouses(ctx, landed)
    for env in ctx.environments.values():
        yield from _ports(ctx, env, ("spec", "kafka", "brokers"), env.kafka_brokers)


def _written(ctx: Context, ds: Dataset) -> dict:
    return ctx.docs[ds.address].data["spec"]["source"]


def _kafka(ctx: Context, ds: Dataset) -> Iterator[Diagnostic]:
    assert ds.source is not None and ds.source.kafka is not None
    k, raw = ds.source.kafka, _written(ctx, ds)
    yield from _ports(ctx, ds, (*_SOURCE, "brokers"), k.brokers)
    if k.topic in (".", ".."):
        yield ctx.at(ds, (*_SOURCE, "topic"), "bad-topic", f"'{k.topic}' is not a valid topic name")
    for key in sorted(dict(k.consumer)):
        if owned_setting(key):
            hint = ("credentials go in security: (username_env, password_env)" if key.startswith("sasl.")
                    else "specops sets it: see docs/sources.md (start:, security:, max_messages:)")
            yield ctx.at(ds, (*_SOURCE, "consumer", key), "kafka-setting",
                         f"consumer setting '{key}' is specops' own", hint, key=True)
    security = dict(k.security)
    sasl = security.get("protocol") in _SASL
    for field in ("mechanism", "username_env", "password_env"):
        if sasl and not security.get(field):
            yield ctx.at(ds, (*_SOURCE, "security", "protocol"), "kafka-security",
                         f"protocol {security['protocol']} needs security.{field}",
                         "SASL needs a mechanism and the environment variables holding the user name and password")
        elif not sasl and security.get(field):
            yield ctx.at(ds, (*_SOURCE, "security", field), "kafka-security",
                         f"security.{field} is only used with a SASL protocol (SASL_PLAINTEXT or SASL_SSL)",
                         key=True)
    if k.format != "csv" and "delimiter" in raw:
        yield ctx.at(ds, (*_SOURCE, "delimiter"), "kafka-format", "delimiter applies to format csv only", key=True)
    if k.schedule and (why := cron_problem(k.schedule)):
        yield ctx.at(ds, (*_SOURCE, "schedule"), "bad-cron", f"schedule '{k.schedule}': {why}")
    if k.connect_cluster and k.schedule:
        yield ctx.at(ds, (*_SOURCE, "connect"), "kafka-landing",
                     "set either schedule (specops' landing CronJob) or connect (a KafkaConnector), not both",
                     "one thing lands a topic: two would land every message twice", key=True)
    if k.connect_cluster and k.format != "json":
        yield ctx.at(ds, (*_SOURCE, "connect"), "kafka-landing",
                     "connect needs format json: the JDBC sink reads records with a schema (JsonConverter)",
                     "use format: json, or land csv messages with specops' own job (schedule:)", key=True)
    for i, col in enumerate(ds.columns):
        if k.connect_cluster and col.name in KAFKA_METADATA and col.name not in CONNECT_FIELDS:
            yield ctx.at(ds, ("spec", "columns", i, "name"), "kafka-column",
                         f"the KafkaConnector (connect) cannot fill '{col.name}'",
                         f"it fills {', '.join(CONNECT_FIELDS)}")
        wanted = KAFKA_METADATA.get(col.name)
        if col.name.startswith("_kafka_") and wanted is None:
            yield ctx.at(ds, ("spec", "columns", i, "name"), "kafka-column",
                         f"'{col.name}' is not a Kafka metadata column",
                         f"the metadata columns are {', '.join(KAFKA_METADATA)}")
        elif wanted is not None and col.type != wanted:
            yield ctx.at(ds, ("spec", "columns", i, "type"), "kafka-column",
                         f"metadata column '{col.name}' is {wanted}, not {col.type}")
    if all(c.name in KAFKA_METADATA for c in ds.columns):
        yield ctx.at(ds, ("spec", "columns"), "kafka-column", "declare at least one column read from the messages",
                     key=True)


def _ports(ctx: Context, res: Resource, path: tuple, brokers: tuple[str, ...]) -> Iterator[Diagnostic]:
    for i, broker in enumerate(brokers):
        port = int(broker.rsplit(":", 1)[1])
        if not 1 <= port <= 65535:
            yield ctx.at(res, (*path, i), "bad-broker", f"broker '{broker}': port {port} is not between 1 and 65535")


def _dvc(ctx: Context, ds: Dataset) -> Iterator[Diagnostic]:
    raw = _written(ctx, ds)
    if "rev" in raw and "repo" not in raw:
        yield ctx.at(ds, (*_SOURCE, "rev"), "dvc-rev", "rev needs repo: the revision of which repository?",
                     "a path of this repository is versioned by its committed .dvc file; remove rev, or add repo",
                     key=True)
    if "repo" in raw and "rev" not in raw:
        yield ctx.at(ds, (*_SOURCE, "repo"), "dvc-rev", "repo needs rev (a tag or commit)",
                     "without a fixed revision, new data would land without the plan seeing it", key=True)


def _clashes(ctx: Context, landed: list[Dataset]) -> Iterator[Diagnostic]:
    first: dict[tuple[str, str], Dataset] = {}
    for ds in landed:
        assert ds.source is not None and ds.source.landing is not None
        key = (ds.source.landing.schema, ds.source.landing.table)
        other = first.setdefault(key, ds)
        if other is not ds:
            yield ctx.at(ds, _SOURCE, "landing-clash", f"dataset.{other.name} already lands into {'.'.join(key)}",
                         "set landing.table to another table",
                         related=(ctx.related(other, _SOURCE, "lands into the same table"),))


def _warehouses(ctx: Context, landed: list[Dataset]) -> Iterator[Diagnostic]:
    if not landed:
        return
    for env in sorted(ctx.environments.values(), key=lambda e: e.name):
        if env.warehouse.type not in LANDING_WAREHOUSES:
            names = ", ".join(f"dataset.{d.name}" for d in landed)
            yield ctx.at(env, ("spec", "warehouse", "type"), "landing-warehouse",
                         f"specops lands dvc and kafka sources into {' and '.join(LANDING_WAREHOUSES)} only; "
                         f"{names} cannot be landed into this {env.warehouse.type} warehouse by specops",
                         "load them there with your own loader (or Kafka Connect) into the landing tables",
                         severity="warning")


def check_source_databases(ctx: Context) -> Iterator[Diagnostic]:
    """A table source in another database than the environment's: PostgreSQL reads none (dbt-postgres refuses a
    cross-database reference)."""
    postgres = [env for env in ctx.environments.values() if env.warehouse.type == "postgres"]
    for ds in ctx.datasets.values() if postgres else ():
        src = ds.source
        if src is None or src.type != "table" or not src.database:
            continue
        other = next((env for env in postgres if env.warehouse.get("database") != src.database), None)
        if other is not None:
            yield ctx.at(ds, (*_SOURCE, "database"), "source-database",
                         f"environment '{other.name}' is on PostgreSQL, which reads no table of another database "
                         f"('{src.database}')", "leave database out and keep the table in a schema of the "
                         "warehouse's database (or read it through a foreign table there)")
