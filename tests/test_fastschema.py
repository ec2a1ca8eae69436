"""compiler/front/fastschema.py: the fast validity check must never accept what jsonschema rejects.

(1) On every real document (the example and generated repositories) it agrees with jsonschema.
(2) On randomly broken copies of them it is sound (fast valid => jsonschema valid) and, since our
    schemas use only supported keywords, exact; SchemaSet.validate gives the same diagnostics as
    the jsonschema-only path.
(3) Unit cases for the JSON Schema corners: bool vs integer, 1.0 as an integer, JSON equality in
    enum/const/uniqueItems, unevaluatedProperties with if/then and $ref, not, oneOf of required.
"""

from __future__ import annotations

import copy
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE_ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from compiler.front.documents import Document
from compiler.front.fastschema import compile_schema, json_equal, json_unique
from compiler.front.schemas import SchemaSet, load_schemas
from compiler.front.yamlparse import ParsedDocument, parse_documents
from compiler.spec.kinds import KINDS

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = load_schemas()
JS_ONLY = SchemaSet(SCHEMAS.schemas)  # the path without the fast check


def js_valid(kind: str, data: Any) -> bool:
    return next(iter(SCHEMAS.validator(kind).iter_errors(data)), None) is None


def fast_valid(kind: str, data: Any) -> bool:
    return SCHEMAS.fast[kind](data)


def _documents(root: Path, files: list[Path]) -> list[tuple[str, str, Any]]:
    out = []
    for path in files:
        for i, parsed in enumerate(parse_documents(path.read_text(encoding="utf-8"))):
            data = parsed.data
            if isinstance(data, dict) and data.get("kind") in KINDS:
                out.append((f"{path.relative_to(root)}#{i}", data["kind"], data))
    return out


def _example_documents() -> list[tuple[str, str, Any]]:
    files = [*sorted((EXAMPLE_ROOT / "specs").rglob("*.yaml")), EXAMPLE_ROOT / "specops.yaml"]
    return _documents(EXAMPLE_ROOT, files)


def _generated_documents(out: Path, n: int, seed: int) -> list[tuple[str, str, Any]]:
    subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "generate.py"), "--n", str(n), "--out", str(out),
                    "--seed", str(seed)], check=True, capture_output=True, cwd=REPO_ROOT)
    files = sorted(p for p in out.rglob("*") if p.suffix in (".yaml", ".yml"))
    return _documents(out, files)


EXAMPLE_DOCS = _example_documents()


@pytest.fixture(scope="module")
def generated_docs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, Any]]:
    docs = []
    for seed in (1, 2):
        docs += _generated_documents(tmp_path_factory.mktemp(f"bench{seed}") / "repo", 300, seed)
    return docs


# --------------------------------------------------------------------------- (1) real documents


def test_every_kind_schema_compiles_without_undecided_constructs():
    assert set(SCHEMAS.fast) == set(KINDS)
    for kind, fast in SCHEMAS.fast.items():
        assert fast.unsupported == (), kind  # otherwise some valid documents would always fall back


def test_example_documents_agree_with_jsonschema():
    assert {kind for _, kind, _ in EXAMPLE_DOCS} == set(KINDS)
    for where, kind, data in EXAMPLE_DOCS:
        assert fast_valid(kind, data) == js_valid(kind, data), where
        assert fast_valid(kind, data), where  # the example is valid: the fast path must prove it


def test_generated_documents_agree_with_jsonschema(generated_docs):
    assert len(generated_docs) >= 500
    for where, kind, data in generated_docs:
        assert fast_valid(kind, data) == js_valid(kind, data), where
        assert fast_valid(kind, data), where


