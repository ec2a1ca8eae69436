"""`{{ input('x') }}` -> a table name sqlglot can parse, keeping every other character where it was.

The table name is written over the placeholder and the rest blanked (newlines kept), so an offset, a
line and a column in the parsed text are the same as in the user's SQL: errors point into it directly.
"""

from __future__ import annotations

import re

from compiler.spec.sqltext import INPUT_RE

PREFIX = "__in_"


def table_for(name: str) -> str:
    return PREFIX + re.sub(r"\W", "_", name)


def substitute(sql: str) -> str:
    """The SQL with each `{{ input('x') }}` replaced by the table `__in_x` padded to the same length."""

    def same_length(m: re.Match[str]) -> str:
        table = table_for(m.group("name"))
        rest = m.group(0)[len(table):]
        return table + "".join("\n" if ch == "\n" else " " for ch in rest)

    return INPUT_RE.sub(same_length, sql)


def input_of(table: str) -> str | None:
    """The input dataset a substituted table name stands for (None for any other table)."""
    return table[len(PREFIX):] if table.startswith(PREFIX) else None


def restore(message: str, sql: str) -> str:
    """`message` (sqlglot's, about the substituted text) with each table `__in_x` and its padding written as the
    user wrote it: `{{ input('x') }}`."""
    written = {table_for(m.group("name")): m.group(0) for m in INPUT_RE.finditer(sql)}

    def back(m: re.Match[str]) -> str:
        table, padding = m.group(1), m.group(2)
        original = written.get(table)
        return m.group(0) if original is None else original + padding[len(original) - len(table):]

    return re.sub("(" + re.escape(PREFIX) + r"\w+)(\s*)", back, message) if written else message
