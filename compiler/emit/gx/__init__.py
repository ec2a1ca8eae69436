"""The gx backend: a Great Expectations 1.x expectation suite per QualityRule, under gx/expectations/.

    gx/expectations/<env>/<rule>.json   the suite of the rule in an environment, named after the rule, in GX's
                                  own JSON layout (what a File Data Context keeps in its expectations/ folder):
                                  name, expectations (type, kwargs, meta, severity), meta, notes. Per
                                  environment: a query joining another table names it as dbt does there

How each check maps onto an expectation: compiler.emit.gx.checks. The suite's meta says which dataset
and table it validates and which run-time parameters it needs:

    "meta": {"specops": {"address": "quality_rule.x", "dataset": "orders", "environment": "prod",
                         "table": "analytics.orders", "schema_name": "analytics", "table_name": "orders",
                         "parameters": {"freshness_cutoff__<check>": {"max_age_minutes": 1440}},
                         "untranslated": {"<check>": "why"}}}

Load a suite strictly: GX's own loader drops an expectation it does not know with a log line, so build
each one with ExpectationConfiguration(**entry).to_domain_obj(), which raises (docs/integrations.md).
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from compiler.emit.base import Artifact, Unit, run_units
from compiler.emit.gx.checks import expectations, minutes, parameter_name, relation, untranslated
from compiler.spec.project import SpecProject

PREFIX = "gx/expectations"
COST = 0.15  # relative cost at 10,000 specs (compiler.emit.registry)


def emit(project: SpecProject) -> list[Artifact]:
    """Every suite."""
    return run_units(project, units(project))


def units(project: SpecProject) -> list[Unit]:
    """One suite per QualityRule and Environment."""
    return [Unit(("gx", "suite", env, name), partial(_suite_file, name=name, env=env))
            for env in sorted(project.environments) for name in sorted(project.rules)]


def suite(project: SpecProject, name: str, env: str | None = None) -> dict[str, Any]:
    """The suite of one QualityRule in an environment (default: the project's default one), as GX's JSON (a dict)."""
    rule = project.rules[name]
    environment = project.environments[env or project.default_environment or sorted(project.environments)[0]]
    datasets = {rule.dataset: project.datasets[rule.dataset]}
    for check in rule.checks:
        if check.to_dataset and check.to_dataset in project.datasets:
            datasets[check.to_dataset] = project.datasets[check.to_dataset]
    exps: list[dict[str, Any]] = []
    parameters: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for check in rule.checks:
        why = untranslated(check, datasets, environment)
        if why is not None:
            skipped[check.name] = why
            continue
        exps += expectations(rule, check, datasets, environment)
        if check.type == "freshness" and check.max_age:
            parameters[parameter_name(check)] = {"max_age_minutes": minutes(check.max_age),
                                                 "value": "the run time minus max_age, as 'YYYY-MM-DD HH:MM:SS'"}
    table = relation(datasets[rule.dataset], environment)
    meta: dict[str, Any] = {"address": rule.address, "dataset": rule.dataset, "environment": environment.name,
                            "table": table, "source_file": rule.loc.file}
    if table is not None:  # for GX's table asset (add_table_asset(table_name=..., schema_name=...))
        schema, _, table_name = table.rpartition(".")
        meta.update({"schema_name": schema, "table_name": table_name})
    if parameters:
        meta["parameters"] = parameters
    if skipped:
        meta["untranslated"] = skipped
    out: dict[str, Any] = {"name": rule.name, "expectations": exps, "meta": {"specops": meta}}
    if rule.meta.description:
        out["notes"] = rule.meta.description
    return out


def _suite_file(project: SpecProject, name: str, env: str) -> list[Artifact]:
    rule = project.rules[name]
    data = suite(project, name, env)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    # its dataset first (the file a plan names, whose values its expectations list), then the rule, then what
    # its relationship checks read
    owners = [f"dataset.{rule.dataset}", rule.address,
              *sorted({f"dataset.{c.to_dataset}" for c in rule.checks if c.to_dataset} - {f"dataset.{rule.dataset}"})]
    owners.append(f"environment.{env}")
    return [Artifact(f"{PREFIX}/{env}/{name}.json", text.encode("utf-8"), tuple(owners))]
