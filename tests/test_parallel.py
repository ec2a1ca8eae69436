"""Using several processes changes nothing but speed: same results, same bytes, same diagnostics.

The thresholds that keep small projects in one process are lowered here, so that the example and
small generated repositories go through the forked path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import checked
from test_bench_generator import gen

import compiler.front.parse as parse_module
import compiler.speed as speed_package
import compiler.speed.digests as digests_module
import compiler.speed.emitting as emitting_module
import compiler.speed.files as files_module
import compiler.speed.incremental as incremental_module
import compiler.speed.parallel as parallel_module
from compiler.emit.compile import compile_project
from compiler.front.check import check_file
from compiler.front.documents import FileOutcome, file_key
from compiler.front.load import FileSteps
from compiler.plan.scope import head_snapshots
from compiler.speed import Speed
from compiler.speed.codec import decode_outcome as _decode
from compiler.speed.codec import encode_outcome as _encode
from compiler.speed.parallel import jobs, parallel_map


@pytest.fixture(autouse=True)
def single_threaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest-xdist's workers run a thread of their own (execnet's), idle while a test runs: let
    parallel_map fork there as it does in the single-threaded CLI."""
    monkeypatch.setattr(parallel_module, "_other_threads", lambda: False)



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


def _front_end(root: Path, use_cache: bool = False) -> tuple[list, dict | None]:
    project, diags = checked(root, use_cache)
    return ([(d.code, d.file, d.line, d.col, d.message, d.hint, d.severity) for d in diags],
            head_snapshots(project, None) if project else None)


@pytest.mark.parametrize("edit", [None, "break"])
def test_loading_in_several_processes_gives_the_same_project_and_diagnostics(
        generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str | None, forks: list[int]) -> None:
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
    monkeypatch.setattr(files_module, "PARALLEL_MIN_FILES", 1)
    assert not forks
    assert _front_end(root) == serial
    assert forks
    if edit:
        assert len(serial[0]) >= 4


