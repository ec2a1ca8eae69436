"""Scripts that `specops verify` (and the tests) run with another tool's own Python: Airflow's, GX's.

Each is a standalone file: it imports only the standard library and its tool, never `compiler`, since
the tool's virtual environment has no specops in it. `script(name)` is the path to run.
"""

from __future__ import annotations

from pathlib import Path


def script(name: str) -> Path:
    """The path of one of these scripts, e.g. script("airflow_dags")."""
    return Path(__file__).resolve().with_name(f"{name}.py")
