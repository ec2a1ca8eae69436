"""Reading datasets from an environment's warehouse, whatever its type: what training, evaluation and drift
scoring read.

    with open_reader(env, root) as reader:
        frame = reader.read(table_ref(project, env, "customer_features"), columns, order_by, window)

One reader per warehouse type (duckdb, postgres, snowflake, bigquery), each over its own driver, with the
same request: columns, an order and an optional (column, since) window, identifiers quoted per dialect.
Connections come from the Environment spec; secrets from the environment variables its `*_env` settings
name (never from the spec). The drivers are imported when a reader opens, never on validate or compile.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from compiler.apply.warehouse.base import Reader, TableRef, WarehouseError, Window, select_sql
from compiler.spec.ir import Environment
from compiler.spec.project import SpecProject
from compiler.spec.warehouse_types import target_database, target_schema

__all__ = ["Reader", "TableRef", "WarehouseError", "Window", "open_reader", "secret", "select_sql", "table_ref"]


def secret(environ: Mapping[str, str], env: Environment, key: str) -> str | None:
    """The value of the variable the warehouse's `key` (password_env, keyfile_env) names; None when unset in the
    spec. A variable the spec names but the process lacks is an error naming it."""
    name = env.warehouse.get(key)
    if not name:
        return None
    value = environ.get(str(name))
    if value is None:
        raise WarehouseError(f"environment '{env.name}' reads the warehouse's {key.removesuffix('_env')} from the "
                             f"environment variable {name}, which is not set")
    return value


def table_ref(project: SpecProject, env: Environment, dataset: str) -> TableRef:
    """Where dbt put a dataset in this environment: a model or seed in the target's schema, or a table source."""
    ds = project.datasets[dataset]
    wh = env.warehouse
    database = target_database(wh)
    if ds.source is not None and ds.source.type == "table":
        return TableRef(str(ds.source.table), ds.source.schema, ds.source.database or database)
    if ds.source is not None and ds.source.type == "external":
        raise WarehouseError(f"dataset '{dataset}' is an external source ({ds.source.uri}), not a table of the "
                             f"warehouse: read it through a transform, and train on that transform's output")
    return TableRef(dataset, target_schema(wh), database)


@contextmanager
def open_reader(env: Environment, root: Path, environ: Mapping[str, str] | None = None) -> Iterator[Reader]:
    """A reader connected to the environment's warehouse, closed on exit."""
    environ = os.environ if environ is None else environ
    wh = env.warehouse
    reader: Reader
    scratch: str | None = None  # a key file written here, removed on exit
    if wh.type == "duckdb":
        from compiler.apply.warehouse.duckdb import DuckDBReader

        reader = DuckDBReader(root / str(wh.get("path")))
    elif wh.type == "postgres":
        from compiler.apply.warehouse.postgres import PostgresReader

        reader = PostgresReader(dict(wh.settings), secret(environ, env, "password_env"))
    elif wh.type == "snowflake":
        from compiler.apply.warehouse.snowflake import SnowflakeReader

        reader = SnowflakeReader(dict(wh.settings), secret(environ, env, "password_env"))
    elif wh.type == "bigquery":
        from compiler.apply.warehouse.bigquery import BigQueryReader

        keyfile, scratch = _keyfile(secret(environ, env, "keyfile_env"))
        try:
            reader = BigQueryReader(dict(wh.settings), keyfile)
        except BaseException:
            if scratch:
                os.unlink(scratch)
            raise
    else:  # pragma: no cover - the schema allows only the types above
        raise WarehouseError(f"unknown warehouse type {wh.type}")
    try:
        yield reader
    finally:
        reader.close()
        if scratch:
            os.unlink(scratch)


def _keyfile(value: str | None) -> tuple[str | None, str | None]:
    """(a key file path, the temporary file to remove afterwards). A variable that holds the key's JSON itself
    (a secret pasted as is) is written to a private temporary file, as the workflows and images do for dbt."""
    if value is None or not value.lstrip().startswith("{"):
        return value, None
    import tempfile

    try:
        json.loads(value)
    except ValueError:
        raise WarehouseError("the BigQuery key file variable holds neither a path nor a JSON key") from None
    fd, path = tempfile.mkstemp(prefix="specops-gcp-key-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return path, path
