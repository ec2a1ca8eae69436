"""The files plan and apply read back, and the CLI input that decides what apply touches (issue #18).

State files that belong to another environment or project, state and plan files of the wrong shape,
lock files that hold no lock, empty selections: each is refused clearly, before any work starts, with
nothing changed. No dbt or MLflow is needed: the applied state is made the way apply records it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from apply_support import record_applied
from click.testing import CliRunner
from conftest import EXAMPLE_ROOT, copy_repository

from compiler.cli.main import main

STATE = Path(".specops") / "state"


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def applied(tmp_path: Path) -> Path:
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    record_applied(root, "dev")
    return root


def edit_state(root: Path, change, env: str = "dev") -> Path:
    path = root / STATE / f"{env}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


# --------------------------------------------------------------------------- 1. state identity


def test_the_fixture_is_an_up_to_date_apply(applied):
    result = run_cli("apply", str(applied), "--env", "dev", "--yes")
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output


def test_a_state_copied_to_another_environment_is_refused(applied):
    """Copying dev.json to prod.json used to make `apply --env prod` update dev.json and skip prod's work."""
    environments = applied / "specs" / "environments.yaml"  # prod's state in local files, as it was
    text = environments.read_text(encoding="utf-8")
    block = next(line for line in text.splitlines(keepends=True) if line.startswith("    type: postgres  "))
    environments.write_text(text.replace("  state:\n" + block, ""), encoding="utf-8")
    dev = applied / STATE / "dev.json"
    prod = applied / STATE / "prod.json"
    shutil.copyfile(dev, prod)
    before = {p: p.read_bytes() for p in (dev, prod)}
    plan = run_cli("plan", str(applied), "--env", "prod")
    assert plan.exit_code == 1, plan.output
    assert "belongs to environment 'dev'" in plan.output and "not 'prod'" in plan.output
    assert "prod.json" in plan.output and "afresh" in plan.output
    apply = run_cli("apply", str(applied), "--env", "prod", "--yes")
    assert apply.exit_code == 1, apply.output
    assert "belongs to environment 'dev'" in apply.output
    assert {p: p.read_bytes() for p in (dev, prod)} == before  # nothing written, to either file
    assert not (applied / ".specops" / "locks" / "prod.lock").exists()
    prod.unlink()  # the way out the message gives: prod starts afresh
    fresh = run_cli("plan", str(applied), "--env", "prod", "--format", "json")
    assert fresh.exit_code == 0, fresh.output
    assert json.loads(fresh.output)["summary"]["add"] >= 10


def test_a_state_of_another_project_is_refused(applied):
    edit_state(applied, lambda d: d.update(project="billing"))
    for args in (("plan",), ("apply", "--yes")):
        result = run_cli(*args, str(applied), "--env", "dev")
        assert result.exit_code == 1, result.output
        assert "belongs to project 'billing'" in result.output and "not 'churn_analytics'" in result.output


def test_a_state_of_another_project_is_refused_from_the_plan_cache_too(applied):
    """plan keeps a summary of the state file in its cache: the identity is checked on what comes back too."""
    edit_state(applied, lambda d: d.update(project="billing"))
    for _ in range(2):  # the first run caches the summary of these bytes, the second reads it back
        result = run_cli("plan", str(applied), "--env", "dev")
        assert result.exit_code == 1 and "belongs to project 'billing'" in result.output


def test_a_state_written_before_the_project_was_recorded_is_adopted(applied):
    edit_state(applied, lambda d: d.pop("project"))
    result = run_cli("plan", str(applied), "--env", "dev")
    assert result.exit_code == 0, result.output
    from compiler.apply.state import load_state, save_state

    state = load_state(applied, "dev", "churn_analytics")
    save_state(applied, state)
    assert json.loads((applied / STATE / "dev.json").read_text())["project"] == "churn_analytics"


def test_state_records_project_environment_and_lineage(applied):
    data = json.loads((applied / STATE / "dev.json").read_text())
    assert data["project"] == "churn_analytics" and data["environment"] == "dev"
    assert len(data["lineage"]) == 36 and data["serial"] == 1


