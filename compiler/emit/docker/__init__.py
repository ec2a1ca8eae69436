"""The docker backend: container images for training, serving and scheduled dbt runs.

Per Model, under `docker/<model>/`:

- `Dockerfile.serve`, `requirements-serve.txt`, `serve.py`, `entrypoint.sh`: the serving image,
  built with `docker/<model>/` as its context. `serve.py` is `compiler/emit/docker/serve_app.py` (stdlib +
  MLflow, no specops) behind a header; the image runs `python /app/serve.py`, configured at run
  time by MODEL_URI, MLFLOW_TRACKING_URI and PORT.
- `Dockerfile.train`, `requirements-train.txt`: the training image, whose command is
  `specops train <model>` (the CronJob sets the args, with `--env`; `specops drift` runs in it
  too). Those commands load the whole spec repository, so this image is built with the
  repository root as its context and copies exactly what the loader reads (specops.yaml, the spec
  folders, SQL files, training code, file-source data) to /app, its working directory; nothing
  else of the repository (.git, build/, secrets) goes in. `specops train` writes its state (and
  reads embedded DuckDB files, local MLflow data) under `/app/.specops`, an empty folder owned by
  the image's user: with a read-only root filesystem, mount a writable volume there.
  specops is not on PyPI and a backend cannot build a wheel: the CI stages
  `<output>/docker/<model>/dist/specops-<version>-py3-none-any.whl` (from the specops source that
  compiled the specs) before `docker build`; without it the build fails, and the wheel is
  installed with `--no-index`, so no other package named specops can be pulled in.

And `docker/dbt/` for the image that runs the compiled dbt project (context: the output folder).

Every Dockerfile has two stages (wheels built in a builder, installed with `--no-index` in a slim
runtime), a numeric non-root user, a HEALTHCHECK, exec-form commands run through `entrypoint.sh`
(which exports the secret files mounted under SPECOPS_SECRETS_DIR), and keeps every write under
/tmp (and /app/.specops for the dbt and training images), so the pods run with a read-only root
filesystem, a /tmp emptyDir (and a volume on /app/.specops). Versions come from the
one PINS table below, checked to resolve together on Python 3.11 (other python_version values may
need other pins); nothing here reads the clock or the environment.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from functools import cache, partial
from importlib import resources
from typing import TYPE_CHECKING

from compiler import __version__
from compiler.emit.base import Artifact, Unit, run_units
from compiler.emit.docker import land
from compiler.emit.images import dbt_image, land_image, serve_image, train_image
from compiler.emit.render import GENERATED, comment_safe
from compiler.shipped import data_dir
from compiler.spec.ir import Model
from compiler.spec.project import SpecProject

if TYPE_CHECKING:
    from jinja2 import Environment

# Every version an image installs, in one place. mlflow, scikit-learn, pandas, numpy, duckdb and the dbt
# packages are the ones the project's own environment is tested with; each image's set was checked to
# resolve together on Python 3.11 (pip install --dry-run). xgboost 3.2.0 is the last for Python 3.11.
PINS: dict[str, str] = {
    "click": "8.5.1",
    "confluent-kafka": "2.16.1",
    "dbt-bigquery": "1.11.3",
    "dbt-core": "1.11.16",
    "dbt-duckdb": "1.11.1",
    "dbt-postgres": "1.11.0",
    "dbt-snowflake": "1.11.6",
    "duckdb": "2.0.1",
    "jinja2": "3.1.6",
    "jsonschema": "4.26.0",
    "kfp": "2.17.3",
    "lightgbm": "4.7.0",
    "mlflow": "3.17.2",
    "networkx": "3.6.1",
    "numpy": "2.4.6",
    "pandas": "3.1.1",
    "psycopg2-binary": "2.9.13",
    "pyyaml": "6.0.4",
    "scikit-learn": "1.9.1",
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
# every image runs its command through this script, which exports mounted secrets (see that file)
ENTRYPOINT_PATH = "/opt/specops/entrypoint.sh"
ENTRYPOINT = ["/bin/sh", ENTRYPOINT_PATH]
SERVE_HEALTHCHECK = ("import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + "
                     "os.environ.get('PORT', '" + str(DEFAULT_PORT) + "') + '/health', timeout=4)")


COST = 0.2  # relative cost at 10,000 specs (compiler.emit.registry)


def emit(project: SpecProject) -> list[Artifact]:
    """The Dockerfiles, requirements and entrypoints of every model's images and of the dbt image."""
    return run_units(project, units(project))


def units(project: SpecProject) -> list[Unit]:
    """One per model (its folder), the dbt image's, and the landing image's when a landing CronJob uses it."""
    return [*(Unit(("docker", "model", name), partial(_model_unit, name=name)) for name in project.models),
            Unit(("docker", "dbt"), dbt_artifacts), *([Unit(("docker", "land"), land_artifacts)] if land.used(project)
                                                     else [])]


