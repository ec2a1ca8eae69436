"""The YAML loader: values, source positions, and every way a YAML text can be refused."""

from __future__ import annotations

import pickle
import time

import pytest

from compiler.front import yamlparse as yamlload
from compiler.front.yamlparse import YamlError, parse_documents


def one(text: str):
    docs = parse_documents(text)
    assert len(docs) == 1
    return docs[0]


def refused(text: str) -> YamlError:
    with pytest.raises(YamlError) as info:
        parse_documents(text)
    err = info.value
    assert err.line >= 1 and err.col >= 1
    return err


# --------------------------------------------------------------------------- values and positions


def test_plain_values_and_types():
    doc = one(
        "s: text\n"
        "i: 42\n"
        "f: 1.5\n"
        "b: true\n"
        "n: null\n"
        "q: '007'\n"
        "d: 2024-01-31\n"
        "t: 2024-01-31T10:00:00Z\n"
        "l: [1, two]\n"
    )
    assert doc.data == {
        "s": "text", "i": 42, "f": 1.5, "b": True, "n": None, "q": "007",
        # timestamps stay text: the schema decides what a date means
        "d": "2024-01-31", "t": "2024-01-31T10:00:00Z", "l": [1, "two"],
    }


def test_positions_of_values_and_keys_are_one_based():
    doc = one("apiVersion: specops/v1\nmetadata:\n  name: x\n  tags: [a, b]\nspec:\n  columns:\n    - name: c\n")
    assert (doc.line, doc.col) == (1, 1)
    assert doc.positions[("apiVersion",)] == (1, 13)
    assert doc.key_positions[("metadata",)] == (2, 1)
    assert doc.positions[("metadata", "name")] == (3, 9)
    assert doc.key_positions[("metadata", "name")] == (3, 3)
    assert doc.positions[("metadata", "tags", 1)] == (4, 13)
    assert doc.positions[("spec", "columns", 0)] == (7, 7)
    assert doc.positions[("spec", "columns", 0, "name")] == (7, 13)


def test_flow_mapping_positions():
    doc = one("m: {a: 1, b: [x, y]}\n")
    assert doc.positions[("m", "a")] == (1, 8)
    assert doc.key_positions[("m", "b")] == (1, 11)
    assert doc.positions[("m", "b", 1)] == (1, 18)


def test_positions_count_characters_not_bytes():
    doc = one("é: 'ü'\nk: v\n")
    assert doc.positions[("é",)] == (1, 4)
    assert doc.positions[("k",)] == (2, 4)


# --------------------------------------------------------------------------- several documents


def test_multi_document_file_keeps_each_start_line():
    docs = parse_documents("a: 1\n---\nb: 2\n---\n# comment\nc: 3\n")
    assert [d.data for d in docs] == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert [d.line for d in docs] == [1, 3, 6]


def test_positions_are_per_document():
    docs = parse_documents("a: 1\n---\na: 2\n")
    assert docs[0].positions[("a",)] == (1, 4)
    assert docs[1].positions[("a",)] == (3, 4)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank", "comment"])
def test_a_text_without_documents_has_none(text):
    assert parse_documents(text) == []


def test_empty_documents_are_none_and_point_at_their_separator():
    docs = parse_documents("a: 1\n---\n# nothing here\n---\nb: 2\n---\n")
    assert [d.data for d in docs] == [{"a": 1}, None, {"b": 2}, None]
    # an empty document is located at its own '---' line, never past the end of the file
    assert [d.line for d in docs] == [1, 2, 5, 6]


def test_explicit_null_document():
    docs = parse_documents("--- ~\n")
    assert docs[0].data is None


# --------------------------------------------------------------------------- duplicate keys


@pytest.mark.parametrize(
    ("text", "line", "first"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, 1),
        ("x:\n  a: 1\n  a: 2\n", 3, 2),
        ("- {a: 1, a: 2}\n", 1, 1),
        ("spec:\n  columns:\n    - name: a\n      type: int\n      name: b\n", 5, 3),
    ],
    ids=["top-level", "nested", "flow-in-list", "list-item"],
)
def test_duplicate_keys_are_refused_with_both_lines(text, line, first):
    err = refused(text)
    assert err.code == "duplicate-key"
    assert err.line == line
    ((what, first_line, _),) = err.related  # shown as "first defined here: FILE:LINE:COL"
    assert (what, first_line) == ("first defined here", first)


