"""The shape of the files `plan` and `apply` read back (state files, saved plans), checked before use.

These files are written by specops, but they live in the user's folder and can be edited, truncated or
copied around. A file of the wrong shape is refused like a bad spec: every problem with its file, line
and column and the JSON path of the offending value, never an AttributeError half-way through an apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from compiler.plan.impact import WORKS
from compiler.spec.diagnostics import Diagnostic

JsonPath = tuple[str | int, ...]
Problem = tuple[JsonPath, str]

CATEGORIES = ("breaking", "non-breaking", "metadata")
ADDRESS = re.compile(r"^[a-z][a-z_]*\.[A-Za-z0-9_.-]+$")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


Check = Callable[[Any], bool]


def _text(v: Any) -> bool:
    return type(v) is str


def _opt_text(v: Any) -> bool:
    return v is None or type(v) is str


def _int(v: Any) -> bool:
    return _is_int(v)


def _opt_int(v: Any) -> bool:
    return v is None or _is_int(v)


def _bool(v: Any) -> bool:
    return type(v) is bool


def _text_list(v: Any) -> bool:
    return type(v) is list and all(type(i) is str for i in v)


EXPECTED: dict[Check, str] = {_text: "text", _opt_text: "text or null", _int: "a whole number",
                              _opt_int: "a whole number or null", _bool: "true or false", _text_list: "a list of text"}


def _fields(obj: dict, path: JsonPath, required: dict[str, Check], optional: dict[str, Check]) -> Iterator[Problem]:
    for key, check in required.items():
        if key not in obj:
            yield path, f"'{key}' is missing"
        elif not check(obj[key]):
            yield (*path, key), f"'{key}' must be {EXPECTED[check]}, not {_type_name(obj[key])}"
    for key, check in optional.items():
        if key in obj and not check(obj[key]):
            yield (*path, key), f"'{key}' must be {EXPECTED[check]}, not {_type_name(obj[key])}"


def _object(data: Any, path: JsonPath, what: str) -> Iterator[Problem]:
    if not isinstance(data, dict):
        yield path, f"{what} must be an object, not {_type_name(data)}"


# --- state files ------------------------------------------------------------------------------------


def state_problems(data: Any) -> list[Problem]:
    """Every way a parsed state file differs from what `specops apply` writes (compiler.apply.state)."""
    out = list(_object(data, (), "the state"))
    if out:
        return out
    out += _fields(data, (), {"environment": _text, "lineage": _text, "serial": _int},
                   {"project": _text, "tool_version": _text, "format_version": _text})
    if _is_int(data.get("serial")) and data["serial"] < 0:
        out.append((("serial",), "'serial' may not be negative"))
    sections = {"resources": _snapshot, "artifacts": _digest, "models": _model, "pending": _pending}
    for name, check in sections.items():
        section = data.get(name, {})
        if not isinstance(section, dict):
            out.append(((name,), f"'{name}' must be an object, not {_type_name(section)}"))
            continue
        for key, value in section.items():
            out += check(value, (name, key), key)
    return out


def _snapshot(value: Any, path: JsonPath, address: str) -> list[Problem]:
    out = [] if ADDRESS.match(address) else [(path, f"'{address}' is not a resource address (kind.name)")]
    if not isinstance(value, dict):
        return [*out, (path, f"the snapshot of {address} must be an object, not {_type_name(value)}")]
    out += _fields(value, path, {"kind": _text}, {})
    for part in ("metadata", "spec"):
        if part in value and not isinstance(value[part], dict):
            out.append(((*path, part), f"'{part}' must be an object, not {_type_name(value[part])}"))
    return out


def _digest(value: Any, path: JsonPath, _key: str) -> list[Problem]:
    return [] if type(value) is str else [(path, f"an artifact digest must be text, not {_type_name(value)}")]


def _model(value: Any, path: JsonPath, name: str) -> list[Problem]:
    out = list(_object(value, path, f"model '{name}'"))
    if out:
        return out
    out += _fields(value, path, {}, {"registered_model": _text, "alias": _text, "candidate_version": _opt_int,
                                     "alias_version": _opt_int, "run_id": _opt_text, "promoted": _bool,
                                     "reasons": _text_list})
    metrics = value.get("metrics", {})
    if not isinstance(metrics, dict) or not all(_is_number(v) for v in metrics.values()):
        out.append(((*path, "metrics"), "'metrics' must be an object of numbers"))
    return out


def _pending(value: Any, path: JsonPath, address: str) -> list[Problem]:
    out = [] if ADDRESS.match(address) else [(path, f"'{address}' is not a resource address (kind.name)")]
    if not isinstance(value, dict):
        return [*out, (path, f"pending work must be an object, not {_type_name(value)}")]
    out += _fields(value, path, {"work": _text}, {"cause": _text, "category": _text, "path": _text_list,
                                                 "notes": _text_list, "direct": _bool, "origin": _text})
    if type(value.get("work")) is str and value["work"] not in WORKS:
        out.append(((*path, "work"), f"'work' must be one of {', '.join(WORKS)}, not '{value['work']}'"))
    if type(value.get("category")) is str and value["category"] not in CATEGORIES:
        out.append(((*path, "category"), f"'category' must be one of {', '.join(CATEGORIES)}"))
    return out


# --- saved plans --------------------------------------------------------------------------------


def plan_problems(data: Any) -> list[Problem]:
    """What `specops apply PLANFILE` reads from a saved plan, checked (schemas/plan.schema.json has it all)."""
    out = list(_object(data, (), "a plan"))
    if out:
        return out
    out += _fields(data, (), {"format_version": _text}, {"environment": _opt_text, "selection": _text_list})
    head = data.get("head")
    if not isinstance(head, dict):
        out.append(((("head",) if "head" in data else ()),
                    f"'head' must be an object, not {_type_name(head)}" if "head" in data else "'head' is missing"))
    else:
        out += _fields(head, ("head",), {"spec_digest": _text}, {"git_sha": _opt_text})
    base = data.get("baseline")
    if not isinstance(base, dict):
        out.append(((("baseline",) if "baseline" in data else ()),
                    f"'baseline' must be an object, not {_type_name(base)}" if "baseline" in data
                    else "'baseline' is missing"))
    else:
        out += _fields(base, ("baseline",), {"kind": _text}, {"lineage": _opt_text, "serial": _opt_int,
                                                             "state_digest": _opt_text, "ref": _opt_text,
                                                             "spec_digest": _opt_text, "sha": _opt_text})
    digests = data.get("artifact_digests")
    if not isinstance(digests, dict) or not all(type(v) is str for v in digests.values()):
        out.append(((("artifact_digests",) if "artifact_digests" in data else ()),
                    "'artifact_digests' must be an object of text" if "artifact_digests" in data
                    else "'artifact_digests' is missing"))
    return out


# --- locating problems in the file --------------------------------------------------------------


def locate(text: str, path: JsonPath) -> tuple[int, int]:
    """1-based line and column of the value at `path` in a JSON text (JSON is YAML, whose parser keeps
    positions); (1, 1) for the whole document, (0, 0) when the text cannot be parsed that way."""
    from compiler.front.yamlparse import YamlError, parse_documents

    try:
        docs = parse_documents(text)
    except (YamlError, ValueError):
        return 0, 0
    if not docs:
        return 0, 0
    doc = docs[0]
    for depth in range(len(path), 0, -1):
        found = doc.key_positions.get(path[:depth]) or doc.position(path[:depth])
        if found:
            return found
    return doc.line, doc.col


def diagnostics(file: str, text: str, problems: list[Problem], code: str, hint: str) -> list[Diagnostic]:
    """The problems as located diagnostics, each naming the JSON path of the offending value."""
    out = []
    for path, message in problems:
        line, col = locate(text, path)
        where = "".join(_step(i, p) for i, p in enumerate(path))
        out.append(Diagnostic(code=code, message=f"{where}: {message}" if where else message, file=file,
                              line=line, col=col, hint=hint))
    return out


def _step(index: int, part: str | int) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", part):
        return f"[{part!r}]"
    return f".{part}" if index else part
