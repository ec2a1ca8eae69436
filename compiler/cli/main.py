"""The `specops` command group: every command registered here, in one list."""

from __future__ import annotations

import click

from compiler import __version__
from compiler.cli import build, docs, landing, models, ops, repo, secrets, state


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="specops")
def main() -> None:
    """specops: declarative GitOps specs for datasets, quality rules, transforms, models and deployments.

    \b
    Typical use (PATH defaults to the repository holding the current folder):
      specops validate                   check every spec (schema, references, graph, policy)
      specops graph -s +model.churn      the model churn and everything it depends on
      specops plan --env dev             what would change in the environment dev
      specops schema Dataset             print a kind's JSON Schema (for editors)
      specops init my-repo               scaffold a new repository with every kind
    """


for command in (repo.validate, repo.graph, repo.schema, repo.init, build.compile_cmd, build.verify, ops.plan,
                ops.apply, ops.force_unlock, models.train, models.drift, models.promote, landing.land, docs.docs,
                models.rollout, state.state, secrets.secrets):
    main.add_command(command)
