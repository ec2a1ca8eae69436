"""One QualityRule check as Great Expectations 1.x expectation configurations (type, kwargs, meta, severity).

Every check type has an equivalent but a regex check with `max_failures` (untranslated: validate warns);
each agrees with the dbt test specops emits for it (the tests hold
them to that on the examples' data and on planted defects):

    not_null         expect_column_values_to_not_be_null
    unique           expect_column_values_to_be_unique, or expect_compound_columns_to_be_unique (several columns)
    accepted_values  expect_column_values_to_be_in_set
    range            expect_column_values_to_be_between (inclusive)
    regex            expect_column_values_to_match_regex
    row_count        expect_table_row_count_to_be_between
    freshness        expect_column_max_to_be_between, min_value {"$PARAMETER": "freshness_cutoff__<check>"}:
                     the run time minus max_age, given when the suite runs (GX evaluates no clock of ours)
    relationship     unexpected_rows_expectation: child rows whose key has no parent row
    expression       unexpected_rows_expectation: rows where the expression is not true (null counts as false)
    sql              unexpected_rows_expectation: the check's own query, `{{ dataset }}` read as GX's `{batch}`

Thresholds: `max_failure_percent` becomes `mostly` (1 - percent / 100) on the column expectations; GX
takes that share over the column's non-null values (all rows for not_null), dbt over all rows, so the
two agree when the column has no nulls. `max_failures` (a count), and any threshold on unique or on a
query-based check, becomes an unexpected-rows query that returns the failing rows only when there are
more of them than allowed, which is exactly dbt's rule.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from compiler.emit.gx.batch import BATCH, for_gx
from compiler.spec.ir import Check, Dataset, Environment, QualityRule
from compiler.spec.sqltext import DATASET_RE
from compiler.spec.warehouse_types import target_database
from compiler.spec.warehouse_types import target_schema as warehouse_schema

SEVERITY = {"error": "critical", "warn": "warning"}
COLUMN_MAP = {"not_null", "accepted_values", "range", "regex"}


def minutes(duration: str) -> int:
    """A spec duration (<n>m, <n>h, <n>d) in minutes."""
    return int(duration[:-1]) * {"m": 1, "h": 60, "d": 1440}[duration[-1]]


def parameter_name(check: Check) -> str:
    return f"freshness_cutoff__{check.name}"


def relation(dataset: Dataset, env: Environment) -> str | None:
    """The table a dataset is in, as a query on the environment's warehouse names it, qualified as dbt names it
    there (None: a file outside the warehouse).

    Seeds and models are in the target's schema under their dataset name (DuckDB `main`, PostgreSQL `<schema>`,
    Snowflake `<database>.<schema>`, BigQuery `<project>`.`<dataset>`); a table source is <schema>.<table>, after its
    own database if it has one.
    """
    if dataset.source is None or dataset.source.type == "file":
        return f"{target_schema(env)}.{dataset.name}"
    if dataset.source.type == "table":
        table = f"{dataset.source.schema or 'main'}.{dataset.source.table}"
        if not dataset.source.database:
            return table
        return (f"`{dataset.source.database}`.{table}" if env.warehouse.type == "bigquery"
                else f"{dataset.source.database}.{table}")
    if dataset.source.landing is not None:  # dvc, kafka: the landing table specops lands them into
        return f"{dataset.source.landing.schema}.{dataset.source.landing.table}"
    return None


def target_schema(env: Environment) -> str:
    """Where dbt builds seeds and models in the environment (its profiles.yml target), as SQL names it (DuckDB's
    `main` is a SQLite copy's main database too)."""
    schema, database = warehouse_schema(env.warehouse), target_database(env.warehouse)
    if database is None:
        return schema
    return f"`{database}`.{schema}" if env.warehouse.type == "bigquery" else f"{database}.{schema}"


def expectations(rule: QualityRule, check: Check, datasets: dict[str, Dataset],
                 env: Environment) -> list[dict[str, Any]]:
    """The check's expectation configurations (none when it has no equivalent here, e.g. a relationship to a
    dataset that is a file outside the warehouse)."""
    made = _native(check) if not _needs_query(check) else _query(check, datasets, env)
    if made is None:
        return []
    etype, kwargs = made
    if check.type in COLUMN_MAP and check.threshold is not None and check.threshold.max_failure_percent is not None:
        kwargs["mostly"] = _mostly(check.threshold.max_failure_percent)
    meta = {"specops": {"address": rule.address, "check": check.name, "type": check.type, "source_file": rule.loc.file}}
    entry: dict[str, Any] = {"type": etype, "kwargs": kwargs, "meta": meta, "severity": SEVERITY[check.severity]}
    if check.description:
        entry["description"] = check.description
    return [entry]


def _needs_query(check: Check) -> bool:
    if check.type in ("relationship", "expression", "sql"):
        return True
    thr = check.threshold
    if thr is None or check.type in ("row_count", "freshness"):
        return False
    return thr.max_failures is not None or check.type == "unique"


def _native(check: Check) -> tuple[str, dict[str, Any]] | None:
    if check.type == "not_null":
        return "expect_column_values_to_not_be_null", {"column": check.column}
    if check.type == "unique":
        if len(check.columns) == 1:
            return "expect_column_values_to_be_unique", {"column": check.columns[0]}
        # a row with a null in the key duplicates no row, as in the dbt test (SQL's UNIQUE), on every GX engine
        return "expect_compound_columns_to_be_unique", {"column_list": list(check.columns),
                                                        "ignore_row_if": "any_value_is_missing"}
    if check.type == "accepted_values":
        return "expect_column_values_to_be_in_set", {"column": check.column, "value_set": list(check.values)}
    if check.type == "range":
        return "expect_column_values_to_be_between", {"column": check.column, **_bounds(check)}
    if check.type == "regex":
        return "expect_column_values_to_match_regex", {"column": check.column, "regex": check.pattern}
    if check.type == "row_count":
        return "expect_table_row_count_to_be_between", _bounds(check)
    if check.type == "freshness":
        return "expect_column_max_to_be_between", {"column": check.column,
                                                  "min_value": {"$PARAMETER": parameter_name(check)}}
    return None


def _bounds(check: Check) -> dict[str, Any]:
    return {k: _number(v) for k, v in (("min_value", check.min), ("max_value", check.max)) if v is not None}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _mostly(percent: float) -> float:
    return float(Decimal(1) - Decimal(repr(float(percent))) / Decimal(100))


def _query(check: Check, datasets: dict[str, Dataset], env: Environment) -> tuple[str, dict[str, Any]] | None:
    failing = _failing_rows(check, datasets, env)
    if failing is None:
        return None
    thr = check.threshold
    if thr is not None and thr.max_failures is not None:
        failing = (f"select * from ({failing}\n) as specops_failing "
                   f"where (select count(*) from ({failing}\n) as specops_counted) > {thr.max_failures}")
    elif thr is not None and thr.max_failure_percent is not None:
        percent = format(Decimal(repr(float(thr.max_failure_percent))), "f")
        failing = (f"select * from ({failing}\n) as specops_failing "
                   f"where 100.0 * (select count(*) from ({failing}\n) as specops_counted) "
                   f"/ (select count(*) from {BATCH}) > {percent}")
    return "unexpected_rows_expectation", {"unexpected_rows_query": for_gx(failing)}


def _braces(text: str) -> str:
    """User text inside a query GX fills with str.format: its braces doubled, so they stay braces."""
    return text.replace("{", "{{").replace("}", "}}")


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + _braces(str(value)).replace("'", "''") + "'"


def _failing_rows(check: Check, datasets: dict[str, Dataset], env: Environment) -> str | None:
    """The rows dbt counts as failures of the check (the same query as its dbt test), on GX's `{batch}`.

    Column and dataset names are spec names (lower-case identifiers, checked); values are quoted.
    """
    col = check.column
    if check.type == "not_null":
        return f"select * from {BATCH} where {col} is null"
    if check.type == "unique":  # every row sharing its key with another (as dbt counts them), not each key once
        cols = ", ".join(check.columns)
        present = " and ".join(f"{c} is not null" for c in check.columns)
        same = " and ".join(f"specops_rows.{c} = specops_keys.{c}" for c in check.columns)
        return (f"select specops_rows.*, specops_keys.specops_duplicates from {BATCH} as specops_rows inner join "
                f"(select {cols}, count(*) as specops_duplicates from {BATCH} where {present} group by {cols} "
                f"having count(*) > 1) as specops_keys on {same}")
    if check.type == "accepted_values":
        values = ", ".join(_literal(v) for v in check.values)
        return f"select * from {BATCH} where {col} is not null and {col} not in ({values})"
    if check.type == "range":
        conds = [f"{col} < {_literal(_number(check.min))}" if check.min is not None else "",
                 f"{col} > {_literal(_number(check.max))}" if check.max is not None else ""]
        return f"select * from {BATCH} where " + " or ".join(c for c in conds if c)
    if check.type == "regex":
        return None  # a regex needs the dialect's own function: only the native expectation (with mostly) fits
    if check.type == "relationship":
        parent = datasets.get(check.to_dataset or "")
        table = relation(parent, env) if parent is not None else None
        if table is None:
            return None
        return (f"select specops_child.* from {BATCH} as specops_child left join {table} as specops_parent "
                f"on specops_child.{col} = specops_parent.{check.to_column} "
                f"where specops_child.{col} is not null and specops_parent.{check.to_column} is null")
    if check.type == "expression":
        return f"select * from {BATCH} where not coalesce(({_braces(check.expression or '')}), false)"
    if check.type == "sql":
        parts = DATASET_RE.split(check.sql or "")
        return BATCH.join(_braces(p) for p in parts).strip()
    return None


def untranslated(check: Check, datasets: dict[str, Dataset], env: Environment) -> str | None:
    """Why a check has no expectation, or None when it has one."""
    if check.type == "regex" and check.threshold is not None and check.threshold.max_failures is not None:
        return "a regex check with max_failures: GX's regex expectation counts no failures"
    if check.type == "relationship":
        parent = datasets.get(check.to_dataset or "")
        if parent is None or relation(parent, env) is None:
            return f"dataset {check.to_dataset} is a file outside the warehouse: no table to join"
    return None

