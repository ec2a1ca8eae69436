"""The field reference of docs/spec.md, generated from the kinds' JSON Schemas so that it cannot drift.

`fields(schema)` lists every key a kind accepts (nested keys as dotted paths, list items as `[]`, keys that
apply only to one variant with their condition, e.g. `spec.source.schema` when `type: table`); `fill_tables`
rewrites the tables between `<!-- fields: Kind -->` and `<!-- /fields -->` markers of a Markdown text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from compiler.front.schemas import _PATTERN_MEANING

MARKER = re.compile(r"(<!-- fields: (?P<kind>[A-Za-z]+) -->\n)(?P<body>.*?)(<!-- /fields -->)", re.S)


@dataclass(frozen=True)
class Field:
    path: str  # spec.source.schema; list items as spec.columns[].name
    type: str
    required: bool
    default: str
    description: str
    when: str = ""  # the variant it belongs to, e.g. "type: table"


class UndocumentedField(ValueError):
    """A schema key without a description: the reference would have nothing to say about it."""


def fields(schema: dict[str, Any]) -> list[Field]:
    """Every field of a kind's schema, in schema order, conditional refinements folded into their field."""
    found: list[Field] = []
    _walk(schema, schema, "", "", found)
    rows: dict[tuple[str, str], Field] = {}
    for f in found:
        rows.setdefault((f.path, f.when), f)
    out: dict[tuple[str, str], Field] = {}
    for (path, when), f in rows.items():
        base = rows.get((path, ""))
        if when and not f.description and base is not None:
            if f.type and f.type != base.type:  # e.g. the metrics a task allows: noted on the field itself
                merged = out.get((path, ""), base)
                out[(path, "")] = replace(merged, type=f"{merged.type}; with {when}: {f.type}")
            continue
        if not f.description:
            raise UndocumentedField(f"{path}{f' ({when})' if when else ''} has no description in the schema")
        out.setdefault((path, when), f)
    return list(out.values())


def _resolve(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    """`node` with a local `$ref` replaced by its target (the node's own keys win, e.g. its description)."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = _resolve(root["$defs"][ref[len("#/$defs/"):]], root)
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _walk(node: Any, root: dict[str, Any], path: str, when: str, out: list[Field]) -> None:
    node = _resolve(node, root)
    required = set(node.get("required", []))
    for key, sub in (node.get("properties") or {}).items():
        sub = _resolve(sub, root)
        here = f"{path}.{key}" if path else key
        default = json.dumps(sub["default"]) if "default" in sub else ""
        out.append(Field(here, _type(sub, root), key in required, default, _one_line(sub.get("description", "")), when))
        _walk(sub, root, here, when, out)
        items = _resolve(sub.get("items"), root)
        if items.get("properties") or items.get("allOf"):
            _walk(items, root, f"{here}[]", when, out)
    for word in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(word, []):
            _walk(sub, root, path, when, out)
    if "if" in node:
        condition = _condition(node["if"])
        _walk(node.get("then"), root, path, f"{when}, {condition}" if when else condition, out)
        if "else" in node:
            _walk(node["else"], root, path, f"{when}, not {condition}" if when else f"not {condition}", out)


def _condition(schema: Any) -> str:
    """`{"properties": {"type": {"const": "table"}}}` -> `type: table`."""
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    parts = []
    for key, sub in props.items():
        if isinstance(sub, dict) and "const" in sub:
            parts.append(f"{key}: {sub['const']}")
        elif isinstance(sub, dict) and "enum" in sub:
            parts.append(f"{key}: {' or '.join(map(str, sub['enum']))}")
    return ", ".join(parts) or json.dumps(schema, sort_keys=True)


def _type(schema: dict[str, Any], root: dict[str, Any]) -> str:
    if "const" in schema:
        return f"`{schema['const']}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type")
    names = kind if isinstance(kind, list) else [kind] if kind else []
    if not names:
        for word in ("anyOf", "oneOf"):
            variants = [_type(_resolve(sub, root), root) for sub in schema.get(word, [])]
            if variants and all(variants):
                return " or ".join(variants)
    words = {"object": "mapping", "array": "list", "number": "number", "integer": "integer", "string": "string",
             "boolean": "boolean", "null": "null"}
    text = " or ".join(words.get(n, n) for n in names)
    if "array" in names:
        items = _resolve(schema.get("items"), root)
        inner = _type(items, root) if items else ""
        if inner:
            text = text.replace("list", f"list of {inner}", 1)
    meaning = _PATTERN_MEANING.get(schema.get("pattern", ""))
    if meaning and text == "string":
        text = f"string: {meaning}"
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def table(schema: dict[str, Any]) -> str:
    """The Markdown table of a kind's fields."""
    lines = ["| Field | Type | Required | Default | Description |", "|---|---|---|---|---|"]
    for f in fields(schema):
        where = f"`{f.path}`" + (f" (with `{f.when}`)" if f.when else "")
        default = f"`{f.default}`" if f.default else ""
        lines.append(f"| {where} | {f.type.replace('|', chr(92) + '|')} | {'yes' if f.required else ''} | "
                     f"{default} | {f.description} |")
    return "\n".join(lines) + "\n"


def fill_tables(text: str, schemas: dict[str, dict[str, Any]]) -> str:
    """`text` with every `<!-- fields: Kind -->` block holding that kind's current table."""

    def one(m: re.Match[str]) -> str:
        kind = m.group("kind")
        if kind not in schemas:
            raise KeyError(f"no schema for kind '{kind}' (a <!-- fields: {kind} --> marker)")
        note = "<!-- generated from the JSON Schema by scripts/generate_reference.py: do not edit -->\n"
        return m.group(1) + note + table(schemas[kind]) + m.group(4)

    return MARKER.sub(one, text)


def kinds_with_tables(text: str) -> list[str]:
    return [m.group("kind") for m in MARKER.finditer(text)]
