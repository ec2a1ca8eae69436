"""The site's HTML pages, rendered from templates/site with Jinja2 (autoescaped: spec text is user text)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from compiler import __version__
from compiler.emit.site.facts import LineageSource, ModelVersion, sections, sql_column_lineage
from compiler.emit.site.graphdata import KINDS
from compiler.emit.site.planview import PlanView
from compiler.shipped import data_dir
from compiler.spec.ir import Resource
from compiler.spec.project import SpecProject


@cache
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(data_dir("templates") / "site")), undefined=StrictUndefined,
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.globals["version"] = __version__
    return env


def _render(template: str, **context: Any) -> bytes:
    return _env().get_template(template).render(**context).encode("utf-8")


def index_page(project: SpecProject, has_plan: bool) -> bytes:
    return _render("index.html.j2", base="", project=project.project.name, has_plan=has_plan)


def resources_page(project: SpecProject, has_plan: bool) -> bytes:
    by_kind: dict[str, list[Resource]] = {}
    for res in project.resources():
        by_kind.setdefault(res.PREFIX, []).append(res)
    groups = [(kind.replace("_", " "), by_kind[kind]) for kind in KINDS if kind in by_kind]
    return _render("resources.html.j2", base="", project=project.project.name,
                   description=project.project.meta.description or "", groups=groups, has_plan=has_plan)


def plan_page(project: SpecProject, plan: PlanView, stale: bool) -> bytes:
    works = [(w, [i for i in plan.impacts if i.work == w])
             for w in ("rebuild", "retrain", "evaluate", "rollout", "reload", "rerun")]
    return _render("plan.html.j2", base="", project=project.project.name, plan=plan, stale=stale,
                   works=[(w, items) for w, items in works if items], pages=project.by_address)


def resource_page(project: SpecProject, res: Resource, plan: PlanView | None,
                  registry: Mapping[str, ModelVersion] | None, lineage: LineageSource = sql_column_lineage) -> bytes:
    graph = project.graph
    return _render(
        "resource.html.j2", base="../", project=project.project.name, r=res, plan=plan is not None,
        change=plan.change_of(res.address) if plan else None, impact=plan.impact_of(res.address) if plan else None,
        files=plan.files_of(res.address) if plan else [],
        sections=sections(project, res, registry, lineage, dict(plan.datasets_before) if plan else None),
        pages=project.by_address,
        parents=graph.parents(res.address), children=graph.children(res.address),
    )
