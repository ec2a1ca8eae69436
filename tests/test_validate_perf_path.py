"""`specops validate` stays light: it never imports the heavy run-time stack (MLflow, dbt, ...).

The check runs in a fresh interpreter. Besides looking at sys.modules afterwards, an import hook
records every *attempt* to import a heavy package, so the test means something even where those
packages are not installed (an `import mlflow` inside try/except would otherwise go unnoticed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("mlflow", "dbt", "sklearn", "pandas")

PROBE = textwrap.dedent(
    """
    import json, sys

    HEAVY = {heavy!r}
    attempted = set()

    class Spy:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HEAVY:
                attempted.add(name)
            return None

    sys.meta_path.insert(0, Spy())

    import compiler.cli.main, compiler.front.check
    from click.testing import CliRunner

    results = {{}}
    for args in {commands!r}:
        result = CliRunner().invoke(compiler.cli.main.main, args)
        results[" ".join(args[:1] + args[2:])] = result.exit_code
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
    print(json.dumps({{"exit_codes": results, "loaded": loaded, "attempted": sorted(attempted)}}))
    """
)


def run_probe(commands: list[list[str]], heavy: tuple[str, ...] = HEAVY) -> dict:
    code = PROBE.format(heavy=heavy, commands=commands)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("SPECOPS_DEBUG", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=str(REPO_ROOT), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_validate_does_not_import_the_heavy_stack(example_root):
    report = run_probe([["validate", str(example_root)],
                                      ["validate", str(example_root), "--format", "json"]])
    assert set(report["exit_codes"].values()) == {0}, report
    assert report["loaded"] == []
    assert report["attempted"] == []


@pytest.mark.parametrize("command", ["graph", "schema"])
def test_other_front_end_commands_stay_light_too(example_root, command):
    args = [command, str(example_root)] if command == "graph" else [command, "--all"]
    report = run_probe([args])
    assert set(report["exit_codes"].values()) == {0}, report
    assert report["loaded"] == [] and report["attempted"] == []


def test_validate_of_a_broken_repository_stays_light(repo, editor):
    root = repo()
    editor(root).replace("specs/models/churn.yaml", "framework: sklearn", "framework: sklaern")
    report = run_probe([["validate", str(root)]])
    assert set(report["exit_codes"].values()) == {1}
    assert report["loaded"] == [] and report["attempted"] == []


# the ML platforms' libraries (docs/ml-platforms.md): only apply and train import them
ML_HEAVY = (*HEAVY, "torch", "xgboost", "lightgbm", "kfp", "tritonclient", "onnx", "google")


def test_validate_and_compile_of_other_frameworks_stay_light(tmp_path):
    example = REPO_ROOT / "examples" / "maintenance"
    report = run_probe([["validate", str(example)], ["compile", str(example), "--out", str(tmp_path / "out")]],
                       heavy=ML_HEAVY)
    assert set(report["exit_codes"].values()) == {0}, report
    assert report["loaded"] == [] and report["attempted"] == []
