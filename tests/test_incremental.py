"""A plan's incremental emit (compiler.speed.incremental) gives exactly what emitting everything gives.

Random edits of every kind (spec text, files specs name, names and aliases, schedules and runners that
add, move and remove units, deleted and copied specs, project settings, formatting) are applied one after the
other to a generated repository; after each, the artifacts a plan compares are computed with the
stored unit results and without any cache, and must be equal byte for byte. The tests also check
that results were in fact reused (so they cannot pass by recomputing everything).
"""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path

import pytest
from conftest import checked
from test_bench_generator import gen

import compiler.speed.incremental as incremental
from compiler.emit.compile import Compiled, compile_for_plan
from compiler.emit.manifest import sha256
from compiler.front.schemas import schema_digest
from compiler.speed import Speed
from compiler.speed.cache import Cache
from compiler.speed.tracking import Facts, ProjectView, Tags, Trace, UntrackedRead
from compiler.speed.unitstore import UnitStore


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SPECOPS_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The keys of the units that ran (were not reused), in every call of emit_incremental."""
    ran: list[tuple[str, ...]] = []
    real = incremental._run

    def counting(project, facts, tags, unit):
        ran.append(unit.key)
        return real(project, facts, tags, unit)

    monkeypatch.setattr(incremental, "_run", counting)
    monkeypatch.setenv("SPECOPS_JOBS", "1")  # the counter lives in this process
    return ran


def _compare(root: Path, env: str) -> int:
    """Artifacts with the caches and without; return how many there are."""
    project, _ = checked(root, use_cache=True)
    if project is None:
        return -1
    cache = Cache.open(schema_digest())
    assert cache is not None
    # emit_incremental itself, not Speed.compile_for_plan: an untracked read must fail here, not fall back
    compiled = Compiled(project, *incremental.emit_incremental(project, env, UnitStore(cache, root)))
    warm = compiled.artifacts
    assert compiled.known_digests  # the stored digests of files without image tags
    assert all(compiled.digest(a) == sha256(a.content) for a in warm)
    fresh, _ = checked(root)
    assert fresh is not None
    cold = compile_for_plan(fresh, env).artifacts
    assert [a.key for a in warm] == [a.key for a in cold]
    for new, old in zip(warm, cold, strict=True):
        assert (new.key, new.owners) == (old.key, old.owners)
        assert new.content == old.content, new.key
    return len(warm)


def _sub(path: Path, pattern: str, repl: str) -> bool:
    text = path.read_text()
    new = re.sub(pattern, repl, text, count=1, flags=re.M)
    if new == text:
        return False
    path.write_text(new)
    return True


def _edit(root: Path, rng: random.Random) -> str:
    """One random edit; returns what it did (for the failure message)."""
    specs = root / "specs"

    def pick(folder: str, suffix: str = ".yaml") -> Path:
        return rng.choice(sorted((root / folder).rglob(f"*{suffix}")))

    op = rng.choice(["describe", "describe", "alias", "owner", "schedule", "runner", "runtime", "environment", "sql",
                     "code", "csv", "project", "delete", "copy", "namespace", "reformat", "features", "warehouse",
                     "default_env", "entrypoint", "rule_copy"])
    if op == "describe":
        path = pick("specs")
        _sub(path, r"^(  description: ).*$", rf"\g<1>Edited {rng.randrange(10**6)}.")
    elif op == "alias":
        path = pick("specs/models")
        _sub(path, r"alias: \w+", f"alias: {rng.choice(['champion', 'gold', 'candidate'])}")
    elif op == "owner":
        _sub(pick("specs"), r"^(  owner: ).*$", rf"\g<1>'@acme/team{rng.randrange(5)}'")
    elif op == "schedule":
        path = pick("specs/transforms")
        if not _sub(path, r"^  schedule: .*\n", ""):
            _sub(path, r"^(  output: .*)$", r"\g<1>\n  schedule: '15 * * * *'")
    elif op == "runner":  # a scheduled transform moves between a CronJob and an Airflow DAG (or its schedule's spelling)
        path = pick("specs/transforms")
        if not _sub(path, r"^  runner: airflow\n", "") and not _sub(path, r"^(  schedule: .*)$", r"\g<1>\n  runner: airflow"):
            _sub(path, r"^(  output: .*)$", r"\g<1>\n  schedule: '15 * * * SUN'\n  runner: airflow")
    elif op == "runtime":
        path = pick("specs/deployments")
        _sub(path, r"^  runtime: \w+$", f"  runtime: {rng.choice(['mlflow', 'kserve', 'seldon'])}")
    elif op == "environment":
        _sub(pick("specs/deployments"), r"^  environment: \w+$", f"  environment: {rng.choice(['dev', 'prod'])}")
    elif op == "sql":
        files = sorted((root / "sql").glob("*.sql"))
        if files:
            path = rng.choice(files)
            path.write_text(path.read_text() + f"-- edited {rng.randrange(10**6)}\n")
    elif op == "code":
        path = pick("training", ".py")
        path.write_text(path.read_text() + f"# edited {rng.randrange(10**6)}\n")
    elif op == "csv":
        path = pick("data", ".csv")
        lines = path.read_text().splitlines()
        path.write_text("\n".join([*lines, lines[-1]]) + "\n")
    elif op == "project":
        path = root / "specops.yaml"
        if rng.random() < 0.5:
            _sub(path, r"python_version: '3\.1\d'", f"python_version: '3.1{rng.choice([1, 2])}'")
        else:
            _sub(path, r"image_registry: \S+", f"image_registry: ghcr.io/team{rng.randrange(3)}")
    elif op == "delete":
        rng.choice([*sorted((specs / "deployments").glob("*.yaml")), *sorted((specs / "quality_rules").glob("*.yaml"))]
                   ).unlink()
    elif op == "copy":
        path = pick("specs/deployments")
        n = rng.randrange(10**6)
        text = re.sub(r"^(  name: )(\w+)$", rf"\g<1>\g<2>_c{n}", path.read_text(), count=1, flags=re.M)
        path.with_name(f"copy_{n}.yaml").write_text(text)
    elif op == "namespace":
        _sub(root / "specs/environments/dev.yaml", r"namespace: [\w-]+", f"namespace: ml-dev{rng.randrange(3)}")
    elif op == "reformat":
        path = pick("specs")
        path.write_text(f"# reformatted {rng.randrange(10**6)}\n\n" + path.read_text())
    elif op == "features":  # a column list order: other YAML, same names
        path = pick("specs/models")
        _sub(path, r"^(    features:\n)(    - \w+\n)(    - \w+\n)", r"\g<1>\g<3>\g<2>")
    elif op == "warehouse":
        _sub(root / "specs/environments/dev.yaml", r"path: \.specops/[\w.]+", f"path: .specops/dev{rng.randrange(3)}.duckdb")
    elif op == "default_env":
        _sub(root / "specops.yaml", r"default_environment: \w+", f"default_environment: {rng.choice(['dev', 'staging'])}")
    elif op == "entrypoint":  # a training script of its own: the training images copy other files
        path = pick("specs/models")
        n = rng.randrange(10**6)
        shutil.copy(root / "training" / "model.py", root / "training" / f"model_{n}.py")
        _sub(path, r"entrypoint: \S+", f"entrypoint: training/model_{n}.py")
    elif op == "rule_copy":
        path = pick("specs/quality_rules")
        n = rng.randrange(10**6)
        text = re.sub(r"^(  name: )(\w+)$", rf"\g<1>\g<2>_c{n}", path.read_text(), count=1, flags=re.M)
        text = re.sub(r"^(  - name: |    name: )(\w+)$", rf"\g<1>\g<2>_c{n}", text, flags=re.M)
        path.with_name(f"copy_{n}.yaml").write_text(text)
    return op


@pytest.mark.parametrize("seed", [1, 2])
def test_random_edits_give_the_same_artifacts_as_a_full_compile(tmp_path: Path, cache_dir: Path,
                                                                 runs: list[tuple[str, ...]], seed: int) -> None:
    root = gen.generate(150, tmp_path / "repo", seed=seed).root
    assert _compare(root, "dev") > 0
    total = len(runs)
    assert total > 50
    runs.clear()
    assert _compare(root, "dev") > 0
    assert runs == []  # nothing changed: every unit reused
    rng = random.Random(seed)
    done, reused_somewhere = [], False
    for _ in range(40):
        before = _tree(root)
        op = _edit(root, rng)
        if _tree(root) == before:
            continue  # the edit found nothing to change
        runs.clear()
        env = rng.choice(["dev", "dev", "prod", "staging"])
        if _compare(root, env) < 0:  # the edit made the specs invalid, so there is nothing to plan: undo it
            _restore(root, before)
            continue
        done.append(op)
        reused_somewhere |= len(runs) < total // 2
    assert reused_somewhere, done
    assert len(done) >= 20 and len(set(done)) >= 12, done


def test_units_run_in_a_worker_process_give_the_same_artifacts(tmp_path: Path, cache_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 forks: list[int]) -> None:
    monkeypatch.setattr(incremental, "PARALLEL_MIN_UNITS", 2)
    monkeypatch.setenv("SPECOPS_JOBS", "2")
    root = gen.generate(80, tmp_path / "repo", seed=5).root
    assert _compare(root, "dev") > 0  # every unit stale: shared with a worker
    assert forks
    _sub(next((root / "specs" / "datasets").glob("*.yaml")), r"^(  description: ).*$", r"\g<1>Edited.")
    assert _compare(root, "dev") > 0


def test_plans_of_other_environments_keep_each_others_units(tmp_path: Path, cache_dir: Path,
                                                             runs: list[tuple[str, ...]]) -> None:
    root = gen.generate(60, tmp_path / "repo", seed=6).root
    for env in ("dev", "prod"):
        _compare(root, env)
    runs.clear()
    _compare(root, "dev")
    _compare(root, "prod")
    assert runs == []


def _tree(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "build" not in p.parts}


def _restore(root: Path, tree: dict[Path, bytes]) -> None:
    for path in set(_tree(root)) - set(tree):
        path.unlink()
    for path, content in tree.items():
        path.write_bytes(content)


def test_damaged_stored_results_are_recomputed(tmp_path: Path, cache_dir: Path, runs: list[tuple[str, ...]]) -> None:
    root = gen.generate(60, tmp_path / "repo", seed=4).root
    _compare(root, "dev")
    total = len(runs)
    buckets = sorted(p for p in cache_dir.rglob("units-*/[0-9][0-9]"))
    assert buckets
    for n, path in enumerate(buckets):
        if n % 3 == 0:
            path.write_bytes(b"\x00garbage")
        elif n % 3 == 1:
            path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    runs.clear()
    _compare(root, "dev")
    assert 0 < len(runs) < total  # the damaged ones ran again, the others did not
    (next(cache_dir.rglob("units-*")) / "nonce").write_text("zzzzzz")  # another nonce: every record is void
    runs.clear()
    _compare(root, "dev")
    assert len(runs) == total
    for damaged in ("a" * 70, "gh ij:", ""):  # not a nonce at all: replaced, and the files are still right
        (next(cache_dir.rglob("units-*")) / "nonce").write_text(damaged)
        _compare(root, "dev")
        _compare(root, "dev")


def test_a_view_refuses_what_it_cannot_record(churn) -> None:
    view = ProjectView(churn, Facts(churn, "?"), Trace(), Tags("gggggg"))
    with pytest.raises(UntrackedRead, match="may not read"):
        view.graph  # noqa: B018 - the read is the test
    with pytest.raises(UntrackedRead, match="may not read"):
        view.memo("something", lambda: 1)
    trace = Trace()
    view = ProjectView(churn, Facts(churn, "?"), trace, Tags("gggggg"))
    assert "churn" in view.models and view.datasets["customers"] is churn.datasets["customers"]
    assert [d.name for d in view.deployments.values()] == list(churn.deployments)
    assert ("res", "model.churn") in trace.reads and ("names", "deployment") in trace.reads
    tag = view.image_tag("train", "churn")
    assert len(tag) == len(churn.image_tag("train", "churn")) and tag.startswith("sha-gggggg")
    assert trace.tags == {("train", "churn")}


def test_an_untracked_read_falls_back_to_emitting_everything(tmp_path: Path, cache_dir: Path, churn,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a backend read what the view cannot record, a plan still gets every file, and stores nothing."""
    from compiler.emit import github

    def reads_the_graph(project):
        assert project.graph is not None
        return []

    monkeypatch.setattr(github, "_pr_file", reads_the_graph)
    full = compile_for_plan(churn, "dev")
    got = Speed.for_run(use_cache=True).compile_for_plan(churn, "dev")
    assert got.artifacts == full.artifacts and got.known_digests == {}
    assert not any(cache_dir.rglob("units-*/[0-9][0-9]"))


