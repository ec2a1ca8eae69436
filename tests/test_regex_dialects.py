"""A regex check's pattern in the warehouses' own engines (compiler.spec.regex_dialects, the regex-dialect rule of
compiler.front.rules.types): validate names what an environment's warehouse rejects or reads otherwise than
Python's `re`, and the table behind it is held to the real engines here, DuckDB (RE2, as BigQuery) and Postgres 15:
what it calls rejected raises, what it calls read otherwise gives other answers on the samples, and everything
else gives Python's answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import parse_text_report

from compiler.shipped import data_dir
from compiler.spec.regex_dialects import engine_problems

duckdb = pytest.importorskip("duckdb")

SOURCES = "specs/quality/sources.yaml"
EMAIL = "- {type: regex, column: email, pattern: '^[a-z0-9._-]+@[a-z0-9-]+(\\.[a-z0-9-]+)+$'}"

# pattern, samples, {engine: "rejects" | "reads"} (an engine not named reads the pattern as Python does)
CASES: list[tuple[str, list[str], dict[str, str]]] = [
    (r"^foo\b", ["foo bar", "foobar", "foo"], {"postgres": "reads"}),
    (r"^foo\B", ["foobar", "foo bar"], {"postgres": "reads"}),
    (r"^(?P<x>foo)", ["foo", "bar"], {"postgres": "rejects", "snowflake": "rejects"}),
    (r"^foo(?! baz)", ["foo bar", "foo baz"], {"re2": "rejects", "snowflake": "rejects"}),
    (r"(?<=a)b", ["ab", "cb"], {"re2": "rejects", "snowflake": "rejects"}),
    (r"^(a)\1$", ["aa", "ab"], {"re2": "rejects", "snowflake": "rejects"}),
    (r"^(?P<x>a)(?P=x)$", ["aa"], {"re2": "rejects", "postgres": "rejects", "snowflake": "rejects"}),
    (r"(?i)^foo$", ["FOO", "fo"], {"snowflake": "rejects"}),
    (r"^(?i:a)b$", ["Ab", "AB"], {"postgres": "rejects", "snowflake": "rejects"}),
    (r"(?x) ^ a b $  # a comment with \b", ["ab", "a b"], {"re2": "rejects", "snowflake": "rejects"}),
    (r"(?a)^\w$", ["a"], {"re2": "rejects", "postgres": "rejects", "snowflake": "rejects"}),
    (r"(?i)(?s)^a.b$", ["A\nb"], {"postgres": "rejects", "snowflake": "rejects"}),
    (r"^a*+$", ["aa"], {"re2": "rejects", "postgres": "rejects", "snowflake": "rejects"}),
    (r"^(?>a+)$", ["aa"], {"re2": "rejects", "postgres": "rejects", "snowflake": "rejects"}),
    (r"^(a)?(?(1)b|c)$", ["ab", "c"], {"re2": "rejects", "postgres": "rejects", "snowflake": "rejects"}),
    (r"(?#note)^a$", ["a"], {"re2": "rejects", "snowflake": "rejects"}),
    (r"a\Z", ["a", "ab"], {"re2": "rejects", "snowflake": "rejects"}),
    (r"\Aa", ["a", "ba"], {"snowflake": "rejects"}),
    (r"^\u00e9$", ["\u00e9", "e"], {"re2": "rejects"}),
    (r"^\N{LATIN SMALL LETTER E WITH ACUTE}$", ["\u00e9"], {"re2": "rejects", "postgres": "rejects"}),
    (r"^\x41B$", ["AB", "\u041b"], {"postgres": "reads"}),
    (r"^a{,3}$", ["", "aaa", "aaaa"], {"re2": "reads", "postgres": "reads", "snowflake": "rejects"}),
    (r"^a{256}$", ["a" * 256], {"postgres": "rejects"}),
    (r"^a{2,1001}$", ["aa"], {"re2": "rejects", "postgres": "rejects"}),
    (r"^[\b]$", ["\b", "b"], {"re2": "rejects"}),
    (r"^a*?b$", ["aab", "aac"], {"snowflake": "rejects"}),
    (r"^(?:ab)+$", ["abab", "aba"], {"snowflake": "rejects"}),
    (r"^[a-z0-9._-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$", ["a@b.c", "a@b", "A@b.c"], {}),
    (r"^[^\s].*$", ["a b", " a"], {}),
    (r"^\d{3}-\d{4}$", ["555-1234", "55-1234"], {}),
    (r"^[]a]+$", ["]a", "b"], {}),
    (r"^\101\$\.$", ["A$.", "A$x"], {}),
    (r"^it's \w+\b", ["it's fine", "it's"], {"postgres": "reads"}),
]
IDS = [re.sub(r"\W+", "_", p).strip("_") or "pattern" for p, _, _ in CASES]


def _verdicts(pattern: str, engine: str) -> set[str]:
    return {"rejects" if p.rejects else "reads" for p in engine_problems(pattern, engine)}


@pytest.mark.parametrize(("pattern", "samples", "expected"), CASES, ids=IDS)
def test_each_engine_is_told_apart(pattern: str, samples: list[str], expected: dict[str, str]) -> None:
    re.compile(pattern)  # the rule only looks at patterns Python compiles
    for engine in ("re2", "postgres", "snowflake"):
        want = expected.get(engine)
        got = _verdicts(pattern, engine)
        assert (want in got) if want else not got, (engine, got)


def _agree(pattern: str, samples: list[str], engine: str, match) -> None:
    """The engine does what the table says: raises, answers otherwise than Python on a sample, or as Python."""
    verdicts = _verdicts(pattern, engine)
    if "rejects" in verdicts:
        with pytest.raises(Exception):  # noqa: B017 (each driver's own error class)
            for s in samples:
                match(s, pattern)
        return
    got = [match(s, pattern) for s in samples]
    python = [re.search(pattern, s) is not None for s in samples]
    assert (got != python) if "reads" in verdicts else (got == python), (got, python)


@pytest.mark.parametrize(("pattern", "samples", "expected"), CASES, ids=IDS)
def test_the_table_is_duckdbs(pattern: str, samples: list[str], expected: dict[str, str]) -> None:
    con = duckdb.connect()
    _agree(pattern, samples, "re2", lambda s, p: con.execute("select regexp_matches(?, ?)", [s, p]).fetchone()[0])


@pytest.mark.parametrize(("pattern", "samples", "expected"), CASES, ids=IDS)
def test_the_table_is_postgres(postgres, pattern: str, samples: list[str], expected: dict[str, str]) -> None:
    con = postgres.connect()
    try:
        def match(s: str, p: str) -> bool:
            with con.cursor() as cur:
                cur.execute("select %s ~ %s", (s, p))
                return cur.fetchone()[0]
        _agree(pattern, samples, "postgres", match)
    finally:
        con.close()


def _duckdb_macro() -> str:
    text = (data_dir("templates") / "dbt" / "macros" / "specops_tests.sql").read_text(encoding="utf-8")
    m = re.search(r"\{% macro duckdb__specops_regex_match\(column_name, pattern\) -%\}\n(.*?)\n\{%- endmacro %\}",
                  text, re.S)
    assert m, "the DuckDB regex macro moved"
    return m.group(1)


@pytest.mark.parametrize(("pattern", "samples"), [(p, s) for p, s, e in CASES if "re2" not in e],
                         ids=[i for i, (_, _, e) in zip(IDS, CASES, strict=True) if "re2" not in e])
def test_a_pattern_duckdb_is_not_refused_fails_the_rows_python_would(pattern: str, samples: list[str]) -> None:
    """The emitted check's SQL (the DuckDB macro, rendered as dbt renders it) run in DuckDB fails exactly the rows
    Python's `re` finds no match in, for every pattern the rule lets through on DuckDB."""
    jinja2 = pytest.importorskip("jinja2")
    condition = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(_duckdb_macro()).render(
        column_name="v", pattern=pattern)
    con = duckdb.connect()
    con.execute("create table t (v varchar)")
    con.executemany("insert into t values (?)", [[s] for s in samples])
    failing = {r[0] for r in con.execute(f"select v from t where v is not null and not ({condition})").fetchall()}
    assert failing == {s for s in samples if not re.search(pattern, s)}


