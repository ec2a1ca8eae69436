"""The lineage backend: the static OpenLineage lineage of each environment, under lineage/.

    lineage/<env>.jsonl  OpenLineage JobEvents, one per line, one per job of the environment (seed loads,
                         transforms, quality rules, trainings: compiler.emit.lineage.jobs), with schema,
                         ownership, documentation, SQL and, where known, columnLineage facets (a dataset's
                         schema, owner and description once, on the job that writes it: an input another
                         job of the file writes is named only). They carry
                         no `eventTime`: compile reads no clock; add it when sending them, e.g.
                         `jq -c '.eventTime = (now | todate)'` (docs/integrations.md).

At run time, `specops apply` sends RunEvents of the same jobs (compiler.apply.lineage).
"""

from __future__ import annotations

import json
from functools import partial

from compiler.emit.base import Artifact, Part, Unit
from compiler.emit.lineage.jobs import job_event, land_job, load_job, quality_job, training_job, transform_job
from compiler.spec.project import SpecProject

PREFIX = "lineage"
COST = 2.1  # relative cost at 10,000 specs (compiler.emit.registry)
_LINE = "#"  # a unit's artifact is one line of its environment's file: `lineage/<env>.jsonl#<job name>`


def emit(project: SpecProject) -> list[Artifact]:
    return [art for part in parts(project) for art in part.run(project)]


def parts(project: SpecProject, environment: str | None = None) -> list[Part]:
    """One part per environment (only `environment`'s when given: a plan compares that environment's file);
    a unit per job, so an edit re-makes only the lines of the jobs it touches."""
    share = COST / max(1, len(project.environments))
    return [Part(PREFIX, partial(environment_units, env_name=env), share, finish=partial(_finish, env_name=env))
            for env in sorted(project.environments) if environment in (None, env)]


def units(project: SpecProject) -> list[Unit]:
    return [u for env in sorted(project.environments) for u in environment_units(project, env)]


def environment_units(project: SpecProject, env_name: str) -> list[Unit]:
    """One unit per job of the environment (compiler.emit.lineage.jobs)."""
    jobs = [("load", ds.name) for ds in project.external_datasets() if ds.source is not None and
            ds.source.type == "file"]
    jobs += [("land", ds.name) for ds in project.external_datasets() if ds.source is not None and ds.source.landed]
    jobs += [("transform", n) for n in project.transforms]
    jobs += [("quality", n) for n in project.rules]
    jobs += [("training", n) for n in project.models]
    return [Unit(("lineage", env_name, kind, name), partial(_job_line, env_name=env_name, kind=kind, name=name))
            for kind, name in jobs]


def _job_line(project: SpecProject, env_name: str, kind: str, name: str) -> list[Artifact]:
    env = project.environments[env_name]
    if kind in ("load", "land"):
        ds = project.datasets[name]
        job = load_job(project, env, ds) if kind == "load" else land_job(project, env, ds)
    else:
        make = {"transform": transform_job, "quality": quality_job, "training": training_job}[kind]
        job = make(project, env, name, static=True)
    line = json.dumps(job_event(job), ensure_ascii=False, separators=(",", ":")) + "\n"
    return [Artifact(f"{PREFIX}/{env_name}.jsonl{_LINE}{job.name}", line.encode("utf-8"), (job.address,))]


def _finish(project: SpecProject, made: list[Artifact], env_name: str) -> list[Artifact]:
    """The environment's file: its jobs' lines by job name."""
    path = f"{PREFIX}/{env_name}.jsonl"
    lines = sorted((a.path.split(_LINE, 1)[1], a.content) for a in made if a.path.startswith(path + _LINE))
    rest = [a for a in made if not a.path.startswith(path + _LINE)]
    env = project.environments[env_name]
    # every resource's specs shape the file; its environment comes first (what a plan names)
    owners = (env.address, *(r.address for r in project.resources() if r.address != env.address))
    return [*rest, Artifact(path, b"".join(content for _, content in lines), owners)]
