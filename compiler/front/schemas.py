"""Stage 2: JSON Schema validation of documents (Draft 2020-12), errors mapped to file:line:col."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from compiler.front.documents import Document, YamlPath
from compiler.front.fastschema import compile_schema
from compiler.shipped import data_dir
from compiler.spec.diagnostics import Diagnostic, did_you_mean
from compiler.spec.kinds import KINDS

if TYPE_CHECKING:  # imported when a document needs jsonschema's errors: a valid repository never does
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

# Friendly wording for the patterns the schemas use most.
_PATTERN_MEANING = {
    r"^[a-z][a-z0-9_]{0,62}$": "lower snake case: a letter, then letters, digits or '_' (63 at most)",
    r"^[a-z_][a-z0-9_]{0,62}$": "lower snake case (letters, digits, '_'; 63 at most)",
    r"^[1-9][0-9]*(m|h|d)$": "a duration such as 30m, 12h or 7d",
    r"^(\S+\s+){4}\S+$": "a 5-field cron expression such as '0 3 * * 1'",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "an environment variable name (letters, digits and _)",
    r"^(string|integer|bigint|double|boolean|date|timestamp|json|decimal\(\s*[1-9][0-9]?\s*,\s*[0-9][0-9]?\s*\))$":
        "one of string, integer, bigint, double, decimal(p,s), boolean, date, timestamp, json",
    r"^(?![/\\])(?![A-Za-z]:)(?!(.*[/\\])?\.\.([/\\]|$)).+$":
        "a path relative to the repository root, without '..' (absolute paths are not allowed)",
    r"\.sql$": "a file name ending in .sql",
    r"\.csv$": "a file name ending in .csv",
    r"\.py$": "a file name ending in .py",
    r"^[a-z][a-z0-9_]*\.[a-z_][a-z0-9_]*$": "dataset.column, e.g. customers.customer_id",
}


def _one_of_hint(value: str, options: list[str]) -> str | None:
    """The hint for a value outside a list of options: the closest option, or how a decimal column is written."""
    if value.strip().lower().startswith("decimal"):
        case = " in lower case" if not value.islower() else ""
        return f"write decimal(p,s){case}: a precision p of 1 to 38 and a scale s of 0 to p, e.g. decimal(10,2)"
    return did_you_mean(value, options)


@dataclass(frozen=True)
class SchemaSet:
    """Every kind's schema, parsed and compiled once."""

    schemas: dict[str, dict[str, Any]]
    # per kind: True only when jsonschema would find no error (compiler/front/fastschema.py); False: ask it
    fast: dict[str, Callable[[Any], bool]] = field(default_factory=dict)
    _validators: dict[str, Draft202012Validator] = field(default_factory=dict, repr=False, compare=False)

    def validator(self, kind: str) -> Draft202012Validator:
        """jsonschema's validator of the kind, made on first use (a memo: the schemas never change)."""
        if kind not in self._validators:
            from jsonschema import Draft202012Validator

            self._validators[kind] = Draft202012Validator(self.schemas[kind])
        return self._validators[kind]

    def validate(self, doc: Document) -> list[Diagnostic]:
        fast = self.fast.get(doc.kind)
        if fast is not None and fast(doc.data):
            return []  # proven valid: jsonschema (and its error objects) only run on the rest
        validator = self.validator(doc.kind)
        errors = list(_leaf_errors(validator.iter_errors(doc.data)))
        typed = {tuple(e.absolute_path)[:-1] for e in errors
                 if e.validator in ("enum", "type", "const") and tuple(e.absolute_path)[-1:] == ("type",)}
        # several enum lists for one value (e.g. all metrics, and those of the model's task): keep the narrowest
        narrowest: dict[tuple, int] = {}
        for e in errors:
            if e.validator == "enum":
                key = tuple(e.absolute_path)
                narrowest[key] = min(narrowest.get(key, 10**6), len(e.validator_value))
        out = []
        for err in errors:
            path = tuple(err.absolute_path)
            if err.validator == "unevaluatedProperties" and path in typed:
                continue  # the discriminator is wrong: the other keys' errors would only be noise
            if err.validator == "enum" and len(err.validator_value) > narrowest[path]:
                continue
            out.append(_to_diagnostic(doc, err, self.schemas[doc.kind]))
        return _dedupe(out)


@cache
def load_schemas() -> SchemaSet:
    """Read and compile the schemas shipped with specops (cached for the process)."""
    folder = data_dir("schemas")
    schemas: dict[str, dict[str, Any]] = {}
    fast: dict[str, Callable[[Any], bool]] = {}
    for kind, stem in KINDS.items():
        schema = json.loads((folder / f"{stem}.schema.json").read_text(encoding="utf-8"))
        schemas[kind] = schema
        fast[kind] = compile_schema(schema)
    return SchemaSet(schemas, fast)


def schema_digest() -> str:
    """A digest of every schema's text: part of cache keys and the manifest."""
    import hashlib

    folder = data_dir("schemas")
    h = hashlib.sha256()
    for stem in sorted(KINDS.values()):
        h.update((folder / f"{stem}.schema.json").read_bytes())
    return h.hexdigest()


