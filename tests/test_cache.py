"""The caches can only save work: with and without them, results are identical.

After edits, renames, deletions, a schema change or a tool-version change, a cached run must give
exactly what a cold run gives (diagnostics, the checked project's content and its digests).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import checked

import compiler
import compiler.speed.cache as cache_module
from compiler.front.documents import file_key
from compiler.front.schemas import schema_digest
from compiler.plan.scope import head_snapshots
from compiler.speed.cache import Cache


def outcome(root: Path, use_cache: bool) -> tuple[list, dict | None, dict | None]:
    """Diagnostics, the resources' snapshots (built from the IR), and their digests (with the cache:
    remembered ones where the digest cache has them)."""
    project, diags = checked(root, use_cache=use_cache)
    found = [(d.code, d.file, d.line, d.col, d.message, d.hint) for d in diags]
    if project is None:
        return found, None, None
    digests = {r.address: project.digest(r.address) for r in [project.project, *project.resources()]}
    return found, head_snapshots(project, None), {**digests, "spec_digest": project.spec_digest}


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


@pytest.mark.parametrize("change", ["schema", "version", "code"])
def test_a_schema_version_or_code_change_starts_a_new_cache(repo, cache_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                            change: str) -> None:
    """Another schema digest, tool version or digest of specops' own code: another cache folder."""
    root = repo()
    same_with_and_without(root)
    first = {p.name for p in cache_dir.iterdir()}
    if change == "schema":
        monkeypatch.setattr("compiler.front.schemas.schema_digest", lambda: "0" * 64)
    elif change == "version":
        monkeypatch.setattr(cache_module, "__version__", compiler.__version__ + ".post1")
    else:
        monkeypatch.setattr("compiler.speed.tooldigest.tool_digest", lambda: "1" * 64)
    same_with_and_without(root)
    assert {p.name for p in cache_dir.iterdir()} - first, f"a {change} change must use a new cache folder"


def test_corrupt_or_truncated_entries_are_misses(repo, cache_dir: Path) -> None:
    root = repo()
    same_with_and_without(root)
    entries = [p for p in cache_dir.rglob("*") if p.is_file()]
    for i, entry in enumerate(entries):
        entry.write_bytes(b"" if i % 2 else b"\x80\x05garbage")
    same_with_and_without(root)


def test_plan_with_and_without_cache_match(repo, runner, cache_dir: Path) -> None:
    from compiler.cli.main import main

    root = repo()
    args = ["plan", str(root), "--env", "dev", "--format", "json"]
    cold = runner.invoke(main, [*args, "--no-cache"])
    warm = runner.invoke(main, args)
    again = runner.invoke(main, args)
    assert cold.exit_code == warm.exit_code == again.exit_code == 0, cold.output
    assert json.loads(cold.output) == json.loads(warm.output) == json.loads(again.output)


# --------------------------------------------------------------------------- remembered digests


def test_remembered_digests_follow_every_input_of_a_resource(repo, editor, cache_dir: Path) -> None:
    """A digest is remembered by what its resource was built from; each kind of input must count."""
    root = repo()
    ed = editor(root)
    same_with_and_without(root)
    edits = [
        # files that specs name: the training script, a transform's SQL, a CSV source
        ("training/churn.py", "import", "import os  # edited\nimport"),
        ("sql/customer_activity.sql", "select", "select /* edited */"),
        ("data/customers.csv", "1001,", "1000001,"),
        # the model's registry alias, which the prod deployment (no alias of its own) serves
        ("specs/models/churn.yaml", "alias: champion", "alias: gold"),
        # formatting only: other fingerprints, the same digests
        ("specs/datasets/customers.yaml", "apiVersion", "# a comment\n\napiVersion"),
        # a document's place in its file: the two rules of sources.yaml swapped
        ("specs/quality/sources.yaml", "name: customers_checks", "name: tmp_checks"),
        ("specs/quality/sources.yaml", "name: subscriptions_checks", "name: customers_checks"),
        ("specs/quality/sources.yaml", "name: tmp_checks", "name: subscriptions_checks"),
    ]
    before = outcome(root, use_cache=True)[2]
    assert before is not None
    for rel, old, new in edits:
        ed.replace(rel, old, new)
        same_with_and_without(root)
    after = outcome(root, use_cache=True)[2]
    assert after is not None
    changed = {a for a in before if before[a] != after[a]}
    assert {"model.churn", "deployment.churn_api", "transform.build_customer_activity", "dataset.customers",
            "quality_rule.customers_checks", "quality_rule.subscriptions_checks"} <= changed
    assert "deployment.churn_api_dev" not in changed  # it names its alias itself


