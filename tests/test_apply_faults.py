"""apply killed at every step boundary, and apply's children and MLflow leftovers (issue #18 items 5, 12).

Each fault case starts from the applied example with one change that needs all kinds of work (a transform's
SQL: dbt rebuild, retrain, rollout), runs `specops apply` under tests/apply_faults.py, which SIGKILLs it at
the named point, then releases the dead run's lock and applies once more: that one re-run must converge
(nothing pending, no changes planned, the served version is the champion, nothing left RUNNING or
unvalidated in MLflow, no temporary files).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from apply_support import (
    ENV,
    REPO_ROOT,
    SPECOPS,
    Run,
    champion,
    client,
    deployed_version,
    fork_of,
    lock_file,
    ok,
    row_counts,
    specops,
    state,
)
from conftest import RepoEditor
from dbt_support import requires_dbt

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")
pytest.importorskip("duckdb")

pytestmark = [pytest.mark.slow, requires_dbt,
              pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")]  # mlflow's

FAULTS = REPO_ROOT / "tests" / "apply_faults.py"
TRANSFORM = "specs/transforms/customer_features.yaml"


KPIS = "specs/transforms/daily_kpis.yaml"
# a filter DuckDB can only evaluate as a cross product of 9e10 rows: dbt's tests of daily_kpis then run for
# minutes without printing anything (a dbt busy writing output would die of the closed pipe on its own)
SLOW = "    where (select count(*) from range(300000) a, range(300000) b where a.range + b.range = -1) = 0\n"
CHANGES = {  # a change that needs all the work (data, training, rollout), and one that needs no dbt (cheaper)
    "data": (TRANSFORM, "coalesce(a.avg_satisfaction, 3.0)", "coalesce(a.avg_satisfaction, 3.5)"),
    "model": ("specs/models/churn.yaml", "C: 1.0", "C: 0.5"),
    "slow": (KPIS, "on op.kpi_date = d.kpi_date\n", "on op.kpi_date = d.kpi_date\n" + SLOW),
}


def changed_fork(applied_churn, tmp_path: Path, change: str) -> Path:
    root = fork_of(applied_churn, tmp_path / "churn")
    RepoEditor(root).replace(*CHANGES[change])
    return root


def killed_at(root: Path, point: str) -> Run:
    proc = subprocess.run([sys.executable, str(FAULTS), point, "apply", "--yes"], cwd=root, env=ENV,
                          capture_output=True, text=True, timeout=600, check=False)
    return Run(("apply", f"(killed at {point})"), proc.returncode, proc.stdout + proc.stderr)


def release(root: Path) -> None:
    """What the refusal tells the user to do once the dead run's lock is in the way."""
    held = json.loads(lock_file(root).read_text(encoding="utf-8"))
    refused = specops(root, "apply", "--yes")
    assert refused.code == 1 and "no longer running on this machine" in refused.output, refused.explain()
    ok(root, "force-unlock", held["id"])


def assert_converged(root: Path) -> None:
    data = state(root)
    assert data["pending"] == {}
    assert specops(root, "plan", "--detailed-exitcode").code == 0, ok(root, "plan").output
    registry = client(root)
    versions = registry.search_model_versions("name='churn'")
    statuses = {int(v.version): v.tags.get("validation_status") for v in versions}
    assert None not in statuses.values(), statuses  # every version registered was validated or marked
    best = champion(root)
    assert statuses[best] == "passed" and best == max(v for v, s in statuses.items() if s == "passed")
    assert data["models"]["churn"]["alias_version"] == best
    assert deployed_version(root) == best
    experiment = registry.get_experiment_by_name("churn_analytics/churn")
    running = registry.search_runs([experiment.experiment_id], filter_string="attributes.status = 'RUNNING'")
    assert running == []
    assert not lock_file(root).exists()
    assert [p.name for p in (root / ".specops" / "state").iterdir()] == ["dev.json"]  # no temporary file left
    assert all(n > 0 for n in row_counts(root).values())