def _leaf_errors(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    """Descend into if/then/allOf wrappers so each reported error is about one concrete node."""
    for err in errors:
        if err.validator in ("allOf", "then", "else", "if") and err.context:
            yield from _leaf_errors(iter(err.context))
        else:
            yield err


_YAML11_BOOLEANS = frozenset({"yes", "no", "y", "n", "on", "off"})  # booleans in YAML 1.1, text in specs


def _fmt_path(path: YamlPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "document"


def _allowed_keys(schema: Any, instance: Any) -> set[str]:
    """Keys the schema accepts for this instance (if/then branches only when their `if` matches)."""
    keys: set[str] = set()
    if not isinstance(schema, dict):
        return keys
    keys.update((schema.get("properties") or {}).keys())
    keys.update(str(k) for k in (schema.get("propertyNames") or {}).get("enum", ()))
    for word in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(word, []):
            keys |= _allowed_keys(sub, instance)
    if "if" in schema:
        from jsonschema import Draft202012Validator

        branch = "then" if Draft202012Validator(schema["if"]).is_valid(instance) else "else"
        keys |= _allowed_keys(schema.get(branch), instance)
    return keys


def _to_diagnostic(doc: Document, err: ValidationError, root: Any = None) -> Diagnostic:
    path: YamlPath = tuple(err.absolute_path)
    where = _fmt_path(path)
    line, col = doc.locate(path)
    hint = None
    v = err.validator
    if v in ("additionalProperties", "unevaluatedProperties"):
        instance = err.instance if isinstance(err.instance, dict) else {}
        allowed = _allowed_keys(err.schema, err.instance)
        extras = sorted(k for k in instance if k not in allowed) or [str(err.message)]
        key = extras[0]
        line, col = doc.locate_key((*path, key))
        message = f"unknown key '{key}' in {where}"
        if len(extras) > 1:
            message = f"unknown keys {', '.join(repr(k) for k in extras)} in {where}"
        hint = did_you_mean(key, allowed) or (f"allowed keys: {', '.join(sorted(allowed))}" if allowed else None)
        return Diagnostic("unknown-key", message, doc.file, line, col, doc.address, hint)
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        message = f"missing required key '{missing}' in {where}"
        when, _ = _condition(root, err.absolute_schema_path, missing)
        if when:  # required by another key's value (an if/then of the schema): said so, and shown at that key
            message += f" (required {when})"
            line, col = _last_present(doc, path, err.instance, _deciding_keys(root, err.absolute_schema_path)) or (
                line, col)
        return Diagnostic("missing-key", message, doc.file, line, col, doc.address)
    if v == "type":
        expected = err.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        message = f"{where}: expected {_article(expected)}, got {_describe(err.instance)}"
        if "boolean" in str(expected) and isinstance(err.instance, str) and err.instance.lower() in _YAML11_BOOLEANS:
            truth = "true" if err.instance.lower() in ("yes", "y", "on") else "false"
            hint = (f"write {truth}: specs read YAML 1.2, where only true and false are booleans "
                    f"('{err.instance}' is text)")
        return Diagnostic("wrong-type", message, doc.file, line, col, doc.address, hint)
    if v == "enum":
        options = [str(o) for o in err.validator_value]
        message = f"{where}: {_describe(err.instance)} is not one of {', '.join(options)}"
        hint = did_you_mean(str(err.instance), options)
        return Diagnostic("invalid-value", message, doc.file, line, col, doc.address, hint)
    if v == "const":
        message = f"{where}: must be {err.validator_value!r}, got {_describe(err.instance)}"
        return Diagnostic("invalid-value", message, doc.file, line, col, doc.address)
    if v == "pattern":
        meaning = _PATTERN_MEANING.get(err.validator_value)
        if meaning is None:
            message = f"{where}: {_describe(err.instance)} is not a valid value here"
            described = _described(err)
            hint = f"{described} (it must match {err.validator_value})" if described else \
                f"it must match {err.validator_value}"
        else:
            message = f"{where}: {_describe(err.instance)} must be {meaning}"
            if meaning.startswith("one of ") and isinstance(err.instance, str):  # `type: strin`
                hint = _one_of_hint(err.instance, meaning[len("one of "):].split(", "))
        return Diagnostic("invalid-value", message, doc.file, line, col, doc.address, hint)
    if v in ("maxProperties", "minProperties") and isinstance(err.instance, dict):
        keys = sorted(_allowed_keys(err.schema, err.instance))
        if v == "maxProperties":
            message = f"{where}: set only {err.validator_value} of {', '.join(keys)}"
        else:
            message = f"{where}: set at least {err.validator_value} of {', '.join(keys)}"
        return Diagnostic("invalid-value", message, doc.file, line, col, doc.address)
    if v == "oneOf" and _only_required(err.validator_value):
        names = [r for sub in err.validator_value for r in sub["required"]]
        message = f"{where}: set exactly one of {', '.join(names)}"
        line, col = _last_present(doc, path, err.instance, names) or (line, col)
        return Diagnostic("invalid-value", message, doc.file, line, col, doc.address)
    if v == "anyOf" and _only_required(err.validator_value):
        names = [r for sub in err.validator_value for r in sub["required"]]
        message = f"{where}: set at least one of {', '.join(names)}"
        return Diagnostic("missing-key", message, doc.file, line, col, doc.address)
    if v == "not" and isinstance(err.validator_value, dict) and "required" in err.validator_value:
        names = err.validator_value["required"]
        line, col = _last_present(doc, path, err.instance, names) or (line, col)
        if len(names) == 1:  # a key that the other settings rule out (an if/then/else of the schema)
            when, described = _condition(root, err.absolute_schema_path, names[0])
            message = f"{where}: '{names[0]}' is not used{' ' + when if when else ' here'}"
            return Diagnostic("invalid-value", message, doc.file, line, col, doc.address,
                              f"remove '{names[0]}'" + (f" ({described})" if described else ""))
        message = f"{where}: {' and '.join(names)} cannot both be set"
        hint = f"keep only one of {', '.join(names)}"
        return Diagnostic("invalid-value", message, doc.file, line, col, doc.address, hint)
    if v == "not":
        why = err.validator_value.get("description") if isinstance(err.validator_value, dict) else None
        message = f"{where}: {_describe(err.instance)} is not allowed"
        return Diagnostic("invalid-value", message, doc.file, line, col, doc.address, why)
    if v == "uniqueItems" and isinstance(err.instance, list):
        seen: list[Any] = []
        for i, item in enumerate(err.instance):
            if item in seen:
                line, col = doc.locate((*path, i))
                return Diagnostic("invalid-value", f"{where}: {_describe(item)} is listed twice", doc.file, line, col,
                                  doc.address)
            seen.append(item)
    message = f"{where}: {err.message}"
    return Diagnostic("invalid-value", message, doc.file, line, col, doc.address)


def _condition(root: Any, schema_path: Any, key: str) -> tuple[str | None, str | None]:
    """(`unless strategy is time or group`, the key's description) for a rule in the `then` or `else` of an
    if/then/else of the schema: what decides whether `key` may be set."""
    nodes = _schema_nodes(root, schema_path)
    if nodes is None:
        return None, None
    described = next((n["properties"][key].get("description") for n in reversed(nodes)
                      if isinstance(n, dict) and isinstance((n.get("properties") or {}).get(key), dict)), None)
    deciding = _deciding_if(list(schema_path), nodes)
    if deciding is None:
        return None, described
    condition, branch = deciding
    texts = []
    for name, rule in (condition.get("properties") or {}).items():
        values = rule.get("enum") if isinstance(rule, dict) else None
        if values is None and isinstance(rule, dict) and "const" in rule:
            values = [rule["const"]]
        if values:
            texts.append(f"{name} is {' or '.join(map(str, values))}")
    return (f"{'when' if branch == 'then' else 'unless'} {' and '.join(texts)}" if texts else None), described


def _schema_nodes(root: Any, schema_path: Any) -> list[Any] | None:
    """The schema's nodes along an error's schema path, from the root (None: the path leaves the schema)."""
    nodes = [root]
    try:
        for part in schema_path:
            nodes.append(nodes[-1][part])
    except (KeyError, IndexError, TypeError):
        return None
    return nodes


def _deciding_if(parts: list[Any], nodes: list[Any]) -> tuple[dict, str] | None:
    """The `if` of the innermost then/else on the path, and which branch ("then" or "else") the rule is in."""
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in ("then", "else") and isinstance(nodes[i], dict):
            condition = nodes[i].get("if")
            return (condition, parts[i]) if isinstance(condition, dict) else None
    return None


def _deciding_keys(root: Any, schema_path: Any) -> list[str]:
    """The keys whose values decide that a rule of a then/else applies (materialization for `incremental`)."""
    nodes = _schema_nodes(root, schema_path)
    deciding = _deciding_if(list(schema_path), nodes) if nodes is not None else None
    return list(deciding[0].get("properties") or {}) if deciding else []


def _last_present(doc: Document, path: YamlPath, instance: Any, names: list[str]) -> tuple[int, int] | None:
    """Where the last-written of several keys is (the one that broke the rule)."""
    if not isinstance(instance, dict):
        return None
    found = [doc.locate_key((*path, n)) for n in names if n in instance]
    return max(found) if found else None


def _described(err: ValidationError) -> str | None:
    """The failing property's own description, as a hint on what is expected."""
    text = err.schema.get("description") if isinstance(err.schema, dict) else None
    if isinstance(text, str):
        return text if len(text) <= 200 else text[:197] + "..."
    return None


def _only_required(subs: Any) -> bool:
    return isinstance(subs, list) and all(isinstance(s, dict) and set(s) == {"required"} for s in subs)


def _article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in diags:
        key = (d.line, d.col, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out
