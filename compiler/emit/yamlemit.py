"""A small, fast YAML emitter for generated files (dicts, lists, strings, numbers, booleans, null).

PyYAML's representer is pure Python and dominated compile time at scale; this emitter writes
the same block layout directly. Strings are plain only when no YAML 1.1 or 1.2 reader could
take them for anything else; otherwise they are double-quoted (a JSON string is a valid YAML
double-quoted scalar). Multi-line text becomes a literal block. `yaml.safe_load(emit(x)) == x`
holds for every value it accepts (tests/test_yamlemit.py).
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

# plain scalars: start with a letter, _ or /; may hold spaces, but never ': ' or ' #' (checked apart)
_PLAIN = re.compile(r"[A-Za-z_/](?:[A-Za-z0-9_ ./@+,()'=:-]*[A-Za-z0-9_./@+)'=-])?\Z")
# words YAML 1.1 (PyYAML, Kubernetes) or 1.2 read as booleans or null
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"})
# characters a double-quoted scalar must escape beyond JSON's: not YAML-printable, or line breaks in YAML 1.1
_UNPRINTABLE = re.compile("[\x7f-\x84\x86-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff\x85]")
_BLOCK_SAFE = re.compile("[^\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff\x85\r]*\\Z")


def _quoted(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", out)


@functools.lru_cache(maxsize=1 << 16)
def _string(value: str) -> str:
    """A string as a plain or double-quoted scalar (memoised: keys and values repeat a lot)."""
    if (_PLAIN.match(value) and value.lower() not in _RESERVED and ": " not in value
            and " #" not in value and not value.endswith(":")):
        return value
    return _quoted(value)


def scalar(value: Any) -> str:
    if type(value) is str:
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, str):
        return _string(str(value))
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _block(text: str, col: int) -> list[str] | None:
    """A literal block (header, then lines at `col`) for multi-line text, or None if it cannot hold it."""
    if "\n" not in text or not _BLOCK_SAFE.match(text) or any(
            line != line.rstrip(" \t") for line in text.split("\n")):
        return None
    body = text.rstrip("\n")
    if not body.strip("\n"):
        return None  # only line breaks: a quoted scalar says it more plainly
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else "" if trailing == 1 else "+"
    lines = body.split("\n")
    first = next((ln for ln in lines if ln), "")
    indicator = "2" if first[:1] in (" ", "\t") else ""
    pad = " " * col
    out = [f"|{indicator}{chomp}"]
    out += [pad + ln if ln else "" for ln in lines]
    if chomp == "+":
        out += [""] * (trailing - 1)
    return out


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def _node(value: Any, col: int, lead: str, out: list[str]) -> None:
    """A non-empty mapping or sequence whose entries start at `col`; the first line begins with `lead`.

    The hot loop of compile at scale: exact types are tested first (`type(x) is dict`), subclasses
    fall back to the isinstance tests.
    """
    pad = " " * col
    append, string = out.append, _string
    head = lead
    if type(value) is dict or isinstance(value, dict):
        inner = " " * (col + 2)
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError("mapping keys must be strings")
            start = head + string(key) + ":"
            head = pad
            kind = type(item)
            if kind is str:
                if "\n" not in item:  # the common case, without the general path
                    append(f"{start} {string(item)}")
                    continue
            elif (kind is dict or (kind is not list and isinstance(item, dict))) and item:
                append(start)
                _node(item, col + 2, inner, out)
                continue
            elif (kind is list or isinstance(item, list)) and item:
                append(start)
                _node(item, col, pad, out)  # sequences under a key are not indented, as PyYAML writes them
                continue
            _leaf(start + " ", item, col + 2, out)
        return
    for item in value:
        start = head + "- "
        head = pad
        kind = type(item)
        if kind is str and "\n" not in item:
            append(start + string(item))
        elif (kind is dict or kind is list or isinstance(item, (dict, list))) and item:
            _node(item, col + 2, start, out)
        else:
            _leaf(start, item, col + 2, out)


def _leaf(head: str, value: Any, col: int, out: list[str]) -> None:
    if isinstance(value, str) and (block := _block(value, col)) is not None:
        out.append(head + block[0])
        out.extend(block[1:])
    else:
        out.append(head + _inline(value))


def emit(data: Any) -> str:
    """YAML text for `data` (block style, keys in the order given)."""
    out: list[str] = []
    if isinstance(data, (dict, list)) and data:
        _node(data, 0, "", out)
    else:
        _leaf("", data, 2, out)
    return "\n".join(out) + "\n"
