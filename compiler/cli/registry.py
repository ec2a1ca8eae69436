"""What an environment's model registry says now: each model's alias holder, its version and metrics.

Read-only, and only when asked (`specops docs --registry ENV`): the docs site is otherwise a pure
function of the specs. Nothing here fails the run: an unreachable registry, a missing model or alias
becomes a `problem` on the model's page. A registry that does not exist yet (a local SQLite or file
store before the first apply) is not created by reading it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from compiler.emit.site import ModelVersion
from compiler.spec.project import SpecProject

TIMEOUT_SECONDS = 5  # per request; MLflow's default retries would wait minutes for a host that is down


@contextmanager
def _mlflow_http(timeout: int) -> Iterator[None]:
    """MLflow's HTTP settings for one quick look (no retries, a short timeout), restored afterwards."""
    wanted = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": str(timeout)}
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _missing_store(uri: str) -> str | None:
    """Why a local store cannot be read without creating it, or None."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])  # sqlite:////abs/path or sqlite:///relative
        if not path.is_file():
            return f"no registry yet at {path} (nothing has been applied to this environment)"
    elif uri.startswith("file:"):
        path = Path(urlsplit(uri).path)
        if not path.is_dir():
            return f"no registry yet at {path} (nothing has been applied to this environment)"
    return None


def _shown_uri(uri: str) -> str:
    parts = urlsplit(uri)
    return uri if not parts.netloc else f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}{parts.path}"


def read_registry(project: SpecProject, env_name: str, timeout: int = TIMEOUT_SECONDS) -> dict[str, ModelVersion]:
    """Each model's alias holder in the environment's registry, by model name."""
    from compiler.apply.context import tracking_uri

    env = project.environments[env_name]
    models = sorted(project.models.values(), key=lambda m: m.name)
    if not models:
        return {}
    uri = tracking_uri(project.root, env.tracking_uri)

    def all_with(problem: str) -> dict[str, ModelVersion]:
        return {m.name: ModelVersion(env_name, m.registry_name, m.alias, problem=problem) for m in models}

    missing = _missing_store(uri)
    if missing:
        return all_with(missing)
    try:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
    except ImportError:
        return all_with("MLflow is not installed here (pip install 'specops[run]')")
    out: dict[str, ModelVersion] = {}
    with _mlflow_http(timeout):
        try:
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        except Exception as exc:  # an unsupported or malformed URI
            return all_with(f"registry at {_shown_uri(uri)} not readable: {_first_line(exc)}")
        for m in models:
            try:
                mv = client.get_model_version_by_alias(m.registry_name, m.alias)
                metrics = client.get_run(mv.run_id).data.metrics if mv.run_id else {}
            except MlflowException as exc:
                code = getattr(exc, "error_code", "")
                if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
                    out[m.name] = ModelVersion(env_name, m.registry_name, m.alias,
                                               problem=f"no version holds alias '{m.alias}' (not trained or not "
                                                       "promoted yet)")
                    continue
                if str(exc).startswith("API request to"):  # how MLflow's REST client reports a failed connection
                    return {**all_with(f"registry at {_shown_uri(uri)} unreachable"), **out}
                return {**all_with(f"registry at {_shown_uri(uri)} not readable: {_first_line(exc)}"), **out}
            except Exception as exc:  # connection refused, DNS, TLS, timeouts: the registry is unreachable
                return {**all_with(f"registry at {_shown_uri(uri)} unreachable: {type(exc).__name__}"), **out}
            out[m.name] = ModelVersion(env_name, m.registry_name, m.alias, str(mv.version),
                                       tuple(sorted((k, float(v)) for k, v in metrics.items())), mv.run_id)
    return out


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
