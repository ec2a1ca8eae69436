"""Using several processes changes nothing but speed: same results, same bytes, same diagnostics.

The thresholds that keep small projects in one process are lowered here, so that the example and
small generated repositories go through the forked path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_bench_generator import gen

import compiler.emit as emit_module
import compiler.load as load_module
from compiler.cache import Cache
from compiler.compile import compile_project
from compiler.load import _decode, _encode, _Loading, _Outcome, _read_file
from compiler.parallel import jobs, parallel_map
from compiler.pipeline import check_document, check_repository
from compiler.plan.build import head_snapshots


def square(x: int) -> int:
    return x * x


def test_parallel_map_keeps_order_and_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECOPS_JOBS", "3")
    items = list(range(101))
    assert parallel_map(square, items) == [x * x for x in items]
    assert parallel_map(square, []) == []
    assert parallel_map(square, [4]) == [16]


def test_a_failing_child_share_is_recomputed_in_the_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECOPS_JOBS", "2")
    parent = os.getpid()

    def only_here(x: int) -> tuple[int, int]:
        if os.getpid() != parent:
            raise RuntimeError("children fail")
        return x, os.getpid()

    def dies(x: int) -> int:
        if os.getpid() != parent:
            os._exit(3)
        return -x

    assert parallel_map(only_here, list(range(10))) == [(x, parent) for x in range(10)]
    assert parallel_map(dies, list(range(10))) == [-x for x in range(10)]


def test_children_do_share_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECOPS_JOBS", "2")
    pids = parallel_map(lambda _: os.getpid(), list(range(8)))
    assert pids[0::2] == [os.getpid()] * 4 and len(set(pids[1::2])) == 1 and pids[1] != os.getpid()


def test_jobs_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECOPS_JOBS", "1")
    assert jobs() == 1
    assert parallel_map(lambda _: os.getpid(), [1, 2, 3]) == [os.getpid()] * 3
    monkeypatch.setenv("SPECOPS_JOBS", "many")
    assert jobs() >= 1


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return gen.generate(120, tmp_path_factory.mktemp("gen") / "repo", seed=3).root


def _front_end(root: Path) -> tuple[list, dict | None]:
    project, diags = check_repository(root)
    return ([(d.code, d.file, d.line, d.col, d.message, d.hint, d.severity) for d in diags],
            head_snapshots(project, None) if project else None)


@pytest.mark.parametrize("edit", [None, "break"])
def test_loading_in_several_processes_gives_the_same_project_and_diagnostics(
        generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str | None) -> None:
    root = generated
    if edit:  # errors and warnings in files handled by both processes
        import shutil

        root = Path(shutil.copytree(generated, tmp_path / "broken"))
        files = sorted((root / "specs").rglob("*.yaml"))
        files[0].write_text(files[0].read_text() + "\n  bogus: 1\n")
        files[1].write_bytes(b"\xff\xfe not utf-8")
        files[2].write_text("kind: [unclosed\n")
        files[3].write_text(files[3].read_text().replace("type:", "type: [", 1))
    monkeypatch.setenv("SPECOPS_JOBS", "1")
    serial = _front_end(root)
    monkeypatch.setenv("SPECOPS_JOBS", "2")
    monkeypatch.setattr(load_module, "PARALLEL_MIN_FILES", 1)
    assert _front_end(root) == serial
    if edit:
        assert len(serial[0]) >= 4


def test_outcomes_survive_the_trip_between_processes(generated: Path, example_root: Path) -> None:
    ctx = _Loading(check_document, Cache.disabled())
    for root in (generated, example_root):
        rels = sorted(p.relative_to(root).as_posix() for p in (root / "specs").rglob("*.yaml"))
        for rel in rels:
            outcome = _read_file(root, ctx, rel)
            assert _decode(_encode(outcome)) == outcome
    odd = _Outcome("x.yaml", (), frozenset({"dataset.a"}), None)
    assert _decode(_encode(odd)) == odd


def test_compiling_in_several_processes_gives_the_same_bytes(
        generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from compiler.write import write_output

    monkeypatch.setenv("SPECOPS_JOBS", "1")
    project, _ = check_repository(generated)
    assert project is not None
    serial = compile_project(project).artifacts
    write_output(tmp_path / "serial", serial)
    monkeypatch.setenv("SPECOPS_JOBS", "2")
    monkeypatch.setattr(emit_module, "PARALLEL_MIN_RESOURCES", 0)
    project, _ = check_repository(generated)
    assert project is not None
    forked = compile_project(project).artifacts
    assert forked == serial
    out = tmp_path / "forked"
    write_output(out, forked)
    tree = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert tree == {a.path: a.content for a in serial if a.base == "output"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_digests_computed_by_several_processes_are_the_ones_computed_here(
        generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from compiler.emit import share_digests

    monkeypatch.setenv("SPECOPS_JOBS", "2")
    monkeypatch.setattr(emit_module, "PARALLEL_MIN_RESOURCES", 0)
    shared, _ = check_repository(generated)
    here, _ = check_repository(generated)
    assert shared is not None and here is not None
    share_digests(shared)
    resources = [shared.project, *shared.resources()]
    assert all("digest" in r.__dict__ for r in resources)
    assert [r.digest for r in resources] == [r.digest for r in [here.project, *here.resources()]]
    assert shared.spec_digest == here.spec_digest
