"""What training and drift scoring read: the training dataset from the environment's warehouse, and MLflow
kept quiet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from compiler.apply.context import RunContext, StepFailed
from compiler.spec.ir import Model


def load_frame(ctx: RunContext, model: Model, extra: Sequence[str] = (), window: tuple[str, Any] | None = None):
    """The training dataset's feature and target columns (and `extra` ones), read from the environment's
    warehouse in a defined order: the dataset's primary key, else every column read. The same data then
    gives the same frame, row for row, whatever order the table is stored in."""
    assert model.training is not None
    tr = model.training
    columns = list(dict.fromkeys((*tr.features, tr.target, *extra)))
    dataset = ctx.project.datasets.get(tr.dataset)
    order = list(dataset.primary_key) if dataset is not None and dataset.primary_key else columns
    frame = read_dataset(ctx, tr.dataset, columns, order, window)
    if frame.empty:
        where = f" with {window[0]} >= {window[1]}" + (
            f" and {window[0]} < {window[2]}" if window is not None and len(window) > 2 else "") if window else ""
        raise StepFailed(f"dataset '{tr.dataset}' has no rows{where}")
    return frame


def read_dataset(ctx: RunContext, dataset: str, columns: Sequence[str], order_by: Sequence[str] = (),
                 window: tuple[str, Any] | None = None):
    """Columns of a dataset from the environment's warehouse (compiler.apply.warehouse: DuckDB, PostgreSQL,
    Snowflake, BigQuery), in `order_by` order, only the rows whose window column is at least `since` when a
    (column, since) window is given."""
    from compiler.apply.warehouse import WarehouseError, Window, open_reader, table_ref

    bounds = Window(*window) if window is not None else None
    try:
        with open_reader(ctx.env, ctx.root) as reader:
            return reader.read(table_ref(ctx.project, ctx.env, dataset), columns, order_by, bounds)
    except WarehouseError as exc:
        raise StepFailed(f"cannot read dataset '{dataset}' in environment '{ctx.env.name}': {exc}") from None


def quiet_mlflow() -> None:
    """MLflow's INFO logs and advisory warnings would drown the apply output."""
    import logging
    import warnings

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"mlflow\..*")
    warnings.filterwarnings("ignore", message=".*(skops|cloudpickle|Inferred schema contains integer).*")
