"""Reading a Kafka message into a row of the declared columns, as text the warehouse casts.

Each value is checked against its column's type here, so a message that does not fit is named (partition,
offset, column) and failed or skipped on its own, instead of failing the whole batch inside the warehouse.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

_BOOLEAN = {"true", "false", "t", "f", "1", "0", "yes", "no"}
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_LIMITS = {"integer": 2**31, "bigint": 2**63}


class BadMessage(ValueError):
    """A message whose value does not fit the declared columns; the text says why."""


def text_of(value: Any, spec_type: str) -> str | None:
    """The value as the text the warehouse casts to `spec_type`, or BadMessage."""
    if value is None:
        return None
    if spec_type == "json":
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, (dict, list)):
        raise BadMessage(f"a JSON {'object' if isinstance(value, dict) else 'array'} where {_a(spec_type)} was "
                         "expected")
    if isinstance(value, bool):
        if spec_type in ("boolean", "string"):
            return "true" if value else "false"
        raise BadMessage(f"a boolean where {_a(spec_type)} was expected")
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    _check(text, spec_type)
    return text


def _a(spec_type: str) -> str:
    return ("an " if spec_type[0] in "aeiou" else "a ") + spec_type


def _check(text: str, spec_type: str) -> None:
    kind = spec_type.split("(")[0]
    try:
        if kind in ("integer", "bigint"):
            if not _INTEGER.match(text.strip()) or abs(int(text)) >= _LIMITS[kind]:
                raise ValueError
        elif kind in ("double", "decimal"):
            if not Decimal(text.strip()).is_finite() and kind == "decimal":
                raise ValueError
        elif kind == "boolean":
            if text.strip().lower() not in _BOOLEAN:
                raise ValueError
        elif kind == "date":
            dt.date.fromisoformat(text.strip())
        elif kind == "timestamp":
            dt.datetime.fromisoformat(text.strip())
    except (ValueError, InvalidOperation):
        raise BadMessage(f"{text[:60]!r} is not {_a(spec_type)}") from None


def parse_value(raw: bytes | None, fmt: str, columns: tuple[str, ...], delimiter: str) -> dict[str, Any]:
    """The payload columns of one message value (json: an object, or Kafka Connect's JsonConverter envelope
    {"schema": ..., "payload": {...}}; csv: one line in the columns' order)."""
    if raw is None:
        raise BadMessage("the message has no value (a tombstone)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadMessage("the value is not UTF-8 text") from None
    if fmt == "json":
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise BadMessage(f"not JSON ({exc.msg} at character {exc.pos})") from None
        if isinstance(obj, dict) and set(obj) == {"schema", "payload"} and isinstance(obj["payload"], dict):
            obj = obj["payload"]  # Kafka Connect's JsonConverter envelope (what a KafkaConnector needs)
        if not isinstance(obj, dict):
            raise BadMessage(f"a JSON {type(obj).__name__}, not an object")
        return {name: obj.get(name) for name in columns}
    rows = list(csv.reader(text.splitlines() or [""], delimiter=delimiter))
    if len(rows) != 1:
        raise BadMessage(f"{len(rows)} CSV lines in one message; one was expected")
    if len(rows[0]) != len(columns):
        raise BadMessage(f"{len(rows[0])} CSV fields; the declared columns are {len(columns)}: {', '.join(columns)}")
    return {name: (None if field == "" else field) for name, field in zip(columns, rows[0], strict=True)}


def row_of(payload: dict[str, Any], metadata: dict[str, Any], types: dict[str, str]) -> list[str | None]:
    """The row in the declared columns' order (`types`: column -> spec type), as text, or BadMessage."""
    out = []
    for name, spec_type in types.items():
        value = metadata[name] if name in metadata else payload.get(name)
        try:
            out.append(text_of(value, spec_type))
        except BadMessage as exc:
            raise BadMessage(f"column {name}: {exc}") from None
    return out
