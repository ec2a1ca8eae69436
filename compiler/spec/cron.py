"""Checking 5-field cron expressions (as Kubernetes CronJobs and GitHub Actions read them).

Both read days of the week 0-6 (robfig/cron for CronJobs, actionlint for GitHub: "End of range (7) above maximum
(6)"), so 7, which other crons take for Sunday, is refused rather than rewritten (in a range, 5-7, it would become
two ranges). A schedule whose days of the month fall in none of its months never fires: actionlint refuses it
and a CronJob would wait forever.
"""

from __future__ import annotations

import re

_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}),
    ("day of week", 0, 6, {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}),
)
# the longest each month can be (February: 29, a leap year's)
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
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
            if name == "day of week" and 7 in values:
                return f"the {name} field '{text}' has 7: GitHub Actions and Kubernetes read days 0-6 (Sunday is 0)"
            if any(v < low or v > high for v in values):
                return f"the {name} field '{text}' is out of range {low}-{high}"
            if len(values) == 2 and values[0] > values[1]:
                return f"the {name} field '{text}' is a backwards range"
    return _never(fields)


def _values(text: str, index: int) -> set[int]:
    """The values a valid field stands for (`N/step` is N to the top, as robfig/cron reads it)."""
    _, low, high, names = _FIELDS[index]
    out: set[int] = set()
    for part in text.lower().split(","):
        m = _PART.match(part)
        assert m is not None
        step = int(m.group("step") or 1)
        if m.group("range") == "*":
            first, last = low, high
        else:
            bounds = [names.get(b, int(b) if b.isdigit() else 0) for b in m.group("range").split("-")]
            first, last = bounds[0], bounds[-1] if len(bounds) == 2 or m.group("step") is None else high
        out.update(range(first, last + 1, step))
    return out


def _never(fields: list[str]) -> str | None:
    """Why a valid schedule never fires: its days of the month exist in none of its months. Only when the day of
    week is `*`: with both day fields restricted, cron runs on a day either one matches."""
    if fields[4] != "*":
        return None
    days, months = _values(fields[2], 2), _values(fields[3], 3)
    if any(d <= _MONTH_DAYS[m - 1] for d in days for m in months):
        return None
    return (f"the schedule never fires: no month of '{fields[3]}' has a day '{fields[2]}' (GitHub Actions refuses "
            "it and a CronJob would never run)")


def canonical_cron(expr: str) -> str:
    """A valid cron expression in one spelling per meaning of its parts: fields single-spaced, month and day
    names as numbers, numbers without leading zeros (`0 3 * * SUN`, `0  3 * * 0` and `00 03 * * 0` give
    `0 3 * * 0`). Lists and ranges stay as written."""
    out = []
    for text, (_, _, _, names) in zip(expr.lower().split(), _FIELDS, strict=True):
        parts = []
        for part in text.split(","):
            step = ""
            if "/" in part:
                part, step = part.split("/", 1)
                step = "/" + str(int(step)) if step.isdigit() else "/" + step
            bounds = [str(names.get(b, int(b) if b.isdigit() else b)) for b in part.split("-")]
            parts.append("-".join(bounds) + step)
        out.append(",".join(parts))
    return " ".join(out)
