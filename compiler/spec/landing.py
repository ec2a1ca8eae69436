"""What the language says about landed sources (dvc, kafka): metadata columns, settings specops owns, and which
warehouses specops lands into. Pure data, shared by the rules, the backends and the landing job."""

from __future__ import annotations

from collections.abc import Iterable

from compiler.spec import placement
from compiler.spec.ir import Dataset, Environment

# columns a kafka dataset may declare that are filled from the message, not from its value
KAFKA_METADATA: dict[str, str] = {
    "_kafka_topic": "string",
    "_kafka_partition": "integer",
    "_kafka_offset": "bigint",
    "_kafka_timestamp": "timestamp",
    "_kafka_key": "string",
}
# the metadata columns a KafkaConnector fills, with the InsertField setting that does (there is none for the key)
CONNECT_FIELDS: dict[str, str] = {"_kafka_topic": "topic.field", "_kafka_partition": "partition.field",
                                  "_kafka_offset": "offset.field", "_kafka_timestamp": "timestamp.field"}

# consumer settings specops sets itself (or takes from `security`): refused in `consumer`
OWNED_SETTINGS = frozenset({
    "bootstrap.servers", "metadata.broker.list", "group.id", "group.instance.id", "enable.auto.commit",
    "enable.auto.offset.store", "auto.offset.reset", "security.protocol", "enable.partition.eof", "isolation.level",
})
OWNED_PREFIXES = ("sasl.",)

# warehouses the landing job writes into (compiler.apply.landing.warehouse)
LANDING_WAREHOUSES = ("duckdb", "postgres")

# where a landing job keeps the next offset of each partition, beside the landing tables
OFFSETS_TABLE = "_specops_offsets"


def payload_columns(ds: Dataset) -> tuple[str, ...]:
    """The declared columns read from a message's value (for csv: in this order)."""
    return tuple(c.name for c in ds.columns if c.name not in KAFKA_METADATA)


def owned_setting(key: str) -> bool:
    return key in OWNED_SETTINGS or key.startswith(OWNED_PREFIXES)


def connector_lands(ds: Dataset, env: Environment) -> bool:
    """Whether a KafkaConnector lands `ds` in `env` (then specops' own landing must not: that would land every
    message twice): a kafka source with `connect`, in an environment with a namespace and a postgres warehouse."""
    src = ds.source
    return (src is not None and src.kafka is not None and src.kafka.connect_cluster is not None
            and env.namespace is not None and env.warehouse.type == "postgres")


def cron_landed(datasets: Iterable[Dataset], env: Environment) -> list[Dataset]:
    """The kafka sources specops' landing CronJob lands in `env` (by name): a `schedule` and no `connect`, an
    environment with a namespace, and a warehouse its cluster can reach (the laptop-only rule)."""
    if env.namespace is None or not placement.in_cluster(env, "land"):
        return []
    return sorted((ds for ds in datasets if ds.source is not None and ds.source.kafka is not None
                   and ds.source.kafka.schedule and not ds.source.kafka.connect_cluster), key=lambda d: d.name)


def cron_landed_anywhere(datasets: Iterable[Dataset], environments: Iterable[Environment]) -> bool:
    found = list(datasets)
    return any(cron_landed(found, env) for env in environments)


def brokers(ds: Dataset, env: Environment) -> tuple[str, ...]:
    """The brokers `ds` is landed from in `env`: the environment's kafka.brokers when it sets them, else the
    source's own."""
    src = ds.source
    if src is None or src.kafka is None:
        return ()
    return env.kafka_brokers or src.kafka.brokers


def broker_ports(ds: Dataset, env: Environment) -> tuple[int, ...]:
    return tuple(sorted({int(b.rsplit(":", 1)[1]) for b in brokers(ds, env)}))
