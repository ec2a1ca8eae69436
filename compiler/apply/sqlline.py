"""Where in the user's SQL a warehouse error is: DuckDB and PostgreSQL quote the failing line of the statement
dbt ran (`LINE 24:   foo_bar(x) as z`), whose number is the generated model's, inside dbt's wrapping. The
quoted text is looked for in the transform's SQL; found once, it is the file line to fix."""

from __future__ import annotations

import re

from compiler.spec.project import SpecProject
from compiler.spec.sqltext import line_col

_QUOTED = re.compile(r"^[ \t]*LINE \d+: ?(.*)$", re.MULTILINE)
_SHORTEST = 8  # a shorter quote (`) as x`) would be found by chance


def sql_line(project: SpecProject, dataset: str, message: str) -> str | None:
    """`file:line` of the line a warehouse error quotes, in the SQL of the transform that builds `dataset`; None
    when the error quotes none, or the quote is not found exactly once (e.g. it holds a compiled table name)."""
    quoted = _QUOTED.search(message)
    transform = next((t for t in project.transforms.values() if t.output == dataset), None)
    if quoted is None or transform is None or transform.sql_loc is None:
        return None
    text = quoted.group(1).strip().removeprefix("...").removesuffix("...").strip()
    if len(text) < _SHORTEST:
        return None
    first = transform.sql.find(text)
    if first < 0 or transform.sql.find(text, first + 1) >= 0:
        return None
    line, _ = line_col(transform.sql, first)
    return f"{transform.sql_loc.file}:{transform.sql_loc.line + line}"
