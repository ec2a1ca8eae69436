"""BigQuery through google-cloud-bigquery (the `bigquery` extra).

Credentials: the service-account key file whose path `keyfile_env` names (as dbt-bigquery reads it), else
application default credentials. Rows are read through the query job's REST result (not the Storage API,
which reads streams in parallel and loses the ORDER BY).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from compiler.apply.warehouse.base import Dialect, TableRef, WarehouseError, Window, decimals_to_float, select_sql

DIALECT = Dialect("bigquery", "`", param="@since")


def _module() -> Any:
    try:
        from google.cloud import bigquery
    except ImportError:
        raise WarehouseError("reading a bigquery warehouse needs its client: pip install "
                             "'specops[run,bigquery]'") from None
    return bigquery


def parameter_type(value: Any) -> str:
    """The BigQuery type of the window's lower bound."""
    if isinstance(value, bool):
        raise WarehouseError("a window bound cannot be a boolean")
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    return "STRING"


class BigQueryReader:
    dialect = DIALECT

    def __init__(self, settings: Mapping[str, Any], keyfile: str | None, module: Any = None):
        self._bq = module or _module()
        self.project = settings.get("project")
        try:
            if keyfile:
                self._client = self._bq.Client.from_service_account_json(keyfile, project=self.project)
            else:
                self._client = self._bq.Client(project=self.project)
        except (OSError, ValueError) as exc:
            raise WarehouseError(f"cannot open a BigQuery client for project {self.project}: {exc}") from None

    def read(self, ref: TableRef, columns: Sequence[str], order_by: Sequence[str] = (),
             window: Window | None = None) -> Any:
        sql, _ = select_sql(self.dialect, ref, columns, order_by, window)
        parameters = []
        if window is not None:
            parameters.append(self._bq.ScalarQueryParameter("since", parameter_type(window.since), window.since))
            if window.until is not None:
                parameters.append(self._bq.ScalarQueryParameter("until", parameter_type(window.until), window.until))
        config = self._bq.QueryJobConfig(query_parameters=parameters)
        try:
            job = self._client.query(sql, job_config=config)
            frame = job.result().to_dataframe(create_bqstorage_client=False)
        except Exception as exc:  # google.api_core raises many classes; all mean "this read failed"
            raise WarehouseError(f"cannot read {self.dialect.table(ref)}: {exc}") from None
        frame.columns = list(columns)
        return decimals_to_float(frame)

    def close(self) -> None:
        self._client.close()
