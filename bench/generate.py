"""Generate a synthetic specops repository of N specs, for the benchmark.

    python bench/generate.py --n 1000 --out /tmp/specs-1k --seed 1

The repository looks like a large real one: external datasets (mostly warehouse tables, some
CSV files and object-store files), produced datasets each built by exactly one SQL transform
that reads 1-4 earlier datasets (a deep DAG, never a cycle), quality rules with every check
type, models trained on produced datasets (one shared training/model.py), and deployments over
two or three environments. The mix of the N resources under specs/ is about 35% datasets, 25%
transforms, 25% quality rules, 7% models, 7% deployments, plus the environments.

Deterministic: everything comes from one seeded random.Random; the same seed and N give the
same bytes. The output validates and compiles cleanly with `specops` (tests/test_bench_generator.py).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["GeneratedRepo", "generate", "plan_counts"]

# --- vocabulary ---------------------------------------------------------------------------------

DOMAINS = ("sales", "billing", "crm", "support", "marketing", "inventory", "logistics", "finance", "product",
           "web", "mobile", "risk", "ads", "payments", "hr", "partner")
ENTITIES = ("order", "customer", "invoice", "session", "event", "ticket", "shipment", "refund", "account",
            "campaign", "click", "payment", "return", "subscription", "product", "lead", "visit", "device",
            "contract", "claim", "store", "supplier", "employee", "review")
EXTERNAL_STAGES = ("raw", "src")
PRODUCED_STAGES = ("stg", "int", "fct", "dim", "agg", "mart")
TEAMS = ("@acme/data-eng", "@acme/analytics", "@acme/ml", "@acme/finance-data", "@acme/growth", "@acme/platform")
ML_TEAMS = ("@acme/ml", "@acme/ml-platform", "@acme/data-science")
TAGS = ("daily", "hourly", "finance", "pii", "core", "experimental", "gold", "silver", "bronze", "reporting",
        "features", "ml", "kpi", "external")
WORDS = ("rows", "per", "the", "customer", "order", "latest", "cleaned", "deduplicated", "joined", "with",
         "history", "of", "each", "daily", "snapshot", "aggregated", "by", "region", "channel", "used", "for",
         "reporting", "and", "model", "training", "from", "source", "system", "enriched", "metrics", "events")

# name -> (type, family); family drives which columns a check or a feature may use
BASE_COLUMNS: dict[str, tuple[str, str]] = {
    "amount": ("decimal(12,2)", "num"), "quantity": ("integer", "num"), "price": ("decimal(10,2)", "num"),
    "discount": ("decimal(10,2)", "num"), "tax": ("decimal(10,2)", "num"), "score": ("double", "num"),
    "rating": ("double", "num"), "duration_seconds": ("bigint", "num"), "item_count": ("integer", "num"),
    "balance": ("decimal(14,2)", "num"), "revenue": ("decimal(14,2)", "num"), "cost": ("decimal(14,2)", "num"),
    "margin": ("double", "num"), "weight_kg": ("double", "num"), "distance_km": ("double", "num"),
    "page_views": ("bigint", "num"), "clicks": ("bigint", "num"), "impressions": ("bigint", "num"),
    "conversion_rate": ("double", "num"), "tenure_months": ("integer", "num"), "age_days": ("integer", "num"),
    "status": ("string", "enum"), "channel": ("string", "enum"), "region": ("string", "enum"),
    "country": ("string", "enum"), "currency": ("string", "enum"), "tier": ("string", "enum"),
    "email": ("string", "pii"), "phone": ("string", "pii"), "full_name": ("string", "pii"),
    "ip_address": ("string", "pii"), "street_address": ("string", "pii"),
    "sku": ("string", "text"), "note": ("string", "text"), "source_system": ("string", "text"),
    "campaign_code": ("string", "text"), "user_agent": ("string", "text"), "reference": ("string", "text"),
    "is_active": ("boolean", "bool"), "is_test": ("boolean", "bool"), "is_deleted": ("boolean", "bool"),
    "has_discount": ("boolean", "bool"),
    "created_at": ("timestamp", "time"), "closed_at": ("timestamp", "time"), "shipped_at": ("timestamp", "time"),
    "event_date": ("date", "date"), "valid_from": ("date", "date"), "valid_to": ("date", "date"),
    "attributes": ("json", "json"),
}
PREFIXES = ("total_", "avg_", "max_", "min_", "net_", "gross_", "prev_", "est_")
ENUM_VALUES: dict[str, tuple[str, ...]] = {
    "status": ("placed", "shipped", "returned", "cancelled"), "channel": ("web", "mobile", "store", "partner"),
    "region": ("emea", "amer", "apac"), "country": ("US", "GB", "DE", "FR", "CA", "JP"),
    "currency": ("USD", "EUR", "GBP"), "tier": ("free", "standard", "premium"),
}
SQL_TYPES = {"string": "varchar", "integer": "integer", "bigint": "bigint", "double": "double",
             "boolean": "boolean", "date": "date", "timestamp": "timestamp", "json": "json"}


def _column_pool() -> list[tuple[str, str, str]]:
    pool = [(name, typ, fam) for name, (typ, fam) in BASE_COLUMNS.items()]
    for prefix in PREFIXES:
        pool += [(prefix + name, "double" if prefix == "avg_" else typ, fam)
                 for name, (typ, fam) in BASE_COLUMNS.items() if fam == "num" and not name.endswith("_rate")]
    return pool


COLUMN_POOL = _column_pool()


# --- the in-memory model of what is generated ---------------------------------------------------

@dataclass
class Col:
    name: str
    type: str
    family: str
    required: bool = False
    unique: bool = False
    pii: bool = False
    accepted: tuple[str, ...] = ()


@dataclass
class DS:
    name: str
    columns: list[Col]
    external: bool
    id_col: str

    def by_family(self, *families: str) -> list[Col]:
        return [c for c in self.columns if c.family in families]


@dataclass
class GeneratedRepo:
    """What was written: counts per kind, the file list and the DAG's depth."""

    root: Path
    counts: dict[str, int]
    files: list[str] = field(default_factory=list)
    depth: int = 0


