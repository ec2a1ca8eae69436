"""OpenLineage names (spec/Naming.md): namespaces and names of datasets, and of specops' jobs.

    warehouse tables   postgres://{host}:{port} {database}.{schema}.{table}
                       snowflake://{account} {database}.{schema}.{table}
                       bigquery {project}.{dataset}.{table}
                       duckdb://{file, relative to the repository} {file stem}.main.{table}
    file sources       file {path relative to the repository}
    external sources   {scheme}://{authority} {path}   (from the URI)
    landed sources     the landing table in the warehouse, as above ({database}.{landing schema}.{landing table})
    what they land     kafka://{first broker} {topic} (the environment's brokers when it sets them);
                       a dvc file: file {path}, or {repo} {path} when read from another repository
    registered models  the environment's MLflow tracking URI, models/{registered name}
    jobs               specops.{project}.{environment}, the resource's address (seed loads: dataset.<name>.load)

Paths stay relative to the repository: compile never knows where the repository will be checked out.
"""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

from compiler.spec.ir import Dataset, Environment, Model, Project
from compiler.spec.landing import brokers
from compiler.spec.warehouse_types import target_database, target_schema

FILE_NAMESPACE = "file"


def job_namespace(project: Project, env: Environment) -> str:
    return f"specops.{project.name}.{env.name}"


def warehouse_namespace(env: Environment) -> str:
    wh = env.warehouse
    if wh.type == "postgres":
        return f"postgres://{wh.get('host')}:{wh.get('port', 5432)}"
    if wh.type == "snowflake":
        return f"snowflake://{wh.get('account')}"
    if wh.type == "bigquery":
        return "bigquery"
    return f"duckdb://{wh.get('path')}"


def _schema_prefix(env: Environment) -> str:
    wh = env.warehouse
    if wh.type == "duckdb":
        database = posixpath.splitext(posixpath.basename(str(wh.get("path"))))[0]
    else:  # Postgres names its database too
        database = target_database(wh) or wh.get("database")
    return f"{database}.{target_schema(wh)}"


def dataset(env: Environment, ds: Dataset) -> tuple[str, str]:
    """(namespace, name) of the dataset as the environment holds it."""
    src = ds.source
    if src is not None and src.type == "external" and src.uri:
        parts = urlsplit(src.uri)
        return (f"{parts.scheme}://{parts.netloc}" if parts.netloc else parts.scheme or FILE_NAMESPACE), parts.path
    if src is not None and src.type == "table":
        database = src.database or _schema_prefix(env).rsplit(".", 1)[0]
        return warehouse_namespace(env), f"{database}.{src.schema}.{src.table}"
    if src is not None and src.landing is not None:  # dvc, kafka: specops lands them into a landing table
        database = _schema_prefix(env).rsplit(".", 1)[0]
        return warehouse_namespace(env), f"{database}.{src.landing.schema}.{src.landing.table}"
    return warehouse_namespace(env), f"{_schema_prefix(env)}.{ds.name}"


def source_file(ds: Dataset) -> tuple[str, str]:
    """(namespace, name) of a file dataset's CSV in the repository."""
    assert ds.source is not None and ds.source.path
    return FILE_NAMESPACE, ds.source.path


def landed_from(env: Environment, ds: Dataset) -> tuple[str, str]:
    """(namespace, name) of what a dvc or kafka dataset is landed from: the topic, or the DVC-tracked file."""
    src = ds.source
    assert src is not None and src.landed
    if src.kafka is not None:
        return f"kafka://{brokers(ds, env)[0]}", src.kafka.topic
    assert src.path is not None
    return (src.dvc.repo if src.dvc is not None and src.dvc.repo else FILE_NAMESPACE), src.path


def registered_model(env: Environment, model: Model) -> tuple[str, str]:
    """(namespace, name) of a registered model: the tracking server (never its credentials), the model's name."""
    parts = urlsplit(env.tracking_uri)
    host = parts.hostname or ""
    authority = f"{host}:{parts.port}" if parts.port else host
    namespace = f"{parts.scheme}://{authority}{parts.path if not host else ''}"
    return namespace, f"models/{model.registry_name or model.name}"
