"""The plan's line diff of generated files (compiler.plan.artifacts.unified_diff): always a correct diff,
short for a small change in a long file, and it leaves the lines far from the change out."""

from __future__ import annotations

import json
import random
import re

from compiler.plan.artifacts import content_diff, unified_diff

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$")


def patch(old: list[str], diff: str) -> list[str]:
    """`old` with the unified diff applied; asserts that every context and removed line is where it says."""
    lines = diff.splitlines()[2:]
    out: list[str] = []
    pos = i = 0
    while i < len(lines):
        m = HUNK.match(lines[i])
        assert m, lines[i]
        count = int(m.group(2)) if m.group(2) is not None else 1
        start = int(m.group(1)) - 1 if count else int(m.group(1))
        out += old[pos:start]
        pos, i = start, i + 1
        while i < len(lines) and not lines[i].startswith("@@"):
            kind, body = lines[i][0], lines[i][1:]
            if kind in " -":
                assert old[pos] == body, (pos, body)
                pos += 1
            if kind in " +":
                out.append(body)
            i += 1
    return out + old[pos:]


def edited(rnd: random.Random, old: list[str]) -> list[str]:
    new = list(old)
    for _ in range(rnd.randint(0, 5)):
        op, pos = rnd.random(), rnd.randint(0, len(new))
        if op < 0.4:
            new.insert(pos, rnd.choice("abcdef"))
        elif new and op < 0.7:
            del new[min(pos, len(new) - 1)]
        elif new:
            new[min(pos, len(new) - 1)] = rnd.choice("abcdef")
    return new


def test_every_diff_turns_the_old_file_into_the_new_one() -> None:
    rnd = random.Random(7)
    for _ in range(3000):
        old = [rnd.choice("abcde") for _ in range(rnd.randint(0, 40))]  # repeated lines: ambiguous alignments
        new = edited(rnd, old)
        diff = unified_diff("f", "\n".join(old).encode(), "\n".join(new).encode())
        assert (diff == "") == (old == new)
        assert old == new or patch(old, diff) == new, (old, new, diff)


def test_one_changed_line_in_a_long_file_is_one_hunk_with_its_real_line_numbers() -> None:
    old = [f'{{"job":"job_{i}","facet":{i}}}' for i in range(20_000)]
    new = list(old)
    new[12_345] = '{"job":"job_12345","facet":"changed"}'
    diff = unified_diff("lineage/dev.jsonl", "\n".join(old).encode(), "\n".join(new).encode())
    assert diff.splitlines() == [
        "--- a/lineage/dev.jsonl", "+++ b/lineage/dev.jsonl", "@@ -12344,5 +12344,5 @@",
        f" {old[12_343]}", f" {old[12_344]}", f"-{old[12_345]}", f"+{new[12_345]}", f" {old[12_346]}",
        f" {old[12_347]}"]


def _event(job: str, description: str) -> str:
    return json.dumps({"job": {"namespace": "ns", "name": job},
                       "outputs": [{"namespace": "db", "name": f"dev.main.{job}",
                                    "facets": {"schema": {"fields": [{"name": "id", "description": description}]}}}]})


def test_a_lineage_file_is_diffed_by_job_and_field_not_by_line_of_json() -> None:
    old = [_event(f"transform.t{i}", "The id.") for i in range(50)]
    new = [*old[:7], _event("transform.t7", "The key."), *old[8:], _event("transform.t_new", "New.")]
    del new[3]
    diff = content_diff("lineage/dev.jsonl", "\n".join(old).encode(), "\n".join(new).encode())
    lines = diff.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith('- transform.t3: {"job": {"name": "transform.t3"') and lines[0].endswith("-> (absent)")
    assert lines[1] == ('~ transform.t7.outputs[dev.main.transform.t7].facets.schema.fields[id].description: '
                        '"The id." -> "The key."')
    assert lines[2].startswith('+ transform.t_new: (absent) -> {"job": {"name": "transform.t_new"')


def test_json_lines_without_distinct_job_names_get_a_line_diff() -> None:
    old = b'{"a": 1}\n{"a": 2}\n'
    new = b'{"a": 1}\n{"a": 3}\n'
    assert content_diff("events.jsonl", old, new).splitlines()[2:] == ["@@ -1,2 +1,2 @@", ' {"a": 1}', '-{"a": 2}',
                                                                        '+{"a": 3}']


def test_the_same_records_in_another_order_get_a_line_diff_not_an_empty_one() -> None:
    old = [_event("transform.a", "x"), _event("transform.b", "y")]
    diff = content_diff("lineage/dev.jsonl", "\n".join(old).encode(), "\n".join(reversed(old)).encode())
    assert diff.startswith("--- a/lineage/dev.jsonl") and patch(old, diff) == list(reversed(old))


def test_a_long_string_shows_where_it_changes() -> None:
    sql = "select\n" + "".join(f"    c{i},\n" for i in range(40)) + "from t\n"
    old = json.dumps({"job": {"name": "transform.t", "facets": {"sql": {"query": sql}}}})
    new = json.dumps({"job": {"name": "transform.t", "facets": {"sql": {"query": sql.replace("c30,", "c30 + 1 as c30,")}}}})
    (line,) = content_diff("lineage/dev.jsonl", old.encode(), new.encode()).splitlines()
    assert line.startswith("~ transform.t.job.facets.sql.query: \"...") and "c30 + 1 as c30" in line
    assert "c30 + 1" not in line.split(" -> ")[0] and "c29" in line.split(" -> ")[0]
