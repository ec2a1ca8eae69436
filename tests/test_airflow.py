"""The airflow backend, checked by Airflow itself: a real DagBag (Airflow 3, cosmos) and `airflow dags test`.

The DAG files must load with no import error, hold the expected DAGs, and their task graph must be the
specs' graph: every dbt node built (and tested) after what it reads, every training after its dataset's
build and tests, every rollout after its model's training. `airflow dags test` runs the churn pipeline of
environment dev end to end on DuckDB (dbt through cosmos, MLflow training, rollout), with a standalone
SQLite metadata database. Airflow runs in its own venv (.venv-airflow, `make tools`).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_repository
from dbt_support import DBT, compile_repo, requires_dbt
from integrations import EXAMPLE_NAMES, EXAMPLES, REPO_ROOT, compiled_copy, dbt_parse, tool_python

from compiler.emit.airflow import dbt_node, emit, pipeline_dag_id, retrain_dag_id, schedule_dag_id
from compiler.front.check import require_project
from compiler.output.tools import script
from compiler.spec.cron import canonical_cron
from compiler.spec.project import SpecProject
from compiler.spec.runners import retrain_runner, training_environments, transform_runner

SPECOPS = REPO_ROOT / ".venv" / "bin" / "specops"


def expected_dags(project: SpecProject) -> dict[str, str | None]:
    """dag_id -> schedule: a pipeline per environment, a retraining DAG per airflow-run model and environment, a
    DAG per environment and schedule of the airflow-run transforms."""
    dags: dict[str, str | None] = {pipeline_dag_id(project, env): None for env in project.environments}
    for model in project.models.values():
        if retrain_runner(model, project.deployments_of(model.name), project.environments) == "airflow":
            for env in training_environments(model, project.deployments_of(model.name), project.environments,
                                             project.default_environment):
                dags[retrain_dag_id(project, env, model.name)] = model.training.schedule
    for env in project.environments:
        for schedule in scheduled_outputs(project):
            dags[schedule_dag_id(project, env, schedule)] = schedule
    return dags


def scheduled_outputs(project: SpecProject) -> dict[str, set[str]]:
    """The schedule of every airflow-run transform -> the outputs built on it."""
    found: dict[str, set[str]] = {}
    for t in project.transforms.values():
        if transform_runner(t) == "airflow":
            found.setdefault(canonical_cron(t.schedule), set()).add(t.output)
    return found


def airflow_env(home: Path, dags: Path) -> dict[str, str]:
    return {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "SPECOPS_BIN": str(SPECOPS), "SPECOPS_DBT": str(DBT or "dbt"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}


def dagbag(python: Path, root: Path, home: Path, dags: Path | None = None,
           env: dict[str, str] | None = None) -> dict[str, Any]:
    """The DagBag of the compiled DAG files (of `dags`, where they were copied, when given)."""
    dags = dags or root / "build" / "airflow" / "dags"
    proc = subprocess.run([str(python), str(script("airflow_dags")), str(dags)],
                          env={**airflow_env(home, dags), **(env or {})},
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- without Airflow


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_one_python_file_per_dag(example: str) -> None:
    project = require_project(EXAMPLES / example)
    files = {a.path: a.content for a in emit(project)}
    assert set(files) == {f"airflow/dags/{dag_id}.py" for dag_id in expected_dags(project)}
    for path, content in files.items():
        compile(content, path, "exec")  # valid Python
        assert content == next(a.content for a in emit(require_project(EXAMPLES / example)) if a.path == path)


def test_hostile_text_stays_a_string_literal(edit) -> None:
    evil = "x'\"\"\"\nimport os; os.system('id') # {{ }}"
    edit.replace("specops.yaml", 'owner: "@acme/platform"', f"owner: {json.dumps(evil)}")
    project = require_project(edit.root)
    for art in emit(project):
        assert f'"owner": {evil!r}' in art.content.decode()
        compile(art.content, art.path, "exec")


RELATIONSHIPS = Path(__file__).resolve().parent / "fixtures" / "relationships"


def test_a_relationship_check_makes_the_later_dataset_depend_on_the_other() -> None:
    """A relationship between datasets neither of which reads the other: the checked model is built after the seed
    it names; a checked seed's `to` model after the seed (compiler.spec.relationships)."""
    from compiler.emit.dbt import emit as emit_dbt

    sql = {a.path: a.content.decode() for a in emit_dbt(require_project(RELATIONSHIPS)) if a.path.endswith(".sql")}
    assert "-- depends_on: {{ ref('owners') }}\n" in sql["dbt/models/item_counts.sql"]
    assert "-- depends_on: {{ ref('items') }}\n" in sql["dbt/models/named_owners.sql"]


