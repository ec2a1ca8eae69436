"""Where an environment's apply state lives, chosen per Environment in the spec (`state.type`):

    local     .specops/state/<env>.json and a lock file (compiler.apply.state), the default
    postgres  a row of <schema>.states and a session advisory lock (PostgresBackend)

    with open_backend(project, "prod") as backend, backend.lock("prod"):
        state = backend.load("prod"); ...; backend.save(state)
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from compiler.apply.state import StateError
from compiler.apply.statebackend.base import (
    ConflictError,
    RemoteLockHeld,
    StateBackend,
    StoredState,
    encode_state,
)
from compiler.spec.project import SpecProject

__all__ = ["ConflictError", "RemoteLockHeld", "StateBackend", "StoredState", "encode_state", "open_backend"]


def open_backend(project: SpecProject, env: str, environ: Mapping[str, str] | None = None) -> StateBackend:
    """The backend that holds `env`'s state (it connects when first used; close it, or use it in a with)."""
    from compiler.apply.statebackend.local import LocalBackend

    environment = project.environments[env]
    config = environment.state
    if config is None or config.type == "local":
        return LocalBackend(project.root, project.project.name)
    from compiler.apply.statebackend.postgres import PostgresBackend

    environ = os.environ if environ is None else environ
    password = None
    variable = config.get("password_env")
    if variable:
        password = environ.get(str(variable))
        if password is None:
            raise StateError(f"environment '{env}' keeps its state in postgres and reads the password from the "
                             f"environment variable {variable}, which is not set")
    return PostgresBackend(project.project.name, dict(config.settings), password)
