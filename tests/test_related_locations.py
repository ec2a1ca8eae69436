"""Diagnostics that involve several places (two producers of a dataset, a name defined twice, a key written
twice) name every place, in every output format: text, JSON, GitHub annotations and SARIF (relatedLocations,
checked against the OASIS SARIF 2.1.0 schema). Also: the hint for an unquoted comma in a flow mapping."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import THIRDPARTY, RepoEditor, parse_text_report

from compiler.front.check import check_file
from compiler.front.documents import FileOutcome, file_key
from compiler.spec.diagnostics import Diagnostic, Related
from compiler.speed.codec import decode_outcome, encode_outcome

SARIF_SCHEMA = THIRDPARTY / "sarif" / "sarif-schema-2.1.0.json"

KPIS = "specs/datasets/daily_kpis.yaml"
KPIS_T = "specs/transforms/daily_kpis.yaml"
CUSTOMERS = "specs/datasets/customers.yaml"

SECOND_PRODUCER = """apiVersion: specops/v1
kind: Transform
metadata: {name: rebuild_daily_kpis, owner: "@acme/analytics"}
spec:
  inputs: [subscriptions]
  output: daily_kpis
  sql: select * from {{ input('subscriptions') }}
"""


def _two_producers(ed: RepoEditor) -> tuple[tuple[int, int], tuple[int, int]]:
    """A second transform writing daily_kpis; the (line, col) of both `output:` values."""
    ed.append_docs(KPIS_T, SECOND_PRODUCER)
    lines = [ed.line_of(KPIS_T, "output: daily_kpis", 1), ed.line_of(KPIS_T, "output: daily_kpis", -1)]
    text = ed.read(KPIS_T).splitlines()
    first, second = ((n, text[n - 1].index("daily_kpis") + 1) for n in lines)
    return first, second


def _sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def test_two_producers_are_both_reported_each_naming_the_other_in_text(edit, validate_cli, monkeypatch):
    (l1, c1), (l2, c2) = _two_producers(edit)
    monkeypatch.chdir(edit.root)
    result = validate_cli(edit.root)
    assert result.exit_code == 1
    reports = [r for r in parse_text_report(result.output) if r.code == "two-producers"]
    assert [(r.path, r.line, r.col) for r in reports] == [(KPIS_T, l1, c1), (KPIS_T, l2, c2)], result.output
    assert f"  also produced here: {KPIS_T}:{l2}:{c2}" in result.output
    assert f"  also produced here: {KPIS_T}:{l1}:{c1}" in result.output
    assert "also produced by transform.rebuild_daily_kpis" in reports[0].message
    assert "also produced by transform.build_daily_kpis" in reports[1].message


def test_related_locations_in_json(edit, validate_cli):
    (l1, c1), (l2, c2) = _two_producers(edit)
    doc = json.loads(validate_cli(edit.root, "-f", "json").output)
    found = {(d["line"], d["column"]): d["related"] for d in doc["diagnostics"] if d["code"] == "two-producers"}
    assert set(found) == {(l1, c1), (l2, c2)}
    (related,) = found[(l1, c1)]
    assert related["message"] == "also produced here"
    assert (related["file"], related["line"], related["column"]) == (KPIS_T, l2, c2)
    assert related["path"].endswith(KPIS_T)


def test_related_locations_in_github_annotations(edit, validate_cli, monkeypatch):
    (l1, _), (l2, c2) = _two_producers(edit)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(edit.root))
    out = validate_cli(edit.root, "-f", "github").output
    line = next(x for x in out.splitlines() if x.startswith("::error") and f",line={l1}," in x)
    assert f"%0Aalso produced here: {KPIS_T}:{l2}:{c2}%0Ahint: " in line


def test_related_locations_in_sarif_valid_against_the_sarif_schema(edit, validate_cli, monkeypatch):
    (l1, c1), (l2, c2) = _two_producers(edit)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(edit.root))
    doc = json.loads(validate_cli(edit.root, "-f", "sarif").output)
    errors = sorted(_sarif_validator().iter_errors(doc), key=str)
    assert errors == [], errors[0].message
    results = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "two-producers"]
    assert len(results) == 2
    by_line = {r["locations"][0]["physicalLocation"]["region"]["startLine"]: r for r in results}
    (rel,) = by_line[l1]["relatedLocations"]
    assert rel["id"] == 1 and rel["message"]["text"] == "also produced here"
    assert rel["physicalLocation"]["artifactLocation"]["uri"] == KPIS_T
    assert rel["physicalLocation"]["region"] == {"startLine": l2, "startColumn": c2}
    assert f"[{KPIS_T}:{l2}:{c2}](1)" in by_line[l1]["message"]["text"]  # the link code scanning shows
    assert by_line[l2]["relatedLocations"][0]["physicalLocation"]["region"] == {"startLine": l1, "startColumn": c1}


def test_sarif_without_related_locations_is_valid_too(edit, validate_cli):
    edit.replace("specs/models/churn.yaml", "    test_size: 0.2", "    test_sise: 0.2")
    doc = json.loads(validate_cli(edit.root, "-f", "sarif").output)
    assert list(_sarif_validator().iter_errors(doc)) == []
    assert all("relatedLocations" not in r for r in doc["runs"][0]["results"])


def test_sarif_uris_are_percent_encoded(edit, validate_cli, monkeypatch):
    """A file named `odd name 100%.yaml` is the URI reference `odd%20name%20100%25.yaml`."""
    monkeypatch.setenv("GITHUB_WORKSPACE", str(edit.root))
    odd = edit.root / "specs" / "odd name 100%.yaml"
    odd.write_text((edit.root / "specs/models/churn.yaml").read_text().replace("name: churn\n", "name: churn2\n", 1)
                   .replace("    test_size: 0.2", "    test_sise: 0.2"))
    doc = json.loads(validate_cli(edit.root, "-f", "sarif").output)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]
            for loc in r["locations"]}
    assert "specs/odd%20name%20100%25.yaml" in uris, uris


def test_a_name_defined_twice_is_reported_at_both_definitions(edit, validate_cli, monkeypatch):
    edit.replace(KPIS, "name: daily_kpis", "name: customers")
    here, there = edit.line_of(KPIS, "name: customers"), edit.line_of(CUSTOMERS, "name: customers")
    monkeypatch.chdir(edit.root)
    result = validate_cli(edit.root)
    reports = [r for r in parse_text_report(result.output) if r.code == "duplicate-name"]
    assert sorted((r.path, r.line) for r in reports) == sorted([(KPIS, here), (CUSTOMERS, there)])
    assert f"  also defined here: {CUSTOMERS}:{there}:9" in result.output
    assert f"  also defined here: {KPIS}:{here}:9" in result.output
    doc = json.loads(validate_cli(edit.root, "-f", "sarif").output)
    assert list(_sarif_validator().iter_errors(doc)) == []
    uris = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"])
            for r in doc["runs"][0]["results"] if r["ruleId"] == "duplicate-name"}
    assert {(Path(a).as_posix()[-len(KPIS):], Path(b).as_posix()[-len(CUSTOMERS):]) for a, b in uris} >= {
        (KPIS, CUSTOMERS)}


def test_a_key_written_twice_points_at_the_first_and_survives_the_cache_codec():
    text = b"apiVersion: specops/v1\nkind: Environment\nmetadata:\n  name: dev\n  name: dev2\nspec: {}\n"
    outcome = FileOutcome("specs/e.yaml", found=check_file("specs/e.yaml", text), key=file_key("specs/e.yaml", text))
    assert outcome.found is not None
    (diag,) = outcome.found.diagnostics
    assert (diag.code, diag.line) == ("duplicate-key", 5)
    assert diag.related == (Related("first defined here", "specs/e.yaml", 4, 3),)
    encoded = encode_outcome(outcome)
    assert encoded is not None
    assert decode_outcome(encoded) == outcome


@pytest.mark.parametrize("fields", [
    ("c", "m", "f", 1, 1, None, None, "error"),  # the old shape, without related
    ("c", "m", "f", 1, 1, None, None, "error", [("x", "f", 1, 1)]),
    ("c", "m", "f", 1, 1, None, None, "error", (("x", "f", "1", 1),)),
    ("c", "m", "f", 1, 1, None, None, "error", (("x", "f", 1),)),
])
def test_the_codec_refuses_diagnostics_of_another_shape(fields):
    import marshal

    data = marshal.dumps(("x.yaml", (fields,), frozenset(), None, ""))
    with pytest.raises((ValueError, TypeError)):
        decode_outcome(data)


def test_the_codec_keeps_related_locations():
    related = (Related("also here", "specs/a.yaml", 3, 4), Related("and here", "specs/b.yaml", 5, 6))
    outcome = FileOutcome("x.yaml", (Diagnostic("c", "m", "x.yaml", 1, 2, related=related),))
    encoded = encode_outcome(outcome)
    assert encoded is not None
    assert decode_outcome(encoded).diagnostics[0].related == related


# --------------------------------------------------------------------------- unquoted comma in a flow mapping


def test_an_unquoted_comma_in_a_flow_mapping_hints_at_quotes(edit, validate_cli):
    edit.replace(CUSTOMERS, "    - name: customer_id\n",
                 "    - {name: customer_id, type: integer, description: Key, surrogate}\n    - name: customer_id2\n")
    result = validate_cli(edit.root)
    (report,) = parse_text_report(result.output)
    assert report.code == "unknown-key" and report.line == edit.line_of(CUSTOMERS, "surrogate}")
    assert report.hint is not None
    assert "'surrogate' follows a comma inside {...}" in report.hint
    assert 'quote that value (description: "Key, surrogate")' in report.hint
    assert "otherwise, allowed keys:" in report.hint


@pytest.mark.parametrize("line", [
    "    - {name: customer_id, type: integer, descripton: Key}\n",  # a typo: no comma before the key
    "    - name: customer_id\n      descripton: Key, surrogate\n      type: integer\n",  # block style
])
def test_other_unknown_keys_get_no_quoting_hint(edit, validate_cli, line):
    edit.replace(CUSTOMERS, "    - name: customer_id\n", line + "    - name: customer_id2\n")
    (report,) = parse_text_report(validate_cli(edit.root).output)
    assert report.code == "unknown-key"
    assert report.hint is not None and "comma" not in report.hint and "did you mean 'description'" in report.hint
