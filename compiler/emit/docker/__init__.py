"""The docker backend: container images for serving, training and scheduled dbt runs.

Images hold code and dependencies, never specs or data (compiler.spec.images): their tags are digests of
what they hold, so a spec edit that changes no code changes no image and no Dockerfile. They get their
configuration at run time: the serving image from its Deployment's environment (MODEL_URI,
MLFLOW_TRACKING_URI, PORT), the training and dbt images from the spec repository their job fetches at the
applied revision (compiler.emit.kubernetes.cronjobs), which is their working directory.

Per Model, under `docker/<model>/` (the build context of both images):

- `Dockerfile.serve`, `requirements-serve.txt`, `serve.py`, `entrypoint.sh`: the serving image. `serve.py`
  is `compiler/emit/docker/serve_app.py` (stdlib + MLflow, no specops) behind a header; the image runs
  `python /app/serve.py`.
- `Dockerfile.train`, `requirements-train.txt`: the training image: specops, MLflow, the model's framework
  and the drivers of the project's warehouse types; its jobs run `specops train <model>` and `specops drift
  <model>` in the fetched repository.

And `docker/dbt/` (its build context): dbt with the project's adapters, and specops, which compiles the
fetched repository's dbt project before `dbt build` runs it.

specops itself comes from the Project's `specops` setting (a version, a git commit or a wheel; default the
version that compiled the specs): the apply workflow's image job stages it as a wheel in `dist/` of the
context (`pip wheel --no-deps --wheel-dir <context>/dist <requirement>`), installed with `--no-index`, so no
other package named specops can be pulled in.

Every Dockerfile has two stages (wheels built in a builder, installed with `--no-index` in a slim
runtime), a numeric non-root user, a HEALTHCHECK, exec-form commands run through `entrypoint.sh`
(which exports the secret files mounted under SPECOPS_SECRETS_DIR), and keeps every write under /tmp, so
the pods run with a read-only root filesystem and a /tmp emptyDir. Versions come from the one PINS table
(compiler.spec.images); nothing here reads the clock or the environment.
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
from compiler.spec.images import (
    DBT_ADAPTERS,
    FRAMEWORK_PACKAGES,
    PINS,
    SERVE_PACKAGES,
    SPECOPS_DEPENDENCIES,
    land_packages,
    pinned,
    serve_packages,
    specops_requirement,
)
from compiler.spec.images import (
    base_image as _base_image,
)
from compiler.spec.images import (
    dbt_packages as _dbt_packages,
)
from compiler.spec.images import (
    train_packages as _train_packages,
)
from compiler.spec.ir import Model
from compiler.spec.project import SpecProject

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["DBT_ADAPTERS", "FRAMEWORK_PACKAGES", "PINS", "SERVE_PACKAGES", "SPECOPS_DEPENDENCIES", "emit",
           "serving_source", "units"]

UID = 10001  # also the GID; >= 10000 as checkov CKV_K8S_40 and kube-score want
DEFAULT_PORT = 8000  # the serving port baked in; the Deployment's PORT env var overrides it
DIST = "dist"  # the folder of a build context where the image job stages the specops wheel
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


COST = 0.11  # relative cost at 10,000 specs (compiler.emit.registry)


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
    return _base_image(project.project.python_version)


def requirements_file(packages: Iterable[str], header: str) -> bytes:
    lines = [f"# {comment_safe(header)}", f"# Versions pinned by specops {__version__}.", *pinned(packages)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def train_packages(project: SpecProject, model: Model) -> list[str]:
    return _train_packages(model, project.warehouse_types)


def dbt_packages(project: SpecProject) -> list[str]:
    return _dbt_packages(project.warehouse_types)


@cache
def serving_source() -> bytes:
    """The serving entrypoint, as shipped in the package (compiler/emit/docker/serve_app.py; read once per run)."""
    return resources.files("compiler.emit.docker").joinpath("serve_app.py").read_bytes()


@cache
def entrypoint_source() -> bytes:
    """The images' entrypoint script (templates/docker/entrypoint.sh; read once per run)."""
    return (data_dir("templates") / "docker" / "entrypoint.sh").read_bytes()


