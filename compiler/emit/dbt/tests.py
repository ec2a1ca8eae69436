"""dbt data tests for column properties and QualityRule checks."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from compiler.emit.dbt.names import minutes, relation
from compiler.emit.render import dbt_text
from compiler.spec.ir import Check, Dataset, Loc, QualityRule
from compiler.spec.project import SpecProject


def _config(severity: str, check: Check | None, rule: QualityRule | None) -> dict[str, Any]:
    config: dict[str, Any] = {"severity": severity}
    thr = check.threshold if check else None
    if thr is not None and thr.max_failures is not None:
        bound = f">{thr.max_failures}"
        config.update({"error_if": bound, "warn_if": "!=0"} if severity == "error" else {"warn_if": bound})
    elif thr is not None and thr.max_failure_percent is not None:
        # dbt requires `failures` (the fail_calc) to be an integer, so it stays count(*) and the
        # percentage goes into the condition dbt appends to it: `count(*) <warn_if> as should_warn`.
        bound = f">0 and 100.0 * count(*) / max(specops_total) > {_decimal(thr.max_failure_percent)}"
        config.update({"error_if": bound, "warn_if": ">0"} if severity == "error" else {"warn_if": bound})
    tags = ["specops"]
    meta: dict[str, Any] = {}
    if rule is not None and check is not None:
        tags.append(f"rule_{rule.name}")
        # dbt keeps nested test config as written (unrendered): plain strings here, no dbt_text.
        # The file but not the line: moving a check within its file must not change generated files.
        meta = {"specops": {"address": rule.address, "check": check.name, "type": check.type,
                            "source_file": rule.loc.file}}
    config["tags"] = tags
    if meta:
        config["meta"] = meta
    return config


def _decimal(value: float) -> str:
    """A plain SQL decimal literal (never exponent notation)."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(check: Check) -> bool:
    return check.threshold is not None and check.threshold.max_failure_percent is not None


def column_property_tests(ds: Dataset, column_name: str) -> list[dict[str, Any]]:
    """Tests implied by a column's own properties (required, unique, accepted_values)."""
    col = ds.column(column_name)
    assert col is not None
    tests: list[dict[str, Any]] = []
    if col.required:
        tests.append({"not_null": {"name": f"{ds.name}__{col.name}__required", "config": _config("error", None, None)}})
    if col.unique:
        tests.append({"specops_unique": {"name": f"{ds.name}__{col.name}__unique",
                                         "config": _config("error", None, None)}})
    if col.accepted_values is not None:
        tests.append({"specops_accepted_values": {
            "name": f"{ds.name}__{col.name}__accepted_values",
            "arguments": {"values": [dbt_text(v) if isinstance(v, str) else v for v in col.accepted_values]},
            "config": _config("error", None, None),
        }})
    return tests


def dataset_tests(ds: Dataset) -> list[dict[str, Any]]:
    """Model-level tests implied by the dataset (primary key, freshness).

    Freshness is a test on sources too: `dbt build` (what apply runs) never runs dbt's source freshness, so the
    `freshness` config of a source entry alone let a stale source pass."""
    tests: list[dict[str, Any]] = []
    if ds.primary_key:
        tests.append({"specops_primary_key": {  # unique and not null, as SQL's PRIMARY KEY
            "name": f"{ds.name}__primary_key",
            "arguments": {"columns": list(ds.primary_key)},
            "config": _config("error", None, None),
        }})
    if ds.freshness:
        for severity, after in (("warn", ds.freshness.warn_after), ("error", ds.freshness.error_after)):
            if after:
                tests.append({"specops_freshness": {
                    "name": f"{ds.name}__freshness_{severity}",
                    "arguments": {"column_name": ds.freshness.column, "max_age_minutes": minutes(after)},
                    "config": _config(severity, None, None),
                }})
    return tests


