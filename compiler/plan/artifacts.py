"""Artifact-level diffs: structural for YAML, JSON and JSON Lines, unified for text."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from compiler.plan.diff import _MISSING, diff_values

MAX_DIFF_LINES = 200
# the diff of an updated file past the plan's limit (plan.build.MAX_FILE_DIFFS): renderers list it without
NOT_DIFFED = "(not diffed: only the first {limit} updated files are)"
REDACTED = "(values not shown"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster on plans with many files


@dataclass(frozen=True)
class ArtifactChange:
    key: str
    action: str  # create | update | delete
    owner: str | None
    before_sha256: str | None
    after_sha256: str | None
    diff: str
    redacted: bool = False  # the diff is withheld: the file holds PII or restricted data

    @property
    def not_diffed(self) -> bool:
        return self.diff.startswith(NOT_DIFFED.split("{", 1)[0])

    def to_json(self) -> dict[str, Any]:
        return {"path": self.key, "action": self.action, "owner": self.owner,
                "before_sha256": self.before_sha256, "after_sha256": self.after_sha256, "diff": self.diff,
                **({"redacted": True} if self.redacted else {})}


def _parse(key: str, content: bytes) -> Any:
    text = content.decode("utf-8")
    if key.endswith(".json"):
        return json.loads(text)
    docs = list(yaml.load_all(text, Loader=_LOADER))
    return docs[0] if len(docs) == 1 else docs


def _job_names(lines: list[str]) -> list[tuple[Any, Any]]:
    """(the record's job name or None, the record) of each line."""
    out = []
    for line in lines:
        record = json.loads(line)
        job = record.get("job") if isinstance(record, dict) else None
        out.append((job.get("name") if isinstance(job, dict) else None, record))
    return out


def _changed_records(before: bytes, after: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """The records of two JSON Lines files that are not in both as they are, by job name (an environment's
    lineage has thousands of lines, a change touches a few: only those are parsed). ValueError when a record
    has no job name or a name repeats on either side: such files get a line diff."""
    old = before.decode("utf-8").splitlines()
    new = after.decode("utf-8").splitlines()
    in_old, in_new = set(old), set(new)
    sides = []
    for lines, other in ((old, in_new), (new, in_old)):
        named = _job_names([line for line in lines if line.strip() and line not in other])
        names = [n for n, _ in named]
        if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
            raise ValueError("JSON Lines records without distinct job names")
        sides.append(dict(named))
    return sides[0], sides[1]


_LONG = 120  # characters of a value shown


def _show_pair(before: Any, after: Any) -> tuple[str, str]:
    """Both values as shown; two long strings as the part around where they start to differ (a SQL edit)."""
    if isinstance(before, str) and isinstance(after, str) and max(len(before), len(after)) > _LONG - 3:
        start = 0
        while start < min(len(before), len(after)) and before[start] == after[start]:
            start += 1
        start = max(0, start - 30)
        return _excerpt(before, start), _excerpt(after, start)
    return _show(before), _show(after)


def _excerpt(text: str, start: int, length: int = 80) -> str:
    body = json.dumps(text[start:start + length], ensure_ascii=False)[1:-1]
    return f'"{"..." if start else ""}{body}{"..." if len(text) > start + length else ""}"'


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(absent)"
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


def structural_diff(key: str, before: bytes, after: bytes) -> str | None:
    """`path: before -> after` lines, or None when the files are not both parseable."""
    try:
        old, new = _changed_records(before, after) if key.endswith(".jsonl") else (_parse(key, before),
                                                                                    _parse(key, after))
    except (ValueError, yaml.YAMLError, UnicodeDecodeError):
        return None
    lines = []
    for path, b, a in diff_values(old, new):
        marker = "+" if b is _MISSING else "-" if a is _MISSING else "~"
        shown_b, shown_a = _show_pair(b, a)
        lines.append(f"{marker} {path or '(root)'}: {shown_b} -> {shown_a}")
    return _cap(lines)


_CONTEXT = 2  # lines around each change
_HUNK = re.compile(r"^@@ -(\d+)((?:,\d+)?) \+(\d+)((?:,\d+)?) @@$")


def unified_diff(key: str, before: bytes, after: bytes) -> str:
    """difflib's unified diff, computed on the lines between the files' common beginning and end (what
    difflib would keep of those is the context, which stays): a one-line change in a file of thousands of
    lines (an environment's lineage) costs what the change costs."""
    old = before.decode("utf-8", errors="replace").splitlines()
    new = after.decode("utf-8", errors="replace").splitlines()
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    start = max(0, head - _CONTEXT)
    cut = max(0, tail - _CONTEXT)
    lines = list(difflib.unified_diff(old[start:len(old) - cut], new[start:len(new) - cut], f"a/{key}", f"b/{key}",
                                      n=_CONTEXT, lineterm=""))
    if start:
        lines = [_shift(line, start) for line in lines]
    return _cap(lines)


def _shift(line: str, by: int) -> str:
    """A hunk header of a diff of lines [by:] renumbered for the whole files (other lines unchanged)."""
    m = _HUNK.match(line) if line.startswith("@@") else None
    if m is None:
        return line
    return f"@@ -{int(m.group(1)) + by}{m.group(2)} +{int(m.group(3)) + by}{m.group(4)} @@"


def _cap(lines: list[str]) -> str:
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... ({len(lines) - MAX_DIFF_LINES} more lines)"]
    return "\n".join(lines)


def content_diff(key: str, before: bytes, after: bytes) -> str:
    if key.endswith((".yml", ".yaml", ".json", ".jsonl")):
        structural = structural_diff(key, before, after)
        if structural:  # empty: the same data in other bytes (order, spacing), which a line diff shows
            return structural
    return unified_diff(key, before, after)


def redacted_diff(what: str, before: bytes, after: bytes) -> str:
    """Counts and digests instead of the lines of a data file whose values may not be shown."""
    import hashlib

    old = before.decode("utf-8", errors="replace").splitlines()
    new = after.decode("utf-8", errors="replace").splitlines()
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "equal":  # counted from the opcodes: a removed line `-- x` is no diff header
            removed += i2 - i1
            added += j2 - j1
    return (f"{REDACTED}: {what}; {added} line(s) added, {removed} removed; "
            f"{len(old)} -> {len(new)} lines; sha256 {hashlib.sha256(before).hexdigest()[:12]} -> "
            f"{hashlib.sha256(after).hexdigest()[:12]})")
