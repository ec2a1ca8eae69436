"""What training and drift scoring read: the training dataset from the environment's warehouse, and MLflow
kept quiet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from compiler.apply.context import RunContext, StepFailed
from compiler.spec.ir import Model

if TYPE_CHECKING:
    from compiler.apply.warehouse import Window


def load_frame(ctx: RunContext, model: Model):
    """The training dataset's feature and target columns, read from the environment's warehouse."""
    assert model.training is not None
    tr = model.training
    columns = (*tr.features, tr.target)
    dataset = ctx.project.datasets.get(tr.dataset)
    # a stable order, whatever the warehouse returns: the split is then the same on every read
    order = dataset.primary_key if dataset is not None and dataset.primary_key else columns
    frame = read_dataset(ctx, tr.dataset, columns, order)
    if frame.empty:
        raise StepFailed(f"dataset '{tr.dataset}' is empty")
    return frame


def read_dataset(ctx: RunContext, dataset: str, columns: Sequence[str], order_by: Sequence[str] = (),
                 window: Window | None = None):
    """Columns of a dataset from the environment's warehouse (compiler.apply.warehouse), in `order_by` order,
    only the rows inside `window` when given."""
    from compiler.apply.warehouse import WarehouseError, open_reader, table_ref

    try:
        with open_reader(ctx.env, ctx.root) as reader:
            return reader.read(table_ref(ctx.project, ctx.env, dataset), columns, order_by, window)
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