def model_artifacts(project: SpecProject, model: Model) -> list[Artifact]:
    """`docker/<model>/`: the build context of the model's serving and training images."""
    folder = f"docker/{model.name}"
    source = GENERATED.format(source=model.loc.file)
    owners = (model.address,)
    # python_version, the specops source and the warehouse types are the Project's and Environments' part
    image_owners = (model.address, project.project.address)
    return [
        Artifact(f"{folder}/entrypoint.sh", entrypoint_source(), owners),
        Artifact(f"{folder}/Dockerfile.serve", serve_dockerfile(project, model), image_owners),
        Artifact(f"{folder}/requirements-serve.txt", requirements_file(serve_packages(model), source), owners),
        Artifact(f"{folder}/serve.py", _python_header(serving_source(), model), owners),
        Artifact(f"{folder}/Dockerfile.train", train_dockerfile(project, model), image_owners),
        Artifact(f"{folder}/requirements-train.txt", requirements_file(train_packages(project, model), source),
                 (model.address, *sorted(e.address for e in project.environments.values()))),
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


def _stage_lines(context: str, requirement: str) -> list[str]:
    return ["specops is installed from a wheel staged in dist/ of the build context first (the apply workflow's",
            f"image job does it): pip wheel --no-deps --wheel-dir {context}/{DIST} '{requirement}'"]


def train_dockerfile(project: SpecProject, model: Model) -> bytes:
    image, context = train_image(project, model), _folder(project, model)
    requirement = specops_requirement(project.project.specops)
    return _render("Dockerfile.train.j2", header=[
        GENERATED.format(source=model.loc.file),
        f"Training image of {model.address}: {image}",
        f"Build: docker build -f {context}/Dockerfile.train -t {image} {context}",
        *_stage_lines(context, requirement),
        "It holds no specs and no data: its jobs run `specops train|drift <model> --env <environment>` in the",
        "spec repository they fetch at the applied revision.",
    ], base=base_image(project), env=_env(BASE_ENV), requirements="requirements-train.txt", dist=_exec(
        [f"{DIST}/", "/wheels/"]), entrypoint_copy=_exec(["entrypoint.sh", ENTRYPOINT_PATH]),
        healthcheck=_exec(["python", "-c", "import compiler, mlflow"]), cmd=_exec(["specops", "--version"]))


def dbt_artifacts(project: SpecProject) -> list[Artifact]:
    image = dbt_image(project)
    context = posixpath.join(project.project.output, "docker", "dbt")
    source = GENERATED.format(source="specops.yaml and the Environment specs")
    owners = (project.project.address, *sorted(e.address for e in project.environments.values()))
    env = [*BASE_ENV, ("DBT_TARGET_PATH", "/tmp/dbt/target"), ("DBT_LOG_PATH", "/tmp/dbt/logs"),
           ("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")]
    dockerfile = _render("Dockerfile.dbt.j2", header=[
        source,
        f"Image that runs scheduled transforms: {image}",
        f"Build: docker build -f {context}/Dockerfile -t {image} {context}",
        *_stage_lines(context, specops_requirement(project.project.specops)),
        "It holds no specs and no data: its jobs compile the spec repository they fetch at the applied revision",
        "(specops compile), then run dbt build on that dbt project.",
    ], base=base_image(project), env=_env(env), dist=_exec([f"{DIST}/", "/wheels/"]),
        entrypoint_copy=_exec(["entrypoint.sh", ENTRYPOINT_PATH]), healthcheck=_exec(["dbt", "--version"]),
        cmd=_exec(["dbt", "--version"]))
    return [
        Artifact("docker/dbt/Dockerfile", dockerfile, owners),
        Artifact("docker/dbt/entrypoint.sh", entrypoint_source(), (project.project.address,)),
        Artifact("docker/dbt/requirements.txt", requirements_file(dbt_packages(project), source), owners),
    ]


def land_artifacts(project: SpecProject) -> list[Artifact]:
    """`docker/land/`: the landing image of the kafka landing CronJobs (compiler.emit.docker.land)."""
    image = land_image(project)
    context = posixpath.join(project.project.output, "docker", "land")
    source = GENERATED.format(source="specops.yaml and the Environment specs")
    owners = land.owners(project)
    dockerfile = _render("Dockerfile.train.j2", header=[
        source,
        f"Landing image of the kafka sources: {image}",
        f"Build: docker build -f {context}/Dockerfile -t {image} {context}",
        *_stage_lines(context, specops_requirement(project.project.specops)),
        "It holds no specs and no data: its jobs run `specops land <dataset> --env <environment>` in the spec",
        "repository they fetch at the applied revision.",
    ], base=base_image(project), env=_env(BASE_ENV), requirements="requirements.txt",
        dist=_exec([f"{DIST}/", "/wheels/"]), entrypoint_copy=_exec(["entrypoint.sh", ENTRYPOINT_PATH]),
        healthcheck=_exec(land.HEALTHCHECK), cmd=_exec(land.COMMAND))
    return [Artifact("docker/land/Dockerfile", dockerfile, owners),
            Artifact("docker/land/entrypoint.sh", entrypoint_source(), (project.project.address,)),
            Artifact("docker/land/requirements.txt",
                     requirements_file(land_packages(project.warehouse_types), source), owners)]


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
