"""Property: whatever is done to the example's specs, validation answers with a project or with
located diagnostics, and never with an exception or a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from conftest import EXAMPLE_ROOT, copy_repository
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.cli.main import main
from compiler.front.check import check_repository

SPEC_FILES = sorted(
    [p.relative_to(EXAMPLE_ROOT).as_posix() for p in (EXAMPLE_ROOT / "specs").rglob("*.yaml")] + ["specops.yaml"]
)
ORIGINAL_TEXT = {rel: (EXAMPLE_ROOT / rel).read_text(encoding="utf-8") for rel in SPEC_FILES}

# Where references live: renaming one of these to a random string must give a clean error.
REFERENCE_KEYS = {"name", "inputs", "output", "dataset", "to", "model", "environment", "default_environment",
                  "features", "target", "column", "columns", "primary_key", "sql_file", "path", "entrypoint"}
KINDS = ["Project", "Environment", "Dataset", "QualityRule", "Transform", "Model", "Deployment"]

ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**12), st.floats(allow_nan=True), st.text(max_size=12),
    st.just([]), st.just({}), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
GARBAGE = st.one_of(
    st.sampled_from([": :", "\t", "- [", "{", "&a *a", "*nope", "!!python/object:os.system x", "\x00", "---",
                     "key: [unclosed", "\ufeff", "<<: 1", "? [a]\n: b", "{{ input('x') }}", "%YAML 9.9"]),
    st.text(max_size=20),
)


def paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a document (mapping keys and list indexes)."""
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            out.append((*prefix, key))
            out.extend(paths(value, (*prefix, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.append((*prefix, i))
            out.extend(paths(value, (*prefix, i)))
    return out


def parent_of(data: Any, path: tuple) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def mutate_documents(draw, docs: list[Any]) -> str:
    """Apply one structural mutation to the documents of one file; return its new YAML text."""
    op = draw(st.sampled_from(["drop", "retype", "rename-reference", "duplicate", "change-kind"]))
    candidates = [(i, p) for i, doc in enumerate(docs) for p in paths(doc)]
    if op == "duplicate" or not candidates:
        docs.append(docs[draw(st.integers(0, len(docs) - 1))])
    elif op == "change-kind":
        doc = docs[draw(st.integers(0, len(docs) - 1))]
        if isinstance(doc, dict):
            doc["kind"] = draw(st.sampled_from(KINDS))
    else:
        if op == "rename-reference":
            refs = [c for c in candidates if any(k in REFERENCE_KEYS for k in c[1] if isinstance(k, str))
                    and not isinstance(parent_of(docs[c[0]], c[1])[c[1][-1]], (dict, list))]
            candidates = refs or candidates
        index, path = draw(st.sampled_from(candidates))
        container = parent_of(docs[index], path)
        if op == "drop":
            del container[path[-1]]
        elif op == "retype":
            container[path[-1]] = draw(ODD_VALUES)
        else:
            container[path[-1]] = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.-0123456789 ", max_size=15))
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)


def mutate_text(draw, text: str) -> str:
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(text)))
        return text[:cut]
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(GARBAGE) + text[at:]


@st.composite
def mutated_files(draw) -> dict[str, str]:
    """1 to 3 mutations, each on a randomly chosen spec file: {relative path: new text}."""
    texts = dict(ORIGINAL_TEXT)
    for _ in range(draw(st.integers(1, 3))):
        rel = draw(st.sampled_from(SPEC_FILES))
        if draw(st.integers(0, 2)) == 0:
            texts[rel] = mutate_text(draw, texts[rel])
            continue
        try:
            docs = [d for d in yaml.safe_load_all(texts[rel]) if d is not None]
        except yaml.YAMLError:
            docs = []
        texts[rel] = mutate_documents(draw, docs) if docs else mutate_text(draw, texts[rel])
    return {rel: text for rel, text in texts.items() if text != ORIGINAL_TEXT[rel]}


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(changes=mutated_files())
def test_validation_never_crashes_and_always_locates_its_errors(changes):
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_repository(EXAMPLE_ROOT, Path(tmp) / "repo")
        for rel, text in changes.items():
            (root / rel).write_text(text, encoding="utf-8")

        project, diags = check_repository(root)
        errors = [d for d in diags if d.severity == "error"]
        if project is None:
            assert errors, "no project and no error"
            for d in errors:
                assert d.file, d
                assert d.line >= 1 and d.col >= 1, d
                assert d.message and d.code, d
        else:
            assert not errors

        result = CliRunner().invoke(main, ["validate", str(root)])
        assert result.exit_code == (0 if project is not None else 1), result.output
        assert "Traceback" not in result.output and "internal error" not in result.output, result.output
        assert not (root / "build").exists() and not (root / ".specops").exists()
