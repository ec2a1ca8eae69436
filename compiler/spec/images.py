"""What the images hold, and their tags: digests of exactly that, never of the specs.

An image holds a base image (python_version), pinned requirements and code: specops itself (from the
Project's `specops` source) and the files specops ships with that version (the serving app, the
entrypoint, the Dockerfile templates: versioned by specops' version, which every tag hashes). Specs and
data are never inside: jobs fetch the spec repository at run time (compiler.emit.kubernetes.cronjobs), so a
spec edit that changes no code changes no tag. (Image names are compiler.emit.images'.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from compiler import __version__
from compiler.spec.ir import Model, SpecopsSource

# Every version an image installs, in one place. mlflow, scikit-learn, pandas, numpy, duckdb and the dbt
# packages are the ones the project's own environment is tested with; each image's set was checked to
# resolve together on Python 3.11 (pip install --dry-run). xgboost 3.2.0 is the last for Python 3.11.
PINS: dict[str, str] = {
    "click": "8.5.1",
    "confluent-kafka": "2.16.1",
    "db-dtypes": "1.9.0",
    "dbt-bigquery": "1.11.3",
    "dbt-core": "1.11.16",
    "dbt-duckdb": "1.11.1",
    "dbt-postgres": "1.11.0",
    "dbt-snowflake": "1.11.6",
    "duckdb": "2.0.1",
    "google-cloud-bigquery": "3.47.0",
    "jinja2": "3.1.6",
    "jsonschema": "4.26.0",
    "kfp": "2.17.3",
    "lightgbm": "4.7.0",
    "mlflow": "3.17.2",
    "networkx": "3.6.1",
    "numpy": "2.4.6",
    "pandas": "3.1.1",
    "psycopg2-binary": "2.9.13",
    "pyarrow": "25.0.1",
    "pyyaml": "6.0.4",
    "scikit-learn": "1.9.1",
    "snowflake-connector-python": "5.2.0",
    "tensorflow": "2.21.0",
    "torch": "2.14.1",
    "xgboost": "3.2.0",
}
FRAMEWORK_PACKAGES: dict[str, tuple[str, ...]] = {
    "sklearn": ("scikit-learn",),
    "xgboost": ("xgboost",),
    "lightgbm": ("lightgbm",),
    "pytorch": ("torch",),
    "tensorflow": ("tensorflow",),
}
# scikit-learn is always there: MLflow requires it and the validation metrics use it
SERVE_PACKAGES = ("mlflow", "numpy", "pandas", "scikit-learn")
# the drivers `specops train` and `specops drift` read each warehouse type with (compiler.apply.warehouse)
WAREHOUSE_DRIVERS: dict[str, tuple[str, ...]] = {
    "duckdb": ("duckdb",),
    "postgres": ("psycopg2-binary",),
    "snowflake": ("snowflake-connector-python", "pyarrow"),
    "bigquery": ("google-cloud-bigquery", "db-dtypes", "pyarrow"),
}
SPECOPS_DEPENDENCIES = ("click", "jinja2", "jsonschema", "networkx", "pyyaml")
DBT_ADAPTERS = {"duckdb": "dbt-duckdb", "postgres": "dbt-postgres", "snowflake": "dbt-snowflake",
                "bigquery": "dbt-bigquery"}
DEBIAN = "bookworm"


def base_image(python_version: str) -> str:
    return f"python:{python_version}-slim-{DEBIAN}"


def pinned(packages: Iterable[str]) -> list[str]:
    """`name==version` lines, sorted and unique; a package missing from PINS is a bug here."""
    return [f"{name}=={PINS[name]}" for name in sorted(set(packages))]


def serve_packages(model: Model) -> list[str]:
    return [*SERVE_PACKAGES, *FRAMEWORK_PACKAGES[model.framework]]


def train_packages(model: Model, warehouse_types: Iterable[str]) -> list[str]:
    """What `specops train` and `specops drift` need besides specops: MLflow, the framework, the drivers of the
    project's warehouse types, and specops' own dependencies."""
    drivers = [d for t in sorted(set(warehouse_types)) for d in WAREHOUSE_DRIVERS[t]]
    # a Kubeflow pipeline's tasks run specops through KFP's executor (compiler.emit.kubeflow): kfp in the image
    runner = ("kfp",) if model.training is not None and model.training.runner == "kubeflow" else ()
    return [*SERVE_PACKAGES, *FRAMEWORK_PACKAGES[model.framework], *drivers, *SPECOPS_DEPENDENCIES, *runner]


def dbt_packages(warehouse_types: Iterable[str]) -> list[str]:
    """dbt with an adapter per warehouse type, and specops' dependencies (the job compiles the dbt project)."""
    types = set(warehouse_types) or {"duckdb"}
    return ["dbt-core", *(DBT_ADAPTERS[t] for t in sorted(types)), *SPECOPS_DEPENDENCIES]


def land_packages(warehouse_types: Iterable[str]) -> list[str]:
    """What `specops land` needs besides specops: the Kafka client, the drivers of the warehouses it lands into
    (compiler.spec.landing.LANDING_WAREHOUSES), and specops' own dependencies."""
    drivers = [d for t in sorted(set(warehouse_types) & {"duckdb", "postgres"}) for d in WAREHOUSE_DRIVERS[t]]
    return ["confluent-kafka", *drivers, *SPECOPS_DEPENDENCIES]


def specops_requirement(source: SpecopsSource | None, extras: str = "") -> str:
    """What pip installs specops from: `specops==<version>`, `specops @ git+<url>@<commit>`, or a wheel's path
    (relative to the spec repository's root). Default: the version that compiled the specs."""
    name = f"specops[{extras}]" if extras else "specops"
    if source is None:
        return f"{name}=={__version__}"
    if source.kind == "version":
        return f"{name}=={source.value}"
    if source.kind == "git":
        return f"{name} @ git+{source.value}@{source.commit}"
    return f"./{source.value}[{extras}]" if extras else f"./{source.value}"


def tag(*parts: bytes | str) -> str:
    h = hashlib.sha256(__version__.encode())
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode("utf-8"))
        h.update(b"\0")
    return "sha-" + h.hexdigest()[:12]


def model_tag(model: Model) -> str:
    """The model's training code and framework (what a retrain runs): the version label of its jobs."""
    assert model.training is not None
    return tag(model.framework, model.training.entrypoint_source)


def serve_tag(python_version: str, model: Model) -> str:
    return tag("serve", base_image(python_version), *pinned(serve_packages(model)))


def train_tag(python_version: str, model: Model, warehouse_types: Iterable[str], source: SpecopsSource | None) -> str:
    return tag("train", base_image(python_version), *pinned(train_packages(model, warehouse_types)),
               specops_requirement(source))


def dbt_tag(python_version: str, warehouse_types: Iterable[str], source: SpecopsSource | None) -> str:
    return tag("dbt", base_image(python_version), *pinned(dbt_packages(warehouse_types)), specops_requirement(source))


def land_tag(python_version: str, warehouse_types: Iterable[str], source: SpecopsSource | None) -> str:
    return tag("land", base_image(python_version), *pinned(land_packages(warehouse_types)),
               specops_requirement(source))