def test_a_warm_run_computes_no_digest_and_an_edit_only_its_own(repo, editor, cache_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import compiler.spec.snapshot as snapshot_module

    root = repo()
    outcome(root, use_cache=True)
    computed: list[dict] = []
    real = snapshot_module.snapshot_digest

    def counting(snap: dict) -> str:
        computed.append(snap)
        return real(snap)

    monkeypatch.setattr(snapshot_module, "snapshot_digest", counting)
    project, _ = checked(root, use_cache=True)
    assert project is not None and project.spec_digest
    assert computed == []
    editor(root).replace("specs/datasets/customers.yaml", "description: One row", "description: Edited, one row")
    project, _ = checked(root, use_cache=True)
    assert project is not None and project.spec_digest
    assert [s["metadata"]["name"] for s in computed] == ["customers"]


def test_caches_of_other_specops_code_are_pruned(repo, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each edit of specops starts a new cache folder; only the most recently used few are kept."""
    import os

    root = repo()
    made = []
    for n in range(6):
        monkeypatch.setattr("compiler.speed.tooldigest.tool_digest", lambda n=n: f"{n}" * 64)
        same_with_and_without(root)
        made.append(next(p for p in cache_dir.iterdir() if p.name not in {m.name for m in made}))
        os.utime(made[-1], (1000 + n, 1000 + n))  # older than what comes next, whatever the clock
    kept = sorted(p.name for p in cache_dir.iterdir())
    assert len(kept) == cache_module.KEEP
    assert kept == sorted(p.name for p in made[-cache_module.KEEP:])


def test_a_cache_folder_that_cannot_be_written_only_costs_speed(repo, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cache (files, digests, plan units, state summary) behind a path that is a file: plan still works."""
    from click.testing import CliRunner

    from compiler.cli.main import main

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("SPECOPS_CACHE_DIR", str(blocker / "cache"))
    root = repo()
    args = ["plan", str(root), "--env", "dev", "--format", "json"]
    cached = CliRunner().invoke(main, args, catch_exceptions=False)
    plain = CliRunner().invoke(main, [*args, "--no-cache"], catch_exceptions=False)
    assert cached.exit_code == plain.exit_code == 0, cached.output
    assert json.loads(cached.output) == json.loads(plain.output)
    assert blocker.read_text() == "x"


def test_an_entry_copied_under_another_key_is_a_miss(repo, editor, cache_dir: Path) -> None:
    """An entry carries its own key: the old bytes' entry put where the new bytes' belongs is not used."""
    rel = "specs/models/churn.yaml"
    root = repo()
    cache = Cache.open(schema_digest())
    assert cache is not None

    def entry() -> Path:
        return cache.folder / Cache.entry_name(file_key(rel, (root / rel).read_bytes()))

    same_with_and_without(root)
    old = entry().read_bytes()
    editor(root).replace(rel, "alias: champion", "alias: gold")
    same_with_and_without(root)
    entry().write_bytes(old)
    same_with_and_without(root)


def test_the_cache_key_is_made_whole_and_a_damaged_one_of_the_users_is_made_again(tmp_path: Path) -> None:
    """A full disk left an empty key file: every later run used no cache, silently, even after space was freed."""
    import os

    from compiler.speed.cache import KEY_SIZE, user_key

    path = tmp_path / "config" / "cache.key"
    key = user_key(path)
    assert key is not None and len(key) == KEY_SIZE and user_key(path) == key
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["cache.key"]  # no temporary file left
    path.write_bytes(b"")  # cut short
    again = user_key(path)
    assert again is not None and len(again) == KEY_SIZE and again != key
    path.chmod(0o644)  # readable by others: never used, never replaced
    assert user_key(path) is None and path.read_bytes() == again
