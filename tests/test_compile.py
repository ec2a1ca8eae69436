"""`specops compile`: deterministic, atomic, self-cleaning, drift-checked, and described by manifest.json."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import REPO_ROOT, RepoEditor

import compiler.output.write as write_module
from compiler.cli.main import main

SCRATCH = ".build.specops-"  # the folders write_output keeps beside build/ while it works


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under folder: relative posix path -> bytes."""
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def snapshot(root: Path) -> dict[str, dict[str, bytes]]:
    return {"build": tree(root / "build"), "workflows": tree(root / ".github" / "workflows")}


def scratch(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(SCRATCH))


def compile_cli(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["compile", str(root), *args], catch_exceptions=False)


@pytest.fixture
def compiled(repo: Callable[..., Path]) -> Path:
    """A fresh copy of examples/churn, compiled once."""
    root = repo()
    result = compile_cli(root)
    assert result.exit_code == 0, result.output
    return root


def _subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPECOPS_", "PYTHONHASHSEED"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


# --------------------------------------------------------------------------- determinism


def test_compile_is_byte_identical_across_hash_seeds_and_checkouts(repo: Callable[..., Path]) -> None:
    """Two processes with different hash seeds, on copies at different paths: the same bytes."""
    roots = [repo(), repo()]
    for root, seed in zip(roots, ("0", "4242"), strict=True):
        proc = subprocess.run([sys.executable, "-m", "compiler", "compile", str(root)], cwd=root,
                              env=_subprocess_env(PYTHONHASHSEED=seed), capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    first, second = (snapshot(r) for r in roots)
    assert first["build"] and first["workflows"]
    assert first == second
    # and the files are what the pure compile of this process produces
    from compiler.emit.compile import compile_project
    from compiler.front.check import require_project

    artifacts = compile_project(require_project(roots[0])).artifacts
    assert {a.path: a.content for a in artifacts if a.base == "output"} == first["build"]


# --------------------------------------------------------------------------- atomicity


def test_a_failed_compile_leaves_the_previous_output_untouched(compiled: Path) -> None:
    before = snapshot(compiled)
    RepoEditor(compiled).replace("specs/datasets/customers.yaml", "type: integer", "type: integr")
    result = compile_cli(compiled)
    assert result.exit_code == 1, result.output
    assert "integr" in result.output
    assert snapshot(compiled) == before
    assert scratch(compiled) == []


def test_a_write_that_dies_midway_leaves_the_previous_output_and_the_next_compile_recovers(
        compiled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(compiled)
    RepoEditor(compiled).replace("specs/datasets/daily_kpis.yaml", "The calendar day.", "The day.")
    real_write = write_module.write_file
    written: list[str] = []

    def failing_write(path: str, data: bytes) -> None:
        if len(written) == 5:
            raise OSError(28, "No space left on device")
        written.append(path)
        real_write(path, data)

    monkeypatch.setattr(write_module, "write_file", failing_write)
    result = CliRunner().invoke(main, ["compile", str(compiled)])
    monkeypatch.undo()
    assert result.exit_code == 1, result.output
    assert "No space left on device" in result.output
    assert len(written) == 5 and all(SCRATCH in str(p) for p in written)
    assert snapshot(compiled) == before
    assert scratch(compiled) == []  # the half-written folder was removed

    assert compile_cli(compiled).exit_code == 0
    assert b"The day." in (compiled / "build" / "dbt" / "models" / "daily_kpis.yml").read_bytes()
    assert compile_cli(compiled, "--check").exit_code == 0


_SLOW_COMPILE = textwrap.dedent("""
    import sys, time
    import compiler.output.write
    real = compiler.output.write.write_file
    count = 0
    def slow(path, data):
        global count
        if ".specops-new-" in path:
            count += 1
            if count == 5:
                print("WRITING", flush=True)
                time.sleep(120)
        real(path, data)
    compiler.output.write.write_file = slow
    from compiler.cli.main import main
    main(["compile", sys.argv[1]])
""")


def test_a_compile_killed_while_writing_leaves_the_previous_output_and_the_next_compile_recovers(
        compiled: Path) -> None:
    before = snapshot(compiled)
    RepoEditor(compiled).replace("specs/datasets/daily_kpis.yaml", "The calendar day.", "The day.")
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_COMPILE, str(compiled)], cwd=compiled,
                            env=_subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        line = ""
        while "WRITING" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert "WRITING" in line, f"the compile did not reach the write (exit {proc.poll()})"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(compiled) == before
    assert len(scratch(compiled)) == 1  # the killed compile's half-written folder

    result = compile_cli(compiled)
    assert result.exit_code == 0, result.output
    assert scratch(compiled) == []
    assert b"The day." in (compiled / "build" / "dbt" / "models" / "daily_kpis.yml").read_bytes()
    assert compile_cli(compiled, "--check").exit_code == 0


def test_a_compile_that_dies_between_its_two_renames_is_undone_by_the_next(
        compiled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old output is set aside, then the new one moved in: dying in between loses nothing."""
    import compiler.output.write as write
    from compiler.emit.compile import compile_project
    from compiler.front.check import require_project

    class Killed(BaseException):
        pass

    before = snapshot(compiled)["build"]
    real_replace = os.replace
    calls: list[str] = []

    def dying_replace(src: os.PathLike[str] | str, dst: os.PathLike[str] | str) -> None:
        calls.append(str(src))
        if len(calls) == 2:
            raise Killed  # as if killed right after the previous output was set aside
        real_replace(src, dst)

    artifacts = compile_project(require_project(compiled)).artifacts
    monkeypatch.setattr(write.os, "replace", dying_replace)
    with pytest.raises(Killed):
        write.write_output(compiled / "build", artifacts)
    monkeypatch.undo()
    assert not (compiled / "build").exists()
    aside = [compiled / name for name in scratch(compiled) if "-old-" in name]
    assert len(aside) == 1 and tree(aside[0]) == before

    write._recover((compiled / "build").resolve())
    assert tree(compiled / "build") == before and scratch(compiled) == []
    assert compile_cli(compiled, "--check").exit_code == 0


def test_output_folder_gets_ordinary_permissions(compiled: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    assert (compiled / "build").stat().st_mode & 0o777 == 0o777 & ~umask


# --------------------------------------------------------------------------- --check and stale files


def test_check_is_clean_right_after_compile(compiled: Path) -> None:
    result = compile_cli(compiled, "--check")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_check_lists_stale_missing_and_extra_files(compiled: Path) -> None:
    build = compiled / "build"
    workflows = compiled / ".github" / "workflows"
    (build / "dbt" / "models" / "daily_kpis.sql").write_text("select 1\n", encoding="utf-8")
    (build / "dbt" / "seeds" / "customers.yml").unlink()
    (build / "dbt" / "models" / "hand_written.sql").write_text("select 2\n", encoding="utf-8")
    first_workflow = sorted(workflows.glob("specops-*"))[0]
    first_workflow.write_text(first_workflow.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    (workflows / "specops-forgotten.yml").write_text("name: x\n", encoding="utf-8")
    (workflows / "ci.yml").write_text("name: users own workflow\n", encoding="utf-8")  # not ours: ignored
    (build / "dbt" / "target").mkdir()
    (build / "dbt" / "target" / "manifest.json").write_text("{}", encoding="utf-8")  # dbt's: ignored
    (build / "dbt" / "logs").mkdir()
    (build / "dbt" / "logs" / "dbt.log").write_text("", encoding="utf-8")

    result = compile_cli(compiled, "--check")
    assert result.exit_code == 1
    lines = [line.split(None, 1) for line in result.output.splitlines() if line.startswith(" ")]
    shown = {(label, Path(path).resolve().relative_to(compiled.resolve()).as_posix()) for label, path in lines}
    assert shown == {
        ("stale", "build/dbt/models/daily_kpis.sql"),
        ("missing", "build/dbt/seeds/customers.yml"),
        ("extra", "build/dbt/models/hand_written.sql"),
        ("stale", f".github/workflows/{first_workflow.name}"),
        ("extra", ".github/workflows/specops-forgotten.yml"),
    }, result.output
    assert "(2 stale, 1 missing, 2 extra)" in result.output

    assert compile_cli(compiled).exit_code == 0
    assert compile_cli(compiled, "--check").exit_code == 0
    assert not (build / "dbt" / "models" / "hand_written.sql").exists()
    assert not (workflows / "specops-forgotten.yml").exists()
    assert (workflows / "ci.yml").exists()


def test_compile_removes_files_no_longer_produced_and_keeps_dbt_state(compiled: Path) -> None:
    """Renaming a dataset renames its dbt files; dbt's target/ and logs/ survive the recompile."""
    build = compiled / "build"
    (build / "dbt" / "target").mkdir()
    (build / "dbt" / "target" / "partial_parse.msgpack").write_bytes(b"state")
    (build / "dbt" / "logs").mkdir()
    (build / "dbt" / "logs" / "dbt.log").write_text("log\n", encoding="utf-8")
    edit = RepoEditor(compiled)
    edit.replace("specs/datasets/daily_kpis.yaml", "name: daily_kpis", "name: daily_stats")
    edit.replace("specs/transforms/daily_kpis.yaml", "output: daily_kpis", "output: daily_stats")
    edit.replace("specs/quality/daily_kpis.yaml", "dataset: daily_kpis", "dataset: daily_stats")

    result = compile_cli(compiled)
    assert result.exit_code == 0, result.output
    models = sorted(p.name for p in (build / "dbt" / "models").iterdir())
    assert "daily_kpis.sql" not in models and "daily_kpis.yml" not in models
    assert "daily_stats.sql" in models and "daily_stats.yml" in models
    # (the rule keeps its name, daily_kpis_checks, and so does its GX suite)
    assert not any("daily_kpis" in path for path in tree(build)
                   if not path.startswith(("dbt/target", "gx/expectations/daily_kpis_checks.")))
    assert (build / "dbt" / "target" / "partial_parse.msgpack").read_bytes() == b"state"
    assert (build / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8") == "log\n"
    assert compile_cli(compiled, "--check").exit_code == 0


# --------------------------------------------------------------------------- manifest.json


@pytest.fixture
def manifest(compiled: Path) -> dict:
    return json.loads((compiled / "build" / "manifest.json").read_text(encoding="utf-8"))


def test_manifest_names_the_tool_and_the_specs(compiled: Path, manifest: dict) -> None:
    from compiler import __version__
    from compiler.front.check import require_project
    from compiler.front.schemas import schema_digest

    project = require_project(compiled)
    assert manifest["tool"] == "specops"
    assert manifest["tool_version"] == __version__
    assert manifest["format_version"]
    assert manifest["project"] == "churn_analytics"
    assert manifest["spec_digest"] == project.spec_digest
    assert manifest["schema_digest"] == schema_digest()


def test_manifest_lists_every_resource_with_its_file_and_digest(compiled: Path, manifest: dict) -> None:
    from compiler.front.check import require_project

    project = require_project(compiled)
    expected = {r.address: r for r in [project.project, *project.resources()]}
    listed = {r["address"]: r for r in manifest["resources"]}
    assert sorted(listed) == sorted(expected)
    for address, entry in listed.items():
        res = expected[address]
        assert entry["file"] == res.loc.file and (compiled / entry["file"]).is_file(), address
        assert entry["digest"] == res.digest and len(entry["digest"]) == 64, address
        assert entry["kind"] == res.KIND and entry["line"] >= 1, address
    assert {tuple(e) for e in manifest["edges"]} == set(project.graph.edges)
    assert ["dataset.customer_features", "model.churn"] in manifest["edges"]


def test_manifest_lists_every_artifact_with_its_owner_and_the_sha256_on_disk(compiled: Path, manifest: dict) -> None:
    addresses = {r["address"] for r in manifest["resources"]}
    bases = {"output": compiled / "build", "workflows": compiled / ".github" / "workflows"}
    listed = set()
    for art in manifest["artifacts"]:
        path = bases[art["base"]] / art["path"]
        content = path.read_bytes()
        assert hashlib.sha256(content).hexdigest() == art["sha256"], art["path"]
        assert len(content) == art["size"], art["path"]
        assert art["owners"] and art["owner"] == art["owners"][0], art["path"]
        assert set(art["owners"]) <= addresses, art["path"]
        listed.add((art["base"], art["path"]))
    on_disk = {("output", p) for p in tree(compiled / "build")} | {("workflows", p) for p in
                                                                   tree(compiled / ".github" / "workflows")}
    assert on_disk - listed == {("output", "manifest.json")}
    assert listed <= on_disk
    assert len(listed) == len(manifest["artifacts"])  # no file listed twice
    owners = {a["path"]: a["owners"] for a in manifest["artifacts"]}
    assert "dataset.customers" in owners["dbt/seeds/customers.csv"]
    assert "transform.build_customer_activity" in owners["dbt/models/customer_activity.sql"]
    assert "quality_rule.subscriptions_checks" in owners["dbt/tests/status_agrees_with_ended_at.sql"]


def test_compile_never_replaces_a_folder_it_did_not_write(repo, runner):
    """A mistyped --out must not wipe user files: a non-empty folder without manifest.json is refused."""
    from compiler.cli.main import main

    root = repo()
    (root / "notes").mkdir()
    (root / "notes" / "todo.md").write_text("keep me\n")  # (sql/, data/, ... are refused before: test_confinement)
    before = {p.name: p.read_bytes() for p in (root / "notes").iterdir()}
    result = runner.invoke(main, ["compile", str(root), "--out", str(root / "notes")])
    assert result.exit_code == 1
    assert "was not written by specops" in result.output
    assert {p.name: p.read_bytes() for p in (root / "notes").iterdir()} == before
    # nor is a file or a device: `--out /dev/null` once moved /dev/null aside
    (root / "out.txt").write_text("mine\n")
    result = runner.invoke(main, ["compile", str(root), "--out", str(root / "out.txt")])
    assert result.exit_code == 2 and "is a file" in result.output, result.output  # click's check
    result = runner.invoke(main, ["compile", str(root), "--out", os.devnull])
    assert result.exit_code == 1 and "is not a folder" in result.output, result.output
    with pytest.raises(write_module.OutputFolderError, match="is not a folder"):
        write_module.write_output(root / "out.txt", [])
    assert (root / "out.txt").read_text() == "mine\n"
    assert Path(os.devnull).is_char_device()
    # an empty folder, or one specops wrote before, is fine
    (root / "fresh").mkdir()
    assert runner.invoke(main, ["compile", str(root), "--out", str(root / "fresh")]).exit_code == 0
    assert runner.invoke(main, ["compile", str(root), "--out", str(root / "fresh")]).exit_code == 0
    # even when its manifest has a merge conflict (a committed build folder, two branches compiled): it is regenerated
    manifest = root / "fresh" / "manifest.json"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace('  "artifacts": [\n', '  "artifacts": [\n<<<<<<< HEAD\n=======\n>>>>>>> feature\n', 1),
                        encoding="utf-8")
    assert runner.invoke(main, ["compile", str(root), "--out", str(root / "fresh")]).exit_code == 0
    assert manifest.read_text(encoding="utf-8") == text
    manifest.write_text('{"tool": "something else"', encoding="utf-8")  # not ours: refused
    assert runner.invoke(main, ["compile", str(root), "--out", str(root / "fresh")]).exit_code == 1


def test_a_deployed_model_with_list_params_compiles(repo, runner):
    """params may hold lists of scalars (docs/spec.md): a set of models then could not be made (unhashable)."""
    from compiler.cli.main import main

    root = repo()
    RepoEditor(root).replace("specs/models/churn.yaml", "params: {C: 1.0, max_iter: 500}",
                             "params: {C: 1.0, max_iter: 500, class_weight_list: [1, 2]}")
    for args in (["compile", str(root), "--out", str(root / "build")], ["plan", str(root), "--env", "dev"],
                 ["graph", str(root), "--format", "json"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output


def test_an_output_folder_that_cannot_be_moved_aside_is_a_clear_refusal(repo, runner, monkeypatch):
    """A mount point (a volume on build/) cannot be renamed: compile said only 'Device or resource busy'."""
    import errno

    from compiler.cli.main import main

    root = repo()
    assert runner.invoke(main, ["compile", str(root)]).exit_code == 0
    before = sorted(p.relative_to(root) for p in (root / "build").rglob("*"))
    real = os.replace

    def busy(src, dst):
        if Path(src) == (root / "build").resolve():
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(src))
        return real(src, dst)

    monkeypatch.setattr(write_module.os, "replace", busy)
    result = runner.invoke(main, ["compile", str(root)])
    assert result.exit_code == 1, result.output
    assert "cannot be moved aside (Device or resource busy)" in result.output and "mount point" in result.output
    assert sorted(p.relative_to(root) for p in (root / "build").rglob("*")) == before
    assert not [p for p in root.iterdir() if ".specops-" in p.name]  # nothing left beside it


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root (folders as None), to tell that nothing was written."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*")) if not p.is_symlink()}


