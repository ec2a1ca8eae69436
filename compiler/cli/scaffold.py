"""`specops init`: a small repository that validates out of the box."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from compiler.shipped import data_dir
from compiler.spec.kinds import k8s_name

_RENAMES = {"gitignore": ".gitignore"}


class ScaffoldError(Exception):
    pass


def scaffold(directory: Path, name: str | None = None) -> list[str]:
    """Write the starter files into `directory`; refuse to overwrite an existing repository."""
    project = name or re.sub(r"[^a-z0-9_]", "_", directory.resolve().name.lower()).strip("_") or "specops_project"
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", project):
        raise ScaffoldError(f"'{project}' is not a valid project name; pass --name in lower snake case")
    if (directory / "specops.yaml").exists():
        raise ScaffoldError(f"{directory / 'specops.yaml'} already exists; not overwriting it")
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} exists and is not a folder")
    source = data_dir("templates") / "init"
    env = Environment(loader=FileSystemLoader(str(source)), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
    values = {"name": project, "k8s_name": k8s_name(project)[:58].rstrip("-")}  # namespaces <name>-prod: 63 at most
    plan: list[tuple[str, str]] = []
    for template in sorted(p.relative_to(source).as_posix() for p in source.rglob("*.j2")):
        target = template[: -len(".j2")]
        target = _RENAMES.get(target, target)
        if (directory / target).exists():
            raise ScaffoldError(f"{directory / target} already exists; not overwriting it")
        plan.append((target, env.get_template(template).render(values)))
    for target, text in plan:
        path = directory / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [t for t, _ in plan]
