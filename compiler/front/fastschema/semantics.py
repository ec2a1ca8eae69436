"""jsonschema's own semantics for types, equality and uniqueness, which the fast checks must share."""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Check = Callable[[Any], bool]
KeysOf = Callable[[dict], set]


class Undecided(Exception):
    """The fast checker cannot decide; the caller falls back to jsonschema."""


# --------------------------------------------------------------------------- jsonschema's semantics


def _is_integer(x: Any) -> bool:
    t = type(x)
    if t is int:
        return True
    if t is float:
        return x.is_integer()
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


def _is_number(x: Any) -> bool:
    t = type(x)
    if t is int or t is float:
        return True
    if isinstance(x, bool):
        return False
    return isinstance(x, numbers.Number)


_TYPE_TESTS: dict[str, Check] = {
    "string": lambda x: isinstance(x, str),
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "integer": _is_integer,
    "number": _is_number,
}


def _unbool(element: Any, true: object = object(), false: object = object()) -> Any:
    if element is True:
        return true
    if element is False:
        return false
    return element


def json_equal(one: Any, two: Any) -> bool:
    """jsonschema's `equal`: Python equality, except that booleans never equal numbers."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(json_equal(i, j) for i, j in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(k in two and json_equal(v, two[k]) for k, v in one.items())
    return _unbool(one) == _unbool(two)


def json_unique(container: list) -> bool:
    """jsonschema's `uniq`, with a shortcut for lists of plain strings."""
    if all(type(i) is str for i in container):
        return len(set(container)) == len(container)
    try:
        ordered = sorted(_unbool(i) for i in container)
        for i, j in zip(ordered, itertools.islice(ordered, 1, None), strict=False):
            if json_equal(i, j):
                return False
    except (NotImplementedError, TypeError):
        seen: list = []
        for e in container:
            e = _unbool(e)
            for i in seen:
                if json_equal(i, e):
                    return False
            seen.append(e)
    return True
