"""Compiling one schema, keyword by keyword, into checks (see the package docstring for the contract)."""

from __future__ import annotations

import re
from typing import Any

from compiler.front.fastschema.combinators import (
    _all,
    _any_of,
    _BadSchema,
    _const,
    _enum,
    _false,
    _if_then_else,
    _int_kw,
    _no_keys,
    _one_of,
    _true,
    _typed,
    _undecided,
    _union,
    _when,
)
from compiler.front.fastschema.semantics import _TYPE_TESTS, Check, KeysOf, _is_number, json_unique

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

# keywords with no effect on validity (format is an annotation: jsonschema validators built without a
# format_checker, as ours are, never assert it)
IGNORED = frozenset({
    "title", "description", "markdownDescription", "examples", "default", "$comment", "deprecated",
    "readOnly", "writeOnly", "format", "$defs",
})
# keywords that are only meaningful next to `if` (jsonschema's `if` keyword reads them)
_THEN_ELSE = frozenset({"then", "else"})
SUPPORTED = frozenset({
    "$schema", "$id", "$ref", "type", "enum", "const",
    "properties", "required", "additionalProperties", "patternProperties", "propertyNames",
    "unevaluatedProperties", "minProperties", "maxProperties",
    "pattern", "minLength", "maxLength",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "items", "minItems", "maxItems", "uniqueItems",
    "allOf", "anyOf", "oneOf", "not", "if",
}) | IGNORED | _THEN_ELSE

_EMPTY: frozenset = frozenset()


