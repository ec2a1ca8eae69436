"""`specops init`: a starting point with every kind (datasets from a CSV file, a quality rule, a transform, a
model with its training code, deployments, the environments dev and prod) that validates and that
`specops apply --env dev` runs end to end, for real (dbt on DuckDB, MLflow on SQLite, scikit-learn)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dbt_support import requires_dbt
from test_documented_examples import _markdown_examples

from compiler.cli.main import main
from compiler.cli.scaffold import scaffold
from compiler.front.check import require_project

VENV_BIN = Path(sys.executable).parent


def test_the_scaffold_has_every_kind(tmp_path: Path):
    root = tmp_path / "shop"
    scaffold(root, "shop")
    project = require_project(root)
    assert set(project.environments) == {"dev", "prod"}
    assert set(project.datasets) == {"raw_orders", "orders_clean"}
    assert [ds.source.type for ds in project.external_datasets()] == ["file"]
    assert set(project.rules) == {"orders_checks"} and set(project.transforms) == {"build_orders_clean"}
    model = project.models["returns"]
    assert model.training is not None and model.training.entrypoint == "training/returns.py"
    assert {d.environment for d in project.deployments.values()} == {"dev", "prod"}
    assert project.default_environment == "dev"


def test_the_training_entrypoint_defines_train(tmp_path: Path):
    import importlib.util

    import pandas as pd

    scaffold(tmp_path / "shop", "shop")
    spec = importlib.util.spec_from_file_location("returns_training", tmp_path / "shop" / "training" / "returns.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    X = pd.DataFrame({"amount": [5.0, 150.0, 7.0, 160.0], "items": [1, 3, 1, 4]})
    fitted = module.train(X, pd.Series([0, 1, 0, 1]), {"C": 1.0, "max_iter": 200})
    assert list(fitted.predict(X)) == [0, 1, 0, 1]


def test_the_readme_points_nowhere_that_does_not_exist(tmp_path: Path):
    root = tmp_path / "shop"
    scaffold(root, "shop")
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "pypi.org" not in readme
    for rel in ("specops.yaml", "specs/environments.yaml", "specs/datasets/raw_orders.yaml",
                "specs/transforms/build_orders_clean.yaml", "specs/quality/orders_checks.yaml",
                "specs/models/returns.yaml", "specs/deployments/returns_api.yaml", "data/orders.csv"):
        assert f"`{rel}`" in readme
        assert (root / rel).is_file()


def test_init_says_what_to_run_next(runner, tmp_path: Path):
    result = runner.invoke(main, ["init", str(tmp_path / "shop")], catch_exceptions=False)
    assert result.exit_code == 0
    assert "specops apply --env dev --yes" in result.output.splitlines()[-1]


@pytest.mark.slow
@requires_dbt
@pytest.mark.skipif(not (VENV_BIN / "specops").exists(), reason="specops is not installed beside this Python")
def test_the_readme_commands_run_end_to_end(tmp_path: Path):
    pytest.importorskip("mlflow")
    root = tmp_path / "shop"
    scaffold(root, "shop")
    commands = [e.line for e in _markdown_examples(root / "README.md")]
    assert commands == ["specops validate", "specops graph", "specops compile", "specops plan --env dev",
                        "specops apply --env dev --yes"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "SPECOPS_ROOT"))}
    env.update({"PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "DO_NOT_TRACK": "1", "MLFLOW_DISABLE_TELEMETRY": "true"})
    outputs = {}
    for command in commands:
        proc = subprocess.run(["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True, timeout=900)
        outputs[command] = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"`{command}` exited {proc.returncode}:\n{outputs[command][-5000:]}"
    applied = outputs["specops apply --env dev --yes"]
    assert "Apply to 'dev': 5 done, 0 failed, 0 skipped." in applied
    assert "alias 'champion' -> version 1" in applied
    # what a user can look at afterwards: the warehouse, the registry, the state, the manifests
    import duckdb

    with duckdb.connect(str(root / ".specops" / "dev.duckdb"), read_only=True) as con:
        rows = con.execute("select count(*), sum(returned) from main.orders_clean").fetchone()
    assert rows is not None and rows[0] == 60 and 0 < rows[1] < 60
    state = json.loads((root / ".specops" / "state" / "dev.json").read_text(encoding="utf-8"))
    assert state["models"]["returns"]["alias_version"] == 1
    assert (root / ".specops" / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert not any((root / ".specops" / "manifests" / "dev").rglob("*.yaml"))  # dev is laptop-only
    again = subprocess.run(["bash", "-c", "specops plan --env dev"], cwd=root, env=env, capture_output=True,
                           text=True, timeout=600)
    assert "No changes." in again.stdout, again.stdout + again.stderr


@requires_dbt
def test_the_scaffold_builds_on_its_own_prod_warehouse_postgres(tmp_path: Path, postgres):
    """Its prod is PostgreSQL: the SQL it starts with builds there too (`cast(x as double)` did not)."""
    import yaml
    from dbt_support import compile_repo, dbt

    root = tmp_path / "shop"
    scaffold(root)
    path = root / "specs" / "environments.yaml"
    docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    prod = next(d for d in docs if d["metadata"]["name"] == "prod")
    prod["spec"]["warehouse"].update(host=postgres.host, port=postgres.port, user=postgres.user,
                                     database=postgres.create_database("init_scaffold"))
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    out = compile_repo(root)
    run = dbt(root, out, "build", target="prod", env={"WAREHOUSE_PASSWORD": postgres.password})
    assert run.returncode == 0, run.output[-4000:]