def _model_unit(project: SpecProject, name: str) -> list[Artifact]:
    return model_artifacts(project, project.models[name])


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
    # a Kubeflow pipeline's tasks run specops through KFP's executor (compiler/emit/kubeflow): kfp in the image
    runner = ("kfp",) if model.training is not None and model.training.runner == "kubeflow" else ()
    return [*TRAIN_PACKAGES, *FRAMEWORK_PACKAGES[model.framework], *SPECOPS_DEPENDENCIES, *runner]


def dbt_packages(project: SpecProject) -> list[str]:
    types = {env.warehouse.type for env in project.environments.values()} or {"duckdb"}
    return ["dbt-core", *(DBT_ADAPTERS[t] for t in types)]


@cache
def serving_source() -> bytes:
    """The serving entrypoint, as shipped in the package (compiler/emit/docker/serve_app.py; read once per run)."""
    return resources.files("compiler.emit.docker").joinpath("serve_app.py").read_bytes()


@cache
def entrypoint_source() -> bytes:
    """The images' entrypoint script (templates/docker/entrypoint.sh; read once per run)."""
    return (data_dir("templates") / "docker" / "entrypoint.sh").read_bytes()


def model_artifacts(project: SpecProject, model: Model) -> list[Artifact]:
    """`docker/<model>/`: the serving image's build context, and the training image's Dockerfile."""
    folder = f"docker/{model.name}"
    source = GENERATED.format(source=model.loc.file)
    owners = (model.address,)
    # the training image copies the whole spec repository; its Dockerfile lists folders and files, so it
    # belongs to the model and the Project (whose spec folders it copies)
    train_owners = (model.address, project.project.address)
    return [
        Artifact(f"{folder}/entrypoint.sh", entrypoint_source(), owners),
        Artifact(f"{folder}/Dockerfile.serve", serve_dockerfile(project, model), owners),
        Artifact(f"{folder}/requirements-serve.txt", requirements_file(serve_packages(model), source), owners),
        Artifact(f"{folder}/serve.py", _python_header(serving_source(), model), owners),
        Artifact(f"{folder}/Dockerfile.train", train_dockerfile(project, model), train_owners),
        Artifact(f"{folder}/requirements-train.txt", requirements_file(train_packages(model), source), owners),
    ]


def serve_dockerfile(project: SpecProject, model: Model) -> bytes:
    image, context = serve_image(project, model), _folder(project, model)
    return _render("Dockerfile.serve.j2", header=[
        GENERATED.format(source=model.loc.file),
        f"Serving image of {model.address}: {image}",
        f"Build: docker build -f {context}/Dockerfile.serve -t {image} {context}",
        f"Run-time env: MODEL_URI (e.g. models:/{model.registry_name}@{model.alias}), MLFLOW_TRACKING_URI, PORT.",
    ], base=base_image(project), env=_env([*BASE_ENV, ("PORT", str(DEFAULT_PORT))]), port=DEFAULT_PORT,
        entrypoint_copy=f"entrypoint.sh {ENTRYPOINT_PATH}", healthcheck=_exec(["python", "-c", SERVE_HEALTHCHECK]),
        cmd=_exec(["python", "/app/serve.py"]))


def train_dockerfile(project: SpecProject, model: Model) -> bytes:
    image, folder = train_image(project, model), _folder(project, model)
    return _render("Dockerfile.train.j2", header=[
        GENERATED.format(source=model.loc.file),
        f"Training image of {model.address}: {image}",
        f"Build from the spec repository root: docker build -f {folder}/Dockerfile.train -t {image} .",
        "after staging the specops wheel (not on PyPI), built from the specops source that compiled this:",
        f"  pip wheel --no-deps --wheel-dir {folder}/dist <specops source>   # -> {SPECOPS_WHEEL}",
        f"Run: specops train {model.name} --env <environment>, or specops drift (the CronJob sets the args).",
    ], base=base_image(project), env=_env(BASE_ENV), requirements=_exec([f"{folder}/requirements-train.txt",
                                                                          "/wheels/requirements.txt"]),
        specops_wheel=_exec([f"{folder}/dist/{SPECOPS_WHEEL}", f"/wheels/{SPECOPS_WHEEL}"]),
        specops_requirement=f"specops=={__version__}",
        entrypoint_copy=_exec([f"{folder}/entrypoint.sh", ENTRYPOINT_PATH]),
        repo_copies=repo_copies(project), healthcheck=_exec(["python", "-c", "import compiler, mlflow"]),
        cmd=_exec(["specops", "train", model.name]))


def repo_copies(project: SpecProject) -> list[str]:
    """COPY arguments (JSON form) bringing to /app what `specops train` loads from the repository."""
    folders = sorted({posixpath.normpath(f) for f in project.project.specs})
    files = set(project.input_files)
    files = {f for f in files if not any(f.startswith(d + "/") for d in folders if d != ".")}
    by_dir: dict[str, list[str]] = {}
    for path in sorted(files | {"specops.yaml"}):
        by_dir.setdefault(posixpath.dirname(path), []).append(path)
    copies = [[d, "/app" if d == "." else f"/app/{d}"] for d in folders]
    copies += [[*paths, posixpath.join("/app", d) + "/" if d else "/app/"] for d, paths in sorted(by_dir.items())]
    # COPY expands $variables even in JSON form; a literal $ in a path must not
    return [_exec([part.replace("$", "\\$") for part in copy]) for copy in copies]