def test_same_key_in_different_documents_is_fine():
    assert len(parse_documents("a: 1\n---\na: 2\n")) == 2


# --------------------------------------------------------------------------- anchors, aliases, merge keys


def test_aliases_copy_the_anchored_value():
    doc = one("base: &b {x: 1}\none: *b\ntwo: *b\n")
    assert doc.data["one"] == doc.data["two"] == {"x": 1}


def test_merge_key_explicit_keys_win_and_keep_their_position():
    doc = one("base: &b {a: 1, b: 2}\nx:\n  b: 3\n  <<: *b\n")
    assert doc.data["x"] == {"b": 3, "a": 1}
    # the explicit key's position, not the anchor's
    assert doc.positions[("x", "b")] == (3, 6)
    assert doc.key_positions[("x", "b")] == (3, 3)


def test_merge_key_before_explicit_keys():
    doc = one("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n")
    assert doc.data["x"] == {"a": 1, "b": 3}
    assert doc.positions[("x", "b")] == (4, 6)


def test_merge_key_with_a_list_of_mappings():
    doc = one("p: &p {a: 1}\nq: &q {a: 2, b: 2}\nr:\n  <<: [*p, *q]\n")
    assert doc.data["r"] == {"a": 1, "b": 2}  # earlier sources win, as in YAML 1.1


def test_merge_key_of_a_scalar_is_refused():
    err = refused("a: &a 1\nc:\n  <<: *a\n")
    assert err.code == "yaml-merge"


def test_undefined_alias_is_a_syntax_error_with_a_hint():
    err = refused("a: 1\nb: *nope\n")
    assert err.code == "yaml-syntax"
    assert err.line == 2
    assert "anchor" in err.hint


@pytest.mark.parametrize(
    "text",
    ["a: &a [1, *a]\n", "a: &a {x: *a}\n", "a: &a {x: 1, <<: *a}\n"],
    ids=["list", "mapping", "merge"],
)
def test_recursive_aliases_are_refused(text):
    start = time.perf_counter()
    err = refused(text)
    assert err.code == "yaml-recursive-alias"
    assert time.perf_counter() - start < 2


def billion_laughs(levels: int = 9) -> str:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly():
    start = time.perf_counter()
    err = refused(billion_laughs())
    assert err.code == "yaml-too-large"
    assert "billion laughs" in err.hint
    assert time.perf_counter() - start < 5


def test_the_expansion_budget_is_shared_by_the_documents_of_a_file(monkeypatch):
    monkeypatch.setattr(yamlload, "MAX_NODES_PER_FILE", 50)
    text = "---\n".join("a: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" for _ in range(10))
    err = refused(text)
    assert err.code == "yaml-too-large"


def test_moderate_alias_use_is_fine():
    assert one(billion_laughs(3)).data["l2"][0][0][0] == "lol"


# --------------------------------------------------------------------------- nesting


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 100 + "]" * 100 + "\n",
        "a: " + "[" * 5000 + "]" * 5000 + "\n",
        "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v: 1\n",
    ],
    ids=["flow-100", "flow-5000", "block-100"],
)
def test_deep_nesting_is_refused(text):
    err = refused(text)
    assert err.code == "yaml-too-deep"


def test_nesting_within_the_limit_is_fine():
    depth = yamlload.MAX_DEPTH - 1
    doc = one("a: " + "[" * depth + "]" * depth + "\n")
    assert isinstance(doc.data["a"], list)


# --------------------------------------------------------------------------- tags and keys


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system [echo hi]\n",
        "a: !!python/name:os.system\n",
        "a: !custom x\n",
        "a: !!binary aGVsbG8=\n",
        "a: !!set {x, y}\n",
        "a: !!omap [{x: 1}]\n",
        "a: !local {x: 1}\n",
        "a: !seq [1]\n",
    ],
    ids=["python-apply", "python-name", "custom", "binary", "set", "omap", "local-map", "local-seq"],
)
def test_tags_are_refused(text):
    err = refused(text)
    assert err.code == "yaml-tag"
    assert err.line == 1


