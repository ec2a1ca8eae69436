"""The only templating allowed in user SQL: `{{ input('name') }}` in transforms and `{{ dataset }}` in checks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

INPUT_RE = re.compile(r"""\{\{\s*input\(\s*(?P<q>['"])(?P<name>[^'"]*)(?P=q)\s*\)\s*\}\}""")
DATASET_RE = re.compile(r"\{\{\s*dataset\s*\}\}")
JINJA_RE = re.compile(r"\{\{|\{%|\{#|%\}|#\}|\}\}")
# a whole templating construct ({{ ... }}, {% ... %}, {# ... #}), else a lone delimiter: one match each
_CONSTRUCT_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|" + JINJA_RE.pattern, re.DOTALL)


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    offset: int


def inputs_used(sql: str) -> list[Placeholder]:
    return [Placeholder(m.group("name"), m.start()) for m in INPUT_RE.finditer(sql)]


def stray_jinja(sql: str, allowed: re.Pattern[str]) -> int | None:
    """Offset of any templating other than the allowed placeholder, else None."""
    return next(stray_jinja_all(sql, allowed), None)


def stray_jinja_all(sql: str, allowed: re.Pattern[str]) -> Iterator[int]:
    """Offsets of every templating other than the allowed placeholder, in order."""
    return (offset for offset, _ in stray_constructs(sql, allowed))


def stray_constructs(sql: str, allowed: re.Pattern[str]) -> Iterator[tuple[int, str]]:
    """(offset, text) of every templating construct other than the allowed placeholder, in order."""
    stripped = allowed.sub(lambda m: " " * len(m.group(0)), sql)
    return ((found.start(), found.group(0)) for found in _CONSTRUCT_RE.finditer(stripped))


def line_col(text: str, offset: int) -> tuple[int, int]:
    """0-based line index and 1-based column of `offset` in `text`."""
    line = text.count("\n", 0, offset)
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col
