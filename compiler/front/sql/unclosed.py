"""Where SQL sqlglot cannot split into tokens goes wrong: mostly a quote, `$$` or comment that is never closed.

sqlglot's TokenError quotes the 100 characters around where it stopped (the substituted text, not the user's),
and the error it was raised from says `Missing ' from <line>:<offset>`, the offset of the opening delimiter.
"""

from __future__ import annotations

import re

_MISSING = re.compile(r"Missing (?P<delim>\S+) from \d+:(?P<offset>\d+)")
_AROUND = 50  # how far either side of where it stopped sqlglot's message quotes
_NEAR = 30  # at most this much of the user's text is quoted


def token_error(exc: Exception, sql: str) -> tuple[str, int]:
    """The message and offset of a tokenizing error in `sql` (the user's text: its offsets are the parsed one's)."""
    cause = exc.__cause__ or exc.__context__
    found = _MISSING.fullmatch(str(cause)) if cause is not None else None
    if found is not None and int(found["offset"]) < len(sql):
        return f"invalid SQL: the {found['delim']} here is never closed", int(found["offset"])
    comment = sql.rfind("/*")
    if comment >= 0 and "*/" not in sql[comment + 2:]:
        return "invalid SQL: the /* here is never closed", comment
    offset = _stopped_at(exc, len(sql))
    near = sql[offset:offset + _NEAR].split("\n", 1)[0].strip()
    return (f"invalid SQL: cannot split it into tokens near '{near}'" if near
            else "invalid SQL: cannot split it into tokens"), offset


def _stopped_at(exc: Exception, size: int) -> int:
    """Where the tokenizer stopped, from the span its message quotes (0 when that does not tell)."""
    start, end = getattr(exc, "start", None), getattr(exc, "end", None)
    if isinstance(start, int) and start > 0:
        return min(start + _AROUND, size)
    if isinstance(end, int) and end < size - 1:
        return max(end - _AROUND, 0)
    return 0
