"""`specops land`: land one dvc or kafka dataset now (what the landing CronJob runs, and a manual reload)."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.common import Given, SpecopsError, env_option, environment, guarded, load_project
from compiler.cli.ops import interruptible, locked


@click.command()
@click.argument("dataset")
@click.argument("path", required=False, type=Given(file_okay=False, path_type=Path))
@env_option
@click.option("--max-messages", type=click.IntRange(min=1), help="Kafka: at most this many messages (default: the "
              "source's max_messages).")
@click.option("--reset", is_flag=True, help="Kafka: empty the landing table and its landed offsets first, then "
              "land from the source's start.")
@guarded
def land(dataset: str, path: Path | None, env: str | None, max_messages: int | None, reset: bool) -> None:
    """Land DATASET (a dvc or kafka source) of the repository at PATH into the environment's warehouse now.

    \b
    dvc: fetch the version the specs pin and replace the landing table.
    kafka: append the next bounded batch of messages after the landed offsets.
    """
    from compiler.apply.context import RunContext, StepFailed
    from compiler.apply.landing import land as land_now
    from compiler.plan.baseline import head_sha
    from compiler.spec.diagnostics import did_you_mean

    path = path or Path(".")
    project = load_project(path)
    ds = project.datasets.get(dataset)
    landed = {n: d for n, d in project.datasets.items() if d.source is not None and d.source.landed}
    if ds is None or ds.source is None or not ds.source.landed:
        what = "unknown dataset" if ds is None else "not a dvc or kafka dataset:"
        hint = did_you_mean(dataset, landed) or (f"landed datasets: {', '.join(landed)}" if landed else
                                                  "this repository has no dvc or kafka dataset")
        raise click.BadParameter(f"{what} '{dataset}'; {hint}", param_hint="DATASET")
    if (max_messages or reset) and ds.source.kafka is None:
        raise click.UsageError("--max-messages and --reset apply to kafka datasets only")
    env_name = environment(project, env)
    ctx = RunContext(project, project.environments[env_name], project.root / project.project.output, click.echo,
                     head_sha(project.root))
    with interruptible("land"), locked(project, env_name, path):
        try:
            with ctx.step(f"land {ds.address} into environment {env_name}"):
                done = land_now(ctx, ds, reset=reset, limit=max_messages)
                ctx.echo(f"   landed {done.summary}")
        except StepFailed as exc:
            raise SpecopsError(str(exc)) from None
