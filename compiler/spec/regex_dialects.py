"""What each warehouse's regular-expression engine makes of a pattern Python's `re` compiles.

A regex check's pattern is read as Python's `re` reads it (the one dialect validate can compile), but the dbt test
runs it in the warehouse (templates/dbt/macros/specops_tests.sql, specops_regex_match): DuckDB's regexp_matches
and BigQuery's REGEXP_CONTAINS are RE2, Postgres's `~` is its own ARE dialect (Spencer's), Snowflake's REGEXP_INSTR
is POSIX ERE with a few Perl escapes. `engine_problems` names the constructs of a pattern that an engine rejects or
reads otherwise. DuckDB and Postgres were checked against the real engines (tests/test_regex_dialects.py);
BigQuery is RE2 as DuckDB is; Snowflake from its documentation (POSIX ERE, \\d \\s \\w \\b and their negations, no
non-greedy quantifiers), so anything beyond that is refused there rather than guessed at.

Differences that depend on the data, not on the pattern, are documented (docs/spec.md) rather than reported: `.`
matches a newline on Postgres, `$` in Python also matches before a final newline, and RE2's `\\d`, `\\w`, `\\s`
and `\\b` are ASCII.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# the engine each warehouse's emitted test runs the pattern in
ENGINES = {"duckdb": "re2", "bigquery": "re2", "postgres": "postgres", "snowflake": "snowflake"}

_PLAIN_GROUP = "write a plain group ( ... ): a match test finds the same rows and does not use group names"
_SPLIT = "write the condition without lookaround, or as an expression check"
_NO_ATOMIC = ("write it without atomic groups and possessive quantifiers (a plain group or quantifier may match "
              "more: check the rows it would accept)")
_WORD = "[^A-Za-z0-9_]"


@dataclass(frozen=True)
class Construct:
    """One construct of a pattern: what it is (a key of _VERDICTS), where it starts and its text."""

    kind: str
    offset: int
    text: str


@dataclass(frozen=True)
class Problem:
    """An engine rejects a construct (`rejects`) or reads it otherwise than Python does."""

    construct: Construct
    engine: str
    rejects: bool
    what: str  # what Python reads: "a lookahead"
    reads_as: str | None  # for a changed meaning: what the engine reads instead
    hint: str


# kind -> (description, {engine: (rejects, reads_as or None)}), hint
_VERDICTS: dict[str, tuple[str, dict[str, tuple[bool, str | None]], str]] = {
    "lookahead": ("a lookahead", {"re2": (True, None), "snowflake": (True, None)}, _SPLIT),
    "lookbehind": ("a lookbehind", {"re2": (True, None), "snowflake": (True, None)}, _SPLIT),
    "backreference": ("a backreference", {"re2": (True, None), "snowflake": (True, None)},
                      "a regular expression cannot compare two parts of a value there: use an expression check"),
    "named-backreference": ("a named backreference (?P=name)", {
        "re2": (True, None), "snowflake": (True, None), "postgres": (True, None)},
        "Postgres numbers its groups (\\1); RE2 and Snowflake have no backreferences: use an expression check"),
    "named-group": ("a named group (?P<name>...)", {"postgres": (True, None), "snowflake": (True, None)},
                    _PLAIN_GROUP),
    "non-capturing-group": ("a non-capturing group (?:...)", {"snowflake": (True, None)}, _PLAIN_GROUP),
    "conditional": ("a conditional group (?(...)...)", {
        "re2": (True, None), "snowflake": (True, None), "postgres": (True, None)},
        "write the alternatives out with |, or split the check"),
    "atomic-group": ("an atomic group (?>...)", {
        "re2": (True, None), "snowflake": (True, None), "postgres": (True, None)}, _NO_ATOMIC),
    "possessive": ("a possessive quantifier", {
        "re2": (True, None), "snowflake": (True, None), "postgres": (True, None)}, _NO_ATOMIC),
    "comment": ("a comment group (?#...)", {"re2": (True, None), "snowflake": (True, None)},
                "remove the comment (keep it in the check's description)"),
    "non-greedy": ("a non-greedy quantifier", {"snowflake": (True, None)},
                   "drop the ? after the quantifier: greedy or not, a match test finds the same rows"),
    "inline-flags": ("inline flags", {"snowflake": (True, None)}, "spell the flag out: [Aa] for case, for instance"),
    "flag-au": ("the inline flag a or u", {"re2": (True, None), "postgres": (True, None)}, "remove the flag"),
    "flag-x": ("the inline flag x", {"re2": (True, None)},
               "remove the flag, and the whitespace and comments it allows"),
    "flags-not-first": ("inline flags after the start of the pattern", {"postgres": (True, None)},
                        "Postgres takes inline flags only as the pattern's very first group: merge them into one"),
    "scoped-flags": ("scoped inline flags (?flags:...)", {"postgres": (True, None), "snowflake": (True, None)},
                     "put the flags at the start, (?i), for the whole pattern, or spell them out ([Aa])"),
    "word-boundary": ("a word boundary", {"postgres": (False, "a backspace character")},
                      f"spell the boundary out, which every warehouse reads alike: (^|{_WORD}) before a word, "
                      f"({_WORD}|$) after it (Postgres's own \\y is not a Python escape)"),
    "not-word-boundary": ("a non-boundary", {"postgres": (False, "a backslash")},
                          "spell out the word characters on both sides, e.g. [A-Za-z0-9_][A-Za-z0-9_]"),
    "backspace-in-class": ("\\b in brackets (a backspace)", {"re2": (True, None)}, "write \\x08"),
    "start-of-text": ("\\A", {"snowflake": (True, None)}, "write ^ (without the m flag it is the value's start)"),
    "end-of-text": ("\\Z", {"re2": (True, None), "snowflake": (True, None)},
                    "write $ (Python's $ also matches before a final newline; the warehouses' does not)"),
    "unicode-escape": ("a \\u or \\U escape", {"re2": (True, None)},
                       "write the character itself, or \\x and two hex digits below 0x100"),
    "named-character": ("a \\N{...} escape", {"re2": (True, None), "postgres": (True, None)},
                        "write the character itself"),
    "long-hex": ("\\x and its two hex digits",
                 {"postgres": (False, "one \\x escape taking every hex digit that follows")},
                 "put the next digit in brackets: \\x41[B]"),
    "open-repeat": ("a repetition from 0 to n", {"re2": (False, "the text {,n} itself"),
                                          "postgres": (False, "the text {,n} itself"), "snowflake": (True, None)},
                    "write {0,n}"),
    "repeat-over-255": ("a repetition count over 255", {"postgres": (True, None)},
                        "use a smaller count, or a length check in an expression check"),
    "repeat-over-1000": ("a repetition count over 1000", {"re2": (True, None)},
                         "use a smaller count, or a length check in an expression check"),
}


def constructs(pattern: str) -> Iterator[Construct]:
    """The constructs of `pattern` (which Python's `re` compiles) that some warehouse's engine treats apart."""
    verbose = bool(re.match(r"\(\?[aiLmsux]*x", pattern))
    i, n, in_class, first = 0, len(pattern), False, -1  # first: where a class's first character is
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            yield from _escape(pattern, i, in_class)
            i += 2
        elif in_class:
            in_class = c != "]" or i == first  # a `]` first in a class is a character: []a] or [^]a]
            i += 1
        elif verbose and c == "#":
            end = pattern.find("\n", i)
            i = n if end < 0 else end
        elif c == "(" and pattern.startswith("(?", i):
            kinds, end = _group(pattern, i)
            yield from (Construct(k, i, pattern[i:end]) for k in kinds)
            i = end
        elif c in "*+?" or (c == "{" and _REPEAT.match(pattern, i)):
            kinds, end = _quantifier(pattern, i)
            yield from (Construct(k, i, pattern[i:end]) for k in kinds)
            i = end
        else:
            if c == "[":
                in_class, first = True, i + 2 if pattern.startswith("[^", i) else i + 1
            i += 1


_REPEAT = re.compile(r"\{(\d*)(,)?(\d*)\}")
_FLAGS = re.compile(r"\(\?([aiLmsux]*)(?:-([imsx]*))?([:)])")
_GROUPS = (("=", "lookahead"), ("!", "lookahead"), ("<=", "lookbehind"), ("<!", "lookbehind"),
           ("P<", "named-group"), ("P=", "named-backreference"), (":", "non-capturing-group"),
           (">", "atomic-group"), ("(", "conditional"), ("#", "comment"))


def _group(pattern: str, i: int) -> tuple[list[str], int]:
    """The kinds of the `(?...` group at `i` and where the part of it to skip ends (its name, flags, comment)."""
    rest = pattern[i + 2:]
    for prefix, kind in _GROUPS:
        if rest.startswith(prefix):
            if kind in ("named-backreference", "comment", "conditional"):
                return [kind], pattern.index(")", i + 3) + 1
            return [kind], (pattern.index(">", i) + 1) if kind == "named-group" else i + 2 + len(prefix)
    m = _FLAGS.match(pattern, i)
    if m is None:  # nothing else compiles in Python
        return [], i + 2
    letters = set(m.group(1)) | set(m.group(2) or "")
    kinds = ["scoped-flags" if m.group(3) == ":" else "inline-flags"]
    kinds += ["flag-au"] if letters & set("au") else []
    kinds += ["flag-x"] if "x" in letters else []
    # Postgres reads embedded options only as the first group; Python also takes (?i)(?m) at the start
    kinds += ["flags-not-first"] if m.group(3) == ")" and i > 0 else []
    return kinds, m.end()


def _quantifier(pattern: str, i: int) -> tuple[list[str], int]:
    kinds, end = [], i + 1
    m = _REPEAT.match(pattern, i) if pattern[i] == "{" else None
    if m is not None:
        end = m.end()
        if not m.group(1) and m.group(2):
            kinds.append("open-repeat")
        top = max((int(x) for x in (m.group(1), m.group(3)) if x), default=0)
        kinds += (["repeat-over-1000"] if top > 1000 else []) + (["repeat-over-255"] if top > 255 else [])
    if pattern[end:end + 1] == "?":
        kinds.append("non-greedy")
        end += 1
    elif pattern[end:end + 1] == "+":
        kinds.append("possessive")
        end += 1
    return kinds, end


def _escape(pattern: str, i: int, in_class: bool) -> Iterator[Construct]:
    c = pattern[i + 1]
    text = pattern[i:i + 2]
    if in_class:
        if c == "b":
            yield Construct("backspace-in-class", i, text)
        elif c in "uU":
            yield Construct("unicode-escape", i, text)
        elif c == "N":
            yield Construct("named-character", i, text)
        elif c == "x" and _long_hex(pattern, i):
            yield Construct("long-hex", i, pattern[i:i + 5])
        return
    if c.isdigit() and _is_backreference(pattern, i):
        yield Construct("backreference", i, text)
    kind = {"b": "word-boundary", "B": "not-word-boundary", "A": "start-of-text", "Z": "end-of-text",
            "u": "unicode-escape", "U": "unicode-escape", "N": "named-character"}.get(c)
    if kind:
        yield Construct(kind, i, text)
    elif c == "x" and _long_hex(pattern, i):
        yield Construct("long-hex", i, pattern[i:i + 5])


def _long_hex(pattern: str, i: int) -> bool:
    return len(pattern) > i + 4 and pattern[i + 4] in "0123456789abcdefABCDEF"


def _is_backreference(pattern: str, i: int) -> bool:
    """Python's reading of `\\<digits>`: octal when it starts with 0 or is three octal digits, else a group."""
    digits = re.match(r"\d+", pattern[i + 1:])
    assert digits is not None
    d = digits.group()
    return not (d[0] == "0" or (len(d) >= 3 and all(x in "01234567" for x in d[:3])))


def engine_problems(pattern: str, engine: str) -> list[Problem]:
    """What `engine` ('re2', 'postgres' or 'snowflake') rejects or reads otherwise in `pattern` (compiled by
    Python's `re`), the first occurrence of each kind of construct, in the pattern's order."""
    seen: dict[str, Problem] = {}
    for con in constructs(pattern):
        what, verdicts, hint = _VERDICTS[con.kind]
        if con.kind in seen or engine not in verdicts:
            continue
        rejects, reads_as = verdicts[engine]
        seen[con.kind] = Problem(con, engine, rejects, what, reads_as, hint)
    return list(seen.values())
