"""Every dbt YAML file specops emits validates against dbt Labs' own JSON Schemas.

The schemas are dbt-labs/dbt-jsonschema's `latest` files, kept in the
repository's tests/thirdparty/dbt-jsonschema (a copy of ../shared/thirdparty).
dbt_project.yml is checked with dbt_project-latest.json, property files (models/*.yml,
seeds/*.yml, models/_sources.yml, tests/*.yml) with dbt_yml_files-latest.json. profiles.yml has
no published schema and is left out.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import EXAMPLE_ROOT, THIRDPARTY
from dbt_support import write_hostile_repo

SCHEMAS = THIRDPARTY / "dbt-jsonschema"
FIXTURES = Path(__file__).resolve().parent / "fixtures"



def _load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


@cache
def project_validator() -> jsonschema.protocols.Validator:
    schema = _load("dbt_project-latest.json")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _patch_known_gaps(schema: dict[str, Any]) -> dict[str, Any]:
    """Fill the one gap of the `latest` schema that specops output runs into.

    Seeds take model-level `data_tests` in dbt >= 1.8 (dbt-core parses them and the tests run, see
    test_dbt_build), but the schema only lists the old `tests` key for seeds:
    dbt-labs/dbt-jsonschema#142, fixed by the still open #201. We add `data_tests` with the same
    definition as `tests`; everything else is validated as published.
    """
    patched = copy.deepcopy(schema)
    seed = patched["properties"]["seeds"]["items"]["properties"]
    assert "data_tests" not in seed, "dbt-jsonschema now lists seeds[].data_tests: drop this patch"
    seed["data_tests"] = seed["tests"]
    return patched


@cache
def properties_validator() -> jsonschema.protocols.Validator:
    schema = _patch_known_gaps(_load("dbt_yml_files-latest.json"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _emitted_yaml(root: Path) -> dict[str, bytes]:
    """The YAML files the dbt backend emits for the repository at root (nothing is written)."""
    from compiler.emit.dbt import emit
    from compiler.front.check import require_project

    return {a.path: a.content for a in emit(require_project(root)) if a.path.endswith((".yml", ".yaml"))}


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("schema-hostile")
    write_hostile_repo(base / "repo", base / "we'ird{x}.csv")
    return base / "repo"


REPOS = {
    "churn": lambda request: EXAMPLE_ROOT,
    "dbt_defects": lambda request: FIXTURES / "dbt_defects",
    # sources (table with freshness, external), a delimited seed, singular-test properties
    "hostile": lambda request: request.getfixturevalue("hostile_root"),
}


def _errors(validator: jsonschema.protocols.Validator, data: Any) -> list[str]:
    return [f"{e.json_path}: {e.message[:300]}" for e in sorted(validator.iter_errors(data), key=str)]


@pytest.mark.parametrize("repo", sorted(REPOS))
def test_every_emitted_dbt_yaml_file_validates(repo: str, request: pytest.FixtureRequest) -> None:
    files = _emitted_yaml(REPOS[repo](request))
    assert "dbt/dbt_project.yml" in files
    checked = 0
    failures: dict[str, list[str]] = {}
    for path, content in sorted(files.items()):
        if path == "dbt/profiles.yml":
            continue
        validator = project_validator() if path == "dbt/dbt_project.yml" else properties_validator()
        errors = _errors(validator, yaml.safe_load(content))
        if errors:
            failures[path] = errors
        checked += 1
    assert not failures, json.dumps(failures, indent=2)
    assert checked >= 3


def test_the_sources_and_singular_test_files_were_covered(hostile_root: Path) -> None:
    files = _emitted_yaml(hostile_root)
    assert "dbt/models/_sources.yml" in files
    assert any(p.startswith("dbt/tests/") for p in files)
    assert any(p.startswith("dbt/seeds/") for p in files)


def test_the_validators_do_reject_wrong_files() -> None:
    """The schemas are strict enough to mean something."""
    assert _errors(project_validator(), {"name": "x", "config-version": 2, "not_a_key": 1})
    bad_model = {"version": 2, "models": [{"name": "m", "columns": [{"name": "c", "not_a_key": 1}], "typo": 1}]}
    assert _errors(properties_validator(), bad_model)
