"""Files a command is asked to write (plan --out, state pull --out) are written whole or not at all
(compiler.output.atomic): a full disk left a truncated state backup, a read-only folder an empty plan."""

from __future__ import annotations

import errno
import os

import pytest

from compiler.output import atomic
from compiler.spec.diagnostics import UserError


def test_a_failed_write_leaves_the_file_as_it_was_and_names_it(tmp_path, monkeypatch):
    target = tmp_path / "backup.json"
    target.write_bytes(b'{"serial": 3}')

    def full(*_args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "replace", full)
    with pytest.raises(UserError, match=r"cannot write .*backup.json: No space left on device"):
        atomic.write_file(target, b'{"serial": 4, "truncated')
    assert target.read_bytes() == b'{"serial": 3}'
    assert [p.name for p in tmp_path.iterdir()] == ["backup.json"]  # no temporary file left


def test_a_folder_that_is_a_file_is_named(tmp_path):
    (tmp_path / "notadir").write_text("x")
    with pytest.raises(UserError, match=r"cannot write .*notadir/plan.json"):
        atomic.write_file(tmp_path / "notadir" / "plan.json", b"{}")


def test_plan_and_state_pull_write_through_it(example_root, tmp_path, runner):
    from compiler.cli.main import main

    result = runner.invoke(main, ["plan", str(example_root), "--env", "dev", "--out",
                                  str(tmp_path / "file" / "plan.json")])
    assert result.exit_code == 0 and (tmp_path / "file" / "plan.json").is_file(), result.output
    (tmp_path / "blocker").write_text("x")
    result = runner.invoke(main, ["plan", str(example_root), "--env", "dev", "--out",
                                  str(tmp_path / "blocker" / "plan.json")])
    assert result.exit_code == 1 and "cannot write" in result.output and "Traceback" not in result.output
