"""`specops init`: a small repository that validates out of the box."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from compiler.shipped import data_dir
from compiler.spec.kinds import k8s_name

_RENAMES = {"gitignore": ".gitignore"}
_NAME = r"[a-z][a-z0-9_]{0,62}"  # a Project's metadata.name (schemas/project.schema.json)


def _snake(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower()).strip("_")


class ScaffoldError(Exception):
    pass


def scaffold(directory: Path, name: str | None = None) -> list[str]:
    """Write the starter files into `directory`; refuse to overwrite an existing repository."""
    project = name if name is not None else _snake(directory.resolve().name) or "specops_project"
    if not re.fullmatch(_NAME, project):
        if name is None:
            raise ScaffoldError(f"'{project}' (from the folder's name) is not a valid project name; pass --name in "
                                "lower snake case")
        hint = f" (e.g. --name {_snake(name)})" if re.fullmatch(_NAME, _snake(name)) else ""
        raise ScaffoldError(f"--name '{name}' is not a valid project name: it must be lower snake case, a letter, "
                            f"then letters, digits or '_' (63 at most){hint}")
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
