"""Golden output tree: everything `specops compile` emits for examples/churn, checked in under
tests/golden/churn/ (output files under output/, generated workflows under workflows/).

After an intended change to any backend, refresh the tree with one command and review the diff:

    SPECOPS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

YAML and JSON files are compared as data (formatting and comments do not matter), other files
byte for byte. Seed CSVs are copies of examples/churn/data and are large, so the tree keeps only
their sha256, in `<path>.sha256`. Whatever backends compile gains or loses shows up as missing
or extra files.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLE_ROOT

GOLDEN = Path(__file__).resolve().parent / "golden" / "churn"
UPDATE = os.environ.get("SPECOPS_UPDATE_GOLDEN") == "1"
REFRESH = "SPECOPS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py"
DIGEST_SUFFIXES = (".csv",)  # stored as <path>.sha256
BASES = {"output": "output", "workflows": "workflows"}


def _golden_name(base: str, path: str) -> str:
    name = f"{BASES[base]}/{path}"
    return name + ".sha256" if path.endswith(DIGEST_SUFFIXES) else name


def _golden_content(path: str, content: bytes) -> bytes:
    if path.endswith(DIGEST_SUFFIXES):
        return f"{hashlib.sha256(content).hexdigest()}  {len(content)} bytes\n".encode()
    return content


def compiled_tree() -> dict[str, bytes]:
    """Golden-relative path -> the bytes the golden tree should hold, from a fresh compile."""
    from compiler.emit.compile import compile_project
    from compiler.front.check import require_project

    compiled = compile_project(require_project(EXAMPLE_ROOT))
    return {_golden_name(a.base, a.path): _golden_content(a.path, a.content) for a in compiled.artifacts}


def golden_tree() -> dict[str, bytes]:
    if not GOLDEN.is_dir():
        return {}
    return {p.relative_to(GOLDEN).as_posix(): p.read_bytes() for p in sorted(GOLDEN.rglob("*")) if p.is_file()}


def _parsed(name: str, content: bytes) -> Any:
    text = content.decode("utf-8")
    if name.endswith((".yml", ".yaml")):
        return list(yaml.safe_load_all(text))
    if name.endswith(".json"):
        return json.loads(text)
    return content


def same(name: str, want: bytes, got: bytes) -> bool:
    if want == got:
        return True
    try:
        return _parsed(name, want) == _parsed(name, got)
    except (ValueError, yaml.YAMLError, UnicodeDecodeError):
        return False


def _diff(name: str, want: bytes, got: bytes, limit: int = 80) -> str:
    try:
        lines = list(difflib.unified_diff(want.decode().splitlines(), got.decode().splitlines(),
                                          f"golden/{name}", f"compiled/{name}", lineterm=""))
    except UnicodeDecodeError:
        return f"binary files golden/{name} and compiled/{name} differ"
    shown = lines[:limit] + ([f"... ({len(lines) - limit} more diff lines)"] if len(lines) > limit else [])
    return "\n".join(shown)


def write_golden(tree: dict[str, bytes]) -> None:
    if GOLDEN.exists():
        shutil.rmtree(GOLDEN)
    for name, content in tree.items():
        target = GOLDEN / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def compare(want: dict[str, bytes], got: dict[str, bytes]) -> list[str]:
    """Every difference, as readable report sections (empty when the trees agree)."""
    problems = [f"missing from the golden tree (compile now emits it): {name}" for name in sorted(set(got) - set(want))]
    problems += [f"extra in the golden tree (compile no longer emits it): {name}" for name in sorted(set(want) - set(got))]
    for name in sorted(set(want) & set(got)):
        if not same(name, want[name], got[name]):
            problems.append(f"differs: {name}\n{_diff(name, want[name], got[name])}")
    return problems


def test_compiled_churn_matches_the_golden_tree() -> None:
    got = compiled_tree()
    if UPDATE:
        write_golden(got)
        return
    if not GOLDEN.is_dir():
        pytest.fail(f"no golden tree at {GOLDEN}; create it with: {REFRESH}")
    problems = compare(golden_tree(), got)
    if problems:
        pytest.fail(f"{len(problems)} difference(s) from {GOLDEN}:\n\n" + "\n\n".join(problems)
                    + f"\n\nIf the change is intended, refresh the golden tree and review its diff:\n    {REFRESH}",
                    pytrace=False)


def test_golden_tree_is_small_and_holds_the_dbt_project() -> None:
    tree = golden_tree()
    if UPDATE or not tree:
        pytest.skip("golden tree being (re)written")
    assert "output/manifest.json" in tree and "output/dbt/dbt_project.yml" in tree
    assert any(name.endswith(".csv.sha256") for name in tree)
    assert sum(len(c) for c in tree.values()) < 1_000_000
    assert max(len(c) for c in tree.values()) < 100_000


def test_comparison_is_semantic_for_yaml_and_json_and_exact_otherwise() -> None:
    assert same("a.yml", b"# header\nx: 1\ny: [1, 2]\n", b"y:\n- 1\n- 2\nx: 1\n")
    assert not same("a.yml", b"x: 1\n", b"x: 2\n")
    assert same("a.json", b'{"a": 1, "b": 2}', b'{\n  "b": 2,\n  "a": 1\n}\n')
    assert not same("a.sql", b"select 1\n", b"select 1 \n")
    report = compare({"a.sql": b"select 1\n", "gone.txt": b""}, {"a.sql": b"select 2\n", "new.txt": b""})
    assert any("missing" in p and "new.txt" in p for p in report)
    assert any("extra" in p and "gone.txt" in p for p in report)
    assert any("-select 1" in p and "+select 2" in p for p in report)
