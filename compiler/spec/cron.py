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


def canonical_cron(expr: str) -> str:
    """A valid cron expression in one spelling per meaning of its parts: fields single-spaced, month and day
    names as numbers, Sunday as 0 (`0 3 * * SUN` and `0  3 * * 7` give `0 3 * * 0`). Lists and ranges stay as
    written."""
    out = []
    for index, (text, (_, _, _, names)) in enumerate(zip(expr.lower().split(), _FIELDS, strict=True)):
        parts = []
        for part in text.split(","):
            step = ""
            if "/" in part:
                part, step = part.split("/", 1)
                step = "/" + step
            bounds = [str(names.get(b, b)) for b in part.split("-")]
            if index == 4 and bounds == ["7"]:
                bounds = ["0"]
            parts.append("-".join(bounds) + step)
        out.append(",".join(parts))
    return " ".join(out)
