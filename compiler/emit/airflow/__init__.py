"""The airflow backend: Apache Airflow 3 DAGs under airflow/dags/, the dbt part rendered by astronomer-cosmos.

Per Environment, DAG `specops__<project>__<env>` (file `<dag id>.py`), with no schedule (trigger it by hand
or from CI): what `specops apply --env <env>` does, as Airflow tasks. The whole dbt project (cosmos: one
task per dbt seed or model, a `dbt build` of the node and its tests), then every model's `specops train`
(train, validate against the gates, register, move the alias), then `specops rollout` of the
environment's deployments.

Per Model whose training.runner is airflow (compiler.spec.runners), in each environment it trains in
(where it is deployed, else the default environment), DAG `specops__<project>__<env>__retrain_<model>` on
the model's training.schedule: dbt for the training dataset and what it is built from, then train, then
roll out the model's deployments in that environment.

Per distinct schedule (compiler.spec.cron.canonical_cron) of the Transforms whose runner is airflow, in every
environment, DAG
`specops__<project>__<env>__schedule_<cron>` on that schedule: `dbt build` of those transforms' outputs
(each with its tests), as the `<transform>-dbt` CronJob of runner kubernetes would. In the DAG id the
cron expression is written with `_` between its fields, `X` for `*`, `S` for `/` and `.` for `,`
("*/15 * * * MON-FRI" -> `schedule_XS15_X_X_X_1-5`).

Graph order: each dbt node is built after what it reads (a test that also reads another dataset, like a
relationship, runs with the last of them: indirect selection `buildable`; compiler.spec.relationships orders
two datasets neither of which is built from the other); a model's training waits for
the dbt task of its training dataset (its tests included); a deployment's rollout for its model's
training. Tasks never retry (retries 0: a failed gate must not be retried into a pass), a DAG never runs
twice at once, and on a DuckDB warehouse one task runs at a time (DuckDB has one writer). The files find
the repository, specops, dbt and dbt's manifest through environment variables read at parse time (see
the template, templates/airflow/dag.py.j2, and docs/integrations.md).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from compiler.emit.base import Artifact, Unit, run_units
from compiler.emit.render import GENERATED, comment_safe
from compiler.spec.cron import canonical_cron
from compiler.spec.ir import Dataset, Environment, Model, Transform
from compiler.spec.project import SpecProject
from compiler.spec.runners import retrain_runner, training_environments, transform_runner

PREFIX = "airflow/dags"
COST = 0.05  # relative cost at 10,000 specs (compiler.emit.registry)


def emit(project: SpecProject) -> list[Artifact]:
    """Every DAG file."""
    return run_units(project, units(project))


def units(project: SpecProject) -> list[Unit]:
    """One pipeline DAG per environment, one retraining DAG per (airflow-run model, environment it trains in), one
    DAG per (schedule of airflow-run transforms, environment)."""
    out = [Unit(("airflow", "pipeline", env.name), partial(_pipeline_file, env_name=env.name))
           for env in sorted(project.environments.values(), key=lambda e: e.name)]
    for model in sorted(project.models.values(), key=lambda m: m.name):
        if retrain_runner(model, project.deployments_of(model.name), project.environments) == "airflow":
            out += [Unit(("airflow", "retrain", model.name, env), partial(_retrain_file, model_name=model.name,
                                                                          env_name=env))
                    for env in training_environments(model, project.deployments_of(model.name), project.environments,
                                                     project.default_environment)]
    for schedule in sorted(transform_schedules(project)):
        out += [Unit(("airflow", "schedule", schedule, env.name), partial(_schedule_file, schedule=schedule,
                                                                          env_name=env.name))
                for env in sorted(project.environments.values(), key=lambda e: e.name)]
    return out


def transform_schedules(project: SpecProject) -> dict[str, list[Transform]]:
    """The schedules of the airflow-run transforms (compiler.spec.cron.canonical_cron: `0 3 * * SUN` and
    `0 3 * * 7` are one schedule) -> their transforms, by name."""
    found: dict[str, list[Transform]] = {}
    for t in sorted(project.transforms.values(), key=lambda t: t.name):
        if transform_runner(t) == "airflow":
            assert t.schedule
            found.setdefault(canonical_cron(t.schedule), []).append(t)
    return found


def pipeline_dag_id(project: SpecProject, env: str) -> str:
    return f"specops__{project.project.name}__{env}"


def retrain_dag_id(project: SpecProject, env: str, model: str) -> str:
    return f"{pipeline_dag_id(project, env)}__retrain_{model}"


def schedule_dag_id(project: SpecProject, env: str, schedule: str) -> str:
    """The DAG of the airflow-run transforms on a (normalised) schedule; the cron fields spelt in the characters
    of a DAG id, one to one (validated cron fields hold only 0-9, a-z, `*`, `/`, `,` and `-`)."""
    slug = schedule.translate(str.maketrans({" ": "_", "*": "X", "/": "S", ",": "."}))
    return f"{pipeline_dag_id(project, env)}__schedule_{slug}"


@dataclass(frozen=True)
class Task:
    var: str  # the Python variable, also the task id
    command: str
    doc: str

    @property
    def id(self) -> str:
        return self.var


def _pipeline_file(project: SpecProject, env_name: str) -> list[Artifact]:
    env = project.environments[env_name]
    models = sorted(project.models.values(), key=lambda m: m.name)
    deployments = sorted((d for d in project.deployments.values() if d.environment == env.name), key=lambda d: d.name)
    tasks = [_train(m, env) for m in models] + [_rollout(d.name, env) for d in deployments]
    edges = [(_dbt_upstream(project, m), _train(m, env).var) for m in models if _dbt_upstream(project, m)]
    edges += [(_train(project.models[d.model], env).var, _rollout(d.name, env).var) for d in deployments]
    dag_id = pipeline_dag_id(project, env.name)
    has_dbt = bool(project.datasets)
    summary = ", ".join(filter(None, ["dbt (every seed and model, each built then tested)" if has_dbt else "",
                                      f"train {len(models)} model(s)" if models else "",
                                      f"roll out {len(deployments)} deployment(s)" if deployments else ""]))
    text = _render(project, env, dag_id=dag_id, schedule=None,
                   title=f"specops pipeline of project {project.project.name} in environment {env.name}.",
                   summary=summary + ".", description=f"specops apply of {project.project.name} in {env.name}",
                   tags=["specops", project.project.name, env.name], dbt_select=[] if has_dbt else None,
                   tasks=tasks, edges=edges)
    owners = (project.project.address, env.address, *(m.address for m in models), *(d.address for d in deployments))
    return [Artifact(f"{PREFIX}/{dag_id}.py", text, tuple(sorted(set(owners))))]


def _retrain_file(project: SpecProject, model_name: str, env_name: str) -> list[Artifact]:
    env = project.environments[env_name]
    model = project.models[model_name]
    assert model.training is not None and model.training.schedule
    deployments = [d for d in project.deployments_of(model.name) if d.environment == env.name]
    train = _train(model, env)
    tasks = [train] + [_rollout(d.name, env) for d in deployments]
    upstream = _dbt_upstream(project, model)
    edges = ([(upstream, train.var)] if upstream else []) + [(train.var, _rollout(d.name, env).var)
                                                            for d in deployments]
    dataset = project.datasets[model.training.dataset]
    dag_id = retrain_dag_id(project, env.name, model.name)
    text = _render(project, env, dag_id=dag_id, schedule=model.training.schedule,
                   title=f"specops retraining of {model.address} in environment {env.name}, on its training.schedule.",
                   summary=(f"dbt for dataset {dataset.name} and what it is built from (with their tests), "
                            if upstream else "") + f"train {model.name}, roll out its deployments in {env.name}.",
                   description=f"specops retraining of {model.name} in {env.name}",
                   tags=["specops", project.project.name, env.name, "retrain", model.name],
                   dbt_select=[f"+{dataset.name}"] if upstream else None, tasks=tasks, edges=edges)
    owners = (project.project.address, env.address, model.address, dataset.address, *(d.address for d in deployments))
    return [Artifact(f"{PREFIX}/{dag_id}.py", text, tuple(sorted(set(owners))))]


def _schedule_file(project: SpecProject, schedule: str, env_name: str) -> list[Artifact]:
    env = project.environments[env_name]
    transforms = transform_schedules(project)[schedule]
    outputs = sorted(t.output for t in transforms)
    dag_id = schedule_dag_id(project, env.name, schedule)
    text = _render(project, env, dag_id=dag_id, schedule=schedule,
                   title=f"specops scheduled transforms of project {project.project.name} in environment {env.name}, "
                         f"on '{schedule}'.",
                   summary=f"dbt build of what {', '.join(t.address for t in transforms)} make(s): "
                           f"{', '.join(outputs)}, each with its tests.",
                   description=f"specops transforms on '{schedule}' in {env.name}",
                   tags=["specops", project.project.name, env.name, "schedule"], dbt_select=outputs, tasks=[],
                   edges=[])
    owners = (project.project.address, env.address, *(t.address for t in transforms),
              *(project.datasets[o].address for o in outputs if o in project.datasets))
    return [Artifact(f"{PREFIX}/{dag_id}.py", text, tuple(sorted(set(owners))))]


def _train(model: Model, env: Environment) -> Task:
    return Task(f"train_{model.name}", f"train {model.name} --env {env.name}",
                f"Train {model.address} on dataset.{model.training.dataset if model.training else '?'}, validate it "
                "against its gates, register it and move its alias; fails (and stops the rollout) when a gate fails.")


def _rollout(deployment: str, env: Environment) -> Task:
    return Task(f"rollout_{deployment}", f"rollout {deployment}",
                f"Render deployment.{deployment}'s manifests with the model version the alias holds in "
                f"{env.name} and apply them (or leave them for GitOps when the environment has no kube context).")


def dbt_node(project: SpecProject, dataset: Dataset) -> str | None:
    """The dbt unique_id of the node that builds the dataset (None for a source: dbt builds nothing)."""
    name = project.project.name
    if dataset.source is None:
        return f"model.{name}.{dataset.name}"
    if dataset.source.type == "file":
        return f"seed.{name}.{dataset.name}"
    return None


def _dbt_upstream(project: SpecProject, model: Model) -> str | None:
    """The Python expression of the task (group) a model's training waits for, if dbt builds its dataset."""
    assert model.training is not None
    node = dbt_node(project, project.datasets[model.training.dataset])
    return f"dbt.tasks_map[{node!r}]" if node else None