def test_validate_skips_jsonschema_for_valid_documents(monkeypatch):
    """A proven-valid document never reaches iter_errors; an invalid one still gets jsonschema's errors."""
    _, kind, data = next(d for d in EXAMPLE_DOCS if d[1] == "Dataset")
    doc = _document(kind, data)

    class Boom:
        def iter_errors(self, instance):
            raise AssertionError("iter_errors called for a valid document")
    with monkeypatch.context() as m:
        m.setitem(SCHEMAS._validators, kind, Boom())
        assert SCHEMAS.validate(doc) == []
    broken = copy.deepcopy(data)
    broken["spec"]["bogus_key"] = 1
    diags = SCHEMAS.validate(_document(kind, broken))
    assert diags and diags == JS_ONLY.validate(_document(kind, broken))
    assert any("bogus_key" in d.message for d in diags)


# --------------------------------------------------------------------------- (2) broken copies


def _enum_strings() -> list[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "enum" and isinstance(value, list):
                    found.update(v for v in value if isinstance(v, str))
                elif key == "const" and isinstance(value, str):
                    found.add(value)
                elif key not in ("examples", "default"):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(list(SCHEMAS.schemas.values()))
    return sorted(found)


ENUM_STRINGS = _enum_strings()
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from([0, 1, -1, 1.0, 0.0, 2.5, -0.5, 10**30, -10**30,
                                                                   2**63, 1e308, math.inf, -math.inf, math.nan]),
    st.floats(allow_nan=True, allow_infinity=True), st.just(""), st.text(max_size=8),
    st.sampled_from(ENUM_STRINGS),
)
VALUES = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=6), SCALARS, max_size=2),
    st.just([]), st.just({}),
)
UNKNOWN_KEYS = st.one_of(st.sampled_from(["bogus", "type", "name", "x-extra", "", "schema", "path", "uri", "sql"]),
                         st.text(max_size=6))


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.extend(_paths(value, (*prefix, i)))
    return out


def _at(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def mutated_documents(draw: st.DrawFn, docs: list[tuple[str, str, Any]]) -> tuple[str, str, Any]:
    where, kind, original = draw(st.sampled_from(docs))
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        node = _at(data, path)
        op = draw(st.sampled_from(["drop", "replace", "add", "enum", "list", "empty", "twin"]))
        if op == "drop" and isinstance(node, dict) and node:
            del node[draw(st.sampled_from(sorted(node)))]
        elif op == "add" and isinstance(node, dict):
            node[draw(UNKNOWN_KEYS)] = copy.deepcopy(draw(VALUES))  # st.just() values are shared
        elif op == "list" and isinstance(node, list) and node:
            choice = draw(st.sampled_from(["dup", "pop", "clear"]))
            if choice == "dup":
                node.append(copy.deepcopy(draw(st.sampled_from(node))))
            elif choice == "pop":
                node.pop(draw(st.integers(0, len(node) - 1)))
            else:
                node.clear()
        elif path:  # replace the value itself (not the root: validate only sees mappings there)
            parent = _at(data, path[:-1])
            if op == "twin":  # the same value under another JSON type: True <-> 1, 3 <-> 3.0, 7 <-> "7"
                parent[path[-1]] = _twin(node)
            elif op == "enum":
                parent[path[-1]] = draw(st.sampled_from(ENUM_STRINGS))
            elif op == "empty":
                parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(["", [], {}, None, 0])))
            else:
                parent[path[-1]] = copy.deepcopy(draw(VALUES))
        where += f" {op}@{path}"
    return where, kind, data


