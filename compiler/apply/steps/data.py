"""What training and drift scoring read: the training dataset from the environment's warehouse, and MLflow
kept quiet."""

from __future__ import annotations

from compiler.apply.context import RunContext, StepFailed
from compiler.spec.ir import Model


def load_frame(ctx: RunContext, model: Model):
    """The training dataset's feature and target columns, read from the environment's warehouse."""
    import duckdb

    assert model.training is not None
    wh = ctx.env.warehouse
    if wh.type != "duckdb":
        raise StepFailed(f"training reads the warehouse; environment '{ctx.env.name}' uses {wh.type}, and this "
                         "version of specops trains from duckdb warehouses only (run training in that environment's "
                         "CI job or the retraining CronJob)")
    path = ctx.root / str(wh.get("path"))
    if not path.exists():
        raise StepFailed(f"the warehouse {path} does not exist yet: build the datasets first (specops apply)")
    tr = model.training
    columns = ", ".join(f'"{c}"' for c in (*tr.features, tr.target))
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = con.execute(f'select {columns} from "main"."{tr.dataset}"').df()
    except duckdb.Error as exc:
        raise StepFailed(f"cannot read dataset '{tr.dataset}' from {path}: {exc}") from None
    finally:
        con.close()
    if frame.empty:
        raise StepFailed(f"dataset '{tr.dataset}' is empty")
    return frame


def quiet_mlflow() -> None:
    """MLflow's INFO logs and advisory warnings would drown the apply output."""
    import logging
    import warnings

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"mlflow\..*")
    warnings.filterwarnings("ignore", message=".*(skops|cloudpickle|Inferred schema contains integer).*")