def plan_counts(n: int) -> dict[str, int]:
    """How many resources of each kind make up N specs (environments included)."""
    if n < 12:
        raise ValueError("n must be at least 12")
    envs = 3 if n >= 60 else 2
    rest = n - envs
    transforms = max(1, round(rest * 0.25))
    datasets = max(transforms + 1, round(rest * 0.35))
    models = max(1, round(rest * 0.07))
    deployments = max(1, min(models * envs, round(rest * 0.07)))
    rules = rest - datasets - transforms - models - deployments
    if rules < 1:
        raise ValueError(f"n={n} is too small for the mix")
    return {"environment": envs, "dataset": datasets, "transform": transforms, "quality_rule": rules,
            "model": models, "deployment": deployments}


# --- YAML output ----------------------------------------------------------------------------------

_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Block style, multi-line strings as literal blocks (a subclass: no global PyYAML state changes)."""


def _str(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump(doc: dict[str, Any], comment: str) -> str:
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100,
                     allow_unicode=True)
    return f"# {comment}\n{body}"


# --- the generator -----------------------------------------------------------------------------------

class _Generator:
    def __init__(self, n: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.counts = plan_counts(n)
        self.files: dict[str, str] = {}
        self.names: set[str] = set()
        self.datasets: list[DS] = []
        self.produced: list[DS] = []
        self.depth: dict[str, int] = {}
        self.check_keys: set[tuple[str, str]] = set()
        self.envs = ["dev", "prod", "staging"][: self.counts["environment"]]

    # names and text
    def unique_name(self, base: str) -> str:
        base = base[:56]
        name, k = base, 2
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def sentence(self, lo: int = 5, hi: int = 12) -> str:
        words = [self.rng.choice(WORDS) for _ in range(self.rng.randint(lo, hi))]
        return (" ".join(words)).capitalize() + "."

    def meta(self, name: str, owner: str | None, *, tags: bool = True) -> dict[str, Any]:
        m: dict[str, Any] = {"name": name}
        if owner:
            m["owner"] = owner
        m["description"] = self.sentence()
        if tags and self.rng.random() < 0.6:
            m["tags"] = sorted(set(self.rng.sample(TAGS, self.rng.randint(1, 3))))
        if self.rng.random() < 0.2:
            m["labels"] = {"cost_center": str(self.rng.randint(10, 99))}
        return m

    def emit(self, rel: str, doc: dict[str, Any], comment: str) -> None:
        self.files[rel] = _dump(doc, comment)

    # datasets
    def make_columns(self, entity: str, produced: bool, parents: list[DS]) -> tuple[list[Col], str]:
        """5-30 columns: a key, updated_at, numbers; a produced dataset inherits most of its parents' columns."""
        rng = self.rng
        total = rng.randint(5, 30)
        id_col = f"{entity}_id"
        cols = [Col(id_col, "integer" if rng.random() < 0.7 else "bigint", "id", required=True, unique=True),
                Col("updated_at", "timestamp", "time", required=True)]
        taken = {id_col, "updated_at"}
        inherited: dict[str, tuple[str, str, str]] = {}
        for parent in parents:
            for c in parent.columns:
                if c.family != "id" and c.name not in taken:
                    inherited.setdefault(c.name, (c.name, c.type, c.family))
        candidates = list(inherited.values())
        picks = rng.sample(candidates, min(len(candidates), round(total * 0.7)))
        numeric = [c for c in COLUMN_POOL if c[2] == "num"]
        must_num = 3 if produced else 1
        picks += rng.sample(numeric, must_num) + rng.sample(COLUMN_POOL, total)
        for name, typ, fam in picks:
            have_num = sum(c.family == "num" for c in cols)
            if name in taken or (len(cols) >= total and (fam != "num" or have_num >= must_num)):
                continue
            taken.add(name)
            col = Col(name, typ, fam, required=rng.random() < 0.3, pii=fam == "pii")
            if fam == "enum":
                col.accepted = ENUM_VALUES[name]
            cols.append(col)
        return cols, id_col

    def column_doc(self, c: Col) -> dict[str, Any]:
        d: dict[str, Any] = {"name": c.name, "type": c.type}
        if self.rng.random() < 0.7:
            d["description"] = self.sentence(3, 8)
        if c.required:
            d["required"] = True
        if c.unique:
            d["unique"] = True
        if c.accepted and self.rng.random() < 0.5:
            d["accepted_values"] = list(c.accepted)
        if c.pii:
            d["pii"] = True
        return d

    def add_dataset(self, external: bool, parents: list[DS] | None = None) -> DS:
        rng = self.rng
        domain, entity = rng.choice(DOMAINS), rng.choice(ENTITIES)
        stage = rng.choice(EXTERNAL_STAGES if external else PRODUCED_STAGES)
        name = self.unique_name(f"{stage}_{domain}_{entity}s")
        cols, id_col = self.make_columns(entity, not external, parents or [])
        ds = DS(name, cols, external, id_col)
        spec: dict[str, Any] = {}
        if external:
            roll = rng.random()
            if roll < 0.15:
                spec["source"] = {"type": "file", "path": f"data/{name}.csv"}
                self.files[f"data/{name}.csv"] = self.csv(ds)
            elif roll < 0.25:
                spec["source"] = {"type": "external", "uri": f"s3://acme-lake/{domain}/{name}/*.parquet",
                                  "format": "parquet"}
            else:
                spec["source"] = {"type": "table", "schema": f"raw_{domain}", "table": name}
        spec["columns"] = [self.column_doc(c) for c in cols]
        spec["primary_key"] = [id_col]
        if rng.random() < 0.3:
            spec["freshness"] = {"column": "updated_at", "warn_after": f"{rng.choice((6, 12, 24))}h",
                                 "error_after": f"{rng.choice((2, 3, 7))}d"}
        spec["classification"] = rng.choice(("public", "internal", "internal", "confidential"))
        spec["retention"] = f"{rng.choice((90, 365, 730, 2555))}d"
        doc = {"apiVersion": "specops/v1", "kind": "Dataset",
               "metadata": self.meta(name, rng.choice(TEAMS)), "spec": spec}
        self.emit(f"specs/datasets/{name}.yaml", doc, "External dataset." if external else "Produced dataset.")
        self.datasets.append(ds)
        if not external:
            self.produced.append(ds)
        self.depth.setdefault(name, 0)
        return ds

    def csv(self, ds: DS) -> str:
        samples = {"string": "x", "integer": "1", "bigint": "1", "double": "1.5", "boolean": "true",
                   "date": "2024-01-0{}", "timestamp": "2024-01-0{} 00:00:00", "json": '"{{}}"'}
        lines = [",".join(c.name for c in ds.columns)]
        for row in range(1, 4):
            cells = []
            for c in ds.columns:
                if c.family == "id":
                    cells.append(str(row))
                elif c.accepted:
                    cells.append(c.accepted[row % len(c.accepted)])
                elif c.type.startswith("decimal"):
                    cells.append(f"{row}.25")
                elif c.family == "pii":
                    cells.append(f"user{row}@example.com" if c.name == "email" else f"value {row}")
                else:
                    cells.append(samples[c.type].format(row))
            lines.append(",".join(cells))
        return "\n".join(lines) + "\n"

    # transforms
    def pick_inputs(self) -> list[DS]:
        rng = self.rng
        pool = self.datasets
        k = min(len(pool), rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0])
        chosen: list[DS] = []
        while len(chosen) < k:
            # mostly recent datasets (a deep DAG), sometimes anything upstream
            cand = rng.choice(pool[-12:]) if rng.random() < 0.7 else rng.choice(pool)
            if cand not in chosen:
                chosen.append(cand)
        return chosen

    def add_transform(self, out: DS, inputs: list[DS]) -> None:
        rng = self.rng
        self.depth[out.name] = 1 + max(self.depth[d.name] for d in inputs)
        name = self.unique_name(f"build_{out.name}")
        sql = self.sql(out, inputs)
        spec: dict[str, Any] = {"inputs": [d.name for d in inputs], "output": out.name}
        if rng.random() < 0.3:
            path = f"sql/{out.name}.sql"
            self.files[path] = f"-- Builds {out.name} (generated).\n{sql}"
            spec["sql_file"] = path
        else:
            spec["sql"] = sql
        roll = rng.random()
        if roll < 0.15:
            spec["materialization"] = "incremental"
            spec["incremental"] = {"unique_key": out.id_col, "updated_at": "updated_at"}
        else:
            spec["materialization"] = "view" if roll < 0.4 else "table"
        if rng.random() < 0.25:
            spec["schedule"] = f"{rng.randint(0, 59)} {rng.choice(('*', '2', '4', '*/6'))} * * *"
        doc = {"apiVersion": "specops/v1", "kind": "Transform",
               "metadata": self.meta(name, rng.choice(TEAMS)), "spec": spec}
        self.emit(f"specs/transforms/{name}.yaml", doc, f"Builds {out.name}.")

    def sql(self, out: DS, inputs: list[DS]) -> str:
        """A SELECT over the inputs that column lineage has something to follow in: casts and renames, some
        computed columns, joins on keys, filters, and in some transforms a CTE or a GROUP BY."""
        rng = self.rng
        aliases = [f"s{i}" for i in range(len(inputs))]
        shape = rng.choices(("plain", "cte", "grouped"), weights=(60, 25, 15))[0]
        first = inputs[0]
        head: list[str] = []
        if shape == "cte":  # the first input goes through a CTE that keeps its rows with a recent update
            kept = sorted({c.name for c in first.columns})
            head = ["with base as (", "    select " + ", ".join(kept),
                    f"    from {{{{ input('{first.name}') }}}}", "    where updated_at is not null", ")", ""]
        exprs = []
        for c in out.columns:
            alias, src = self.source_column(c, inputs, aliases)
            sql_type = SQL_TYPES.get(c.type, c.type)
            value = f"{alias}.{src}"
            if shape == "grouped" and c.family != "id":
                value = f"max({value})"
            elif c.family == "num" and c.type in ("double", "integer", "bigint") and rng.random() < 0.2:
                value = f"coalesce({value}, 0)"
            exprs.append(f"    cast({value} as {sql_type}) as {c.name}")
        lines = [*head, "select", ",\n".join(exprs)]
        lines.append(f"from base as {aliases[0]}" if shape == "cte"
                     else f"from {{{{ input('{first.name}') }}}} as {aliases[0]}")
        for i, d in enumerate(inputs[1:], start=1):
            join = rng.choice(("left join", "inner join"))
            lines.append(f"{join} {{{{ input('{d.name}') }}}} as {aliases[i]}")
            lines.append(f"    on {aliases[i]}.{d.id_col} = {aliases[0]}.{first.id_col}")
        if rng.random() < 0.3:
            nums = first.by_family("num")
            extra = f" and {aliases[0]}.{nums[0].name} >= 0" if nums and rng.random() < 0.5 else ""
            lines.append(f"where {aliases[0]}.updated_at is not null{extra}")
        if shape == "grouped":
            lines.append(f"group by {aliases[0]}.{first.id_col}")
        return "\n".join(lines) + "\n"

    def source_column(self, c: Col, inputs: list[DS], aliases: list[str]) -> tuple[str, str]:
        if c.family == "id":
            return aliases[0], inputs[0].id_col
        for i, d in enumerate(inputs):
            if any(x.name == c.name for x in d.columns):
                return aliases[i], c.name
        i = self.rng.randrange(len(inputs))
        same = inputs[i].by_family(c.family) or inputs[i].by_family("num") or inputs[i].columns
        return aliases[i], self.rng.choice(same).name

    # quality rules
    def add_rule(self) -> None:
        rng = self.rng
        ds = rng.choice(self.datasets)
        name = self.unique_name(f"{ds.name}_checks")
        checks = []
        for _ in range(rng.randint(1, 6)):
            check = self.check(ds, name, len(checks))
            if check is None:
                continue
            # what specops derives a check's default name from (severity and threshold left out)
            key = (ds.name, repr(sorted((k, str(v)) for k, v in check.items() if k not in ("severity", "threshold"))))
            if key in self.check_keys:
                continue  # the same check twice on one dataset would give two dbt tests one name
            self.check_keys.add(key)
            checks.append(check)
        if not checks:
            checks.append({"type": "sql", "name": f"{name}_custom",
                           "sql": f"select * from {{{{ dataset }}}} where {ds.id_col} is null"})
        spec: dict[str, Any] = {"dataset": ds.name}
        if rng.random() < 0.3:
            spec["severity"] = "warn"
        unique_checks = []  # a rule never lists the same check twice (specops refuses that)
        for check in checks:
            if check not in unique_checks:
                unique_checks.append(check)
        spec["checks"] = unique_checks
        doc = {"apiVersion": "specops/v1", "kind": "QualityRule",
               "metadata": self.meta(name, rng.choice(TEAMS), tags=False), "spec": spec}
        self.emit(f"specs/quality_rules/{name}.yaml", doc, f"Checks on {ds.name}.")

    def check(self, ds: DS, rule: str, index: int) -> dict[str, Any] | None:
        rng = self.rng
        kind = rng.choice(("not_null", "unique", "accepted_values", "range", "row_count", "relationship",
                           "freshness", "regex", "expression", "sql"))
        nums = ds.by_family("num")
        if kind == "not_null":
            c: dict[str, Any] = {"type": kind, "column": rng.choice(ds.columns).name}
        elif kind == "unique":
            c = {"type": kind, "columns": [ds.id_col]}
        elif kind == "accepted_values":
            enums = [x for x in ds.columns if x.accepted]
            if not enums:
                return None
            col = rng.choice(enums)
            c = {"type": kind, "column": col.name, "values": list(col.accepted)}
        elif kind == "range":
            if not nums:
                return None
            c = {"type": kind, "column": rng.choice(nums).name, "min": 0}
            if rng.random() < 0.5:
                c["max"] = rng.choice((100, 1000, 100000))
        elif kind == "row_count":
            c = {"type": kind, "min": rng.choice((1, 10, 1000))}
        elif kind == "relationship":
            others = [d for d in self.datasets if d is not ds]
            if not others:
                return None
            to = rng.choice(others)
            c = {"type": kind, "column": ds.id_col, "to": f"{to.name}.{to.id_col}"}
        elif kind == "freshness":
            c = {"type": kind, "column": "updated_at", "max_age": f"{rng.choice((12, 24, 48))}h"}
        elif kind == "regex":
            texts = ds.by_family("pii", "text")
            if not texts:
                return None
            c = {"type": kind, "column": rng.choice(texts).name, "pattern": "^[^\\s].*$"}
        elif kind == "expression":
            if not nums:
                return None
            c = {"type": kind, "expression": f"{rng.choice(nums).name} >= 0"}
        else:
            c = {"type": kind, "name": f"{rule}_sql_{index}",
                 "sql": f"select * from {{{{ dataset }}}} where {ds.id_col} is null or updated_at > now()"}
        if rng.random() < 0.15:
            c["severity"] = "warn"
            if kind not in ("row_count", "freshness", "sql") and rng.random() < 0.5:
                c["threshold"] = {"max_failure_percent": 1.0}
        return c

    # models and deployments
    def add_model(self) -> str:
        rng = self.rng
        ds = rng.choice(self.produced)
        nums = [c.name for c in ds.by_family("num")]
        target = rng.choice(nums)
        rest = [n for n in nums if n != target]
        features = rng.sample(rest, rng.randint(min(2, len(rest)), min(8, len(rest))))
        task = rng.choice(("classification", "regression"))
        name = self.unique_name(f"{ds.name.split('_', 1)[1]}_{'clf' if task == 'classification' else 'reg'}")
        metrics = ([{"name": "roc_auc", "min": 0.7}, {"name": "log_loss", "max": 0.65}] if task == "classification"
                   else [{"name": "rmse", "max": 10.0}, {"name": "r2", "min": 0.5}])
        training: dict[str, Any] = {
            "dataset": ds.name, "features": features, "target": target, "entrypoint": "training/model.py",
            "params": {"n_estimators": rng.choice((50, 100, 200)), "max_depth": rng.randint(3, 8)},
            "test_size": 0.2, "random_seed": rng.randint(1, 1000),
            "resources": {"cpu": str(rng.choice((1, 2, 4))), "memory": f"{rng.choice((2, 4, 8))}Gi", "gpu": 0},
        }
        if rng.random() < 0.4:
            training["schedule"] = f"0 {rng.randint(0, 5)} * * {rng.randint(0, 6)}"
        spec: dict[str, Any] = {
            "task": task, "framework": rng.choice(("sklearn", "sklearn", "xgboost", "lightgbm")),
            "training": training, "registry": {"name": name, "alias": "champion"},
            "validation": {"metrics": metrics, "max_regression": 0.02},
        }
        if rng.random() < 0.5:
            spec["monitoring"] = {"drift": {"method": rng.choice(("psi", "ks")), "threshold": 0.2,
                                            "schedule": f"0 {rng.randint(5, 8)} * * *"}}
        spec["governance"] = {"allow_pii_features": False}
        doc = {"apiVersion": "specops/v1", "kind": "Model",
               "metadata": self.meta(name, rng.choice(ML_TEAMS)), "spec": spec}
        self.emit(f"specs/models/{name}.yaml", doc, f"Model trained on {ds.name}.")
        return name

    def add_deployment(self, model: str, env: str) -> None:
        rng = self.rng
        name = self.unique_name(f"{model}_api" if env == "prod" else f"{model}_api_{env}")
        spec: dict[str, Any] = {"model": model, "environment": env}
        if env == "dev":
            spec.update(runtime="mlflow", replicas=1,
                        resources={"requests": {"cpu": "100m", "memory": "256Mi"},
                                   "limits": {"cpu": "500m", "memory": "512Mi"}})
        elif env == "prod":
            spec["runtime"] = "kserve" if rng.random() < 0.7 else "mlflow"
            if rng.random() < 0.6:
                lo = rng.randint(2, 3)
                spec["autoscaling"] = {"min_replicas": lo, "max_replicas": lo + rng.randint(2, 8),
                                       "target_cpu_percent": 70}
            else:
                spec["replicas"] = rng.randint(2, 4)
            spec["resources"] = {"requests": {"cpu": "250m", "memory": "512Mi"},
                                 "limits": {"cpu": "1", "memory": "1Gi"}}
            rng.random()  # (drawn to keep the repositories of earlier seeds: prod had canaries, which KServe ignores)
        else:
            spec.update(runtime=rng.choice(("mlflow", "seldon")), replicas=2,
                        resources={"requests": {"cpu": "250m", "memory": "512Mi"},
                                   "limits": {"cpu": "1", "memory": "1Gi"}})
            if spec["runtime"] == "seldon":  # a Seldon Model states a memory requirement; its canary an Experiment
                spec.update(resources={"requests": {"memory": "512Mi"}}, rollout={"canary_percent": 10})
        if spec["runtime"] == "mlflow":  # the other runtimes serve on their own server's port
            spec["port"] = 8000
        if env != "dev":
            spec["network"] = {"allow_from_namespaces": ["gateway"]}
        spec["monitoring"] = {"alerts": {"p95_latency_ms": rng.choice((200, 300, 500)), "error_rate": 0.01}}
        doc = {"apiVersion": "specops/v1", "kind": "Deployment",
               "metadata": self.meta(name, rng.choice(ML_TEAMS), tags=False), "spec": spec}
        self.emit(f"specs/deployments/{name}.yaml", doc, f"Serves {model} in {env}.")

    # project and environments
    def add_project(self) -> None:
        doc = {"apiVersion": "specops/v1", "kind": "Project",
               "metadata": {"name": "bench_monorepo", "owner": "@acme/platform",
                            "description": "Synthetic monorepo generated by bench/generate.py."},
               "spec": {"specs": ["specs"], "output": "build", "default_environment": "dev",
                        "image_registry": "ghcr.io/acme", "python_version": "3.11", "kubernetes_version": "1.31"}}
        self.files["specops.yaml"] = _dump(doc, "The project.")

    def add_environment(self, env: str) -> None:
        spec: dict[str, Any]
        if env == "dev":
            spec = {"warehouse": {"type": "duckdb", "path": ".specops/dev.duckdb"},
                    "mlflow": {"tracking_uri": "sqlite:///.specops/mlflow.db"},
                    "kubernetes": {"namespace": "ml-dev"}, "protection": {"allow_pii": False}}
        elif env == "prod":
            spec = {"warehouse": {"type": "postgres", "host": "warehouse.internal", "port": 5432,
                                  "database": "analytics", "schema": "analytics", "user": "specops",
                                  "password_env": "WAREHOUSE_PASSWORD"},
                    "mlflow": {"tracking_uri": "https://mlflow.acme.internal"},
                    "kubernetes": {"namespace": "ml-prod", "context": "prod-cluster"},
                    "protection": {"required_approval": True, "allow_pii": False}}
        else:
            spec = {"warehouse": {"type": "postgres", "host": "warehouse-staging.internal", "database": "analytics",
                                  "schema": "staging", "user": "specops", "password_env": "STAGING_PASSWORD"},
                    "mlflow": {"tracking_uri": "https://mlflow-staging.acme.internal"},
                    "kubernetes": {"namespace": "ml-staging", "context": "staging-cluster"}}
        doc = {"apiVersion": "specops/v1", "kind": "Environment",
               "metadata": {"name": env, "description": f"The {env} environment."}, "spec": spec}
        self.emit(f"specs/environments/{env}.yaml", doc, f"Environment {env}.")

    def run(self) -> None:
        rng, counts = self.rng, self.counts
        self.add_project()
        for env in self.envs:
            self.add_environment(env)
        n_ext = counts["dataset"] - counts["transform"]
        # externals are spread along the sequence so that new sources keep arriving deep in the DAG
        first = max(1, min(n_ext, 3))
        for _ in range(first):
            self.add_dataset(external=True)
        steps = ["ext"] * (n_ext - first) + ["transform"] * counts["transform"]
        rng.shuffle(steps)
        for step in steps:
            if step == "ext":
                self.add_dataset(external=True)
            else:
                inputs = self.pick_inputs()
                self.add_transform(self.add_dataset(external=False, parents=inputs), inputs)
        for _ in range(counts["quality_rule"]):
            self.add_rule()
        models = [self.add_model() for _ in range(counts["model"])]
        pairs = [(m, env) for m in models for env in self.envs]
        rng.shuffle(pairs)
        for model, env in sorted(pairs[: counts["deployment"]]):
            self.add_deployment(model, env)
        self.files["training/model.py"] = TRAINING_CODE
        self.files["README.md"] = README.format(counts=counts)
        self.files[".gitignore"] = ".specops/\nbuild/\n"


