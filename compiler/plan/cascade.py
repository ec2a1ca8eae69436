"""Views PostgreSQL drops when dbt replaces what they read.

dbt-postgres replaces a table, a view or a seed loaded from scratch by building it aside, renaming, and dropping
the old relation with `drop ... cascade`: a view reading it (bound to the old relation, not its name) goes with it.
A plan that rebuilds such a relation without its views would leave them missing after a successful apply. So on a
PostgreSQL warehouse, every view downstream through views of a relation replaced so is rebuilt after it. (An
incremental run merges into the table it has and a seed reloaded incrementally truncates it: neither drops
anything. DuckDB, Snowflake and BigQuery resolve a view's relations by name.)
"""

from __future__ import annotations

from compiler.plan.impact import Impact
from compiler.spec.project import SpecProject

NOTE = "PostgreSQL drops a view with the relation it reads when dbt replaces that (drop ... cascade): rebuilt after it"


def with_dropped_views(project: SpecProject, env: str | None, impacts: list[Impact]) -> list[Impact]:
    """`impacts` and a rebuild of every view a replaced relation takes with it on a PostgreSQL warehouse of `env`
    (of any environment, for a plan of all of them)."""
    envs = [project.environments[env]] if env in project.environments else list(project.environments.values())
    if not any(e.warehouse.type == "postgres" for e in envs):
        return impacts
    found = {i.address: i for i in impacts}
    pending = [i for i in impacts if _replaces(project, i)]
    while pending:
        dropper = pending.pop()
        for view in _views_reading(project, _relation(project, dropper.address)):
            if view in found:
                continue  # rebuilt already (after what it reads: dbt builds in graph order), and it drops in turn
            # in the same dbt build as what drops it (apply runs the full refreshes in a build after the others)
            found[view] = Impact(view, "rebuild", dropper.cause, dropper.category, (*dropper.path, view), (NOTE,),
                                 (*dropper.via, "") if dropper.via else (), full_refresh=dropper.full_refresh)
            pending.append(found[view])
    return list(found.values())


def _replaces(project: SpecProject, impact: Impact) -> bool:
    """Whether dbt replaces the impact's relation (drop ... cascade) rather than merging into or truncating it."""
    kind, _, name = impact.address.partition(".")
    if kind == "dataset":
        return impact.work == "reload" and impact.full_refresh
    t = project.transforms.get(name) if kind == "transform" else None
    return t is not None and impact.work == "rebuild" and (t.materialization != "incremental" or impact.full_refresh)


def _relation(project: SpecProject, address: str) -> str:
    kind, _, name = address.partition(".")
    return project.transforms[name].output if kind == "transform" else name


def _views_reading(project: SpecProject, dataset: str) -> list[str]:
    out = []
    for child in project.graph.children(f"dataset.{dataset}"):
        kind, _, name = child.partition(".")
        t = project.transforms.get(name) if kind == "transform" else None
        if t is not None and t.materialization == "view":
            out.append(child)
    return out