def test_outcomes_survive_the_trip_between_processes(generated: Path, example_root: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for root in (generated, example_root):
        steps = FileSteps(root, check_file)
        rels = sorted(p.relative_to(root).as_posix() for p in (root / "specs").rglob("*.yaml"))
        for rel in rels:
            raw = (root / rel).read_bytes()
            outcome = steps.outcome(rel)
            assert outcome == FileOutcome(rel, found=check_file(rel, raw), key=file_key(rel, raw))
            encoded = _encode(outcome)
            assert encoded is not None  # plain data
            decoded = _decode(encoded)
            assert decoded == outcome  # position maps unpacked and compared
            assert _decode(_encode(decoded)) == outcome  # sealed documents pass through unopened
    # outcomes that are only diagnostics: too large, unreadable, not parseable
    monkeypatch.setattr(parse_module, "MAX_FILE_BYTES", 100)
    (tmp_path / "big.yaml").write_text("kind: Dataset\nmetadata: {name: big}\n" + "#" * 200)
    (tmp_path / "bad.yaml").write_text("kind: [unclosed\n")
    os.mkfifo(tmp_path / "fifo.yaml")
    for rel in ("big.yaml", "bad.yaml", "fifo.yaml"):
        outcome = FileSteps(tmp_path, check_file).outcome(rel)
        assert outcome.diagnostics or (outcome.found and outcome.found.diagnostics)
        assert _decode(_encode(outcome)) == outcome
    odd = FileOutcome("x.yaml", (), frozenset({"dataset.a"}), None)
    assert _decode(_encode(odd)) == odd


def test_compiling_in_several_processes_gives_the_same_bytes(
        generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> None:
    from compiler.cli.common import compile_all
    from compiler.front.check import check_repository
    from compiler.output.write import write_output

    monkeypatch.setenv("SPECOPS_JOBS", "1")
    project, _ = checked(generated)
    assert project is not None
    serial = compile_project(project).artifacts
    write_output(tmp_path / "serial", serial)
    monkeypatch.setenv("SPECOPS_JOBS", "2")
    monkeypatch.setattr(emitting_module, "PARALLEL_MIN_RESOURCES", 0)
    monkeypatch.setattr(digests_module, "PARALLEL_MIN_RESOURCES", 0)
    monkeypatch.setattr(speed_package, "PARALLEL_MIN_WRITES", 0)
    project, _ = check_repository(generated)
    assert project is not None
    assert not forks
    speed = Speed.for_run(use_cache=False)
    forked = compile_all(project, speed).artifacts
    assert forks
    assert forked == serial
    out = tmp_path / "forked"
    emitted = len(forks)
    write_output(out, forked, write=speed.write_groups)
    assert len(forks) > emitted  # the files were written by two processes
    tree = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert tree == {a.path: a.content for a in serial if a.base == "output"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_plans_artifacts_in_several_processes_are_the_same(
        generated: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> None:
    from compiler.emit.compile import compile_for_plan

    monkeypatch.setenv("SPECOPS_JOBS", "1")
    project, _ = checked(generated)
    assert project is not None
    serial = compile_for_plan(project, "dev").artifacts
    monkeypatch.setenv("SPECOPS_JOBS", "2")
    monkeypatch.setattr(emitting_module, "PARALLEL_MIN_RESOURCES", 0)
    monkeypatch.setattr(incremental_module, "PARALLEL_MIN_UNITS", 0)  # a plan runs its units incrementally
    project, _ = checked(generated)
    assert project is not None
    forked = Speed.for_run(use_cache=False).compile_for_plan(project, "dev").artifacts
    assert forks
    assert forked == serial
    assert any(a.path.startswith("docker/") for a in forked) and any(a.path.startswith("dbt/") for a in forked)


def test_digests_computed_by_several_processes_are_the_ones_computed_here(
        generated: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> None:
    from compiler.front.check import check_repository

    monkeypatch.setenv("SPECOPS_JOBS", "2")
    monkeypatch.setattr(digests_module, "PARALLEL_MIN_RESOURCES", 0)
    project, _ = check_repository(generated)
    here, _ = check_repository(generated)
    assert project is not None and here is not None
    shared = project.with_digests(digests_module.computed(project))
    assert forks
    resources = [shared.project, *shared.resources()]
    assert set(shared.known_digests) == {r.address for r in resources}
    assert [shared.digest(r.address) for r in resources] == [r.digest for r in [here.project, *here.resources()]]
    assert shared.spec_digest == here.spec_digest


def test_the_cache_filled_and_read_by_several_processes_changes_nothing(
        generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> None:
    import shutil

    root = Path(shutil.copytree(generated, tmp_path / "repo"))
    monkeypatch.setenv("SPECOPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SPECOPS_JOBS", "1")
    cold = _front_end(root)
    monkeypatch.setenv("SPECOPS_JOBS", "2")
    monkeypatch.setattr(files_module, "PARALLEL_MIN_FILES", 1)

    def cached() -> tuple[list, dict | None]:
        return _front_end(root, use_cache=True)

    assert cached() == cold  # the children fill the cache
    assert forks
    assert any((tmp_path / "cache").rglob("*"))
    assert cached() == cold  # and read it
    edited = sorted((root / "specs" / "datasets").glob("*.yaml"))[5]
    edited.write_text(edited.read_text().replace("description:", "description: edited", 1))
    monkeypatch.setenv("SPECOPS_JOBS", "1")
    expected = _front_end(root)
    monkeypatch.setenv("SPECOPS_JOBS", "2")
    assert cached() == expected != cold
    # damaged entries in both processes' shares: first another file's entry (each decodes), then garbage
    entries = sorted(p for p in (tmp_path / "cache").rglob("*") if p.is_file())
    for n, entry in enumerate(entries):
        if n % 3 == 1:
            entry.write_bytes(entries[(n + 1) % len(entries)].read_bytes())
    forks.clear()
    assert cached() == expected
    assert forks
    for n, entry in enumerate(entries):
        if n % 3 == 0:
            entry.write_bytes(b"m\x00garbage" if n % 2 else b"")
    assert cached() == expected


def test_no_fork_while_other_threads_run(monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> None:
    import threading

    monkeypatch.undo()  # the real thread check
    monkeypatch.setenv("SPECOPS_JOBS", "2")
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked while a thread ran"))
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert parallel_map(square, list(range(20))) == [x * x for x in range(20)]
    finally:
        stop.set()
        worker.join()


# --------------------------------------------------------------------------- stream_map


def _encode_square(x: int) -> bytes:
    return str(x * x).encode()


def test_stream_map_gives_the_fallbacks_results(monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> None:
    from compiler.speed.parallel import stream_map

    monkeypatch.setenv("SPECOPS_JOBS", "2")
    items = list(range(1000))
    local: list[int] = []

    def fallback(x: int) -> int:  # dearer here than in the child: the child does most
        import time

        local.append(x)
        time.sleep(0.0003)
        return x * x

    assert stream_map(_encode_square, lambda b: int(b), items, fallback) == [x * x for x in items]
    assert len(forks) == 1
    assert len(local) < len(items)  # the child's results were used
    assert local == sorted(local, reverse=True) and (not local or local[0] == items[-1])  # this process: from the end


def test_stream_map_survives_a_failing_child_and_damaged_items(monkeypatch: pytest.MonkeyPatch,
                                                                forks: list[int]) -> None:
    import time

    from compiler.speed.parallel import stream_map

    monkeypatch.setenv("SPECOPS_JOBS", "2")
    parent = os.getpid()
    items = list(range(600))

    def encode(x: int) -> bytes:
        if os.getpid() != parent and x == 200:
            os._exit(3)  # the child dies mid-way
        time.sleep(0.0002)
        return b"garbage" if x % 7 == 0 else str(x * x).encode()

    local: list[int] = []

    def fallback(x: int) -> int:
        local.append(x)
        time.sleep(0.0005)  # slower than the child: it does most of the work until it dies
        return x * x

    assert stream_map(encode, lambda b: int(b), items, fallback) == [x * x for x in items]
    assert forks
    # the child sent whole chunks with damaged items (redone here), then died in the chunk holding item 200:
    # this process did the rest
    sent = 200 // parallel_module.STREAM_CHUNK * parallel_module.STREAM_CHUNK
    assert {x for x in local if x < sent} and all(x % 7 == 0 for x in local if x < sent)
    assert set(range(sent, 600)) <= set(local)


def test_stream_map_without_a_second_process(monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> None:
    from compiler.speed.parallel import stream_map

    monkeypatch.setenv("SPECOPS_JOBS", "1")
    assert stream_map(_encode_square, int, [1, 2, 3], lambda x: x * x) == [1, 4, 9]
    assert not forks
