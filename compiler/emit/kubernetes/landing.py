"""What lands kafka sources in a cluster: specops' landing CronJob, or a Strimzi KafkaConnector.

- `<dataset>-land` (batch/v1 CronJob) when the source has a `schedule` (and no `connect`): `specops land
  <dataset> --env <env>` in the landing image (compiler.emit.docker.land), in every environment with a
  namespace whose warehouse its cluster can reach (compiler.spec.placement); like the other jobs it fetches the
  spec repository at the applied revision and runs in it, on the same schedule rules (UTC, no overlap: a landing
  run never races another, a deadline). Credentials arrive as files under SPECOPS_SECRETS_DIR (the image's
  entrypoint exports them): the keys of `<project>-secrets` it uses, the warehouse's and the Kafka
  `security.*_env` ones (compiler.spec.secrets).
- `<dataset>-sink` (kafka.strimzi.io/v1beta2 KafkaConnector) when the source has `connect`, in every environment
  with a namespace and a postgres warehouse: Confluent's JDBC sink into the landing table, records read with
  the JsonConverter (schemas enabled: the producer sends the schema with each record), Kafka metadata columns
  filled by InsertField transforms, the warehouse password read by Strimzi's KubernetesSecretConfigProvider from
  the Secret `<project>-secrets`. No CRD schema ships with any package here: tests check these objects
  against a schema written by hand from the Strimzi API reference for the fields emitted (docs/sources.md).
- `<project>-land` NetworkPolicy for the landing pods: no ingress; egress to DNS, HTTPS, the warehouse's port
  and the brokers' ports.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from compiler import __version__
from compiler.emit import images
from compiler.emit.kubernetes import network
from compiler.emit.kubernetes.cronjobs import fetching_cron_job, job_volumes, secret_name, source_workdir
from compiler.emit.kubernetes.labels import COMPONENT, PART_OF, Identity, metadata
from compiler.emit.kubernetes.pod import container, service_account
from compiler.emit.kubernetes.resources import requirements
from compiler.emit.kubernetes.target import Target
from compiler.spec.ir import Dataset
from compiler.spec.k8snames import landing_jobs, project_object_name, sink_name
from compiler.spec.landing import CONNECT_FIELDS, broker_ports, connector_lands

COMPONENT_NAME = "land"
DEADLINE = 1800
JDBC_SINK = "io.confluent.connect.jdbc.JdbcSinkConnector"
STRIMZI_CLUSTER = "strimzi.io/cluster"


def kafka_datasets(t: Target) -> list[Dataset]:
    return t.project.kafka_datasets()


def scheduled(t: Target) -> Iterator[tuple[Dataset, str]]:
    """(dataset, CronJob name) of every kafka source landed by specops' CronJob in this environment."""
    return landing_jobs(t.project, t.env)


def connected(t: Target) -> list[Dataset]:
    """The kafka sources a KafkaConnector lands in this environment."""
    return [ds for ds in kafka_datasets(t) if connector_lands(ds, t.env)]


def _identity(t: Target, ds: Dataset, name: str, component: str, version: str) -> Identity:
    return Identity(app=ds.k8s_name, instance=name, component=component, version=version, part_of=t.part_of,
                    resource=ds)


def job_objects(t: Target, ds: Dataset, name: str) -> list[dict[str, Any]]:
    """ServiceAccount and CronJob of one dataset's landing job."""
    image = images.land_image(t.project)
    ident = _identity(t, ds, name, COMPONENT_NAME, image.rsplit(":", 1)[1])
    return [service_account(metadata(ident, name, t.namespace)), _cron_job(t, ds, ident, name, image)]


def _cron_job(t: Target, ds: Dataset, ident: Identity, name: str, image: str) -> dict[str, Any]:
    assert ds.source is not None and ds.source.kafka is not None
    k = ds.source.kafka
    env: dict[str, str] = {}
    mounts, volumes = job_volumes(t, "land", env)  # the warehouse's and the kafka credentials it uses
    args = ["specops", "land", ds.name, "--env", t.env.name]
    job = container(COMPONENT_NAME, image, requirements({}, {}), args=args, env=env, mounts=mounts,
                    workingDir=source_workdir(t))
    assert k.schedule
    return fetching_cron_job(t, ident, name, k.schedule, DEADLINE, job, volumes)


def network_policy(t: Target, datasets: list[Dataset]) -> dict[str, Any]:
    """No ingress to the landing pods; egress to DNS, HTTPS, the warehouse and the brokers."""
    name = project_object_name(t.project.project, "land")
    ident = Identity(app=t.part_of, instance=name, component="jobs", version=__version__, part_of=t.part_of,
                     resource=t.env)
    ports = {p for ds in datasets for p in broker_ports(ds, t.env)}
    wh = t.env.warehouse
    if wh.type == "postgres":
        ports.add(int(wh.get("port", 5432)))
    pods = {"matchLabels": {PART_OF: t.part_of, COMPONENT: COMPONENT_NAME}}
    return network.network_policy(metadata(ident, name, t.namespace), pods, [], network.egress(sorted(ports)))


def connector(t: Target, ds: Dataset) -> dict[str, Any]:
    """The KafkaConnector landing `ds` into the environment's postgres warehouse."""
    src = ds.source
    assert src is not None and src.kafka is not None and src.landing is not None
    k, wh = src.kafka, t.env.warehouse
    name = sink_name(ds)
    config: dict[str, str] = {
        "topics": k.topic,
        # stringtype=unspecified: Postgres casts the JSON's strings to the landing table's column types (timestamps)
        "connection.url": f"jdbc:postgresql://{wh.get('host')}:{wh.get('port', 5432)}/{wh.get('database')}"
                          "?stringtype=unspecified",
        "connection.user": str(wh.get("user")),
        "table.name.format": f"{src.landing.schema}.{src.landing.table}",
        "insert.mode": "insert",
        "pk.mode": "none",
        "auto.create": "true",
        "auto.evolve": "true",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
        "consumer.override.auto.offset.reset": k.start,
        "errors.tolerance": "all" if k.on_error == "skip" else "none",
    }
    if wh.get("password_env"):
        config["connection.password"] = f"${{secrets:{t.namespace}/{secret_name(t)}:{wh.get('password_env')}}}"
    fields = {setting: col for col, setting in CONNECT_FIELDS.items() if ds.column(col) is not None}
    if fields:
        config["transforms"] = "specopsMetadata"
        config["transforms.specopsMetadata.type"] = "org.apache.kafka.connect.transforms.InsertField$Value"
        for setting, col in sorted(fields.items()):
            config[f"transforms.specopsMetadata.{setting}"] = col
    ident = _identity(t, ds, name, "sink", __version__)
    meta = metadata(ident, name, t.namespace, extra_labels={STRIMZI_CLUSTER: k.connect_cluster or ""})
    return {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaConnector", "metadata": meta, "spec": {
        "class": JDBC_SINK,
        "tasksMax": k.connect_tasks_max,
        "autoRestart": {"enabled": True},
        "config": dict(sorted(config.items())),
    }}

