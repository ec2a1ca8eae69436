"""docs/spec.md, the language reference, cannot drift from the schemas: its field tables are the ones
generated from them (so no field is undocumented and no documented field is missing), and its examples are
valid, one kind at a time and all together as a repository. Also schemas/specops.schema.json, the one schema
for every kind that editors use: generated from the kinds' schemas, and it accepts each kind's example and
rejects wrong kinds and fields with a useful error."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from compiler.cli.main import main
from compiler.front.check import check_repository
from compiler.front.reference import UndocumentedField, fields, fill_tables, kinds_with_tables
from compiler.front.schema_bundle import BUNDLE_FILE, bundle_text
from compiler.front.schemas import load_schemas
from compiler.shipped import data_dir
from compiler.spec.kinds import KINDS

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_DOC = REPO_ROOT / "docs" / "spec.md"
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```$", re.S | re.M)


def _schemas() -> dict:
    return load_schemas().schemas


def _examples() -> list[dict]:
    docs = []
    for block in YAML_BLOCK.findall(SPEC_DOC.read_text(encoding="utf-8")):
        docs.extend(d for d in yaml.safe_load_all(block) if d is not None)
    return docs


def _bundle_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((data_dir("schemas") / BUNDLE_FILE).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


# --------------------------------------------------------------------------- the tables


def test_generated_files_are_up_to_date():
    spec = importlib.util.spec_from_file_location("generate_reference", REPO_ROOT / "scripts" / "generate_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stale = [path.relative_to(REPO_ROOT).as_posix() for path, text in module.expected().items()
             if path.read_text(encoding="utf-8") != text]
    assert stale == [], f"{stale} out of date: run .venv/bin/python scripts/generate_reference.py"


def test_every_kind_has_its_table():
    assert sorted(kinds_with_tables(SPEC_DOC.read_text(encoding="utf-8"))) == sorted(KINDS)


def test_the_tables_name_every_field_of_the_schemas():
    text = SPEC_DOC.read_text(encoding="utf-8")
    for kind, schema in _schemas().items():
        for f in fields(schema):
            assert f"| `{f.path}`" in text, f"{kind}: {f.path} is not documented in docs/spec.md"
    # a few fields SPEC.md names, found where the reader looks for them
    for path in ("spec.source.delimiter", "spec.checks[].threshold.max_failure_percent", "spec.registry.name",
                 "spec.resources.requests.ephemeral_storage", "spec.warehouse.keyfile_env"):
        assert f"| `{path}`" in text


def test_a_field_added_to_a_schema_without_a_description_is_refused():
    schema = copy.deepcopy(_schemas()["Dataset"])
    schema["properties"]["spec"]["properties"]["owner_team"] = {"type": "string"}
    with pytest.raises(UndocumentedField, match=r"spec\.owner_team"):
        fields(schema)


@pytest.mark.parametrize("change", ["added", "removed"])
def test_the_doc_check_fails_when_a_schema_field_changes(change):
    text = SPEC_DOC.read_text(encoding="utf-8")
    schemas = copy.deepcopy(_schemas())
    spec = schemas["Transform"]["properties"]["spec"]["properties"]
    if change == "added":
        spec["retries"] = {"type": "integer", "description": "How often a failed run is retried."}
    else:
        del spec["schedule"]
    assert fill_tables(text, schemas) != text  # the committed page no longer matches: the test above fails


# --------------------------------------------------------------------------- the examples


def test_the_examples_cover_every_kind():
    assert {d["kind"] for d in _examples()} == set(KINDS)


def test_each_example_is_valid_against_its_kind():
    schemas = load_schemas()
    for doc in _examples():
        errors = list(schemas.validator(doc["kind"]).iter_errors(doc))
        assert errors == [], f"{doc['kind']} {doc['metadata']['name']}: {errors[0].message}"


def test_the_examples_together_are_a_valid_repository(tmp_path):
    # the envelope's example is a short orders_clean: the Dataset section's own, later, is the one kept
    docs = list({(d["kind"], d["metadata"]["name"]): d for d in _examples()}.values())
    project = next(d for d in docs if d["kind"] == "Project")
    rest = [d for d in docs if d["kind"] != "Project"]
    (tmp_path / "specops.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "all.yaml").write_text(yaml.safe_dump_all(rest, sort_keys=False))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text(
        "order_id,customer_id,email,status,amount,items,ordered_at\n1,1,a@example.com,placed,9.99,1,2026-01-01\n")
    (tmp_path / "training").mkdir()
    training = re.search(r"```python\n# training/returns.py\n(.*?)```", SPEC_DOC.read_text(encoding="utf-8"), re.S)
    assert training is not None
    (tmp_path / "training" / "returns.py").write_text(training.group(1))
    project_, diags = check_repository(tmp_path)
    assert [f"{d.file}:{d.line}: {d.message}" for d in diags] == []
    assert project_ is not None
    assert {r.PREFIX for r in project_.resources()} == {k for k in KINDS.values() if k != "project"}


# --------------------------------------------------------------------------- one schema for every kind


def test_the_bundle_is_generated_from_the_kinds_schemas():
    assert (data_dir("schemas") / BUNDLE_FILE).read_text(encoding="utf-8") == bundle_text(_schemas())


def test_the_bundle_accepts_every_example_and_a_file_mixing_kinds():
    validator = _bundle_validator()
    docs = _examples()
    for doc in docs:
        assert list(validator.iter_errors(doc)) == [], doc["kind"]
    # one file holding several kinds, as an editor sees it: every document checked on its own
    mixed = yaml.safe_dump_all(docs, sort_keys=False)
    assert all(not list(validator.iter_errors(d)) for d in yaml.safe_load_all(mixed))


def test_the_bundle_accepts_what_specops_accepts(example_root):
    validator = _bundle_validator()
    files = [example_root / "specops.yaml", *sorted((example_root / "specs").rglob("*.yaml"))]
    checked = 0
    for path in files:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert list(validator.iter_errors(doc)) == [], path
            checked += 1
    assert checked >= 19


def _errors(doc: dict) -> list[jsonschema.ValidationError]:
    return sorted(_bundle_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))


def test_a_wrong_kind_is_refused_naming_the_kinds():
    doc = {"apiVersion": "specops/v1", "kind": "Datset", "metadata": {"name": "x"}, "spec": {}}
    (error,) = _errors(doc)
    assert list(error.absolute_path) == ["kind"]
    assert "'Datset' is not one of ['Project', 'Environment', 'Dataset'" in error.message


def test_a_wrong_field_is_refused_at_its_place():
    doc = next(d for d in _examples() if d["kind"] == "Dataset")
    doc = copy.deepcopy(doc)
    doc["spec"]["colums"] = doc["spec"].pop("columns")
    messages = {(tuple(e.absolute_path), e.message) for e in _errors(doc)}
    assert (("spec",), "'columns' is a required property") in messages
    assert any(path == ("spec",) and "colums" in message for path, message in messages), messages


def test_a_field_of_another_kind_is_refused():
    doc = copy.deepcopy(next(d for d in _examples() if d["kind"] == "Transform"))
    doc["spec"]["task"] = "classification"  # a Model's field
    assert any("task" in e.message for e in _errors(doc))


def test_a_wrong_value_deep_inside_is_refused_with_its_path():
    doc = copy.deepcopy(next(d for d in _examples() if d["kind"] == "QualityRule"))
    doc["spec"]["checks"][3]["min"] = "zero"
    (error,) = _errors(doc)
    assert list(error.absolute_path) == ["spec", "checks", 3, "min"]
    assert "'zero' is not of type 'number'" in error.message


# --------------------------------------------------------------------------- the CLI and editors


def test_schema_any_prints_the_bundle(runner):
    result = runner.invoke(main, ["schema", "any"], catch_exceptions=False)
    assert result.exit_code == 0
    assert json.loads(result.output) == json.loads((data_dir("schemas") / BUNDLE_FILE).read_text())


def test_the_modeline_in_the_help_resolves_from_the_spec_file(runner, repo):
    """yaml-language-server resolves a modeline's relative path against the file that holds it."""
    root = repo()
    assert runner.invoke(main, ["schema", "--all", "--out", str(root / "schemas")]).exit_code == 0
    help_text = runner.invoke(main, ["schema", "--help"]).output
    (modeline,) = re.findall(r"# yaml-language-server: \$schema=(\S+)", help_text)
    spec_file = root / "specs" / "datasets" / "customers.yaml"
    assert (spec_file.parent / modeline).resolve() == (root / "schemas" / BUNDLE_FILE).resolve()
    settings = re.search(r'"yaml.schemas": (\{.*\})', help_text)
    assert settings is not None
    mapping = json.loads(settings.group(1))
    ((schema, globs),) = mapping.items()
    assert (root / schema).resolve() == (root / "schemas" / BUNDLE_FILE).resolve()
    assert any(p.match(g) for g in globs for p in [Path("specs/datasets/customers.yaml")])
