"""Planted cache entries (issue #18 items 2 and 3): a cache can only save work, never run code or change a result.

The threat: someone who can write to the cache folder (a shared machine, a cache restored from elsewhere)
but cannot read the user's key plants entries. Every kind of entry is tried: the per-file parse results
(a pickle payload that would run code, a marshal payload that decodes to other specs), the resource
digests (a changed resource's fingerprint mapped to its old digest, which hid the change: "No changes"),
the plan's unit results and the state summary. Each is a miss: plan gives what it gives without a cache,
and nothing is executed. Someone who can read the key can mislead `plan` (a preview) but not `apply`,
which reads no cache at all (docs/state.md, "What the caches guarantee").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import marshal
import os
import pickle
import secrets
from pathlib import Path

import pytest
from apply_support import record_applied
from click.testing import CliRunner
from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

from compiler.cli.main import main
from compiler.front.documents import FileOutcome, file_key
from compiler.front.schemas import schema_digest
from compiler.speed.cache import MAGIC, Cache

MODEL = "specs/models/churn.yaml"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example applied to dev, then its model's params changed (retrain + rollout due); a cache and key
    of its own."""
    monkeypatch.setenv("SPECOPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SPECOPS_KEY_FILE", str(tmp_path / "config" / "cache.key"))
    repo = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    record_applied(repo, "dev")
    RepoEditor(repo).replace(MODEL, "C: 1.0", "C: 0.5")
    return repo


def cli(*args: str):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def plan(root: Path, *flags: str) -> dict:
    result = cli("plan", str(root), "--env", "dev", "--format", "json", *flags)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def truth(root: Path) -> dict:
    return plan(root, "--no-cache")


def the_cache() -> Cache:
    cache = Cache.open(schema_digest())
    assert cache is not None
    return cache


def user_key() -> bytes:
    the_cache()  # made on first use
    return Path(os.environ["SPECOPS_KEY_FILE"]).read_bytes()


def plant(name: str, payload: bytes, key: bytes | None) -> Path:
    """An entry as the cache writes it, signed with `key` (None: a key of the attacker's own)."""
    key = key if key is not None else secrets.token_bytes(32)
    mac = hmac.new(key, name.encode() + b"\0" + payload, hashlib.sha256).digest()
    path = the_cache().folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(MAGIC + mac + payload)
    return path


def shows_the_change(data: dict) -> bool:
    return ("model.churn" in {c["address"] for c in data["resource_changes"]}
            and data["impact"]["retrain"] == ["model.churn"])


def apply_preview(root: Path) -> str:
    """What apply would do (it prints its plan, then refuses: no --yes and no terminal)."""
    result = cli("apply", str(root), "--env", "dev")
    assert result.exit_code == 1 and "refusing to apply without confirmation" in result.output, result.output
    return result.output


# --------------------------------------------------------------------------- per-file entries


class RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("framing", ["bare", "unsigned", "signed"])
def test_a_pickle_payload_in_a_file_entry_is_never_executed(root, tmp_path, monkeypatch, framing):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(RunsCode(marker))
    assert not marker.exists()
    expected = truth(root)
    for rel in ["specops.yaml", *(p.relative_to(root).as_posix() for p in (root / "specs").rglob("*.yaml"))]:
        name = Cache.entry_name(file_key(rel, (root / rel).read_bytes()))
        if framing == "bare":  # an entry of the old, unsigned format
            path = the_cache().folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(payload)
        else:  # even signed with the user's key: payloads are decoded with marshal, which runs nothing
            plant(name, payload, user_key() if framing == "signed" else None)
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("a cache entry reached pickle"))
    assert plan(root) == expected
    assert not marker.exists()


def test_a_file_entry_that_decodes_to_other_specs_is_a_miss(root):
    """A well-formed entry (marshal, the right shape) for the model's file, saying C is 99."""
    from compiler.front.check import check_file
    from compiler.speed.codec import encode_outcome

    expected = truth(root)
    raw = (root / MODEL).read_bytes()
    other = raw.replace(b"C: 0.5", b"C: 99.0")
    forged = encode_outcome(FileOutcome(MODEL, found=check_file(MODEL, other), key=file_key(MODEL, raw)))
    assert forged is not None
    name = Cache.entry_name(file_key(MODEL, raw))
    plant(name, forged, None)
    assert plan(root) == expected
    assert "99.0" not in json.dumps(plan(root))

    plant(name, forged, user_key())  # someone who can read the key misleads plan ...
    fooled = plan(root)
    assert "99.0" in json.dumps(fooled)
    assert "99.0" not in apply_preview(root)  # ... but not apply: it reads no cache


# --------------------------------------------------------------------------- remembered digests