def test_a_state_file_replaced_behind_the_lock_is_not_overwritten(applied):
    from compiler.apply.state import StateError, load_state, save_state

    state = load_state(applied, "dev", "churn_analytics")
    other = edit_state(applied, lambda d: d.update(serial=41))
    replaced = other.read_bytes()
    state.serial += 1
    with pytest.raises(StateError, match="changed by someone else"):
        save_state(applied, state)
    assert other.read_bytes() == replaced


def test_save_writes_the_environment_asked_for(applied):
    """load_state gives the environment asked for, never the one a file claims."""
    from compiler.apply.state import load_state

    assert load_state(applied, "dev").environment == "dev"


# --------------------------------------------------------------------------- 11. malformed state and plan files

BAD_STATES = [
    ("pending-not-an-object", lambda d: d["pending"].update({"model.churn": "retrain"}), '"model.churn": "retrain"',
     "pending work must be an object"),
    ("pending-unknown-work", lambda d: d["pending"].update({"model.churn": {"work": "explode"}}), '"work": "explode"',
     "'work' must be one of"),
    ("pending-bad-path", lambda d: d["pending"].update({"model.churn": {"work": "retrain", "path": "model.churn"}}),
     '"path": "model.churn"', "'path' must be a list of text"),
    ("pending-not-an-address", lambda d: d["pending"].update({"churn": {"work": "retrain"}}), '"churn": {',
     "not a resource address"),
    ("alias-version-text", lambda d: d["models"].update({"churn": {"alias_version": "abc", "candidate_version": 1}}),
     '"alias_version": "abc"', "'alias_version' must be a whole number or null"),
    ("serial-text", lambda d: d.update(serial="7"), '"serial": "7"', "'serial' must be a whole number"),
    ("resources-list", lambda d: d.update(resources=[]), '"resources": []', "'resources' must be an object"),
    ("snapshot-spec-list", lambda d: d["resources"]["model.churn"].update(spec=[]), '"spec": []',
     "'spec' must be an object"),
    ("artifact-digest-number", lambda d: d["artifacts"].update({"dbt/x.sql": 5}), '"dbt/x.sql": 5',
     "an artifact digest must be text"),
]


@pytest.mark.parametrize(("change", "needle", "message"), [c[1:] for c in BAD_STATES], ids=[c[0] for c in BAD_STATES])
def test_a_malformed_state_file_is_a_located_error(applied, change, needle, message):
    path = edit_state(applied, change)
    line = line_of(path, needle)
    for args in (("plan",), ("apply", "--yes")):
        result = run_cli(*args, str(applied), "--env", "dev")
        assert result.exit_code == 1, result.output
        assert "internal error" not in result.output and "Traceback" not in result.output
        assert f"dev.json:{line}:" in result.output, result.output
        assert message in result.output and "[bad-state]" in result.output
    assert not (applied / ".specops" / "locks" / "dev.lock").exists()


def test_a_state_file_that_is_not_json_is_a_located_error(applied):
    path = applied / STATE / "dev.json"
    path.write_text('{\n  "serial": 1,\n  oops\n}\n')
    result = run_cli("plan", str(applied), "--env", "dev")
    assert result.exit_code == 1
    assert "dev.json:3:" in result.output and "not valid JSON" in result.output


