"""On a real PostgreSQL warehouse, a view survives its input being replaced (compiler.plan.cascade): dbt-postgres
drops the old relation with `drop ... cascade`, which takes the views reading it, so the plan rebuilds them after
it. Without that, apply succeeded, the view was gone and the next plan said No changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

REPO_ROOT = Path(__file__).resolve().parent.parent
SELECT = "+transform.build_daily_kpis"  # the data work up to the view (no model, no deployment)


def _run(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def test_a_seed_reloaded_from_scratch_keeps_the_view_that_reads_it(postgres, tmp_path):
    db = postgres.create_database("views_e2e")
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    path = root / "specs" / "environments.yaml"
    docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    dev = next(d for d in docs if d["metadata"]["name"] == "dev")
    dev["spec"]["warehouse"] = {"type": "postgres", "host": postgres.host, "port": postgres.port, "database": db,
                                "schema": "analytics", "user": postgres.user, "password_env": "E2E_PG_PASSWORD"}
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    (root / "specs" / "deployments" / "churn_api_dev.yaml").unlink()  # nothing to serve: data work only
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "E2E_PG_PASSWORD": postgres.password}

    def views() -> list[str]:
        con = postgres.connect(db)
        try:
            with con.cursor() as cur:
                cur.execute("select table_name from information_schema.views where table_schema = 'analytics'")
                return sorted(r[0] for r in cur.fetchall())
        finally:
            con.close()

    first = _run(root, env, "apply", "--env", "dev", "--select", SELECT, "--yes")
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert views() == ["daily_kpis"]
    # a column added to the seed: dbt seed --full-refresh replaces its table (drop ... cascade)
    RepoEditor(root).replace("specs/datasets/subscriptions.yaml", "  primary_key: [subscription_id]",
                             "    - {name: channel, type: string}\n  primary_key: [subscription_id]")
    csv = root / "data" / "subscriptions.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    csv.write_text("\n".join([lines[0] + ",channel", *(f"{line},web" for line in lines[1:])]) + "\n", encoding="utf-8")
    plan = _run(root, env, "plan", "--env", "dev", "--select", SELECT)
    # a view is rebuilt whole by every build: it runs in the --full-refresh build, not called a full refresh
    assert "rebuild  transform.build_daily_kpis" in plan.stdout, plan.stdout + plan.stderr
    assert "drop ... cascade" in plan.stdout
    second = _run(root, env, "apply", "--env", "dev", "--select", SELECT, "--yes")
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    assert views() == ["daily_kpis"], second.stdout[-3000:]
    again = _run(root, env, "plan", "--env", "dev", "--select", SELECT, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
