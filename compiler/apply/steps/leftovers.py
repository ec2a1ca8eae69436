"""What a killed training leaves in MLflow, found and marked by the next one.

An apply or `specops train` killed after starting its MLflow run leaves the run RUNNING; killed right after
registering the model, it leaves a version with no `validation_status`. Before training a model again, the
runs and versions of that model in that environment left that way are marked (run status KILLED, version
tag validation_status=failed with the reason in `specops.interrupted`) and reported.

Something left that way is marked only when it cannot belong to a run still going: the environment's lock
is held, so with a registry inside the repository (sqlite/file, the same checkout holds the lock) nothing
else of this environment runs; with a registry server, only runs made on this machine by a process that is
no longer running are marked (each run and version is tagged with its host and pid).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from compiler.apply.context import RunContext
from compiler.output.scratch import pid_alive
from compiler.spec.ir import Model

HOST_TAG, PID_TAG = "specops.host", "specops.pid"
NOTE_TAG = "specops.interrupted"


def owner_tags() -> dict[str, str]:
    """Tags that say which process made a run or a version."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def _abandoned(tags: dict[str, str], local_registry: bool) -> bool:
    if local_registry:
        return True
    pid = tags.get(PID_TAG, "")
    return tags.get(HOST_TAG) == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid))


def mark_leftovers(ctx: RunContext, client: Any, model: Model, experiment_id: str | None, uri: str) -> list[str]:
    """Mark the runs and versions of `model` in this environment that a killed run left; return what was
    marked (also echoed)."""
    local = uri.startswith(("sqlite:", "file:"))
    env = ctx.env.name
    marked: list[str] = []
    if experiment_id is not None:
        runs = client.search_runs(
            [experiment_id], filter_string=f"attributes.status = 'RUNNING' and tags.`specops.environment` = '{env}'"
            f" and tags.`specops.model` = '{model.address}'", max_results=1000)
        for run in runs:
            if _abandoned(run.data.tags, local):
                client.set_tag(run.info.run_id, NOTE_TAG, "the apply or train that ran it was killed")
                client.set_terminated(run.info.run_id, status="KILLED")
                marked.append(f"MLflow run {run.info.run_id} (left RUNNING) marked KILLED")
    for version in client.search_model_versions(f"name='{model.registry_name}'"):
        tags = version.tags or {}
        if tags.get("specops.environment") != env or "validation_status" in tags or not _abandoned(tags, local):
            continue
        client.set_model_version_tag(model.registry_name, str(version.version), "validation_status", "failed")
        client.set_model_version_tag(model.registry_name, str(version.version), NOTE_TAG,
                                     "registered by an apply or train that was killed before validating it")
        marked.append(f"{model.registry_name} version {version.version} (registered, never validated) marked "
                      "validation_status=failed")
    for line in marked:
        ctx.echo(f"   interrupted earlier: {line}")
    return marked
