"""`specops secrets ENV`: every secret an environment needs, as GitHub Actions secrets, as keys of its
Kubernetes Secret and as variables of the Airflow workers (compiler.spec.secrets, the table the compiled README
shows)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from compiler.cli.common import guarded, load_project, path_argument


@click.command("secrets")
@click.argument("env")
@path_argument
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
@guarded
def secrets(env: str, path: Path, fmt: str) -> None:
    """List every secret environment ENV needs: which workflow jobs read it (GitHub Actions secrets), which
    pods mount it (keys of the Kubernetes Secret <project>-secrets) and which Airflow tasks read it (from the
    workers' environment): ENV [PATH]."""
    from compiler.emit.readme import secrets_table
    from compiler.spec.diagnostics import did_you_mean
    from compiler.spec.secrets import environment_secrets, secret_object

    project = load_project(path, to_stderr=True)
    if env not in project.environments:
        hint = did_you_mean(env, project.environments) or f"environments: {', '.join(sorted(project.environments))}"
        raise click.BadParameter(f"unknown environment '{env}'; {hint}", param_hint="ENV")
    spec = project.environments[env]
    found = environment_secrets(project, spec)
    if fmt == "json":
        click.echo(json.dumps({"environment": env, "kubernetes_secret": secret_object(project) if spec.namespace
                               else None, "namespace": spec.namespace, "secrets": [
                                   {"name": s.name, "purpose": s.purpose, "workflows": list(s.workflows),
                                    "cluster": list(s.cluster), "airflow": list(s.airflow), "as_file": s.as_file,
                                    "optional": s.optional}
                                   for s in found]}, indent=2))
        return
    if fmt == "markdown":
        click.echo("\n".join(secrets_table(project, spec)))
        return
    if not found:
        click.echo(f"environment '{env}' needs no secret")
        return
    where = (f" (Kubernetes: keys of the Secret {secret_object(project)} in namespace {spec.namespace})"
             if spec.namespace else "")
    click.echo(f"secrets of environment '{env}'{where}:")
    width = max(len(s.name) for s in found)
    for s in found:
        flags = ", ".join(f for f, on in (("a key file: processes get its path", s.as_file),
                                          ("optional", s.optional)) if on)
        click.echo(f"  {s.name:<{width}}  {s.purpose}{f' ({flags})' if flags else ''}")
        click.echo(f"  {'':<{width}}    GitHub Actions: {', '.join(s.workflows) or '-'}; "
                   f"Kubernetes: {', '.join(s.cluster) or '-'}; Airflow: {', '.join(s.airflow) or '-'}")
