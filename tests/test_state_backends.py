"""State backends (compiler.apply.statebackend): the local files, and PostgreSQL for real (a server started by the
tests): compare-and-swap writes, a session advisory lock that a killed holder cannot leave taken, force-unlock,
and `specops state list|show|pull|push` on both."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE_ROOT, copy_repository

from compiler.apply.state import State
from compiler.apply.statebackend import ConflictError, RemoteLockHeld, open_backend
from compiler.apply.statebackend.postgres import PostgresBackend, lock_key
from compiler.front.check import require_project

REPO_ROOT = Path(__file__).resolve().parent.parent
PASSWORD_VAR = "SPECOPS_TEST_STATE_PASSWORD"


@pytest.fixture
def pg_repo(postgres, tmp_path: Path, request) -> Path:
    """examples/churn whose prod environment keeps its state in the test server (a database of its own)."""
    db = postgres.create_database("state_" + request.node.name[-40:].lower().replace("[", "_").replace("]", ""))
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    path = root / "specs" / "environments.yaml"
    docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    prod = next(d for d in docs if d["metadata"]["name"] == "prod")
    prod["spec"]["state"] = {"type": "postgres", "host": postgres.host, "port": postgres.port, "database": db,
                             "user": postgres.user, "password_env": PASSWORD_VAR, "schema": "specops_state"}
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    os.environ[PASSWORD_VAR] = postgres.password
    request.addfinalizer(lambda: os.environ.pop(PASSWORD_VAR, None))
    return root


def cli(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=root, env=env, capture_output=True,
                          text=True, input=stdin, timeout=300, check=False)


def test_environments_choose_their_backend(pg_repo):
    project = require_project(pg_repo)
    assert open_backend(project, "dev").kind == "local"
    with open_backend(project, "prod") as store:
        assert isinstance(store, PostgresBackend)
        assert store.describe("prod").endswith("table specops_state.states, row (churn_analytics, prod)")
    del os.environ[PASSWORD_VAR]
    with pytest.raises(Exception, match=f"{PASSWORD_VAR}, which is not set"):
        open_backend(project, "prod")


def test_postgres_state_round_trips_byte_for_byte_and_writes_are_compare_and_swap(pg_repo):
    project = require_project(pg_repo)
    with open_backend(project, "prod") as a, open_backend(project, "prod") as b:
        assert a.read("prod") is None and a.load("prod").empty
        state = State(environment="prod", resources={"model.churn": {"kind": "Model"}})
        a.save(state)
        assert state.lineage and state.source_digest
        raw = b.read("prod")
        assert json.loads(raw)["resources"] == {"model.churn": {"kind": "Model"}}
        mine, theirs = a.load("prod"), b.load("prod")
        assert mine == theirs and mine.source_digest == theirs.source_digest
        theirs.serial = 2
        b.save(theirs)
        mine.serial = 5
        with pytest.raises(ConflictError, match="changed by someone else"):
            a.save(mine)
        assert b.load("prod").serial == 2
        # a second first write (no state read) does not overwrite either
        with pytest.raises(ConflictError):
            a.save(State(environment="prod"))
        assert [s.environment for s in a.stored()] == ["prod"]
        # a row whose digest no longer matches its body (edited or restored by hand) is written over once: every run
        # failed on it with "changed by someone else", though nobody wrote it since
        a._run("update specops_state.states set digest = 'restored-by-hand' where environment = 'prod'")
        again = a.load("prod")
        again.serial = 3
        a.save(again)
        assert b.load("prod").serial == 3 and b.load("prod").source_digest == again.source_digest


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from compiler.apply.statebackend import open_backend
    from compiler.front.check import require_project
    project = require_project(Path(sys.argv[1]))
    with open_backend(project, "prod") as store, store.lock("prod") as info:
        state = store.load("prod")
        print(info["id"], flush=True)
        sys.stdin.readline()  # until the test says: now write
        try:
            store.held("prod")  # what every step (and a training, before it moves an alias) asks first
            store.save(state)
            print("saved", flush=True)
        except Exception as exc:
            print("failed:", exc, flush=True)
""")