@pytest.fixture
def saved_plan(applied: Path) -> Path:
    from conftest import RepoEditor

    RepoEditor(applied).replace("specs/models/churn.yaml", "C: 1.0", "C: 0.5")
    out = applied / "plan.json"
    result = run_cli("plan", str(applied), "--env", "dev", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


BAD_PLANS = [
    ("environment-number", lambda d: d.update(environment=5), '"environment": 5',
     "'environment' must be text or null"),
    ("head-list", lambda d: d.update(head=[]), '"head": []', "'head' must be an object"),
    ("baseline-serial-text", lambda d: d["baseline"].update(serial="1"), '"serial": "1"',
     "'serial' must be a whole number or null"),
    ("selection-text", lambda d: d.update(selection="model.churn"), '"selection": "model.churn"',
     "'selection' must be a list of text"),
    ("digests-list", lambda d: d.update(artifact_digests=[]), '"artifact_digests": []',
     "'artifact_digests' must be an object of text"),
    # what apply shows must be what was planned: the rest of the plan's schema is checked too
    ("changes-text", lambda d: d.update(resource_changes="zz"), '"resource_changes": "zz"', "is not of type 'array'"),
    ("impact-number", lambda d: d.update(impact=5), '"impact": 5', "is not of type 'object'"),
]


@pytest.mark.parametrize(("change", "needle", "message"), [c[1:] for c in BAD_PLANS], ids=[c[0] for c in BAD_PLANS])
def test_a_malformed_plan_file_is_a_located_error(saved_plan, applied, change, needle, message):
    data = json.loads(saved_plan.read_text(encoding="utf-8"))
    change(data)
    saved_plan.write_text(json.dumps(data, indent=2), encoding="utf-8")
    before = (applied / STATE / "dev.json").read_bytes()
    result = run_cli("apply", str(applied), str(saved_plan))
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert f"plan.json:{line_of(saved_plan, needle)}:" in result.output, result.output
    assert message in result.output and "[bad-plan]" in result.output
    assert (applied / STATE / "dev.json").read_bytes() == before


@pytest.mark.parametrize("content", ["", "[]", '{"format_version": 1}', "\xff\xfe"])
def test_a_plan_file_that_is_no_plan_is_refused(tmp_path, applied, content):
    bad = tmp_path / "plan.json"
    bad.write_bytes(content.encode("latin-1"))
    result = run_cli("apply", str(applied), str(bad))
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    assert "plan" in result.output


# --------------------------------------------------------------------------- 6. lock files that hold no lock


@pytest.mark.parametrize(("content", "says"), [(b"", "it is empty"), (b"\x00garbage", "it is not a lock specops wrote"),
                                               (b"[]", "has no lock ID"), (b'{"id": 5}', "has no lock ID"),
                                               (b"  \n", "it is empty")],
                         ids=["empty", "garbage", "json-list", "id-not-text", "blank"])
def test_a_lock_file_holding_no_lock_says_what_it_holds_and_how_to_remove_it(applied, content, says):
    lock = applied / ".specops" / "locks" / "dev.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(content)
    result = run_cli("apply", str(applied), "--env", "dev", "--yes")
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    assert says in result.output and "rm " in result.output and "dev.lock" in result.output
    assert "force-unlock ?" not in result.output
    unlock = run_cli("force-unlock", "?", str(applied))
    assert unlock.exit_code == 1
    assert "dev.lock holds no lock ID" in unlock.output and says in unlock.output and "rm " in unlock.output
    lock.unlink()  # what the message says to do
    assert run_cli("apply", str(applied), "--env", "dev", "--yes").exit_code == 0


def test_a_lock_of_a_dead_process_on_this_machine_says_so(applied):
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    lock = applied / ".specops" / "locks" / "dev.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"id": "abc", "pid": int(dead.stdout), "host": socket.gethostname(), "who": "x@y",
                                "created": "2024-01-01T00:00:00+00:00", "environment": "dev"}))
    result = run_cli("apply", str(applied), "--env", "dev", "--yes")
    assert result.exit_code == 1
    assert "no longer running on this machine" in result.output and "force-unlock abc" in result.output


def test_temporary_files_of_a_killed_state_write_are_swept(applied):
    from compiler.apply.state import load_state, save_state

    folder = applied / STATE
    dead = folder / ".dev.json.999999999-abcdef"  # no such pid
    live = folder / f".dev.json.{__import__('os').getppid()}-abcdef"  # a live process's: left alone
    dead.write_text("{")
    live.write_text("{")
    save_state(applied, load_state(applied, "dev"))
    assert not dead.exists() and live.exists()


# --------------------------------------------------------------------------- 7. empty selections