@pytest.mark.parametrize("value", [".nan", ".NaN", ".inf", "-.Inf", "+.INF"])
def test_numbers_that_are_not_finite_are_refused(value):
    """A NaN threshold or test size passed every check and failed half-way through an apply."""
    err = refused(f"a: 1\nb: {value}\n")
    assert (err.code, err.line, err.col) == ("yaml-number", 2, 4)
    assert one("a: 1.5e+3\nb: -0.0\n").data == {"a": 1500.0, "b": -0.0}


def test_numbers_with_an_exponent_are_numbers_as_in_yaml_1_2():
    """`max: 1e6` was text (YAML 1.1 wants 1.0e+6), so a range bound written so was refused as not a number."""
    assert one("a: [1e6, 2E-3, -1e+2, .5e2, 1.0e+6]\nb: '1e6'\nc: x1e6\nd: 12e\n").data == {
        "a": [1e6, 0.002, -100.0, 50.0, 1e6], "b": "1e6", "c": "x1e6", "d": "12e"}
    assert refused("a: 1e999\n").code == "yaml-number"


@pytest.mark.parametrize("value", ["9223372036854775808", "-9223372036854775809", "123456789012345678901234567890",
                                   "0x8000000000000000"])
def test_integers_beyond_64_bits_are_refused(value):
    """`max: 123456789012345678901234567890` on a row_count check passed validate; dbt then failed in apply with
    Python tracebacks (`OverflowError: Python int too large to convert to C unsigned long`) and no spec line."""
    err = refused(f"a: 1\nb: {value}\n")
    assert (err.code, err.line, err.col) == ("yaml-number", 2, 4)
    assert "out of the 64-bit integer range" in err.message
    assert one("a: 9223372036854775807\nb: -9223372036854775808\n").data == {
        "a": 2 ** 63 - 1, "b": -(2 ** 63)}


def test_standard_str_tag_is_allowed():
    assert one("a: !!str 123\n").data == {"a": "123"}


@pytest.mark.parametrize(
    ("text", "code", "quote_hint"),
    [
        ("1: a\n", "yaml-key", True),
        ("true: a\n", "yaml-key", True),
        ("~: a\n", "yaml-key", False),
        ("1.5: a\n", "yaml-key", False),
        ("? [a, b]\n: c\n", "yaml-key", False),
        ("{a: 1}: c\n", "yaml-key", False),
    ],
    ids=["int", "bool", "null", "float", "sequence", "mapping"],
)
def test_non_string_keys_are_refused(text, code, quote_hint):
    err = refused(text)
    assert err.code == code
    assert (err.hint is not None and "quote" in err.hint) is quote_hint


def test_quoted_numeric_key_is_a_string():
    assert one("'1': a\n").data == {"1": "a"}


# --------------------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    ("text", "line", "hint_word"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", 3, None),
        ("a:\n\tb: 1\n", 2, "tabs"),
        ("a: b: c\n", 1, "quote a value"),
        ("a: 1\n b: 2\n", 2, None),
        ("a: 'unterminated\n", 2, None),
    ],
    ids=["unclosed-flow", "tab-indent", "colon-in-value", "bad-indent", "unterminated-quote"],
)
def test_syntax_errors_have_a_position(text, line, hint_word):
    err = refused(text)
    assert err.code == "yaml-syntax"
    assert err.line == line
    if hint_word:
        assert hint_word in err.hint


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [("a: 1\nb: x\x07y\n", 2, 5), ("é: 1\néé: x\x07y\n", 2, 6)],
    ids=["ascii", "after-non-ascii"],
)
def test_control_characters_are_located_by_line_and_column(text, line, col):
    err = refused(text)
    assert err.code == "yaml-syntax"
    assert (err.line, err.col) == (line, col)
    assert "\n" not in err.message
    assert "control" in err.message


def test_a_sealed_document_locates_every_path_as_the_parsed_one():
    """Cached documents stay sealed, then keep their position maps packed with only shallow paths ready:
    the same answers."""
    from compiler.front.documents import Document
    from compiler.speed.codec import SealedDocument, seal

    text = ("apiVersion: specops.dev/v1\nkind: Dataset\nmetadata:\n  name: a\n  labels: {team: x}\nspec:\n"
            "  columns:\n    - name: id\n      type: integer\n      accepted_values: [1, 2]\n"
            "    - {name: b, type: string}\n")
    parsed = parse_documents(text)[0]
    packed = SealedDocument(parsed.line, parsed.col, seal(parsed))
    fresh, lazy = Document("a.yaml", 0, "Dataset", "a", parsed), Document("a.yaml", 0, "Dataset", "a", packed)
    paths = [*parsed.positions, ("spec", "columns", 5), ("spec", "nope", "deeper", 1), ("metadata", "x")]
    # shallow paths first, answered without unpacking the full maps; then deep ones, which unpack them
    for path in sorted(paths, key=len):
        assert lazy.locate(path) == fresh.locate(path), path
    assert [lazy.locate_key(p) for p in parsed.key_positions] == [fresh.locate_key(p) for p in parsed.key_positions]
    assert ("spec", "columns", 0, "accepted_values", 1) in parsed.positions  # the test reaches past SHALLOW
    assert packed == parsed and pickle.loads(pickle.dumps(packed)) == parsed


