"""The typed intermediate representation: one frozen dataclass per kind, built from valid documents.

Nothing downstream of `build.py` reads raw YAML: backends, plan and apply see only these classes.
Every resource carries its source location and a digest of its normalised content, so a
formatting-only edit leaves the digest unchanged.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from compiler.spec.kinds import k8s_name


@dataclass(frozen=True, slots=True)
class Loc:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Meta:
    name: str
    owner: str | None
    description: str | None
    tags: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]

    @property
    def labels_dict(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True)
class Resource:
    """Fields shared by every kind."""

    KIND: ClassVar[str] = ""
    PREFIX: ClassVar[str] = ""

    meta: Meta
    loc: Loc

    @functools.cached_property
    def snapshot(self) -> dict[str, Any]:
        """The resource as plain normalised data (compiler.spec.snapshot); treat it as read-only."""
        from compiler.spec.snapshot import snapshot

        return snapshot(self)

    @functools.cached_property
    def digest(self) -> str:
        """sha256 of the normalised resource: formatting and explicit defaults do not count."""
        from compiler.spec.snapshot import snapshot_digest

        return snapshot_digest(self.snapshot)

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def address(self) -> str:
        return f"{self.PREFIX}.{self.meta.name}"

    @property
    def k8s_name(self) -> str:
        return k8s_name(self.meta.name)

    def input_files(self) -> tuple[str, ...]:
        """The repository files this resource is built from, besides its spec file."""
        return ()


# --- Project & Environment -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpecopsSource:
    """Where generated workflows and images get specops: a released version, a git commit, or a wheel file."""

    kind: Literal["version", "git", "wheel"]
    value: str  # the version, the git repository URL, or the wheel's path in the repository
    commit: str | None = None  # with kind git


@dataclass(frozen=True)
class Project(Resource):
    KIND: ClassVar[str] = "Project"
    PREFIX: ClassVar[str] = "project"

    specs: tuple[str, ...] = ("specs",)
    output: str = "build"
    workflows_dir: str = ".github/workflows"
    default_environment: str | None = None
    image_registry: str | None = None
    python_version: str = "3.11"
    kubernetes_version: str = "1.31"
    specops: SpecopsSource | None = None  # None: the released version that compiled the specs
    repository_path: str | None = None  # this repository's folder inside its git repository (a monorepo)
    repository_url: str | None = None  # what scheduled jobs fetch the specs from
    repository_token_env: str | None = None  # the variable (and Secret key) holding a token to fetch it
    repository_submodules: bool = False  # the workflows check git submodules out (specs kept in one)


@dataclass(frozen=True, slots=True)
class Warehouse:
    type: Literal["duckdb", "postgres", "snowflake", "bigquery"]
    settings: tuple[tuple[str, Any], ...]  # the type's fields, in schema order, defaults applied

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.settings).get(key, default)


@dataclass(frozen=True, slots=True)
class StateBackend:
    """Where apply keeps an environment's state: `postgres` settings have the warehouse's defaults applied."""

    type: Literal["local", "postgres"]
    settings: tuple[tuple[str, Any], ...] = ()

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.settings).get(key, default)


@dataclass(frozen=True, slots=True)
class LineageEndpoint:
    """An OpenLineage HTTP endpoint `specops apply` posts run events to (besides the local file)."""

    url: str
    endpoint: str = "api/v1/lineage"
    api_key_env: str | None = None


@dataclass(frozen=True)
class Environment(Resource):
    KIND: ClassVar[str] = "Environment"
    PREFIX: ClassVar[str] = "environment"

    warehouse: Warehouse = field(default_factory=lambda: Warehouse("duckdb", ()))
    tracking_uri: str = "sqlite:///.specops/mlflow.db"
    namespace: str | None = None
    context: str | None = None
    required_approval: bool = False
    allow_pii: bool = False
    token_env: str | None = None  # the variable holding the tracking server's bearer token
    state: StateBackend | None = None  # None: local files
    kafka_brokers: tuple[str, ...] = ()  # replace the brokers of every kafka source here (a local broker in dev)
    lineage: LineageEndpoint | None = None
    pushgateway: str | None = None  # monitoring.pushgateway: where `specops drift` pushes its score

    @property
    def is_dev(self) -> bool:
        return self.meta.name == "dev"

    @property
    def embedded_warehouse(self) -> bool:
        """A DuckDB file: only the machine that holds it can reach it."""
        return self.warehouse.type == "duckdb"

    @property
    def embedded_registry(self) -> bool:
        """A SQLite or file MLflow store: only the machine that holds it can reach it."""
        return not self.tracking_uri.startswith(("http://", "https://", "databricks"))

    @property
    def remote_tracking(self) -> bool:
        return self.tracking_uri.startswith(("http://", "https://"))


# --- Data -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    loc: Loc
    description: str | None = None
    required: bool = False
    unique: bool = False
    accepted_values: tuple[Any, ...] | None = None
    pii: bool = False
    masked: bool = False  # derived from PII but masked or hashed: lineage does not make it PII


@dataclass(frozen=True, slots=True)
class Landing:
    """The warehouse table specops lands a dvc or kafka source into (compiler.apply.landing)."""

    schema: str
    table: str


@dataclass(frozen=True, slots=True)
class Dvc:
    """A DVC-versioned file: in this repository (`md5` read from its .dvc file), or in `repo` at `rev`."""

    md5: str | None = None
    hash: str | None = None  # how DVC computed md5: md5 (DVC 3), md5-dos2unix (files written by DVC 2)
    size: int | None = None
    remote: str | None = None
    repo: str | None = None
    rev: str | None = None


@dataclass(frozen=True, slots=True)
class Kafka:
    """A topic landed in bounded batches; `security` names environment variables, never secrets."""

    brokers: tuple[str, ...]
    topic: str
    format: Literal["json", "csv"] = "json"
    start: Literal["earliest", "latest"] = "earliest"
    max_messages: int = 10000
    consumer: tuple[tuple[str, Any], ...] = ()
    security: tuple[tuple[str, str], ...] = ()
    on_error: Literal["fail", "skip"] = "fail"
    schedule: str | None = None
    connect_cluster: str | None = None
    connect_tasks_max: int = 1


LANDED_SOURCES = ("dvc", "kafka")


@dataclass(frozen=True, slots=True)
class Source:
    """Where an external dataset lives. `content` holds a file source's bytes (backends are pure)."""

    type: Literal["table", "file", "external", "dvc", "kafka"]
    schema: str | None = None
    table: str | None = None
    database: str | None = None  # a table source's database (BigQuery: project) when not the environment's
    path: str | None = None
    delimiter: str | None = None
    uri: str | None = None
    format: str | None = None
    content: bytes | None = field(default=None, repr=False)
    landing: Landing | None = None  # dvc and kafka: where specops lands the data
    dvc: Dvc | None = None
    kafka: Kafka | None = None

    @property
    def landed(self) -> bool:
        """Whether specops itself lands the data into a warehouse table (dvc, kafka) before dbt reads it."""
        return self.type in LANDED_SOURCES