@pytest.mark.parametrize("selector", ["", " ", "\t"], ids=["empty", "space", "tab"])
@pytest.mark.parametrize("command", [("plan",), ("apply", "--yes"), ("graph",)])
def test_an_empty_selection_is_an_error(applied, command, selector):
    before = (applied / STATE / "dev.json").read_bytes()
    result = run_cli(*command, str(applied), "--select", selector)
    assert result.exit_code == 2, result.output
    assert "empty" in result.output and "--select" in result.output
    assert (applied / STATE / "dev.json").read_bytes() == before


def test_an_empty_selector_beside_a_real_one_is_an_error_too(applied):
    result = run_cli("plan", str(applied), "--select", "model.churn", "--select", "")
    assert result.exit_code == 2 and "empty" in result.output


@pytest.mark.parametrize("content", ['{"a": 1}', "{not json", '{"format_version": "1.0"}'])
def test_state_push_names_the_file_it_was_given(applied, tmp_path, content):
    """A bad file pushed is named in the error, not the environment's own (good) state file."""
    pushed = tmp_path / "restore" / "backup.json"
    pushed.parent.mkdir()
    pushed.write_text(content, encoding="utf-8")
    before = (applied / STATE / "dev.json").read_bytes()
    result = run_cli("state", "push", str(pushed), str(applied), "--env", "dev")
    assert result.exit_code == 1, result.output
    assert "backup.json" in result.output and "dev.json" not in result.output, result.output
    assert (applied / STATE / "dev.json").read_bytes() == before


def test_state_push_of_another_environments_file_says_which_environment_it_is(applied, tmp_path):
    """The file pushed is a good state of prod: the error says to push it to prod, not to remove it."""
    state = json.loads((applied / STATE / "dev.json").read_text(encoding="utf-8"))
    pushed = tmp_path / "prod-backup.json"
    pushed.write_text(json.dumps({**state, "environment": "prod"}), encoding="utf-8")
    result = run_cli("state", "push", str(pushed), str(applied), "--env", "dev")
    assert result.exit_code == 1, result.output
    assert "is the state of environment 'prod', not 'dev'" in result.output and "--env prod" in result.output
    assert "Remove" not in result.output


def test_state_push_over_an_unreadable_stored_state_says_force_replaces_it(applied, tmp_path):
    good = (applied / STATE / "dev.json").read_bytes()
    pushed = tmp_path / "backup.json"
    pushed.write_bytes(good)
    (applied / STATE / "dev.json").write_text("{damaged", encoding="utf-8")
    refused = run_cli("state", "push", str(pushed), str(applied), "--env", "dev")
    assert refused.exit_code == 1 and "pass --force to replace it with" in refused.output, refused.output
    assert run_cli("state", "push", str(pushed), str(applied), "--env", "dev", "--force").exit_code == 0
    assert (applied / STATE / "dev.json").read_bytes() == good


def test_a_lock_record_with_only_an_id_names_no_none(applied):
    lock = applied / ".specops" / "locks" / "dev.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text('{"id": "abc"}')
    result = run_cli("apply", str(applied), "--env", "dev", "--yes")
    assert result.exit_code == 1
    assert "None" not in result.output and "lock ID abc" in result.output and "force-unlock abc" in result.output


def test_a_lock_that_cannot_be_written_says_it_was_taking_the_lock(applied, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)  # what a read-only .specops/locks gives (root ignores modes)
    result = run_cli("apply", str(applied), "--env", "dev", "--yes")
    assert result.exit_code == 1, result.output
    assert "cannot take the lock of environment 'dev'" in result.output and "Permission denied" in result.output


@pytest.mark.parametrize("work", ["rebuild", "reload", "rerun", "retrain", "evaluate", "rollout"])
def test_every_work_a_plan_makes_can_be_left_pending(applied, work):
    """A failed gate-only apply left `evaluate` pending, which the state check refused: no plan or apply ran."""
    from compiler.plan.impact import WORKS

    assert work in WORKS
    edit_state(applied, lambda d: d["pending"].update({"model.churn": {"work": work, "cause": "model.churn"}}))
    result = run_cli("plan", str(applied), "--env", "dev")
    assert result.exit_code == 0, result.output
    assert "pending from an earlier apply" in result.output
