"""The per-file cache can only save work: with and without it, results are identical.

After edits, renames, deletions, a schema change or a tool-version change, a cached run must give
exactly what a cold run gives (diagnostics and the checked project's content).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import compiler
import compiler.cache as cache_module
from compiler.cache import Cache
from compiler.pipeline import check_repository
from compiler.plan.build import head_snapshots


def outcome(root: Path, use_cache: bool) -> tuple[list, dict | None]:
    project, diags = check_repository(root, use_cache=use_cache)
    found = [(d.code, d.file, d.line, d.col, d.message, d.hint) for d in diags]
    return found, (head_snapshots(project, None) if project else None)


def same_with_and_without(root: Path) -> None:
    cold = outcome(root, use_cache=False)
    assert outcome(root, use_cache=True) == cold  # fills or reuses the cache
    assert outcome(root, use_cache=True) == cold  # served from it


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SPECOPS_CACHE_DIR", str(folder))
    return folder


def test_the_cache_is_used_and_lives_outside_the_repository(repo, cache_dir: Path) -> None:
    root = repo()
    same_with_and_without(root)
    assert any(cache_dir.rglob("*")), "the cache was not written"
    assert not (root / ".specops").exists()


def test_edits_renames_and_deletions(repo, editor, cache_dir: Path) -> None:
    root = repo()
    same_with_and_without(root)
    ed = editor(root)
    ed.replace("specs/datasets/customers.yaml", "description: One row per customer account", "description: A row per account")
    same_with_and_without(root)
    # a breaking edit: the same path, other bytes
    ed.replace("specs/models/churn.yaml", "target: churned", "target: churnd")
    same_with_and_without(root)
    ed.replace("specs/models/churn.yaml", "target: churnd", "target: churned")
    # a rename: the same bytes at another path
    (root / "specs/models/churn.yaml").rename(root / "specs/models/renamed.yaml")
    same_with_and_without(root)
    # a deletion (the deployments then refer to a missing model)
    (root / "specs/models/renamed.yaml").unlink()
    same_with_and_without(root)


def test_a_file_moved_between_files_and_back(repo, cache_dir: Path) -> None:
    root = repo()
    a, b = root / "specs/datasets/customers.yaml", root / "specs/datasets/daily_kpis.yaml"
    text_a, text_b = a.read_text(), b.read_text()
    same_with_and_without(root)
    a.write_text(text_b.replace("name: daily_kpis", "name: customers"))  # other content, same path
    b.write_text(text_a.replace("name: customers", "name: daily_kpis"))
    same_with_and_without(root)
    a.write_text(text_a)
    b.write_text(text_b)
    same_with_and_without(root)


def test_a_schema_change_starts_a_new_cache(repo, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = repo()
    same_with_and_without(root)
    first = {p.name for p in cache_dir.iterdir()}
    monkeypatch.setattr("compiler.pipeline.schema_digest", lambda: "0" * 64)
    same_with_and_without(root)
    assert {p.name for p in cache_dir.iterdir()} - first, "a new schema digest must use a new cache folder"


def test_a_tool_version_change_starts_a_new_cache(repo, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = repo()
    same_with_and_without(root)
    first = {p.name for p in cache_dir.iterdir()}
    monkeypatch.setattr(cache_module, "__version__", compiler.__version__ + ".post1")
    same_with_and_without(root)
    assert {p.name for p in cache_dir.iterdir()} - first


def test_corrupt_or_truncated_entries_are_misses(repo, cache_dir: Path) -> None:
    root = repo()
    same_with_and_without(root)
    entries = [p for p in cache_dir.rglob("*") if p.is_file()]
    for i, entry in enumerate(entries):
        entry.write_bytes(b"" if i % 2 else b"\x80\x05garbage")
    same_with_and_without(root)


def test_a_disabled_cache_writes_nothing(tmp_path: Path) -> None:
    cache = Cache.disabled()
    cache.put_bytes("k" * 64, b"x")
    assert cache.get_bytes("k" * 64) is None


def test_plan_with_and_without_cache_match(repo, runner, cache_dir: Path) -> None:
    from compiler.cli import main

    root = repo()
    args = ["plan", str(root), "--env", "dev", "--format", "json"]
    cold = runner.invoke(main, [*args, "--no-cache"])
    warm = runner.invoke(main, args)
    again = runner.invoke(main, args)
    assert cold.exit_code == warm.exit_code == again.exit_code == 0, cold.output
    assert json.loads(cold.output) == json.loads(warm.output) == json.loads(again.output)