def test_a_document_that_is_not_spec_yaml_does_not_hide_the_other_documents_errors():
    """A duplicate key (or a tag, or .nan) spoils its document only: the file's other documents are still read
    and checked, so every error of the file is reported in one run."""
    from compiler.front.check import check_file

    text = (b"apiVersion: specops/v1\nkind: Dataset\nmetadata: {name: a}\nspec:\n  description: x\n"
            b"  description: y\n---\napiVersion: specops/v1\nkind: Dataset\nmetadata: {name: b}\n"
            b"spec:\n  colums: []\n---\napiVersion: specops/v1\nkind: Dataset\nmetadata: {name: c}\nspec:\n"
            b"  owner: !custom x\n")
    found = check_file("specs/d.yaml", text)
    assert [(d.code, d.line) for d in found.diagnostics if d.code != "missing-key"][:1] == [("duplicate-key", 6)]
    codes = {(d.code, d.line) for d in found.diagnostics}
    assert ("yaml-tag", 18) in codes
    assert any(line == 12 for code, line in codes if code not in ("duplicate-key", "yaml-tag")), codes
    assert {"dataset.a", "dataset.c"} <= found.unloaded  # no knock-on "not defined" errors elsewhere


def test_the_loader_resolves_every_tag_as_pyyamls_safe_loader_does():
    """yamlparse's loader resolves tags with its own shortcut: the same tags as PyYAML's, node by node."""
    import yaml

    from compiler.front.yamlparse import _Loader, _SafeLoader

    scalars = ["text", "", "~", "null", "Null", "NULL", "yes", "No", "on", "OFF", "true", "False", "y", "n", "1",
               "-1", "+1", "0x1F", "0o17", "017", "1_000", "1.5", "-.5", ".inf", "-.Inf", ".nan", "1e3", "1.0e+3",
               "2024-01-01", "2024-01-01T10:00:00Z", "2024-01-01 10:00:00.5 +02:00", "12:30:00", "<<", "=", "0", "-", "+", ".", "3.", "190:20:30", "'quoted'", '"1"', "'yes'", "é", "1,000"]
    text = "a:\n" + "".join(f"  - {x}\n" for x in scalars) + "b: {k: v, 'q': \"yes\", 1: 2}\nc:\n  - - x\n    - 2\n"

    def tags(loader: type) -> list[tuple[str, str]]:
        node = yaml.compose(text, Loader=loader)
        found, stack = [], [node]
        while stack:
            n = stack.pop()
            found.append((type(n).__name__, n.tag, n.value if isinstance(n, yaml.ScalarNode) else ""))
            if isinstance(n, yaml.MappingNode):
                stack += [x for pair in n.value for x in pair]
            elif isinstance(n, yaml.SequenceNode):
                stack += n.value
        return found

    assert tags(_Loader) == tags(_SafeLoader) == tags(yaml.SafeLoader)


def test_every_number_out_of_range_in_a_document_is_reported():
    """Only the first was: five bad bounds took five rounds of edit and validate."""
    from compiler.front.parse import parse_file

    text = ("apiVersion: specops/v1\nkind: QualityRule\nmetadata: {name: q}\nspec:\n  checks:\n"
            "    - {type: row_count, min: 1, max: 123456789012345678901234567890}\n"
            "    - {type: range, column: a, max: 1e400}\n"
            "    - {type: range, column: a, min: -9223372036854775809}\n")
    result = parse_file("specs/q.yaml", text.encode())
    found = [(d.code, d.line) for d in result.diagnostics]
    assert found == [("yaml-number", 6), ("yaml-number", 7), ("yaml-number", 8)], result.diagnostics
    assert result.documents == ()
