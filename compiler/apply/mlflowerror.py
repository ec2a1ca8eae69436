"""An MLflow client error in words: the tracking server down, credentials refused, or another failure.

MLflow raises MlflowException (RestException for an answer the server gave) from deep inside a step; unconverted
it was an "internal error" of specops, with no step marked failed and no summary of the apply.
"""

from __future__ import annotations

import re

_UNREACHABLE = re.compile(r"Connection refused|Max retries exceeded|Failed to establish|Name or service not known|"
                          r"timed out|Temporary failure in name resolution|Connection reset")
_REFUSED = ("UNAUTHENTICATED", "PERMISSION_DENIED")


def from_mlflow(exc: BaseException) -> bool:
    """Whether an exception is MLflow's (its client raised it)."""
    return type(exc).__module__.split(".", 1)[0] == "mlflow"


def mlflow_problem(exc: BaseException, env: str, uri: str, token_env: str | None) -> str:
    """What went wrong talking to the environment's MLflow tracking server, in a sentence."""
    text = " ".join(str(getattr(exc, "message", None) or exc).split())
    short = text if len(text) <= 300 else text[:297] + "..."
    where = f"the MLflow tracking server of environment '{env}' ({uri})"
    code = str(getattr(exc, "error_code", ""))
    if code in _REFUSED or " 401" in text or " 403" in text:
        token = f"check the token in the variable {token_env} (mlflow.token_env)" if token_env else (
            "set mlflow.token_env to the variable holding its token")
        return f"{where} refused the credentials: {short}; {token}"
    if _UNREACHABLE.search(text):
        return f"{where} cannot be reached: {short}"
    return f"{where} failed: {short}"
