"""Small building blocks the schema compiler assembles checks from."""

from __future__ import annotations

from typing import Any

from compiler.front.fastschema.semantics import Check, Undecided, json_equal

_EMPTY: frozenset = frozenset()


def _true(_: Any) -> bool:
    return True


def _false(_: Any) -> bool:
    return False


def _no_keys(_: Any) -> frozenset:
    return _EMPTY


def _undecided(reason: str) -> Check:
    def check(_: Any) -> bool:
        raise Undecided(reason)
    return check


def _all(checks: list[Check]) -> Check:
    if not checks:
        return _true
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda x: a(x) and b(x)
    if len(checks) == 3:
        a, b, c = checks
        return lambda x: a(x) and b(x) and c(x)
    frozen = tuple(checks)

    def check(x: Any) -> bool:
        for c in frozen:  # noqa: SIM110 - a plain loop is faster than all() over a generator
            if not c(x):
                return False
        return True
    return check


class _BadSchema(Exception):
    """A keyword value the compiler does not handle (the node becomes undecided)."""


def _union(parts: Any) -> set:
    out: set = set()
    for p in parts:
        out |= p
    return out


def _int_kw(s: dict, word: str) -> int | None:
    if word not in s:
        return None
    value = s[word]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _BadSchema(f"{word} is not a non-negative integer")
    return value


def _typed(kind: type, inner: Check) -> Check:
    def check(x: Any) -> bool:
        return isinstance(x, kind) and inner(x)
    return check


def _when(kind: type, inner: Check) -> Check:
    def check(x: Any) -> bool:
        return not isinstance(x, kind) or inner(x)
    return check


def _any_of(fns: list[Check]) -> Check:
    frozen = tuple(fns)

    def check(x: Any) -> bool:
        for f in frozen:  # noqa: SIM110 - a plain loop is faster than any() over a generator
            if f(x):
                return True
        return False
    return check


def _one_of(fns: list[Check]) -> Check:
    frozen = tuple(fns)

    def check(x: Any) -> bool:
        found = False
        for f in frozen:
            if f(x):
                if found:
                    return False
                found = True
        return found
    return check


def _if_then_else(cond: Check, then: Check | None, else_: Check | None) -> Check:
    def check(x: Any) -> bool:
        if cond(x):
            return then is None or then(x)
        return else_ is None or else_(x)
    return check


def _enum(values: Any) -> Check:
    if not isinstance(values, list):
        raise _BadSchema("enum is not a list")
    frozen = tuple(values)
    if all(type(v) is str for v in frozen):
        allowed = frozenset(frozen)

        def strings(x: Any) -> bool:
            if type(x) is str:
                return x in allowed
            return any(json_equal(v, x) for v in frozen)
        return strings
    return lambda x: any(json_equal(v, x) for v in frozen)


def _const(value: Any) -> Check:
    if type(value) is str:
        return lambda x: x == value if type(x) is str else json_equal(x, value)
    return lambda x: json_equal(x, value)