def dbt_artifacts(project: SpecProject) -> list[Artifact]:
    out_dir = project.project.output
    image = dbt_image(project)
    source = GENERATED.format(source="the Dataset, Transform, QualityRule and Environment specs")
    owners = tuple(sorted([*(f"dataset.{name}" for name in project.datasets),
                           *(f"transform.{name}" for name in project.transforms),
                           *(f"quality_rule.{name}" for name in project.rules),
                           *(f"environment.{name}" for name in project.environments)]))
    env = [*BASE_ENV, ("DBT_PROFILES_DIR", "/app/dbt"), ("DBT_PROJECT_DIR", "/app/dbt"),
           ("DBT_TARGET_PATH", "/tmp/dbt/target"), ("DBT_LOG_PATH", "/tmp/dbt/logs"),
           ("DBT_SEND_ANONYMOUS_USAGE_STATS", "false"), ("SPECOPS_ROOT", "/app")]
    dockerfile = _render("Dockerfile.dbt.j2", header=[
        source,
        f"Image that runs the compiled dbt project: {image}",
        f"Build (context: the output folder): docker build -f {out_dir}/docker/dbt/Dockerfile -t {image} {out_dir}",
        "Run: dbt build; choose the environment with DBT_TARGET=<environment> (default: the default one).",
        "Embedded DuckDB files go to /app/.specops (SPECOPS_ROOT=/app): mount a writable volume there.",
    ], base=base_image(project), env=_env(env), entrypoint_copy=f"docker/dbt/entrypoint.sh {ENTRYPOINT_PATH}",
        healthcheck=_exec(["dbt", "--version"]),
        cmd=_exec(["dbt", "build", "--profiles-dir", "/app/dbt", "--project-dir", "/app/dbt"]))
    return [
        Artifact("docker/dbt/Dockerfile", dockerfile, owners),
        Artifact("docker/dbt/entrypoint.sh", entrypoint_source(), (project.project.address,)),
        Artifact("docker/dbt/requirements.txt", requirements_file(dbt_packages(project), source),
                 (project.project.address, *sorted(e.address for e in project.environments.values()))),
    ]


def land_artifacts(project: SpecProject) -> list[Artifact]:
    """`docker/land/`: the landing image of the kafka landing CronJobs (compiler.emit.docker.land)."""
    folder = posixpath.join(project.project.output, "docker", "land")
    source = GENERATED.format(source="the kafka Dataset specs")
    dockerfile = _render("Dockerfile.train.j2", header=land.header(folder, land_image(project), SPECOPS_WHEEL, source),
                         base=base_image(project), env=_env(BASE_ENV),
                         requirements=_exec([f"{folder}/requirements.txt", "/wheels/requirements.txt"]),
                         specops_wheel=_exec([f"{folder}/dist/{SPECOPS_WHEEL}", f"/wheels/{SPECOPS_WHEEL}"]),
                         specops_requirement=f"specops=={__version__}",
                         entrypoint_copy=_exec([f"{folder}/entrypoint.sh", ENTRYPOINT_PATH]),
                         repo_copies=repo_copies(project), healthcheck=_exec(land.HEALTHCHECK),
                         cmd=_exec(land.COMMAND))
    owners = land.owners(project)
    return [Artifact("docker/land/Dockerfile", dockerfile, owners),
            Artifact("docker/land/entrypoint.sh", entrypoint_source(), (project.project.address,)),
            Artifact("docker/land/requirements.txt",
                     requirements_file([*land.PACKAGES, *SPECOPS_DEPENDENCIES], source), owners)]


def _folder(project: SpecProject, model: Model) -> str:
    return posixpath.join(project.project.output, "docker", model.name)


def _exec(argv: list[str]) -> str:
    """An exec-form (JSON array) instruction argument."""
    return json.dumps(argv)


def _env(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """KEY=value words of an ENV instruction; values are constants of this module, never user text."""
    return [f"{key}={value}" for key, value in pairs]


def _python_header(source: bytes, model: Model) -> bytes:
    note = GENERATED.format(source=f"compiler/emit/docker/serve_app.py of specops {__version__}, for {model.address}")
    return f"# {comment_safe(note)}\n".encode() + source


@cache
def _jinja() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # only when a Dockerfile is rendered

    return Environment(loader=FileSystemLoader(str(data_dir("templates") / "docker")), undefined=StrictUndefined,
                       keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False,
                       auto_reload=False)  # shipped templates do not change under a run: no stat per render


def _render(template: str, *, header: list[str], **context: object) -> bytes:
    """A Dockerfile from its template; header lines are made comment-safe here."""
    text = _jinja().get_template(template).render(header=[comment_safe(h) for h in header], uid=UID,
                                                  entrypoint=_exec(ENTRYPOINT), **context)
    return text.encode("utf-8")
