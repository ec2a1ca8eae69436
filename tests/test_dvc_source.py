"""A dvc source end to end, with the real dvc and a local DVC remote in a temporary folder: apply fetches the
version the .dvc file pins and lands it, dbt builds on it, a new version is new data in the plan (non-breaking,
reload, the consumers rebuilt), the working tree is never touched, and another repository is read at a rev."""

from __future__ import annotations

from pathlib import Path

import pytest
from landing_support import dataset, dvc_path, git, ok, query, run, specops, transform, write_repo

pytestmark = pytest.mark.slow

V1 = "code,name,population\nFR,France,68000000\nBE,Belgium,11800000\nDE,Germany,84000000\n"
V2 = V1 + "IT,Italy,59000000\n"
COLUMNS = [{"name": "code", "type": "string", "required": True, "unique": True},
           {"name": "name", "type": "string"}, {"name": "population", "type": "bigint"}]


def _dvc(root: Path, *args: str) -> str:
    return run(root, dvc_path(), *args)


def _specs(source: dict) -> list[dict]:
    return [
        dataset("countries", source, COLUMNS),
        dataset("big_countries", None, [{"name": "code", "type": "string"}, {"name": "population", "type": "bigint"}]),
        transform("build_big_countries", ["countries"], "big_countries",
                  "select code, population from {{ input('countries') }} where population > 50000000"),
    ]