@dataclass(frozen=True, slots=True)
class Freshness:
    column: str
    warn_after: str | None
    error_after: str | None
    loc: Loc | None = None  # where `freshness:` is (a failing freshness test is reported there)


@dataclass(frozen=True)
class Dataset(Resource):
    KIND: ClassVar[str] = "Dataset"
    PREFIX: ClassVar[str] = "dataset"

    source: Source | None = None
    columns: tuple[Column, ...] = ()
    primary_key: tuple[str, ...] = ()
    freshness: Freshness | None = None
    classification: str = "internal"
    retention: str | None = None
    primary_key_loc: Loc | None = None  # where `primary_key:` is (its uniqueness test is reported there)

    @property
    def external(self) -> bool:
        return self.source is not None

    def column(self, name: str) -> Column | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    def input_files(self) -> tuple[str, ...]:
        if self.source is not None and self.source.dvc is not None:  # the data is not in git: its .dvc file is
            return (f"{self.source.path}.dvc",) if self.source.dvc.repo is None and self.source.path else ()
        return (self.source.path,) if self.source is not None and self.source.path else ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def pii_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.pii)


@dataclass(frozen=True, slots=True)
class Threshold:
    max_failures: int | None = None
    max_failure_percent: float | None = None

    def allowed(self) -> str:
        """The failing rows it tolerates, in words."""
        if self.max_failures is not None:
            return f"at most {self.max_failures} failing rows"
        return f"at most {self.max_failure_percent:g}% failing rows"


@dataclass(frozen=True, slots=True)
class Check:
    """One QualityRule check; only the fields of its `type` are set. `name` is always resolved."""

    type: str
    name: str
    severity: Literal["error", "warn"]
    loc: Loc
    threshold: Threshold | None = None
    description: str | None = None
    column: str | None = None
    columns: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()
    min: float | None = None
    max: float | None = None
    to_dataset: str | None = None
    to_column: str | None = None
    max_age: str | None = None
    pattern: str | None = None
    expression: str | None = None
    sql: str | None = None


@dataclass(frozen=True)
class QualityRule(Resource):
    KIND: ClassVar[str] = "QualityRule"
    PREFIX: ClassVar[str] = "quality_rule"

    dataset: str = ""
    severity: Literal["error", "warn"] = "error"
    checks: tuple[Check, ...] = ()


@dataclass(frozen=True, slots=True)
class Incremental:
    unique_key: tuple[str, ...]
    updated_at: str


@dataclass(frozen=True)
class Transform(Resource):
    KIND: ClassVar[str] = "Transform"
    PREFIX: ClassVar[str] = "transform"

    inputs: tuple[str, ...] = ()
    output: str = ""
    sql: str = ""  # inline SQL, or the text of sql_file
    sql_file: str | None = None
    sql_loc: Loc | None = None  # where the SQL text starts (line of its first line)
    materialization: Literal["view", "table", "incremental"] = "table"
    incremental: Incremental | None = None
    schedule: str | None = None
    runner: str | None = None  # where the scheduled transform runs, as written (compiler.spec.runners resolves it)

    def input_files(self) -> tuple[str, ...]:
        return (self.sql_file,) if self.sql_file else ()


