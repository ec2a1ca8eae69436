"""The docker backend: container images for training, serving and scheduled dbt runs.

Per Model, under `docker/<model>/` (that folder is the build context of both images):

- `Dockerfile.serve`, `requirements-serve.txt`, `serve.py`: the serving image. `serve.py` is
  `compiler/serving.py` (stdlib + MLflow, no specops) behind a header; the image runs
  `python /app/serve.py` and is configured at run time by MODEL_URI, MLFLOW_TRACKING_URI and PORT.
- `Dockerfile.train`, `requirements-train.txt`, `training/<entrypoint file>`: the training image,
  whose command is `specops train <model>`; the CronJob appends `--env <environment>`.
  specops is not published on PyPI and a backend cannot build a wheel, so the CI must stage
  `dist/specops-<version>-py3-none-any.whl` in the build context before `docker build` (built
  from the same specops source that compiled the specs); the build fails loudly without it, and
  the wheel is installed with `--no-index`, so no other package named specops can be pulled in.
  The image holds the training code and the libraries, not the spec repository: how
  `specops train` gets the specs in the container (a mount, or the compiled output) is the
  train command's contract, not this backend's.

And `docker/dbt/` for the image that runs the compiled dbt project; its build context is the
output folder, since it copies `dbt/`.

Every Dockerfile has two stages (wheels built in a builder, installed with `--no-index` in a slim
runtime), a numeric non-root user, a HEALTHCHECK and exec-form commands, and keeps every write
under /tmp, so the Kubernetes pods can run with a read-only root filesystem and a /tmp emptyDir.
Versions come from the one PINS table below; nothing here reads the clock or the environment.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from functools import cache
from importlib import resources

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from compiler import __version__
from compiler.emit import Artifact
from compiler.emit.images import dbt_image, serve_image, train_image
from compiler.model import Model
from compiler.render import GENERATED, comment_safe
from compiler.resources import data_dir
from compiler.spec import SpecProject

# Every version an image installs, in one place (the ones the project's own environment is tested with).
PINS: dict[str, str] = {
    "click": "8.5.1",
    "dbt-bigquery": "1.11.3",
    "dbt-core": "1.11.16",
    "dbt-duckdb": "1.11.1",
    "dbt-postgres": "1.11.0",
    "dbt-snowflake": "1.11.6",
    "duckdb": "2.0.1",
    "jinja2": "3.1.6",
    "jsonschema": "4.26.0",
    "lightgbm": "4.7.0",
    "mlflow": "3.17.2",
    "networkx": "3.6.1",
    "numpy": "2.4.6",
    "pandas": "3.1.1",
    "psycopg2-binary": "2.9.13",
    "pyyaml": "6.0.4",
    "scikit-learn": "1.9.1",
    "tensorflow": "2.21.0",
    "torch": "2.15.0",
    "xgboost": "3.4.1",
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
# what `specops train` needs besides specops' own dependencies: warehouse drivers for the embedded
# default and Postgres (snowflake and bigquery drivers are not included yet)
TRAIN_PACKAGES = (*SERVE_PACKAGES, "duckdb", "psycopg2-binary")
SPECOPS_DEPENDENCIES = ("click", "jinja2", "jsonschema", "networkx", "pyyaml")
DBT_ADAPTERS = {"duckdb": "dbt-duckdb", "postgres": "dbt-postgres", "snowflake": "dbt-snowflake",
                "bigquery": "dbt-bigquery"}

UID = 10001  # also the GID; >= 10000 as checkov CKV_K8S_40 and kube-score want
DEFAULT_PORT = 8000  # the serving port baked in; the Deployment's PORT env var overrides it
DEBIAN = "bookworm"
SPECOPS_WHEEL = f"specops-{__version__}-py3-none-any.whl"
BASE_ENV: tuple[tuple[str, str], ...] = (
    ("HOME", "/tmp"),
    ("TMPDIR", "/tmp"),
    ("XDG_CACHE_HOME", "/tmp/.cache"),
    ("MPLCONFIGDIR", "/tmp/.matplotlib"),
    ("GIT_PYTHON_REFRESH", "quiet"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
    ("PYTHONUNBUFFERED", "1"),
    ("PIP_NO_CACHE_DIR", "1"),
    ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
    ("PIP_ROOT_USER_ACTION", "ignore"),
)
SERVE_HEALTHCHECK = ("import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + "
                     "os.environ.get('PORT', '" + str(DEFAULT_PORT) + "') + '/health', timeout=4)")


def emit(project: SpecProject) -> list[Artifact]:
    """The Dockerfiles, requirements and entrypoints of every model's images and of the dbt image."""
    out: list[Artifact] = []
    for model in project.models.values():
        out.extend(model_artifacts(project, model))
    out.extend(dbt_artifacts(project))
    return out


def base_image(project: SpecProject) -> str:
    return f"python:{project.project.python_version}-slim-{DEBIAN}"


def pinned(packages: Iterable[str]) -> list[str]:
    """`name==version` lines, sorted and unique; a package missing from PINS is a bug here."""
    return [f"{name}=={PINS[name]}" for name in sorted(set(packages))]