def _new_version(root: Path, content: str, message: str) -> None:
    """What a data engineer does: write the file, dvc add, dvc push, commit the .dvc file."""
    (root / "data" / "countries.csv").write_text(content, encoding="utf-8")
    _dvc(root, "add", "-q", "data/countries.csv")
    _dvc(root, "push", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git + DVC repository whose data lives only in its local remote (no cache, no workspace copy)."""
    root = write_repo(tmp_path / "repo", _specs({"type": "dvc", "path": "data/countries.csv", "remote": "storage"}))
    git(root, "init", "-q", "-b", "main")
    _dvc(root, "init", "-q")
    _dvc(root, "remote", "add", "-d", "storage", str(tmp_path / "remote"))
    (root / "data").mkdir()
    _new_version(root, V1, "v1")
    run(root, "rm", "-rf", ".dvc/cache", "data/countries.csv")
    return root


def test_apply_fetches_the_pinned_version_and_dbt_builds_on_it(repo: Path):
    out = ok(repo, "apply", "--env", "dev", "--yes", SPECOPS_DVC=dvc_path())
    assert "-> land dataset.countries" in out and "landed 3 rows of data/countries.csv (md5 " in out
    assert query(repo, "select code from landing.countries order by 1") == [("BE",), ("DE",), ("FR",)]
    assert query(repo, "select code from main.big_countries order by 1") == [("DE",), ("FR",)]
    assert not (repo / "data" / "countries.csv").exists()  # the working tree is not touched: no checkout
    assert "dbt build (everything)" in out and "Apply to 'dev': 2 done, 0 failed" in out


def test_a_new_version_is_new_data_in_the_plan_and_apply_lands_it(repo: Path, tmp_path: Path):
    ok(repo, "apply", "--env", "dev", "--yes", SPECOPS_DVC=dvc_path())
    _new_version(repo, V2, "v2")
    run(repo, "rm", "-rf", ".dvc/cache", "data/countries.csv")
    import json

    plan = json.loads(ok(repo, "plan", "--env", "dev", "--format", "json"))
    (change,) = plan["resource_changes"]
    assert (change["address"], change["action"], change["category"]) == ("dataset.countries", "update",
                                                                          "non-breaking")
    paths = {c["path"]: c["category"] for c in change["change"]["attributes"]}
    assert paths["spec.source.dvc.md5"] == "non-breaking"
    impacts = {i["address"]: i for i in plan["impact"]["items"]}
    assert impacts["dataset.countries"]["work"] == "reload"
    rebuild = impacts["transform.build_big_countries"]
    assert rebuild["work"] == "rebuild" and rebuild["category"] == "non-breaking"
    assert rebuild["steps"][0] == "dataset.countries (data)"
    text = ok(repo, "plan", "--env", "dev")
    assert "spec.source.dvc.md5" in text and "dataset.countries (data) ~ non-breaking" in text

    out = ok(repo, "apply", "--env", "dev", "--yes", SPECOPS_DVC=dvc_path())
    assert "dbt build --select big_countries source:landing.countries" in out
    assert query(repo, "select count(*) from landing.countries") == [(4,)]
    assert query(repo, "select code from main.big_countries order by 1") == [("DE",), ("FR",), ("IT",)]
    assert "No changes" in ok(repo, "plan", "--env", "dev") or '"resource_changes": []' in ok(
        repo, "plan", "--env", "dev", "--format", "json")


def test_the_remote_is_metadata_and_a_missing_version_fails_clearly(repo: Path, tmp_path: Path):
    """Another remote holds the same bytes: no data work. A version nobody pushed fails the landing, downstream
    work is skipped, and it stays pending."""
    ok(repo, "apply", "--env", "dev", "--yes", SPECOPS_DVC=dvc_path())
    spec = repo / "specs" / "all.yaml"
    spec.write_text(spec.read_text().replace("remote: storage", "remote: backup"), encoding="utf-8")
    import json

    plan = json.loads(ok(repo, "plan", "--env", "dev", "--format", "json"))
    assert [(c["address"], c["category"]) for c in plan["resource_changes"]] == [("dataset.countries", "metadata")]
    assert plan["impact"]["items"] == []
    spec.write_text(spec.read_text().replace("remote: backup", "remote: storage"), encoding="utf-8")

    (repo / "data" / "countries.csv").write_text(V2, encoding="utf-8")
    _dvc(repo, "add", "-q", "data/countries.csv")  # added, never pushed
    run(repo, "rm", "-rf", ".dvc/cache", "data/countries.csv")
    proc = specops(repo, "apply", "--env", "dev", "--yes", SPECOPS_DVC=dvc_path())
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "FAILED   dataset.countries: version " in out and "is neither in the DVC cache nor in remote 'storage'" in out
    assert "SKIPPED  transform.build_big_countries: upstream dataset.countries failed" in out
    assert "Traceback" not in out
    assert query(repo, "select count(*) from landing.countries") == [(3,)]  # the old version stays


def test_dvc_missing_is_a_clear_failure(repo: Path):
    proc = specops(repo, "land", "countries", "--env", "dev", SPECOPS_DVC="/nonexistent/dvc", PATH="/usr/bin:/bin")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "SPECOPS_DVC=/nonexistent/dvc is not an executable" in out
    assert "Traceback" not in out


def test_another_repository_at_a_rev(repo: Path, tmp_path: Path):
    """repo + rev: `dvc get` reads the registry at that revision; the plan sees a new rev as new data."""
    git(repo, "tag", "v1")
    _new_version(repo, V2, "v2")
    git(repo, "tag", "v2")
    consumer = write_repo(tmp_path / "consumer", _specs({"type": "dvc", "path": "data/countries.csv",
                                                         "repo": f"file://{repo}", "rev": "v1"}))
    git(consumer, "init", "-q", "-b", "main")
    out = ok(consumer, "apply", "--env", "dev", "--yes", SPECOPS_DVC=dvc_path())
    assert f"landed 3 rows of data/countries.csv (rev v1 of file://{repo})" in out
    spec = consumer / "specs" / "all.yaml"
    spec.write_text(spec.read_text().replace("rev: v1", "rev: v2"), encoding="utf-8")
    import json

    plan = json.loads(ok(consumer, "plan", "--env", "dev", "--format", "json"))
    impacts = {i["address"]: i for i in plan["impact"]["items"]}
    assert impacts["dataset.countries"]["work"] == "reload"
    assert impacts["transform.build_big_countries"]["steps"][0] == "dataset.countries (data)"
    ok(consumer, "apply", "--env", "dev", "--yes", SPECOPS_DVC=dvc_path())
    assert query(consumer, "select count(*) from landing.countries") == [(4,)]