def check_test(project: SpecProject, rule: QualityRule, check: Check) -> tuple[str | None, dict[str, Any]] | None:
    """A generic test entry for a check: (column it attaches to or None for model level, entry).

    `sql` checks are singular tests (see singular_test) and return None here.
    """
    args: dict[str, Any] = {}
    column: str | None = None
    with_total = _percent(check)
    if check.type == "not_null":
        test, column = "specops_not_null", check.column
    elif check.type == "unique":
        test, args = "specops_unique", {"columns": list(check.columns)}
    elif check.type == "accepted_values":
        test, column = "specops_accepted_values", check.column
        args = {"values": [dbt_text(v) if isinstance(v, str) else v for v in check.values]}
    elif check.type == "range":
        test, column = "specops_range", check.column
        args = {k: v for k, v in (("min_value", check.min), ("max_value", check.max)) if v is not None}
    elif check.type == "row_count":
        test, with_total = "specops_row_count", False
        args = {k: v for k, v in (("min_value", check.min), ("max_value", check.max)) if v is not None}
    elif check.type == "relationship":
        assert check.to_dataset and check.to_column
        test, column = "specops_relationship", check.column
        args = {"to": relation(project, check.to_dataset), "field": check.to_column}
    elif check.type == "freshness":
        assert check.max_age
        test, column, with_total = "specops_freshness", check.column, False
        args = {"max_age_minutes": minutes(check.max_age)}
    elif check.type == "regex":
        test, column = "specops_regex", check.column
        args = {"pattern": dbt_text(check.pattern or "")}
    elif check.type == "expression":
        test, args = "specops_expression", {"expression": dbt_text(check.expression or "")}
    else:
        return None
    if with_total:
        args["with_total"] = True
    entry: dict[str, Any] = {"name": check.name}
    if check.description:
        entry["description"] = dbt_text(check.description)  # dbt renders test descriptions
    if args:
        entry["arguments"] = args
    entry["config"] = _config(check.severity, check, rule)
    return column, {test: entry}


def singular_test(project: SpecProject, rule: QualityRule, check: Check) -> str:
    """The SQL file of a `sql` check: the user's query over the dataset, with its config."""
    from compiler.spec.sqltext import DATASET_RE

    config = _config(check.severity, check, rule)
    body = DATASET_RE.sub("{{ " + relation(project, rule.dataset) + " }}", check.sql or "").strip()
    args = ", ".join(f"{k}={_jinja_value(v)}" for k, v in config.items())
    lines = [
        f"-- Generated by specops from {rule.loc.file} ({rule.address}, check {check.name}). Do not edit.",
        f"{{{{ config({args}) }}}}",
    ]
    if _percent(check):
        lines += ["select specops_failing.*, specops_totals.specops_total", "from (", body, ") as specops_failing",
                  "cross join (select count(*) as specops_total from {{ "
                  + relation(project, rule.dataset) + " }}) as specops_totals"]
    else:
        lines += ["select * from (", body, ") as specops_failing"]
    return "\n".join(lines) + "\n"


def _jinja_value(value: Any) -> str:
    from compiler.emit.render import jinja_string

    if isinstance(value, str):
        return jinja_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_jinja_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{jinja_string(k)}: {_jinja_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


@dataclass(frozen=True, slots=True)
class CheckOrigin:
    """Where a generated dbt test comes from: the spec resource, the line of the check or column, its type."""

    address: str
    loc: Loc
    type: str


def check_origins(project: SpecProject) -> dict[str, CheckOrigin]:
    """Every generated dbt test's name (as the functions above name them) -> its origin in the specs."""
    out: dict[str, CheckOrigin] = {}
    for ds in project.datasets.values():
        for col in ds.columns:
            for flag, kind in (("required", "not_null"), ("unique", "unique"), ("accepted_values", "accepted_values")):
                if getattr(col, flag) not in (False, None):
                    out[f"{ds.name}__{col.name}__{flag}"] = CheckOrigin(ds.address, col.loc, f"{kind} ({flag} column)")
        if ds.primary_key:
            out[f"{ds.name}__primary_key"] = CheckOrigin(ds.address, ds.primary_key_loc or ds.loc,
                                                         "primary_key (unique, not null)")
        if ds.freshness:
            for severity in ("warn", "error"):
                out[f"{ds.name}__freshness_{severity}"] = CheckOrigin(ds.address, ds.freshness.loc or ds.loc,
                                                                      f"freshness ({severity})")
    for rule in project.rules.values():
        for check in rule.checks:
            out[check.name] = CheckOrigin(rule.address, check.loc, check.type)
    return out