def forged_digests(root: Path) -> tuple[str, bytes]:
    """The digest entry of this repository, saying every resource (the changed model included) has the digest
    of its applied snapshot: the change would look like no change."""
    from compiler.apply.state import load_state
    from compiler.front.check import require_project
    from compiler.spec.snapshot import snapshot_digest
    from compiler.speed.digests import entry_name

    project = require_project(root)
    applied = {a: snapshot_digest(s) for a, s in load_state(root, "dev").resources.items()}
    mapping = {fp: applied[a] for a, fp in project.fingerprints.items() if a in applied}
    assert project.fingerprints["model.churn"] in mapping
    return entry_name(project), marshal.dumps(mapping)


def test_a_digest_entry_mapping_a_change_to_the_old_digest_is_a_miss(root):
    expected = truth(root)
    assert shows_the_change(expected)
    name, payload = forged_digests(root)
    plant(name, payload, None)
    assert plan(root) == expected

    # an unsigned entry in the old format (marshal only) too
    (the_cache().folder / name).write_bytes(payload)
    assert plan(root) == expected


def test_a_signed_digest_entry_misleads_plan_but_not_apply(root):
    """The threat model's edge: with the user's key, plan can be fooled; apply acts on what it computes."""
    name, payload = forged_digests(root)
    plant(name, payload, user_key())
    result = cli("plan", str(root), "--env", "dev")
    assert "retrain  model.churn" not in result.output  # plan is a preview: it trusts the user's own cache
    preview = apply_preview(root)
    assert "retrain  model.churn" in preview and "~ model.churn" in preview


# --------------------------------------------------------------------------- the state summary


def forged_summary(root: Path) -> tuple[str, bytes]:
    """The summary entry for the state file's exact bytes, with the model's applied snapshot replaced by the
    changed one: the change would look applied."""
    from compiler.apply.state import load_state, read_state_bytes
    from compiler.front.check import require_project
    from compiler.plan.baseline import summarize

    raw = read_state_bytes(root, "dev")
    assert raw is not None
    state = load_state(root, "dev")
    project = require_project(root)
    state.resources["model.churn"] = project.models["churn"].snapshot
    name = "state-" + hashlib.sha256(f"{root.resolve()}\0dev".encode()).hexdigest()[:32]
    return name, marshal.dumps((hashlib.sha256(raw).hexdigest(), summarize(state)))


def test_a_state_summary_entry_is_a_miss(root):
    expected = truth(root)
    name, payload = forged_summary(root)
    plant(name, payload, None)
    assert plan(root) == expected


def test_a_signed_state_summary_misleads_plan_but_not_apply(root):
    name, payload = forged_summary(root)
    plant(name, payload, user_key())
    assert not shows_the_change(plan(root))
    assert "retrain  model.churn" in apply_preview(root)


# --------------------------------------------------------------------------- the plan's unit results


def forged_units(root: Path, key: bytes | None) -> list[Path]:
    """Every unit bucket of this repository rewritten: each stored file's content replaced (reads kept, so
    the records look valid), under the nonce the store uses."""
    from compiler.speed.unitstore import BUCKETS, store_name

    plan(root)  # fill the store
    cache = the_cache()
    folder = store_name(root.resolve())
    nonce = cache.read(f"{folder}/nonce")
    assert nonce is not None
    planted = []
    for n in range(BUCKETS):
        payload = cache.read(f"{folder}/{n:02d}")
        if payload is None:
            continue
        stored_nonce, records = marshal.loads(payload)
        changed = {k: (reads, used, tuple((p, b"# forged\n" + c, o, b, hashlib.sha256(b"# forged\n" + c).hexdigest())
                                          for p, c, o, b, _ in made)) for k, (reads, used, made) in records.items()}
        planted.append(plant(f"{folder}/{n:02d}", marshal.dumps((stored_nonce, changed)), key))
    assert planted
    return planted


def test_unit_entries_are_misses(root):
    expected = truth(root)
    forged_units(root, None)
    assert plan(root) == expected


def test_signed_unit_entries_mislead_plan_but_not_apply(root):
    forged_units(root, user_key())
    assert "# forged" in json.dumps(plan(root))
    assert "# forged" not in apply_preview(root)


# --------------------------------------------------------------------------- apply reads no cache


def test_apply_reads_no_cache_entry(root, monkeypatch):
    cli("plan", str(root), "--env", "dev")  # every cache filled
    monkeypatch.setattr(Cache, "read", lambda *a: pytest.fail("apply read a cache entry"))
    monkeypatch.setattr(Cache, "write", lambda *a: pytest.fail("apply wrote a cache entry"))
    assert "retrain  model.churn" in apply_preview(root)
