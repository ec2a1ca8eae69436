"""Run a specops command in this process and SIGKILL it at a named point: fault injection for the tests.

    python tests/apply_faults.py POINT apply --yes

Nothing in specops itself knows about faults: this script wraps the functions apply goes through (state
saves, the state file's rename, MLflow's registration and model logging) before running the CLI, and kills
its own process (SIGKILL: no cleanup of any kind) when the point is reached. Points:

    before-save:N / after-save:N   around the Nth state save of the apply loop (compiler.apply.runner)
    state-rename:N                 just before the Nth rename of a state file's temporary file into place
    in-run                         inside the MLflow run, once the model is logged (the run stays RUNNING)
    after-register                 right after the model version is registered (no validation_status yet)
"""

from __future__ import annotations

import os
import signal
import sys


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install(point: str) -> None:
    kind, _, number = point.partition(":")
    nth = int(number) if number else 0
    if kind in ("before-save", "after-save"):
        from compiler.apply.context import RunContext

        real_save, saves = RunContext.save_state, []

        def save(ctx, state):  # type: ignore[no-untyped-def]  # every save of apply, whatever the state backend
            saves.append(1)
            if kind == "before-save" and len(saves) == nth:
                die()
            real_save(ctx, state)
            if kind == "after-save" and len(saves) == nth:
                die()

        RunContext.save_state = save  # type: ignore[method-assign]
    elif kind == "state-rename":
        real_replace, renames = os.replace, []

        def replace(src, dst):  # type: ignore[no-untyped-def]
            if os.fspath(dst).endswith(".json") and os.sep + "state" + os.sep in os.fspath(dst):
                renames.append(1)
                if len(renames) == nth:
                    die()
            real_replace(src, dst)

        os.replace = replace
    elif kind == "after-register":
        import mlflow

        real_register = mlflow.register_model

        def register(*args, **kwargs):  # type: ignore[no-untyped-def]
            real_register(*args, **kwargs)
            die()

        mlflow.register_model = register
    elif kind == "in-run":
        import mlflow.sklearn

        real_log = mlflow.sklearn.log_model

        def log_model(*args, **kwargs):  # type: ignore[no-untyped-def]
            real_log(*args, **kwargs)
            die()

        mlflow.sklearn.log_model = log_model
    else:
        raise SystemExit(f"unknown fault point {point!r}")


if __name__ == "__main__":
    install(sys.argv[1])
    from compiler.cli.main import main

    main(sys.argv[2:])