# (change, point): the state saves of the apply loop are, for the data change, 1 desired state and pending
# work recorded, 2 dbt ticked, 3 model versions recorded, 4 retrain ticked, 5 rollout ticked; the model change
# has no dbt save (its 2 is the model versions). Each boundary between two steps is killed once.
POINTS = [
    ("data", "after-save:1"),    # desired state and pending work recorded, nothing done
    ("data", "before-save:2"),   # dbt done, not ticked off
    ("model", "in-run"),         # inside the MLflow run: it stays RUNNING
    ("model", "after-register"),  # a version registered, never validated
    ("model", "before-save:2"),  # alias moved, the new version not recorded in the state
    ("model", "after-save:3"),   # retrain ticked off, rollout not started
    ("model", "before-save:4"),  # manifests rendered, rollout not ticked off
    ("model", "after-save:4"),   # everything done and recorded; only the lock is left
    ("model", "state-rename:2"),  # a state write killed before its rename: a temporary file is left
]


@pytest.mark.parametrize(("change", "point"), POINTS, ids=[f"{c}-{p}" for c, p in POINTS])
def test_apply_killed_at_a_step_boundary_converges_in_one_rerun(applied_churn, tmp_path, change, point):
    root = changed_fork(applied_churn, tmp_path, change)
    killed = killed_at(root, point)
    assert killed.code == -signal.SIGKILL, killed.explain()
    held = json.loads(lock_file(root).read_text(encoding="utf-8"))
    ok(root, "force-unlock", held["id"])
    rerun = ok(root, "apply", "--yes")
    assert_converged(root)
    both = killed.output + rerun.output
    assert ("dbt build --select" in both) == (change == "data")  # the data work was done by one of them
    if point == "before-save:2" and change == "data":
        assert "dbt build" in killed.output and "dbt build" in rerun.output  # not ticked off: done again
    if point in ("in-run", "after-register"):
        assert "interrupted earlier:" in rerun.output, rerun.output
    if point == "in-run":
        assert "marked KILLED" in rerun.output
        registry = client(root)
        experiment = registry.get_experiment_by_name("churn_analytics/churn").experiment_id
        assert len(registry.search_runs([experiment], filter_string="attributes.status = 'KILLED'")) == 1
    if point == "after-register":
        assert "churn version 2 (registered, never validated) marked validation_status=failed" in rerun.output
        assert client(root).get_model_version("churn", "2").tags["validation_status"] == "failed"
    if point == "after-save:4":
        assert "No changes" in rerun.output


