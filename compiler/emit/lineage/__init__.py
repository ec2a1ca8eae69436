"""The lineage backend: the static OpenLineage lineage of each environment, under lineage/.

    lineage/<env>.jsonl  OpenLineage JobEvents, one per line, one per job of the environment (seed loads,
                         transforms, quality rules, trainings: compiler.emit.lineage.jobs), with schema,
                         ownership, documentation, SQL and, where known, columnLineage facets. They carry
                         no `eventTime`: compile reads no clock; add it when sending them, e.g.
                         `jq -c '.eventTime = (now | todate)'` (docs/integrations.md).

At run time, `specops apply` sends RunEvents of the same jobs (compiler.apply.lineage).
"""

from __future__ import annotations

import json
from functools import partial

from compiler.emit.base import Artifact, Unit, run_units
from compiler.emit.lineage.jobs import environment_jobs, job_event
from compiler.spec.project import SpecProject

PREFIX = "lineage"
COST = 0.3  # relative cost at 10,000 specs (compiler.emit.registry)


def emit(project: SpecProject) -> list[Artifact]:
    return run_units(project, units(project))


def units(project: SpecProject) -> list[Unit]:
    """One file per environment."""
    return [Unit(("lineage", env), partial(_environment_file, env_name=env)) for env in sorted(project.environments)]


def _environment_file(project: SpecProject, env_name: str) -> list[Artifact]:
    env = project.environments[env_name]
    text = "".join(json.dumps(job_event(job), ensure_ascii=False, separators=(",", ":")) + "\n"
                   for job in environment_jobs(project, env))
    # every resource's specs shape the file; its environment comes first (what a plan names)
    owners = (env.address, *(r.address for r in project.resources() if r.address != env.address))
    return [Artifact(f"{PREFIX}/{env.name}.jsonl", text.encode("utf-8"), owners)]