TRAINING_CODE = '''"""Shared training entrypoint of every generated model: a small gradient-boosted tree ensemble."""

from __future__ import annotations

from typing import Any


def train(X: Any, y: Any, params: dict[str, Any]) -> Any:
    """Fit a tree ensemble on the features X and the target y (classifier for integer targets)."""
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    is_label = str(getattr(y, "dtype", "")).startswith(("int", "bool"))
    estimator = GradientBoostingClassifier if is_label else GradientBoostingRegressor
    return estimator(**params).fit(X, y)
'''

README = "# Synthetic specops repository\n\nGenerated by bench/generate.py: {counts}.\n"


def generate(n: int, out: Path, seed: int = 1, *, clean: bool = True) -> GeneratedRepo:
    """Write a repository of N specs into `out` (emptied first when `clean`)."""
    gen = _Generator(n, seed)
    gen.run()
    if clean and out.exists() and any(out.iterdir()):
        marker = out / "specops.yaml"
        if not (marker.is_file() and "bench_monorepo" in marker.read_text(encoding="utf-8", errors="replace")):
            raise ValueError(f"{out} is not empty and is not a generated repository; refusing to replace it")
        shutil.rmtree(out)
    for rel in sorted(gen.files):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(gen.files[rel], encoding="utf-8")
    return GeneratedRepo(out, dict(gen.counts), sorted(gen.files), max(gen.depth.values(), default=0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="number of specs (default 1000)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (replaced)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    try:
        repo = generate(args.n, args.out, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    detail = ", ".join(f"{v} {k}" for k, v in repo.counts.items())
    print(f"wrote {len(repo.files)} files into {args.out} ({detail}; DAG depth {repo.depth})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
