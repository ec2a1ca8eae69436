"""A fast "is this document valid?" check for our own JSON Schemas (Draft 2020-12).

jsonschema walks a schema for every instance and builds an error object for every failed branch of
every if/anyOf/oneOf, which makes validating thousands of small documents slow. This module compiles
a schema once into plain Python closures that only answer valid / not proven valid.

Contract: `compile_schema(schema)(instance)` returns True only when `Draft202012Validator(schema)`
finds no error in `instance`. False means "invalid, or not decided here": the caller then runs
jsonschema, which alone produces the error messages. To keep that contract:

* every keyword is implemented with jsonschema's own semantics (its type checker, its `equal` and
  `uniq`, `re.search`, the exact comparison operators, and its rules for which properties count as
  evaluated for unevaluatedProperties);
* a keyword the compiler does not know, or a keyword value of an unexpected shape, compiles to a
  node that raises `Undecided` when it is reached. The exception is never caught inside the
  checker (so it also escapes `not`, `if` and `oneOf`, where a False would be turned into a True);
  only the top-level wrapper turns it, or any other exception, into False.
"""

from __future__ import annotations

from typing import Any

from compiler.front.fastschema.combinators import _undecided
from compiler.front.fastschema.compiler import _Compiler
from compiler.front.fastschema.semantics import Check, Undecided, json_equal, json_unique

__all__ = ["FastValidator", "Undecided", "compile_schema", "json_equal", "json_unique"]


class FastValidator:
    """`fast(instance)`: True only if jsonschema would find no error (False: ask jsonschema)."""

    __slots__ = ("_check", "unsupported")

    def __init__(self, check: Check, unsupported: list[str]):
        self._check = check
        self.unsupported = tuple(unsupported)  # constructs that make some instances undecided

    def __call__(self, instance: Any) -> bool:
        try:
            return self._check(instance) is True
        except Exception:  # Undecided, or anything jsonschema itself may trip on: let it decide
            return False


def compile_schema(schema: Any) -> FastValidator:
    """Compile a Draft 2020-12 schema (as used by specops) into a FastValidator."""
    compiler = _Compiler(schema)
    try:
        check = compiler.valid(schema)
    except Exception as exc:  # a schema shape the compiler trips on: everything goes to jsonschema
        return FastValidator(_undecided(str(exc)), [f"#: cannot compile ({exc!r})"])
    return FastValidator(check, compiler.unsupported)