def requirements_file(packages: Iterable[str], header: str) -> bytes:
    lines = [f"# {comment_safe(header)}", f"# Versions pinned by specops {__version__}.", *pinned(packages)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def serve_packages(model: Model) -> list[str]:
    return [*SERVE_PACKAGES, *FRAMEWORK_PACKAGES[model.framework]]


def train_packages(model: Model) -> list[str]:
    return [*TRAIN_PACKAGES, *FRAMEWORK_PACKAGES[model.framework], *SPECOPS_DEPENDENCIES]


def dbt_packages(project: SpecProject) -> list[str]:
    types = {env.warehouse.type for env in project.environments.values()} or {"duckdb"}
    return ["dbt-core", *(DBT_ADAPTERS[t] for t in types)]


def serving_source() -> bytes:
    """The serving entrypoint, as shipped in the package (compiler/serving.py)."""
    return resources.files("compiler").joinpath("serving.py").read_bytes()


def model_artifacts(project: SpecProject, model: Model) -> list[Artifact]:
    assert model.training is not None
    folder = f"docker/{model.name}"
    context = posixpath.join(project.project.output, folder)
    source = GENERATED.format(source=model.loc.file)
    owners = (model.address,)
    serve_img, train_img = serve_image(project, model), train_image(project, model)
    entry = posixpath.basename(model.training.entrypoint)

    serve = _render("Dockerfile.serve.j2", header=[
        source,
        f"Serving image of {model.address}: {serve_img}",
        f"Build: docker build -f {context}/Dockerfile.serve -t {serve_img} {context}",
        f"Run-time env: MODEL_URI (e.g. models:/{model.registry_name}@{model.alias}), MLFLOW_TRACKING_URI, PORT.",
    ], env=[*BASE_ENV, ("PORT", str(DEFAULT_PORT))], port=DEFAULT_PORT,
        healthcheck=_exec(["python", "-c", SERVE_HEALTHCHECK]), cmd=_exec(["python", "/app/serve.py"]))
    train = _render("Dockerfile.train.j2", header=[
        source,
        f"Training image of {model.address}: {train_img}",
        f"Build: docker build -f {context}/Dockerfile.train -t {train_img} {context}",
        f"First stage the specops wheel (not on PyPI), built from the specops source that compiled this:",
        f"  pip wheel --no-deps --wheel-dir {context}/dist <specops source>   # -> dist/{SPECOPS_WHEEL}",
        f"Run: specops train {model.name} --env <environment> (the CronJob passes --env).",
    ], env=BASE_ENV, specops_wheel=f"dist/{SPECOPS_WHEEL}", specops_wheel_name=SPECOPS_WHEEL,
        specops_requirement=f"specops=={__version__}",
        healthcheck=_exec(["python", "-c", "import compiler, mlflow"]),
        cmd=_exec(["specops", "train", model.name]))
    serving = serving_source()
    return [
        Artifact(f"{folder}/Dockerfile.serve", serve, owners),
        Artifact(f"{folder}/requirements-serve.txt", requirements_file(serve_packages(model), source), owners),
        Artifact(f"{folder}/serve.py", _python_header(serving, model), owners),
        Artifact(f"{folder}/Dockerfile.train", train, owners),
        Artifact(f"{folder}/requirements-train.txt", requirements_file(train_packages(model), source), owners),
        Artifact(f"{folder}/training/{entry}", model.training.entrypoint_source, owners),
    ]


def dbt_artifacts(project: SpecProject) -> list[Artifact]:
    out_dir = project.project.output
    image = dbt_image(project)
    source = GENERATED.format(source="the Dataset, Transform, QualityRule and Environment specs")
    owners = tuple(sorted(r.address for r in project.resources()
                          if r.address.startswith(("dataset.", "transform.", "quality_rule.", "environment."))))
    env = [*BASE_ENV, ("DBT_PROFILES_DIR", "/app/dbt"), ("DBT_PROJECT_DIR", "/app/dbt"),
           ("DBT_TARGET_PATH", "/tmp/dbt/target"), ("DBT_LOG_PATH", "/tmp/dbt/logs"),
           ("DBT_SEND_ANONYMOUS_USAGE_STATS", "false"), ("SPECOPS_ROOT", "/tmp/specops")]
    dockerfile = _render("Dockerfile.dbt.j2", header=[
        source,
        f"Image that runs the compiled dbt project: {image}",
        f"Build (context: the output folder): docker build -f {out_dir}/docker/dbt/Dockerfile -t {image} {out_dir}",
        "Run: dbt build; choose the environment with DBT_TARGET=<environment> (default: the default one).",
        "Embedded DuckDB files are written under SPECOPS_ROOT (/tmp/specops): mount a volume there to keep them.",
    ], env=env, healthcheck=_exec(["dbt", "--version"]),
        cmd=_exec(["dbt", "build", "--profiles-dir", "/app/dbt", "--project-dir", "/app/dbt"]))
    return [
        Artifact("docker/dbt/Dockerfile", dockerfile, owners),
        Artifact("docker/dbt/requirements.txt", requirements_file(dbt_packages(project), source), owners),
    ]


def _exec(argv: list[str]) -> str:
    """An exec-form (JSON array) instruction argument."""
    return json.dumps(argv)


def _python_header(source: bytes, model: Model) -> bytes:
    note = GENERATED.format(source=f"compiler/serving.py of specops {__version__}, for {model.address}")
    return f"# {comment_safe(note)}\n".encode() + source


@cache
def _jinja() -> Environment:
    return Environment(loader=FileSystemLoader(str(data_dir("templates") / "docker")), undefined=StrictUndefined,
                       keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)


def _render(template: str, *, header: list[str], uid: int = UID, base: str = "", **context: object) -> bytes:
    """A Dockerfile from its template; header lines are made comment-safe here."""
    del base  # the base image is always the project's, passed in by the callers below
    raise NotImplementedError
