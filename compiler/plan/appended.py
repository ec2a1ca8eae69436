"""Rows appended to a file source, against what an incremental model downstream lets in.

An incremental model merges the rows its `updated_at > max(updated_at)` filter finds. Rows appended to a seed
upstream get through only when `updated_at` copies a column of that file and every appended row's value there is
newer than every earlier row's, compared as the model's `updated_at` holds them (numbers as numbers, dates and
times as times: '2024-01-01T10:30' is before '2024-01-01 11:00', whatever their text says; a time cast to a date
by its day, so a later time of the same day is no newer; a time with a zone, which the seed loads as its clock
time, is not compared). Anything else (a path
through other transforms, an aggregate, values that do not parse or compare) may be skipped: the model is then
refreshed from scratch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from compiler.spec.csvfile import table
from compiler.spec.ir import Dataset
from compiler.spec.project import SpecProject

_NUMBERS = ("integer", "bigint", "double")


@dataclass
class AppendedRows:
    """The rows appended to file source `dataset`, whose content had `size` bytes before (read when first asked)."""

    dataset: Dataset
    size: int
    # by (column, type of the model's updated_at): every appended value newer than the old ones
    _newer: dict[tuple[str, str], bool] = field(default_factory=dict)

    def only_newer(self, project: SpecProject, address: str) -> bool:
        """Whether incremental transform `address` lets every appended row in (see the module's docstring)."""
        t = project.transforms.get(address.partition(".")[2])
        analysis = project.lineage.analysis_of(t.name) if t is not None and t.incremental is not None else None
        out = analysis.column(t.incremental.updated_at) if t and t.incremental and analysis and analysis.ok else None
        if out is None or out.passthrough is None or out.passthrough[0] != self.dataset.name:
            return False
        column = out.passthrough[1]
        produced = project.datasets.get(t.output) if t is not None else None
        written = produced.column(t.incremental.updated_at) if produced and t and t.incremental else None
        key = (column, written.type if written is not None else "")
        if key not in self._newer:
            self._newer[key] = self._compare(column, key[1])
        return self._newer[key]

    def _compare(self, column: str, written: str) -> bool:
        """Every appended value of `column` newer than every earlier one, as the model's `updated_at` holds them
        (of type `written`: a cast of a time to a date makes a later time of the same day no newer)."""
        declared = self.dataset.column(column)
        key = _order(declared.type, written) if declared is not None else None
        source = self.dataset.source
        if key is None or source is None or not source.content:
            return False
        delimiter = source.delimiter or ","
        before, after = table(source.content[:self.size], delimiter), table(source.content, delimiter)
        if before is None or after is None or before[0] != after[0] or column.lower() not in after[0]:
            return False
        at = after[0].index(column.lower())
        old, rows = before[1], after[1]
        if len(rows) <= len(old):
            return False
        try:
            new_values = [key(r[at].strip()) for r in rows[len(old):]]
            old_values = [key(r[at].strip()) for r in old]
            return not old_values or min(new_values) > max(old_values)
        except (ValueError, TypeError):  # unparsable, empty, or naive beside zoned times
            return False


def _order(spec_type: str, written: str) -> Callable[[str], Any] | None:
    """How values of a declared type compare once cast to `written`, the model's type for them (None: not by any
    order specops knows, or a cast that could round newer values down to an older one's)."""
    numbers = (*_NUMBERS, "decimal")
    if spec_type.startswith(numbers) and (written == spec_type or written == "double"):
        return float
    if spec_type in ("date", "timestamp") and written in (spec_type, "timestamp"):
        return _instant
    if spec_type == "timestamp" and written == "date":
        return lambda text: _instant(text).date()
    return None


def _instant(text: str) -> datetime:
    """A date or time as the warehouse holds it: dbt seeds a `timestamp` as its clock time, dropping a zone
    (`2024-01-02 23:00:00-05:00` is loaded as 23:00, not 04:00 UTC the next day), so a zoned value's order there
    is not its instant's: not compared (ValueError), and the model is refreshed."""
    found = datetime.fromisoformat(text)
    if found.tzinfo is not None:
        raise ValueError(f"{text} has a zone, which the seed drops")
    return found
