"""Checking 5-field cron expressions (as Kubernetes CronJobs and GitHub Actions read them)."""

from __future__ import annotations

import re

_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}),
)
_PART = re.compile(r"^(?P<range>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")


def cron_problem(expr: str) -> str | None:
    """Why `expr` is not a valid 5-field cron expression, or None."""
    fields = expr.split()
    if len(fields) != 5:
        return f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), not {len(fields)}"
    for text, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for part in text.lower().split(","):
            m = _PART.match(part)
            if not m:
                return f"the {name} field '{text}' is not a number, range, list or step"
            if m.group("step") is not None and int(m.group("step")) == 0:
                return f"the {name} field '{text}' has a step of 0"
            if m.group("range") == "*":
                continue
            bounds = m.group("range").split("-")
            values = []
            for b in bounds:
                value = names.get(b, int(b) if b.isdigit() else None)
                if value is None:
                    return f"the {name} field '{text}' has '{b}', which is not a {name}"
                values.append(value)
            if any(v < low or v > high for v in values):
                return f"the {name} field '{text}' is out of range {low}-{high}"
            if len(values) == 2 and values[0] > values[1]:
                return f"the {name} field '{text}' is a backwards range"
    return None