def _twin(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return float(value) if value not in (0, 1) else bool(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else str(value)
    if isinstance(value, str):
        return int(value) if value.isdigit() and value.isascii() else [value]
    return value


def _document(kind: str, data: Any) -> Document:
    return Document("x.yaml", 0, kind, "x", ParsedDocument(data, 1, 1, {}, {}))


def _check_sound(case: tuple[str, str, Any]) -> None:
    where, kind, data = case
    fast, slow = fast_valid(kind, data), js_valid(kind, data)
    if fast:
        assert slow, f"fast check accepted a document jsonschema rejects: {where}"
    # every keyword of our schemas is supported, so the answer is exact, not merely conservative
    assert fast == slow, where
    assert SCHEMAS.validate(_document(kind, data)) == JS_ONLY.validate(_document(kind, data)), where


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents(EXAMPLE_DOCS))
def test_mutated_example_documents_sound(case):
    _check_sound(case)


def test_mutated_generated_documents_sound(generated_docs):
    @settings(max_examples=300, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(mutated_documents(generated_docs))
    def run(case):
        _check_sound(case)
    run()


# --------------------------------------------------------------------------- (3) JSON Schema corners


def _agree(schema: dict, instance: Any, expected: bool) -> None:
    js = Draft202012Validator(schema).is_valid(instance)
    assert js == expected, f"test expectation wrong for {instance!r}"
    assert compile_schema(schema)(instance) == expected, instance


@pytest.mark.parametrize(("instance", "expected"), [
    (1, True), (1.0, True), (-3, True), (10**40, True), (True, False), (False, False), (1.5, False),
    ("1", False), (None, False), (math.inf, False), (math.nan, False),
])
def test_integer_type(instance, expected):
    _agree({"type": "integer"}, instance, expected)


@pytest.mark.parametrize(("instance", "expected"), [
    (1, True), (1.5, True), (math.nan, True), (True, False), ("1", False), (None, False),
])
def test_number_type(instance, expected):
    _agree({"type": "number"}, instance, expected)


def test_type_lists_and_null():
    schema = {"type": ["integer", "null"]}
    for instance, expected in [(None, True), (2, True), (2.0, True), (True, False), ("", False)]:
        _agree(schema, instance, expected)
    schema = {"type": ["string", "number", "boolean"]}
    for instance, expected in [("a", True), (1, True), (False, True), (None, False), ([], False), ({}, False)]:
        _agree(schema, instance, expected)


def test_bounds_apply_to_numbers_only_and_compare_exactly():
    schema = {"minimum": 1, "maximum": 10, "exclusiveMinimum": 0, "exclusiveMaximum": 10.5}
    for instance, expected in [(1, True), (0.999, False), (10, True), (10.2, False), (True, True), ("0", True),
                               (10**30, False), (math.nan, True), (-math.inf, False)]:
        _agree(schema, instance, expected)


def test_enum_and_const_use_json_equality():
    _agree({"enum": [1, "a"]}, 1.0, True)
    _agree({"enum": [1, "a"]}, True, False)
    _agree({"enum": [True]}, 1, False)
    _agree({"enum": ["a", "b"]}, "b", True)
    _agree({"enum": ["a", "b"]}, ["a"], False)
    _agree({"enum": [[1, "a"]]}, [1.0, "a"], True)
    _agree({"enum": [[1, "a"]]}, [True, "a"], False)
    _agree({"const": True}, 1, False)
    _agree({"const": True}, True, True)
    _agree({"const": 0}, False, False)
    _agree({"const": 0}, 0.0, True)
    _agree({"const": {"a": [1]}}, {"a": [1.0]}, True)
    _agree({"const": {"a": [1]}}, {"a": [True]}, False)
    _agree({"const": "x"}, "x", True)
    _agree({"const": None}, 0, False)


def test_unique_items_uses_json_equality():
    schema = {"uniqueItems": True}
    for instance, expected in [([1, True], True), ([0, False], True), ([1, 1.0], False), (["a", "a"], False),
                               ([{"a": 1}, {"a": 1}], False), ([{"a": 1}, {"a": True}], True),
                               ([[1], [True]], True), ([[1], [1.0]], False), ([None, None], False),
                               (["1", 1], True), ([], True)]:
        _agree(schema, instance, expected)
    assert json_unique(["a", "b"]) and not json_unique(["a", "a"])
    assert json_equal(1, 1.0) and not json_equal(True, 1) and not json_equal([0], [False])


def test_strings_search_patterns_and_count_code_points():
    _agree({"pattern": "b"}, "abc", True)  # re.search, not re.match
    _agree({"pattern": "^b"}, "abc", False)
    _agree({"pattern": "^a$"}, 3, True)  # only strings are checked
    _agree({"maxLength": 1}, "é", True)
    _agree({"maxLength": 1}, "😀", True)
    _agree({"minLength": 2}, "😀", False)
    _agree({"minLength": 1}, "", False)
    _agree({"minLength": 1}, [], True)


def test_objects_properties_required_additional():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
              "additionalProperties": {"type": "integer"}}
    for instance, expected in [({"a": "x"}, True), ({"a": 1}, False), ({}, False), ({"a": "x", "b": 2}, True),
                               ({"a": "x", "b": "2"}, False), ({"a": "x", "b": True}, False), ([], False)]:
        _agree(schema, instance, expected)
    schema = {"properties": {"a": {}}, "patternProperties": {"^x-": {"type": "string"}},
              "additionalProperties": False, "propertyNames": {"maxLength": 3}, "minProperties": 1,
              "maxProperties": 2}
    for instance, expected in [({"a": 1}, True), ({"x-a": "s"}, True), ({"x-a": 1}, False), ({"b": 1}, False),
                               ({}, False), ({"a": 1, "x-a": "", "x-b": ""}, False), ({"abcd": 1}, False),
                               ("not an object", True)]:
        _agree(schema, instance, expected)


UNION = {
    "type": "object",
    "properties": {"type": {"enum": ["file", "table"]}},
    "required": ["type"],
    "allOf": [
        {"if": {"properties": {"type": {"const": "file"}}, "required": ["type"]},
         "then": {"properties": {"path": {"type": "string"}}, "required": ["path"]}},
        {"if": {"properties": {"type": {"const": "table"}}, "required": ["type"]},
         "then": {"properties": {"table": {"type": "string"}}}},
        {"if": {"properties": {"type": {"const": "table"}}, "required": ["type"]},
         "then": {"properties": {"schema": {}}}},
    ],
    "unevaluatedProperties": False,
}


@pytest.mark.parametrize(("instance", "expected"), [
    ({"type": "file", "path": "a.csv"}, True),
    ({"type": "file", "path": 3}, False),
    ({"type": "file"}, False),
    ({"type": "file", "path": "a", "table": "t"}, False),  # table belongs to the other branch
    ({"type": "table", "table": "t", "schema": "s"}, True),
    ({"type": "table", "path": "a"}, False),
    ({"type": "table", "extra": 1}, False),
    ({"type": "other", "path": "a"}, False),
    ({"type": True}, False),
])
def test_unevaluated_properties_with_if_then(instance, expected):
    _agree(UNION, instance, expected)


def test_unevaluated_properties_through_ref_anyof_and_failed_branches():
    schema = {
        "$defs": {"base": {"properties": {"a": {"type": "integer"}}}},
        "$ref": "#/$defs/base",
        "anyOf": [{"properties": {"b": {"type": "string"}}, "required": ["b"]}, {"required": ["c"]}],
        "unevaluatedProperties": False,
    }
    for instance, expected in [({"a": 1, "b": "x"}, True), ({"b": "x"}, True), ({"a": "1", "b": "x"}, False),
                               ({"b": "x", "c": 1}, False), ({"c": 1}, False), ({"b": 1, "c": 1}, False),
                               ({"a": 1}, False), ({"b": "x", "d": 1}, False)]:
        _agree(schema, instance, expected)
    # a failed `if` contributes no evaluated keys; `else` does
    schema = {"if": {"properties": {"k": {"const": 1}}, "required": ["k"]},
              "then": {"properties": {"t": {}}}, "else": {"properties": {"e": {}, "k": {}}},
              "unevaluatedProperties": False}
    for instance, expected in [({"k": 1, "t": 0}, True), ({"k": 2, "e": 0}, True), ({"k": 2, "t": 0}, False),
                               ({"k": 1, "e": 0}, False)]:
        _agree(schema, instance, expected)
    # a schema-valued unevaluatedProperties
    schema = {"properties": {"a": {}}, "unevaluatedProperties": {"type": "integer"}}
    for instance, expected in [({"a": "x", "b": 1}, True), ({"b": "x"}, False), ({"b": True}, False)]:
        _agree(schema, instance, expected)


def test_ref_not_and_one_of_required():
    schema = {"$defs": {"name": {"type": "string", "pattern": "^[a-z]+$"}},
              "properties": {"n": {"$ref": "#/$defs/name", "not": {"const": "default"}}}}
    for instance, expected in [({"n": "abc"}, True), ({"n": "default"}, False), ({"n": "A"}, False),
                               ({"n": 1}, False), ({}, True)]:
        _agree(schema, instance, expected)
    schema = {"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}
    for instance, expected in [({"a": 1}, True), ({"b": 1}, True), ({"a": 1, "b": 1}, False), ({}, False),
                               ("string", False)]:  # a non-object satisfies both: oneOf fails
        _agree(schema, instance, expected)
    schema = {"not": {"type": "integer"}}
    for instance, expected in [(True, True), (1, False), (1.0, False), ("1", True)]:
        _agree(schema, instance, expected)
    schema = {"not": {"required": ["a", "b"]}}
    for instance, expected in [({"a": 1}, True), ({"a": 1, "b": 2}, False), ([], False)]:
        _agree(schema, instance, expected)


def test_items_and_array_bounds():
    schema = {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2, "uniqueItems": True}
    for instance, expected in [([1], True), ([1, 2.0], True), ([], False), ([1, 2, 3], False), ([1, True], False),
                               ([1, 1.0], False), ({"0": 1}, False)]:
        _agree(schema, instance, expected)
    _agree({"items": False}, [], True)
    _agree({"items": False}, [1], False)


def test_annotations_are_ignored_and_format_is_not_asserted():
    assert Draft202012Validator({}).format_checker is None  # what makes ignoring `format` right
    schema = {"title": "t", "description": "d", "markdownDescription": "m", "examples": [1], "default": 1,
              "$comment": "c", "deprecated": True, "readOnly": True, "format": "email", "type": "string"}
    _agree(schema, "not an email", True)
    assert compile_schema(schema).unsupported == ()


@pytest.mark.parametrize("schema", [
    {"dependentRequired": {"a": ["b"]}},
    {"not": {"contains": {"const": 1}}},  # undecided must not turn into True under `not`
    {"not": {"not": {"multipleOf": 3}}},
    {"oneOf": [{"prefixItems": [{}]}, {"type": "string"}]},
    {"if": {"unevaluatedItems": False}, "then": {}, "else": {}},
    {"$ref": "https://example.com/other.json"},
    {"$ref": "#/definitions/x", "definitions": {"x": {}}},
    {"allOf": [{"$id": "sub", "type": "integer"}]},
    {"type": "strnig"},
    {"type": None},
    {"type": [{}]},  # unhashable: must not crash the compiler
    {"pattern": "("},
    {"minLength": 1.5},
    {"unevaluatedProperties": False, "allOf": [{"dependentSchemas": {"a": {}}}]},
])
def test_unknown_constructs_are_never_accepted(schema):
    fast = compile_schema(schema)
    assert fast.unsupported
    for instance in [{}, {"a": 1}, [], [1], "s", 1, None]:
        assert fast(instance) is False


def test_undecided_branches_are_fine_when_not_reached():
    fast = compile_schema({"anyOf": [{"type": "string"}, {"contains": {}}]})
    assert fast("s") is True  # anyOf stops at the first valid branch, as jsonschema does
    assert fast([1]) is False  # would need `contains`: left to jsonschema