@pytest.mark.parametrize(("setup", "culprit"), [
    # the workflows folder is a file, or inside one
    (lambda root: RepoEditor(root).replace("specops.yaml", "  output: build\n",
                                           "  output: build\n  workflows_dir: README.md\n"), "README.md is not a folder"),
    (lambda root: (_rmtree(root / ".github"), (root / ".github").write_text("x\n")), ".github is not a folder"),
    # a generated workflow's place is a folder
    (lambda root: ((root / ".github/workflows/specops-pr.yml").unlink(),
                   (root / ".github/workflows/specops-pr.yml").mkdir()),
     ".github/workflows/specops-pr.yml is not a file"),
    # the local folder (the DuckDB file of dev) is a file
    (lambda root: (root / ".specops").write_text("x\n"), ".specops is not a folder"),
], ids=["workflows-dir-a-file", "github-a-file", "workflow-a-folder", "local-dir-a-file"])
def test_what_is_in_the_way_of_compile_is_named_before_anything_is_written(repo, runner, setup, culprit):
    """A compile that cannot write everything writes nothing: the output folder, the workflows and the local folder
    are checked first (the output was replaced, then the workflows failed with a scratch file's path, left behind)."""
    root = repo()
    out = root.parent / "out"
    assert runner.invoke(main, ["compile", str(root), "--out", str(out)]).exit_code == 0
    RepoEditor(root).replace("specs/models/churn.yaml", "description: Probability", "description: The probability")
    _rmtree(root / ".specops")
    setup(root)
    before, output = _snapshot(root), _snapshot(out)
    result = runner.invoke(main, ["compile", str(root), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert culprit in result.output and "Traceback" not in result.output and ".specops-" not in result.output
    assert _snapshot(root) == before and _snapshot(out) == output


def _rmtree(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)


@pytest.mark.parametrize("make", [
    lambda p: p.mkdir(), lambda p: p.symlink_to(p.parent / "nowhere"), lambda p: p.symlink_to("/dev/null")],
    ids=["folder", "dangling-link", "device"])
def test_a_specops_yaml_that_is_no_regular_file_is_said_so(tmp_path, runner, make):
    """It was 'no specops.yaml in ... or any folder above it' (and a repository above would have been used)."""
    (tmp_path / "specops.yaml").write_text("apiVersion: specops/v1\nkind: Project\nmetadata: {name: outer}\nspec: {}\n")
    inner = tmp_path / "inner"
    inner.mkdir()
    make(inner / "specops.yaml")
    result = runner.invoke(main, ["validate", str(inner)])
    assert result.exit_code == 1, result.output
    assert "specops.yaml is not a regular file" in result.output and "outer" not in result.output


def test_a_plan_file_under_a_file_names_the_file_in_the_way(repo, runner):
    root = repo()
    (root / "afile").write_text("x\n")
    result = runner.invoke(main, ["plan", str(root), "--env", "dev", "--out", str(root / "afile" / "x.plan")])
    assert result.exit_code == 1, result.output
    assert "afile is not a folder" in result.output and "File exists" not in result.output
