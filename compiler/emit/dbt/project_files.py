"""dbt_project.yml and profiles.yml."""

from __future__ import annotations

import posixpath
from typing import Any

from compiler.spec.ir import Environment
from compiler.spec.project import SpecProject
from compiler.spec.warehouse_types import target_schema

ROOT_ENV = "SPECOPS_ROOT"


def dbt_project(project: SpecProject) -> dict[str, Any]:
    name = project.project.name
    data: dict[str, Any] = {
        "name": name,
        "version": "1.0.0",
        "config-version": 2,
        "profile": name,
        "model-paths": ["models"],
        "seed-paths": ["seeds"],
        "test-paths": ["tests"],
        "macro-paths": ["macros"],
        "target-path": "target",
        "clean-targets": ["target", "dbt_packages"],
        "flags": {"send_anonymous_usage_stats": False, "use_colors": True},
    }
    # only for resources the project has: dbt warns about configuration paths that match nothing
    if project.transforms:
        data["models"] = {name: {"+materialized": "table"}}
    if any(ds.source is not None and ds.source.type == "file" for ds in project.external_datasets()):
        data["seeds"] = {name: {"+quote_columns": False}}
    return data


def _relative_root(project: SpecProject) -> str:
    """From <output>/dbt back to the repository root, e.g. ../.. for build/dbt."""
    depth = len([p for p in posixpath.join(project.project.output, "dbt").split("/") if p and p != "."])
    return "/".join([".."] * depth)


def _root(project: SpecProject) -> str:
    """The repository root as dbt sees it: $SPECOPS_ROOT (set by apply and the images), else found from the
    profiles folder, which is this dbt project's folder (`--profiles-dir .` inside it, `--profiles-dir build/dbt`
    from the repository), so that plain dbt works from either place and the file names no machine's paths."""
    return ("{{ env_var('" + ROOT_ENV + "', (flags.PROFILES_DIR or '.') ~ '/" + _relative_root(project) + "') }}")


def _env(name: str) -> str:
    return "{{ env_var('" + name + "') }}"


def _target(project: SpecProject, env: Environment) -> dict[str, Any]:
    wh = env.warehouse
    threads = wh.get("threads", 4)
    if wh.type == "duckdb":
        return {"type": "duckdb", "path": f"{_root(project)}/{wh.get('path')}", "threads": threads}
    if wh.type == "postgres":
        out = {"type": "postgres", "host": wh.get("host"), "port": wh.get("port", 5432), "user": wh.get("user"),
               "dbname": wh.get("database"), "schema": target_schema(wh), "threads": threads}
        out["password"] = _env(wh.get("password_env")) if wh.get("password_env") else ""
        return out
    if wh.type == "snowflake":
        out = {"type": "snowflake", "account": wh.get("account"), "user": wh.get("user"),
               "database": wh.get("database"), "warehouse": wh.get("warehouse"),
               "schema": target_schema(wh), "threads": threads}
        if wh.get("role"):
            out["role"] = wh.get("role")
        if wh.get("password_env"):
            out["password"] = _env(wh.get("password_env"))
        return out
    out = {"type": "bigquery", "project": wh.get("project"), "dataset": wh.get("dataset"), "threads": threads}
    if wh.get("keyfile_env"):
        out.update({"method": "service-account", "keyfile": _env(wh.get("keyfile_env"))})
    else:
        out["method"] = "oauth"
    return out


def profiles(project: SpecProject) -> dict[str, Any]:
    outputs = {name: _target(project, env) for name, env in project.environments.items()}
    default = project.default_environment or "dev"
    return {project.project.name: {"target": default, "outputs": outputs}}
