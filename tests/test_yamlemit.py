"""The fast YAML emitter: whatever it writes, YAML readers read back exactly."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.emit.yamlemit import emit

KEYS = st.one_of(st.text(max_size=12), st.sampled_from(["on", "yes", "No", "null", "true", "a: b", "#x", "-", "1"]))
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["yes", "NO", "on", "Off", "~", "null", "1.0", "0x1f", "1e3", "12:30", "2026-01-01", "- x",
                     "x: y", "x #y", "{a}", "[b]", "*ref", "&anc", "!tag", "|", ">", "%x", "@x", "`x`", "'q'",
                     '"q"', " lead", "trail ", "a\nb", "a\n\nb\n", "\n", "\n\n", " x\ny", "x\n ", "tab\tx", "é",
                     "\u2028", "\x85", "\x7f", "\ud7ff", "𝄞", "ref('x')", "{{ env_var('HOME') }}"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=25)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(VALUES)
def test_round_trip(value):
    text = emit(value)
    assert yaml.load(text, Loader=yaml.CSafeLoader) == value, text  # YAML 1.1 reader, as Kubernetes tools use
    assert yaml.load(text, Loader=yaml.SafeLoader) == value, text


def test_layout_matches_pyyaml_block_style():
    data = {"name": "x", "items": [{"a": 1, "b": [1, 2]}, "z"], "empty": {}, "none": [], "sql": "select 1\nfrom t\n"}
    assert emit(data) == (
        "name: x\nitems:\n- a: 1\n  b:\n  - 1\n  - 2\n- z\nempty: {}\nnone: []\nsql: |\n  select 1\n  from t\n"
    )


def test_ambiguous_words_are_quoted():
    assert emit({"on": "yes", "country": "NO", "v": "1.0"}) == '"on": "yes"\ncountry: "NO"\nv: "1.0"\n'