# --------------------------------------------------------------------------- the dbt child (item 5)


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def running(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def apply_until_dbt_is_busy(root: Path) -> tuple[subprocess.Popen, list[int], list[str]]:
    """Start apply on the slow change; return once dbt (its child) is inside the slow tests, with dbt's pids."""
    proc = subprocess.Popen([*SPECOPS, "apply", "--yes"], cwd=root, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    log: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        log.append(line)
        if line.startswith("   dbt | ") and "START test" in line:
            time.sleep(2.0)  # well inside the query
            dbt = children(proc.pid)
            assert dbt, "".join(log)
            return proc, dbt, log
    raise AssertionError("dbt never ran the tests:\n" + "".join(log))


def back_to_fast(root: Path) -> None:
    RepoEditor(root).replace(KPIS, SLOW, "")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; the kernel's parent-death signal")
def test_killing_apply_ends_its_dbt_child(applied_churn, tmp_path):
    """SIGKILL of apply alone used to leave dbt running, holding DuckDB's lock: the next apply failed."""
    fork = changed_fork(applied_churn, tmp_path, "slow")
    proc, dbt, _ = apply_until_dbt_is_busy(fork)
    watchdog = threading.Timer(300, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    try:
        os.kill(proc.pid, signal.SIGKILL)  # apply only: not its process group
        proc.wait(timeout=60)
        deadline = time.monotonic() + 15
        while any(running(p) for p in dbt) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(running(p) for p in dbt), "dbt outlived the apply that started it"
    finally:
        watchdog.cancel()
        for p in dbt:
            if running(p):
                os.kill(p, signal.SIGKILL)
    back_to_fast(fork)
    release(fork)
    rerun = ok(fork, "apply", "--yes")  # DuckDB's file is free: dbt is gone
    assert "dbt build --select" in rerun.output
    assert_converged(fork)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_apply_ends_and_waits_for_dbt_then_releases_its_lock(applied_churn, tmp_path, signum):
    """A cancelled CI job (SIGTERM) or Ctrl-C: dbt is ended and waited for before the lock goes."""
    fork = changed_fork(applied_churn, tmp_path, "slow")
    proc, dbt, log = apply_until_dbt_is_busy(fork)
    watchdog = threading.Timer(300, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    try:
        os.kill(proc.pid, signum)
        rest, _ = proc.communicate(timeout=120)
    finally:
        watchdog.cancel()
        for p in dbt:
            if running(p):
                os.kill(p, signal.SIGKILL)
    output = "".join(log) + rest
    assert proc.returncode == 128 + signum, output
    assert f"apply interrupted ({signal.Signals(signum).name})" in output
    assert not any(running(p) for p in dbt), "apply exited before its dbt child"
    assert not lock_file(fork).exists(), output  # released: no force-unlock needed
    assert set(state(fork)["pending"]) == {"transform.build_daily_kpis", "quality_rule.daily_kpis_checks"}
    back_to_fast(fork)
    rerun = ok(fork, "apply", "--yes")
    assert "dbt build --select" in rerun.output
    assert_converged(fork)


def test_a_dbt_that_stops_before_its_results_ticks_nothing_off(applied_churn, tmp_path):
    """With the warehouse locked by another process, dbt stops before writing run_results.json: apply read the
    previous apply's file as this run's, said its work done and ticked it off. It fails now, naming the cause,
    and keeps the work pending."""
    root = changed_fork(applied_churn, tmp_path, "data")
    assert (root / ".specops" / "dbt" / "dev" / "target" / "run_results.json").exists()  # the first apply's
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('locked', flush=True); sys.stdin.read()", str(root / ".specops" / "dev.duckdb")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        run = specops(root, "apply", "--yes")
    finally:
        holder.communicate("")
    assert run.code == 1, run.output
    assert "dbt exited with code 2 and wrote no results: IO Error" in run.output, run.output
    assert "Apply to 'dev': 0 done, 2 failed, 2 skipped." in run.output, run.output
    assert "transform.build_customer_features" in state(root)["pending"], state(root)["pending"]
    ok(root, "apply", "--yes")  # the lock gone, the next apply does the work
    assert_converged(root)


def test_an_mlflow_server_out_of_reach_fails_the_training_step_in_words(applied_churn, tmp_path, monkeypatch):
    """MLflow's own exception left the step: "internal error ... please report it", no FAILED line, no summary."""
    root = changed_fork(applied_churn, tmp_path, "model")
    RepoEditor(root).replace("specs/environments.yaml", "    tracking_uri: sqlite:///.specops/mlflow.db\n",
                             "    tracking_uri: http://127.0.0.1:9\n")  # the discard port: nothing listens
    monkeypatch.setitem(ENV, "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    run = specops(root, "apply", "--yes")
    assert run.code == 1, run.output
    assert "internal error" not in run.output, run.output
    assert ("FAILED   model.churn: the MLflow tracking server of environment 'dev' (http://127.0.0.1:9) cannot be "
            "reached: ") in run.output, run.output
    assert "Apply to 'dev': 0 done, 1 failed" in run.output, run.output
    assert "model.churn" in state(root)["pending"]
