"""The benchmark's synthetic repository generator (bench/generate.py).

What it writes must validate and compile cleanly (a benchmark of a failing run measures nothing),
look like the mix it promises, and be a pure function of (N, seed).
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest

from compiler.emit.compile import compile_project
from compiler.front.check import check_repository
from compiler.spec.project import SpecProject

REPO_ROOT = Path(__file__).resolve().parent.parent


def _load_generator():
    spec = importlib.util.spec_from_file_location("bench_generate", REPO_ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_generate", module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _checked(root: Path) -> SpecProject:
    project, diags = check_repository(root)
    shown = "\n".join(f"{d.file}:{d.line}:{d.col} {d.code} {d.message}" for d in diags[:20])
    assert project is not None, f"generated repository is invalid:\n{shown}"
    assert not diags, f"generated repository has warnings:\n{shown}"
    return project


@pytest.mark.parametrize("n", [60, 300], ids=["n60", "n300"])
def test_generated_repository_validates_and_compiles(tmp_path: Path, n: int) -> None:
    repo = gen.generate(n, tmp_path / "repo", seed=7)
    project = _checked(repo.root)

    kinds = Counter(r.PREFIX for r in project.resources())
    assert sum(kinds.values()) == n
    assert dict(kinds) == {k: v for k, v in repo.counts.items() if v}
    # every produced dataset has exactly one transform; some datasets are external
    produced = [d for d in project.datasets.values() if not d.external]
    assert len(produced) == len(project.transforms) > 0
    assert len(project.datasets) > len(produced)
    assert project.models and project.deployments
    assert {d.environment for d in project.deployments.values()} <= set(project.environments)

    compiled = compile_project(project)
    keys = {a.key for a in compiled.artifacts}
    assert len(keys) == len(compiled.artifacts)
    assert any(a.path.startswith("dbt/models/") for a in compiled.artifacts)


def test_mix_and_shape(tmp_path: Path) -> None:
    repo = gen.generate(300, tmp_path / "repo", seed=3)
    counts = repo.counts
    rest = 300 - counts["environment"]
    assert 2 <= counts["environment"] <= 3
    assert abs(counts["dataset"] / rest - 0.35) < 0.02
    assert abs(counts["transform"] / rest - 0.25) < 0.02
    assert abs(counts["quality_rule"] / rest - 0.25) < 0.03
    assert repo.depth >= 5  # a deep DAG, not a star
    files = repo.files
    assert "specops.yaml" in files and "training/model.py" in files
    assert any(f.startswith("sql/") for f in files)
    # one document per spec file, under specs/<kind>/
    spec_files = [f for f in files if f.startswith("specs/")]
    assert len(spec_files) == 300
    for rel in spec_files:
        assert (repo.root / rel).read_text(encoding="utf-8").count("\napiVersion:") == 1


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = gen.generate(150, tmp_path / "a", seed=11)
    b = gen.generate(150, tmp_path / "b", seed=11)
    assert a.files == b.files
    assert _tree(a.root) == _tree(b.root)


def test_different_seeds_differ(tmp_path: Path) -> None:
    a = _tree(gen.generate(150, tmp_path / "a", seed=1).root)
    b = _tree(gen.generate(150, tmp_path / "b", seed=2).root)
    assert a != b


def test_refuses_to_replace_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ValueError, match="refusing"):
        gen.generate(60, tmp_path, seed=1)
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_too_small_is_rejected() -> None:
    with pytest.raises(ValueError):
        gen.plan_counts(5)