def test_the_example_repository(tmp_path: Path, cache_dir: Path, example_root: Path) -> None:
    root = Path(shutil.copytree(example_root, tmp_path / "churn", ignore=shutil.ignore_patterns(".specops", "build")))
    for env in ("dev", "prod", "dev"):
        assert _compare(root, env) > 0


def test_concurrent_plans_sharing_one_cache_agree_with_no_cache(tmp_path: Path, cache_dir: Path) -> None:
    """Plans run at the same time (cold, then warm after an edit) fill and read one cache folder: each gives
    what a plan without any cache gives, and no temporary file is left behind."""
    import json
    import subprocess
    import sys

    root = gen.generate(150, tmp_path / "repo", seed=7).root
    env = {**os.environ, "SPECOPS_CACHE_DIR": str(cache_dir)}

    def plan(name: str, *flags: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "compiler", "plan", str(root), "--env", name, "--format",
                                 "json", *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)

    def results(procs: list[subprocess.Popen]) -> list[dict]:
        out = []
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=300)
            assert proc.returncode == 0, stderr
            out.append(json.loads(stdout))
        return out

    envs = ["dev", "prod", "dev", "staging"]
    for _ in range(2):
        together = results([plan(name) for name in envs])
        alone = results([plan(name, "--no-cache") for name in envs])
        assert together == alone
        _sub(next((root / "specs" / "datasets").glob("*.yaml")), r"^(  description: ).*$", r"\g<1>Edited twice.")
    assert not [p for p in cache_dir.rglob(".tmp-*")]