def _locked_child(root: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert proc.stdout is not None
    lock_id = proc.stdout.readline().strip()
    assert lock_id, "the child did not take the lock"
    return proc, lock_id


def test_a_killed_holder_leaves_no_lock_behind(pg_repo):
    project = require_project(pg_repo)
    proc, lock_id = _locked_child(pg_repo)
    try:
        with open_backend(project, "prod") as store:
            with pytest.raises(RemoteLockHeld) as held, store.lock("prod"):
                pass
            assert held.value.info["id"] == lock_id and held.value.info["pid"]
            assert "released when its session ends" in held.value.hint
            # other environments (other keys) are not affected
            assert lock_key("churn_analytics", "prod") != lock_key("churn_analytics", "staging")
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            deadline = time.monotonic() + 10
            while True:  # the server notices the closed socket at once; allow for a loaded machine
                try:
                    with store.lock("prod") as info:
                        assert info["id"] != lock_id
                    break
                except RemoteLockHeld:
                    assert time.monotonic() < deadline, "the lock outlived its killed holder"
                    time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()


def test_apply_is_refused_while_locked_and_force_unlock_ends_the_holder(pg_repo):
    proc, lock_id = _locked_child(pg_repo)
    try:
        refused = cli(pg_repo, "apply", "--env", "prod", "--yes")
        assert refused.returncode == 1, refused.stderr
        assert "environment 'prod' is locked by" in refused.stderr and f"lock ID {lock_id}" in refused.stderr
        unlocked = cli(pg_repo, "force-unlock", lock_id)
        assert unlocked.returncode == 0, unlocked.stderr
        assert f"lock {lock_id} on environment 'prod' released" in unlocked.stdout
        assert cli(pg_repo, "force-unlock", lock_id).returncode == 1
        # the holder's session is gone: it does nothing more (no step, no alias moved, no write) without the lock
        out, _ = proc.communicate("write\n", timeout=60)
        assert out.startswith("failed: this run no longer holds the lock of environment 'prod'"), out
        assert "its session was ended (by `specops force-unlock`?)" in out, out
    finally:
        proc.kill()
        proc.wait()


def test_state_commands_pull_push_list_and_show(pg_repo, tmp_path: Path):
    project = require_project(pg_repo)
    with open_backend(project, "prod") as store:
        state = State(environment="prod", serial=3, resources={"model.churn": {"kind": "Model", "spec": {"a": 1}}},
                      models={"churn": {"registered_model": "churn", "alias": "champion", "candidate_version": 4,
                                        "alias_version": 4}})
        store.save(state)
    pulled = tmp_path / "prod.json"
    run = cli(pg_repo, "state", "pull", "--env", "prod", "--out", str(pulled))
    assert run.returncode == 0, run.stderr
    with open_backend(project, "prod") as store:
        assert pulled.read_bytes() == store.read("prod")

    listed = cli(pg_repo, "state", "list")
    assert listed.returncode == 0, listed.stderr
    lines = {line.split("\t")[0]: line for line in listed.stdout.splitlines()}
    assert "(no state yet)" in lines["dev"] and "local file" in lines["dev"]
    assert "serial 3" in lines["prod"] and state.lineage in lines["prod"] and "specops_state.states" in lines["prod"]

    shown = cli(pg_repo, "state", "show", "--env", "prod")
    assert "serial       3" in shown.stdout and "model        churn: churn version 4" in shown.stdout
    one = cli(pg_repo, "state", "show", "--env", "prod", "--address", "model.churn", "--format", "json")
    assert json.loads(one.stdout) == {"kind": "Model", "spec": {"a": 1}}

    # a state belongs to its environment: prod's cannot become dev's
    wrong = cli(pg_repo, "state", "push", str(pulled), "--env", "dev")
    assert wrong.returncode == 1 and "'prod'" in wrong.stderr and "'dev'" in wrong.stderr
    # an older serial is refused, then forced
    data = json.loads(pulled.read_text())
    data["serial"] = 2
    older = tmp_path / "older.json"
    older.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    refused = cli(pg_repo, "state", "push", str(older), "--env", "prod")
    assert refused.returncode == 1 and "newer than the file's 2" in refused.stderr
    forced = cli(pg_repo, "state", "push", str(older), "--env", "prod", "--force")
    assert forced.returncode == 0, forced.stderr
    with open_backend(project, "prod") as store:
        assert store.read("prod") == older.read_bytes() and store.load("prod").serial == 2
    data["lineage"] = "another"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    assert "different histories" in cli(pg_repo, "state", "push", str(other), "--env", "prod").stderr


def test_a_local_run_whose_lock_was_forced_away_stops(tmp_path: Path):
    """force-unlock removes a local lock whoever holds it: the run that held it then does nothing more."""
    from compiler.apply.state import StateError
    from compiler.apply.statebackend.local import LocalBackend

    store = LocalBackend(tmp_path)
    with store.lock("dev") as taken:
        store.held("dev")
        assert store.force_unlock(taken.info["id"]) == "dev"
        with pytest.raises(StateError, match=r"no longer holds the lock of environment 'dev' .*force-unlock"):
            store.held("dev")
    store.held("dev")  # no lock taken: nothing to lose


def test_local_backend_commands(tmp_path: Path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    project = require_project(root)
    with open_backend(project, "dev") as store:
        store.save(State(environment="dev", serial=1))
    run = cli(root, "state", "list")
    assert "serial 1" in run.stdout and ".specops/state/dev.json" in run.stdout
    pulled = cli(root, "state", "pull", "--env", "dev")
    assert pulled.stdout.encode() == (root / ".specops" / "state" / "dev.json").read_bytes()


def test_state_list_says_which_state_is_damaged_and_fails(tmp_path: Path):
    """It listed a truncated or hand-broken state as 'serial -1' and exited 0, while plan and apply refuse it."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    project = require_project(root)
    with open_backend(project, "dev") as store:
        store.save(State(environment="dev", serial=1))
    path = root / ".specops" / "state" / "dev.json"
    path.write_bytes(path.read_bytes()[:40])  # truncated
    run = cli(root, "state", "list")
    assert run.returncode == 1, run.stdout + run.stderr
    (line,) = [ln for ln in run.stdout.splitlines() if ln.startswith("dev\t")]
    assert "cannot read its state: the state file is not valid JSON" in line and "(line " in line, line
    assert "serial -1" not in run.stdout