# --- ML ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Split:
    """How the held-out rows are chosen: random (seeded), time (the latest by `column`), group (whole groups)."""

    strategy: Literal["random", "time", "group"] = "random"
    column: str | None = None


@dataclass(frozen=True, slots=True)
class Training:
    dataset: str
    features: tuple[str, ...]
    target: str
    entrypoint: str
    entrypoint_source: bytes = field(repr=False, default=b"")
    params: tuple[tuple[str, Any], ...] = ()
    test_size: float = 0.2
    random_seed: int = 42
    cpu: str | None = None
    memory: str | None = None
    gpu: int = 0
    schedule: str | None = None
    runner: str | None = None  # where scheduled retraining runs, as written (compiler.spec.runners resolves it)
    split: Split | None = None  # None: random

    @property
    def split_strategy(self) -> Split:
        return self.split or Split()

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True, slots=True)
class MetricGate:
    name: str
    min: float | None = None
    max: float | None = None

    @property
    def greater_is_better(self) -> bool:
        return self.name not in LOWER_IS_BETTER


LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae"})
PRIMARY_METRIC = {"classification": "roc_auc", "regression": "r2"}


@dataclass(frozen=True, slots=True)
class DriftWindow:
    """The recent rows drift looks at: `column` within `period` (a duration) of the check's time."""

    column: str
    period: str


@dataclass(frozen=True, slots=True)
class Drift:
    method: str
    threshold: float
    schedule: str | None
    window: DriftWindow | None = None
    retrain: bool = False  # drift found: retrain (specops drift --retrain)


@dataclass(frozen=True)
class Model(Resource):
    KIND: ClassVar[str] = "Model"
    PREFIX: ClassVar[str] = "model"

    task: Literal["classification", "regression"] = "classification"
    framework: str = "sklearn"
    training: Training | None = None
    registry_name: str = ""
    alias: str = "champion"
    metrics: tuple[MetricGate, ...] = ()
    # one bound for every gated metric, or (metric, bound) pairs, sorted
    max_regression: float | tuple[tuple[str, float], ...] | None = None
    drift: Drift | None = None
    allow_pii_features: bool = False
    decision_threshold: float | None = None  # binary classification: P(positive) at which the label is positive

    def regression_bounds(self) -> dict[str, float]:
        """metric -> how much worse than the alias' version the candidate may be (empty: no comparison)."""
        if self.max_regression is None:
            return {}
        if isinstance(self.max_regression, tuple):
            return dict(self.max_regression)
        names = [g.name for g in self.metrics] or [PRIMARY_METRIC[self.task]]
        return {n: float(self.max_regression) for n in names}

    def input_files(self) -> tuple[str, ...]:
        return (self.training.entrypoint,) if self.training is not None else ()


@dataclass(frozen=True, slots=True)
class Autoscaling:
    min_replicas: int
    max_replicas: int
    target_cpu_percent: int


@dataclass(frozen=True)
class Deployment(Resource):
    KIND: ClassVar[str] = "Deployment"
    PREFIX: ClassVar[str] = "deployment"

    model: str = ""
    environment: str = ""
    alias: str | None = None  # resolved: the model's alias when neither alias nor version is set
    version: int | None = None
    runtime: Literal["mlflow", "kserve", "seldon", "triton"] = "mlflow"
    replicas: int = 2
    autoscaling: Autoscaling | None = None
    requests: tuple[tuple[str, str], ...] = ()
    limits: tuple[tuple[str, str], ...] = ()
    port: int = 8000
    canary_percent: int | None = None
    allow_from_namespaces: tuple[str, ...] = ()
    p95_latency_ms: float | None = None
    error_rate: float | None = None
    monitoring_labels: tuple[tuple[str, str], ...] = ()

    def serves_own_version(self, model_alias: str) -> bool:
        """Whether it serves a version of its own: a pinned one, or the holder of another alias than its model's
        (the version the model's alias holds is then not what it serves)."""
        return self.version is not None or (self.alias is not None and self.alias != model_alias)

    def canary_pods(self) -> tuple[int, int]:
        """(stable, candidate) pods of a replica-ratio canary (runtime mlflow): the candidate pods beside the
        stable ones closest to canary_percent of all, at least one, at most nine times the stable ones."""
        stable = self.autoscaling.min_replicas if self.autoscaling is not None else self.replicas
        percent = self.canary_percent or 0
        wanted = round(stable * percent / max(1, 100 - percent))
        return stable, max(1, min(wanted, 9 * stable, 1000))


RESOURCE_CLASSES: dict[str, type[Resource]] = {
    cls.KIND: cls for cls in (Project, Environment, Dataset, QualityRule, Transform, Model, Deployment)
}