def _regex_errors(result) -> list:
    return [d for d in parse_text_report(result.output) if d.code == "regex-dialect"]


def test_validate_names_the_warehouse_the_construct_and_a_hint(edit, validate_cli) -> None:
    """examples/churn builds on DuckDB (dev) and Postgres (prod): each pattern is refused at its own line."""
    edit.replace(SOURCES, EMAIL, EMAIL + "\n    - {type: regex, column: full_name, pattern: '^foo\\b'}"
                 "\n    - {type: regex, column: full_name, pattern: '^foo(?! baz)'}"
                 "\n    - {type: regex, column: full_name, pattern: '^(?P<x>foo)'}")
    result = validate_cli(edit.root)
    found = _regex_errors(result)
    assert all(d.is_in(SOURCES) for d in found), result.output
    assert [(d.line, d.severity) for d in found] == [
        (edit.line_of(SOURCES, "'^foo\\b'"), "error"), (edit.line_of(SOURCES, "'^foo(?! baz)'"), "error"),
        (edit.line_of(SOURCES, "'^(?P<x>foo)'"), "error")], result.output
    for d, needle in zip(found, ("'^foo\\b'", "'^foo(?! baz)'", "'^(?P<x>foo)'"), strict=True):
        assert d.col == edit.read(SOURCES).splitlines()[d.line - 1].index(needle) + 1
    boundary, lookahead, named = found
    assert "Postgres" in boundary.message and "as a backspace character" in boundary.message
    assert "DuckDB" not in boundary.message and "(^|[^A-Za-z0-9_])" in boundary.hint
    assert "DuckDB (an environment's warehouse) rejects a lookahead ('(?!' at character 5)" in lookahead.message
    assert "Postgres" in named.message and "named group" in named.message and "plain group" in named.hint


def test_the_warehouses_are_the_environments(edit, validate_cli) -> None:
    """A BigQuery environment adds its RE2 to the warehouses named; a pattern every one reads alike passes."""
    edit.replace(SOURCES, EMAIL, EMAIL + "\n    - {type: regex, column: full_name, pattern: '^foo(?=bar)'}")
    edit.append_docs("specs/environments.yaml", {
        "apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "on_bigquery"},
        "spec": {"warehouse": {"type": "bigquery", "project": "acme-analytics", "dataset": "churn"},
                 "kubernetes": {"namespace": "ml-bigquery"}}})
    found = _regex_errors(validate_cli(edit.root))
    assert [d.message.split(": ", 1)[1].split(" rejects")[0] for d in found] == [
        "BigQuery and DuckDB (environments' warehouses)"]


def test_a_portable_pattern_is_not_reported(example_root: Path, validate_cli) -> None:
    assert _regex_errors(validate_cli(example_root)) == []