@requires_dbt
def test_buildable_selection_of_each_dbt_task_runs_every_relationship_check(tmp_path: Path) -> None:
    """What each cosmos task runs (`dbt build --select <node> --indirect-selection buildable`), asked of dbt: every
    relationship check is in the task of one of its datasets (before, the checked model's parents did not
    include the `to` dataset, and no task selected the test)."""
    root = copy_repository(RELATIONSHIPS, tmp_path / "rel")
    compile_repo(root)
    dbt_parse(root)
    project = root / "build" / "dbt"
    selected: dict[str, list[str]] = {}
    for node in ("items", "owners", "item_counts", "named_owners"):
        proc = subprocess.run([DBT, "ls", "--project-dir", str(project), "--profiles-dir", str(project), "--select",
                               node, "--indirect-selection", "buildable", "--resource-type", "test", "--output",
                               "name", "--quiet"], env={**os.environ, "SPECOPS_ROOT": str(root)},
                              capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        selected[node] = proc.stdout.split()
    assert "n_items_owner" in selected["item_counts"]
    assert "item_named_owner" in selected["named_owners"]


# --------------------------------------------------------------------------- a real DagBag


@pytest.fixture(scope="module")
def airflow_python() -> Path:
    return tool_python(".venv-airflow", "SPECOPS_AIRFLOW_PYTHON")


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_dagbag_loads_and_matches_the_spec_graph(example: str, airflow_python: Path, tmp_path: Path) -> None:
    root = compiled_copy(example, tmp_path)
    dbt_parse(root)
    project = require_project(root)
    bag = dagbag(airflow_python, root, tmp_path / "airflow-home")
    assert bag["import_errors"] == {}
    dags = expected_dags(project)
    assert {d: bag["dags"][d]["schedule"] for d in bag["dags"]} == dags
    for dag_id, dag in bag["dags"].items():
        env = project.environments[dag_id.split("__")[2]]
        tasks = dag["tasks"]
        assert all(t["retries"] == 0 for t in tasks.values()), dag_id
        assert dag["max_active_runs"] == 1 and dag["catchup"] is False
        assert dag["max_active_tasks"] == (1 if env.warehouse.type == "duckdb" else 16)
        _check_dbt_order(project, tasks, partial="__schedule_" in dag_id)
        models = [m for m in project.models.values() if dag_id == pipeline_dag_id(project, env.name)
                  or dag_id == retrain_dag_id(project, env.name, m.name)]
        for model in models:
            upstream = dbt_task(project, model.training.dataset)
            assert tasks[f"train_{model.name}"]["upstream"] == ([upstream] if upstream else [])
            assert tasks[f"train_{model.name}"]["command"] == (
                f'"$SPECOPS_BIN" train {model.name} --env {env.name} "$SPECOPS_REPO"')
            for d in project.deployments_of(model.name):
                if d.environment == env.name:
                    assert tasks[f"rollout_{d.name}"]["upstream"] == [f"train_{model.name}"]
        expected = {f"train_{m.name}" for m in models} | {
            f"rollout_{d.name}" for m in models for d in project.deployments_of(m.name) if d.environment == env.name}
        assert {t for t in tasks if not t.startswith("dbt.")} == expected, dag_id
        if dag["schedule"] and "__schedule_" in dag_id:  # a schedule's transforms: exactly their outputs' dbt builds
            assert {t for t in tasks if t.startswith("dbt.")} == {
                dbt_task(project, o) for o in scheduled_outputs(project)[dag["schedule"]]}, dag_id


def dbt_task(project: SpecProject, dataset: str) -> str | None:
    """The cosmos task that builds a dataset and runs its tests (`dbt build --select` the node)."""
    node = dbt_node(project, project.datasets[dataset])
    return f"dbt.{dataset}_{node.split('.')[0]}_build" if node else None


def _check_dbt_order(project: SpecProject, tasks: dict[str, Any], *, partial: bool = False) -> None:
    """One build task per dbt node; a model's after the build tasks of what its transform reads (those in the DAG,
    for a schedule's DAG, which builds only its transforms' outputs)."""
    built = {t for t in tasks if t.startswith("dbt.")}
    assert all(tasks[t]["operator"] == "DbtBuildLocalOperator" for t in built)
    for name in {n for n in project.datasets if dbt_task(project, n) in built}:
        transform = project.producer(name)
        reads = [*transform.inputs, *project.build_after(name)] if transform else []  # and its relationships' other side
        inputs = sorted(set(filter(None, (dbt_task(project, i) for i in reads))))
        assert tasks[dbt_task(project, name)]["upstream"] == [i for i in inputs if i in built or not partial], name


@pytest.mark.slow
def test_a_dag_that_cannot_find_dbts_manifest_is_an_import_error(airflow_python: Path, tmp_path: Path) -> None:
    root = compiled_copy("fraud", tmp_path)  # no `dbt parse`: no manifest
    bag = dagbag(airflow_python, root, tmp_path / "airflow-home")
    assert bag["dags"] == {}
    assert len(bag["import_errors"]) == len(expected_dags(require_project(root))) == 5  # 2 pipelines, 1 retrain, 2 schedule
    assert all("FileNotFoundError" in e and "run `dbt parse" in e for e in bag["import_errors"].values())


@pytest.mark.slow
def test_dag_files_copied_out_of_the_repository_need_specops_repo(airflow_python: Path, tmp_path: Path) -> None:
    """docs/integrations.md copies the files into $AIRFLOW_HOME/dags: the repository is then no longer where the
    file is, and the import error says so, naming SPECOPS_REPO and the path it guessed; with it, they load."""
    root = compiled_copy("fraud", tmp_path)
    dbt_parse(root)
    dags = tmp_path / "airflow-home" / "dags"
    dags.mkdir(parents=True)
    for f in (root / "build" / "airflow" / "dags").glob("*.py"):
        shutil.copy(f, dags / f.name)
    bag = dagbag(airflow_python, root, tmp_path / "airflow-home", dags, {"SPECOPS_REPO": ""})
    assert bag["dags"] == {} and len(bag["import_errors"]) == len(expected_dags(require_project(root)))
    for error in bag["import_errors"].values():
        assert "SPECOPS_REPO is not set" in error and str(dags) in error and "$AIRFLOW_HOME/dags" in error, error
    bag = dagbag(airflow_python, root, tmp_path / "airflow-home", dags, {"SPECOPS_REPO": str(root)})
    assert bag["import_errors"] == {} and set(bag["dags"]) == set(expected_dags(require_project(root)))


# --------------------------------------------------------------------------- airflow dags test


@pytest.mark.slow
def test_dags_test_runs_the_churn_pipeline_end_to_end(airflow_python: Path, tmp_path: Path) -> None:
    root = compiled_copy("churn", tmp_path)
    dbt_parse(root)
    project = require_project(root)
    home = tmp_path / "airflow-home"
    env = airflow_env(home, root / "build" / "airflow" / "dags")
    airflow = str(airflow_python.with_name("airflow"))
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
    dag_id = pipeline_dag_id(project, "dev")
    proc = subprocess.run([airflow, "dags", "test", dag_id], env=env, capture_output=True, text=True, timeout=1500)
    with sqlite3.connect(home / "airflow.db") as db:
        states = dict(db.execute("select task_id, state from task_instance where dag_id = ?", (dag_id,)))
    assert proc.returncode == 0, (states, proc.stdout[-4000:], proc.stderr[-2000:])
    assert states and set(states.values()) == {"success"}, states
    assert {"dbt.customer_features_model_build", "train_churn", "rollout_churn_api_dev"} <= set(states)
    # what the tasks did: the warehouse is built, the model registered and promoted, the manifests rendered with it
    import duckdb

    with duckdb.connect(str(root / ".specops" / "dev.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from main.customer_features").fetchone()[0] >= 1000
    state = json.loads((root / ".specops" / "state" / "dev.json").read_text(encoding="utf-8"))
    assert state["models"]["churn"]["alias_version"] == 1 and state["models"]["churn"]["promoted"]
    assert not any((root / ".specops" / "manifests" / "dev").glob("*.yaml"))  # dev is laptop-only: no manifests


@pytest.mark.slow
def test_dags_test_runs_relationship_checks_between_unrelated_datasets(airflow_python: Path, tmp_path: Path) -> None:
    """Both planted relationship failures stop the DAG in the task of the later dataset (they ran in none, and
    `airflow dags test` passed, while `dbt build` failed them)."""
    root = copy_repository(RELATIONSHIPS, tmp_path / "rel")
    compile_repo(root)
    dbt_parse(root)
    home = tmp_path / "airflow-home"
    env = airflow_env(home, root / "build" / "airflow" / "dags")
    airflow = str(airflow_python.with_name("airflow"))
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
    dag_id = pipeline_dag_id(require_project(root), "dev")
    proc = subprocess.run([airflow, "dags", "test", dag_id], env=env, capture_output=True, text=True, timeout=1500)
    with sqlite3.connect(home / "airflow.db") as db:
        states = dict(db.execute("select task_id, state from task_instance where dag_id = ?", (dag_id,)))
    log = proc.stdout + proc.stderr
    assert states == {"dbt.items_seed_build": "success", "dbt.owners_seed_build": "success",
                      "dbt.item_counts_model_build": "failed", "dbt.named_owners_model_build": "failed"}, (
        states, log[-4000:])
    assert "FAIL 1 n_items_owner" in log and "FAIL 1 item_named_owner" in log, log[-4000:]