def _render(project: SpecProject, env: Environment, *, dag_id: str, schedule: str | None, title: str, summary: str,
            description: str, tags: list[str], dbt_select: list[str] | None, tasks: list[Task],
            edges: list[tuple[str, str]]) -> bytes:
    output = project.project.output
    depth = 2 + len([p for p in output.split("/") if p and p != "."])
    dbt: dict[str, Any] | None = None
    duckdb = env.warehouse.type == "duckdb"
    if dbt_select is not None:
        folder = posixpath.dirname(str(env.warehouse.get("path"))) if duckdb else ""
        dbt = {"project_dir": f"{output}/dbt", "profile": project.project.name, "target": env.name,
               "select": dbt_select, "duckdb_dir": folder}
    header = GENERATED.format(source=f"the specs of {project.project.address} ({env.address})")
    text = _template().render(
        header=comment_safe(header), title=title, summary=summary, depth=depth, dbt=dbt, dag_id=dag_id,
        description=description, schedule=schedule, owner=project.project.meta.owner or "specops", tags=tags,
        max_active_tasks=1 if duckdb else None, max_active_tasks_why="DuckDB has one writer: one task at a time",
        tasks=tasks, edges=edges)
    return text.encode("utf-8")


@cache
def _template() -> Any:
    from jinja2 import Environment as Jinja
    from jinja2 import FileSystemLoader, StrictUndefined

    from compiler.shipped import data_dir

    jinja = Jinja(loader=FileSystemLoader(str(data_dir("templates") / "airflow")), undefined=StrictUndefined,
                  keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False, auto_reload=False)
    jinja.filters["py"] = _py
    return jinja.get_template("dag.py.j2")


def _py(value: Any) -> str:
    """A Python literal of a str, None or a list of str (repr: quotes and escapes whatever the text holds)."""
    if value is None or isinstance(value, str):
        return repr(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(repr(v) for v in value) + "]"
    raise TypeError(f"no Python literal for {type(value).__name__}")