class _Compiler:
    def __init__(self, root: Any):
        self.root = root
        self.valid_cache: dict[int, Check] = {}
        self.keys_cache: dict[int, KeysOf] = {}
        self.unsupported: list[str] = []
        self._keep: list[Any] = []  # schemas whose id() is a cache key stay alive

    def _note(self, where: str, reason: str) -> Check:
        self.unsupported.append(f"{where}: {reason}")
        return _undecided(reason)

    # ---- references

    def _resolve(self, ref: Any) -> Any:
        """Only `#/$defs/<name>` (and `#`) inside the root schema; None otherwise."""
        if not isinstance(ref, str) or not isinstance(self.root, dict):
            return None
        if ref == "#":
            return self.root
        prefix = "#/$defs/"
        name = ref[len(prefix):]
        if not ref.startswith(prefix) or not name or any(c in name for c in "/~%"):
            return None
        defs = self.root.get("$defs")
        if not isinstance(defs, dict) or name not in defs:
            return None
        return defs[name]

    # ---- validity

    def valid(self, schema: Any, where: str = "#") -> Check:
        key = id(schema)
        found = self.valid_cache.get(key)
        if found is not None:
            return found
        cell: list[Check] = []
        self.valid_cache[key] = lambda x: cell[0](x)  # for recursive references while building
        self._keep.append(schema)
        fn = self._build(schema, where)
        cell.append(fn)
        self.valid_cache[key] = fn
        return fn

    def _build(self, schema: Any, where: str) -> Check:
        if schema is True:
            return _true
        if schema is False:
            return _false
        if not isinstance(schema, dict):
            return self._note(where, f"schema is a {type(schema).__name__}")
        unknown = sorted(str(k) for k in schema if k not in SUPPORTED)
        if unknown:
            return self._note(where, f"unsupported keyword(s) {', '.join(unknown)}")
        if "$schema" in schema and (where != "#" or schema["$schema"] != DRAFT_2020_12):
            return self._note(where, "$schema other than Draft 2020-12 at the root")
        if "$id" in schema and where != "#":
            return self._note(where, "$id below the root")
        try:
            return self._keywords(schema, where)
        except _BadSchema as exc:
            return self._note(where, str(exc))

    def _keywords(self, s: dict, where: str) -> Check:
        generic: list[Check] = []  # keywords that apply to every instance type

        # -- type
        names: list | None = None
        if "type" in s:
            types = s["type"]
            names = [types] if isinstance(types, str) else types
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n in _TYPE_TESTS
                                                                   for n in names):
                raise _BadSchema(f"type {types!r}")

        # -- enum / const
        if "enum" in s:
            generic.append(_enum(s["enum"]))
        if "const" in s:
            generic.append(_const(s["const"]))

        # -- references and applicators
        if "$ref" in s:
            target = self._resolve(s["$ref"])
            if target is None:
                raise _BadSchema(f"$ref {s['$ref']!r}")
            generic.append(self.valid(target, str(s["$ref"])))
        for word in ("allOf", "anyOf", "oneOf"):
            if word in s:
                subs = s[word]
                if not isinstance(subs, list) or not subs:
                    raise _BadSchema(f"{word} is not a non-empty list")
                fns = [self.valid(sub, f"{where}/{word}/{i}") for i, sub in enumerate(subs)]
                generic.append({"allOf": _all, "anyOf": _any_of, "oneOf": _one_of}[word](fns))
        if "not" in s:
            negated = self.valid(s["not"], f"{where}/not")
            generic.append(lambda x: not negated(x))
        if "if" in s:
            cond = self.valid(s["if"], f"{where}/if")
            then = self.valid(s["then"], f"{where}/then") if "then" in s else None
            else_ = self.valid(s["else"], f"{where}/else") if "else" in s else None
            generic.append(_if_then_else(cond, then, else_))

        strings = self._string_checks(s)
        nums = self._number_checks(s)
        arrays = self._array_checks(s, where)
        objects = self._object_checks(s, where)

        if names is not None and len(names) == 1:
            # one type: test it once; then only the checks for that type can apply
            only = names[0]
            test = _TYPE_TESTS[only]
            if only == "object" and objects:
                first = _typed(dict, objects)
            elif only == "string" and strings:
                first = _typed(str, strings)
            elif only == "array" and arrays:
                first = _typed(list, arrays)
            elif only in ("integer", "number") and nums:
                first = _all([test, nums])
            else:
                first = test
            return _all([first, *generic])

        checks: list[Check] = []
        if names is not None:
            tests = [_TYPE_TESTS[n] for n in names]
            checks.append(tests[0] if len(tests) == 1 else (lambda x, t=tuple(tests): any(f(x) for f in t)))
        if strings:
            checks.append(_when(str, strings))
        if objects:
            checks.append(_when(dict, objects))
        if arrays:
            checks.append(_when(list, arrays))
        if nums:
            checks.append(lambda x, n=nums: not _is_number(x) or n(x))
        return _all(checks + generic)

    # ---- per-type keyword groups (each receives an instance already known to be of its type)

    @staticmethod
    def _string_checks(s: dict) -> Check | None:
        lo, hi = _int_kw(s, "minLength"), _int_kw(s, "maxLength")
        pattern = s.get("pattern")
        if pattern is not None and not isinstance(pattern, str):
            raise _BadSchema("pattern is not a string")
        try:
            search = re.compile(pattern).search if pattern is not None else None
        except re.error as exc:
            raise _BadSchema(f"pattern {pattern!r}: {exc}") from None
        if lo is None and hi is None and search is None:
            return None

        def check(x: str) -> bool:
            if lo is not None or hi is not None:
                n = len(x)
                if lo is not None and n < lo:
                    return False
                if hi is not None and n > hi:
                    return False
            return search is None or search(x) is not None
        return check

    @staticmethod
    def _number_checks(s: dict) -> Check | None:
        bounds = {}
        for word in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if word in s:
                value = s[word]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise _BadSchema(f"{word} is not a number")
                bounds[word] = value
        if not bounds:
            return None
        lo, hi = bounds.get("minimum"), bounds.get("maximum")
        xlo, xhi = bounds.get("exclusiveMinimum"), bounds.get("exclusiveMaximum")

        def check(x: Any) -> bool:  # the very comparisons jsonschema makes (NaN passes them all)
            if lo is not None and x < lo:
                return False
            if hi is not None and x > hi:
                return False
            if xlo is not None and x <= xlo:
                return False
            return not (xhi is not None and x >= xhi)
        return check

    def _array_checks(self, s: dict, where: str) -> Check | None:
        lo, hi = _int_kw(s, "minItems"), _int_kw(s, "maxItems")
        unique = s.get("uniqueItems", False)
        if not isinstance(unique, bool):
            raise _BadSchema("uniqueItems is not a boolean")
        item = self.valid(s["items"], f"{where}/items") if "items" in s else None
        if item is _true:
            item = None
        if lo is None and hi is None and not unique and item is None:
            return None

        def check(x: list) -> bool:
            n = len(x)
            if lo is not None and n < lo:
                return False
            if hi is not None and n > hi:
                return False
            if item is not None:
                for each in x:
                    if not item(each):
                        return False
            return not unique or json_unique(x)
        return check

    def _object_checks(self, s: dict, where: str) -> Check | None:
        props_schema = s.get("properties", {})
        if not isinstance(props_schema, dict):
            raise _BadSchema("properties is not an object")
        props = {name: self.valid(sub, f"{where}/properties/{name}") for name, sub in props_schema.items()}
        required = s.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise _BadSchema("required is not a list of strings")
        required = tuple(required)
        lo, hi = _int_kw(s, "minProperties"), _int_kw(s, "maxProperties")

        pattern_schema = s.get("patternProperties", {})
        if not isinstance(pattern_schema, dict):
            raise _BadSchema("patternProperties is not an object")
        try:
            patterns = tuple((re.compile(p).search, self.valid(sub, f"{where}/patternProperties/{p}"))
                             for p, sub in pattern_schema.items())
            # jsonschema tells additional properties apart with the patterns joined by `|`
            joined = re.compile("|".join(pattern_schema)).search if pattern_schema else None
        except re.error as exc:
            raise _BadSchema(f"patternProperties: {exc}") from None

        additional: Check | None = None
        closed = False
        if "additionalProperties" in s:
            ap = s["additionalProperties"]
            if ap is False:
                closed = True
            elif ap is not True:
                additional = self.valid(ap, f"{where}/additionalProperties")
                if additional is _true:
                    additional = None

        names = self.valid(s["propertyNames"], f"{where}/propertyNames") if "propertyNames" in s else None
        if names is _true:
            names = None

        unevaluated: Check | None = None
        keys_of: KeysOf | None = None
        if "unevaluatedProperties" in s:
            ue = s["unevaluatedProperties"]
            if ue is not True:
                unevaluated = _false if ue is False else self.valid(ue, f"{where}/unevaluatedProperties")
                keys_of = self.keys(s, where)

        if not (props or required or lo is not None or hi is not None or patterns or closed or additional
                or names or unevaluated):
            return None

        if not (patterns or names or unevaluated or lo is not None or hi is not None or closed or additional):
            # an open object (typically an `if` condition): look up the few named properties only
            items = tuple((name, fn) for name, fn in props.items() if fn is not _true)

            def open_object(x: dict) -> bool:
                for r in required:
                    if r not in x:
                        return False
                for name, fn in items:  # noqa: SIM110 - faster than all() over a generator
                    if name in x and not fn(x[name]):
                        return False
                return True
            return open_object

        if not (patterns or names or unevaluated or lo is not None or hi is not None):
            get = props.get

            def simple(x: dict) -> bool:
                for r in required:
                    if r not in x:
                        return False
                for k, v in x.items():
                    p = get(k)
                    if p is None:
                        if closed or (additional is not None and not additional(v)):
                            return False
                    elif not p(v):
                        return False
                return True
            return simple

        def check(x: dict) -> bool:
            for r in required:
                if r not in x:
                    return False
            n = len(x)
            if lo is not None and n < lo:
                return False
            if hi is not None and n > hi:
                return False
            for k, v in x.items():
                p = props.get(k)
                if p is not None and not p(v):
                    return False
                for search, sub in patterns:
                    if search(k) and not sub(v):
                        return False
                if (p is None and (closed or additional is not None) and not (joined and joined(k))
                        and (closed or not additional(v))):  # type: ignore[misc]
                    return False
                if names is not None and not names(k):
                    return False
            if unevaluated is not None:
                seen = keys_of(x)  # type: ignore[misc]
                for k, v in x.items():
                    if k not in seen and not unevaluated(v):
                        return False
            return True
        return check

    # ---- evaluated properties (for unevaluatedProperties), as jsonschema computes them

    def keys(self, schema: Any, where: str) -> KeysOf:
        key = id(schema)
        found = self.keys_cache.get(key)
        if found is not None:
            return found
        cell: list[KeysOf] = []
        self.keys_cache[key] = lambda x: cell[0](x)
        self._keep.append(schema)
        fn = self._build_keys(schema, where)
        cell.append(fn)
        self.keys_cache[key] = fn
        return fn

    def _build_keys(self, s: Any, where: str) -> KeysOf:
        """Mirror of jsonschema's find_evaluated_property_keys_by_schema."""
        if isinstance(s, bool):
            return _no_keys
        if not isinstance(s, dict) or any(k not in SUPPORTED for k in s):
            reason = f"evaluated properties of {where} not computable"
            self.unsupported.append(reason)
            return _undecided(reason)  # type: ignore[return-value]
        parts: list[KeysOf] = []
        if "$ref" in s:
            target = self._resolve(s["$ref"])
            if target is None:
                self.unsupported.append(f"{where}: $ref {s['$ref']!r}")
                return _undecided("$ref")  # type: ignore[return-value]
            parts.append(self.keys(target, str(s["$ref"])))
        props = s.get("properties")
        if isinstance(props, dict) and props:
            names = frozenset(props)
            parts.append(lambda x: names.intersection(x))
        for word in ("additionalProperties", "unevaluatedProperties"):
            if word in s:
                sub = s[word]
                if sub is False:
                    continue
                if sub is True:
                    parts.append(lambda x: set(x))
                    continue
                fn = self.valid(sub, f"{where}/{word}")
                parts.append(lambda x, fn=fn: {k for k, v in x.items() if fn(v)})
        if s.get("patternProperties"):
            searches = tuple(re.compile(p).search for p in s["patternProperties"])
            parts.append(lambda x: {k for k in x if any(f(k) for f in searches)})
        for word in ("allOf", "oneOf", "anyOf"):
            subs = s.get(word) or []
            pairs = tuple((self.valid(sub, f"{where}/{word}/{i}"), self.keys(sub, f"{where}/{word}/{i}"))
                          for i, sub in enumerate(subs))
            if pairs:
                parts.append(lambda x, pairs=pairs: _union(keys(x) for ok, keys in pairs if ok(x)))
        if "if" in s:
            cond, cond_keys = self.valid(s["if"], f"{where}/if"), self.keys(s["if"], f"{where}/if")
            then_keys = self.keys(s["then"], f"{where}/then") if "then" in s else _no_keys
            else_keys = self.keys(s["else"], f"{where}/else") if "else" in s else _no_keys

            def branch(x: dict) -> set:
                if cond(x):
                    return set(cond_keys(x)) | then_keys(x)
                return set(else_keys(x))
            parts.append(branch)
        if not parts:
            return _no_keys
        if len(parts) == 1:
            return parts[0]
        return lambda x: _union(p(x) for p in parts)
