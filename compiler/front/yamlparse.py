"""Safe YAML parsing that keeps the source position of every node.

PyYAML composes the node tree (with the C parser when available); we build plain Python values
from it ourselves so that we can (1) remember where each value came from, (2) refuse duplicate
keys, which PyYAML silently overwrites, and (3) bound alias expansion and nesting depth.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

try:  # the C parser is ~8x faster; fall back to pure Python when libyaml is missing
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

Path = tuple[str | int, ...]

MAX_NODES_PER_FILE = 200_000
MAX_DEPTH = 64

# YAML 1.2 floats with an exponent that YAML 1.1 (PyYAML) reads as text: 1e6, 2E-3, .5e2
_INT64 = 2 ** 63
_EXPONENT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+")
_NUMBER_START = frozenset("0123456789+-.")

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


# the safe loader's implicit tags by a scalar's first character (PyYAML's table, read once): the composer asks
# for the tag of every node, and PyYAML's own lookup (a list concatenation and a loop per call) was a tenth
# of parsing a spec
_IMPLICIT = {first: tuple(found) for first, found in _SafeLoader.yaml_implicit_resolvers.items()}
_DEFAULT_TAGS = {yaml.ScalarNode: _STR, yaml.SequenceNode: _SEQ, yaml.MappingNode: _MAP}
assert None not in _IMPLICIT and not _SafeLoader.yaml_path_resolvers  # what _Loader's shortcuts rely on


class _Loader(_SafeLoader):  # type: ignore[misc,valid-type]
    """The safe loader, resolving tags as it does, only faster."""

    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            for tag, regexp in _IMPLICIT.get(value[:1], ()):  # type: ignore[index]
                if regexp.match(value):
                    return tag
        return _DEFAULT_TAGS[kind]

    # without path resolvers, PyYAML's descend/ascend do nothing; these C callables take the same arguments
    # and do nothing faster (the composer calls them for every node)
    descend_resolver = {}.get
    ascend_resolver = tuple


class YamlError(Exception):
    """A problem in the YAML text itself, with a 1-based position."""

    def __init__(self, code: str, message: str, line: int, col: int, hint: str | None = None,
                 related: tuple[tuple[str, int, int], ...] = ()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.col = col
        self.hint = hint
        self.related = related  # (what is there, line, col): other places in the same text


TEXT_START = -1  # (*path, TEXT_START): where a multi-line string's text starts (no real path ends with -1)


class ParsedDocument:
    """One YAML document: its value and where each path in it starts (and where each mapping key is).

    Immutable by convention. `data`, `positions` and `key_positions` are properties so that a document
    restored from elsewhere (compiler.speed.codec) can produce them when first asked for.
    """

    __slots__ = ("_data", "_key_positions", "_positions", "col", "line")

    def __init__(self, data: Any, line: int, col: int, positions: dict[Path, tuple[int, int]],
                 key_positions: dict[Path, tuple[int, int]]):
        self._data, self.line, self.col = data, line, col
        self._positions = positions
        self._key_positions = key_positions

    @property
    def data(self) -> Any:
        return self._data

    @property
    def positions(self) -> dict[Path, tuple[int, int]]:
        return self._positions

    @property
    def key_positions(self) -> dict[Path, tuple[int, int]]:
        return self._key_positions

    def position(self, path: Path) -> tuple[int, int] | None:
        """Where the value at `path` starts, if the document has one there."""
        return self.positions.get(path)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParsedDocument):
            return NotImplemented
        return (self.data, self.line, self.col, self.positions, self.key_positions) == (
            other.data, other.line, other.col, other.positions, other.key_positions)

    __hash__ = None  # type: ignore[assignment]  # mutable contents (data is a dict)

    def __repr__(self) -> str:
        return f"ParsedDocument(data={self.data!r}, line={self.line}, col={self.col})"

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return ParsedDocument, (self.data, self.line, self.col, self.positions, self.key_positions)


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns one composed node tree into Python values; one instance per document."""

    def __init__(self, budget: list[int], text: str):
        self.budget = budget  # shared across the documents of a file
        self.text = text
        self._lines: list[str] | None = None
        self.positions: dict[Path, tuple[int, int]] = {}
        self.key_positions: dict[Path, tuple[int, int]] = {}
        self.active: set[int] = set()
        self.scalars = SafeConstructor()
        self.numbers: list[YamlError] = []  # numbers no spec value can be (not finite, beyond 64 bits)

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.budget[0] -= 1
        if self.budget[0] < 0:
            line, col = _pos(node)
            raise YamlError(
                "yaml-too-large",
                f"the document expands to more than {MAX_NODES_PER_FILE:,} values",
                line, col,
                "aliases (*name) that repeat anchors many times look like a 'billion laughs' attack",
            )
        if len(path) > MAX_DEPTH:
            line, col = _pos(node)
            raise YamlError("yaml-too-deep", f"nesting deeper than {MAX_DEPTH} levels", line, col)
        self.positions[path] = _pos(node)
        if isinstance(node, yaml.ScalarNode):
            value = self._scalar(node)
            if type(value) is str and "\n" in value:
                self._text_start(node, path)
            return value
        ident = id(node)
        if ident in self.active:
            line, col = _pos(node)
            raise YamlError("yaml-recursive-alias", "an alias refers to a node that contains it", line, col)
        self.active.add(ident)
        try:
            if isinstance(node, yaml.SequenceNode):
                self._check_tag(node, _SEQ)
                return [self._child(child, (*path, i)) for i, child in enumerate(node.value)]
            self._check_tag(node, _MAP)
            return self._mapping(node, path)
        finally:
            self.active.discard(ident)

    def _child(self, node: yaml.Node, path: Path) -> Any:
        """build(), with a short path for plain strings: most of a spec's nodes."""
        if node.tag == _STR and type(node) is yaml.ScalarNode:
            self.budget[0] -= 1
            if self.budget[0] < 0:
                return self.build(node, path)  # raises with the right message
            mark = node.start_mark
            self.positions[path] = (mark.line + 1, mark.column + 1)
            value = node.value
            if "\n" in value:
                self._text_start(node, path)
            elif value[:1] in _NUMBER_START and (number := self._exponent(node)) is not None:
                return number
            return value
        return self.build(node, path)

    def _text_start(self, node: yaml.Node, path: Path) -> None:
        """A multi-line string (a block scalar, usually) starts on the next line, at the indentation of its
        first line with text: where an error in it (e.g. in SQL) is best shown."""
        if self._lines is None:
            self._lines = self.text.splitlines()
        first = node.start_mark.line + 2  # 1-based, the line after the one the scalar starts on
        indent = next((len(text) - len(text.lstrip(" ")) for text in self._lines[first - 1:] if text.strip()), 0)
        self.positions[(*path, TEXT_START)] = (first, indent + 1)

    def _check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            line, col = _pos(node)
            raise YamlError("yaml-tag", f"unsupported YAML tag {node.tag!r}", line, col,
                            "specs use plain YAML values only; remove the tag")

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):  # dates stay text: the schema decides what they mean
            if node.value[:1] in _NUMBER_START and (number := self._exponent(node)) is not None:
                return number
            return node.value
        if tag == _INT:
            return self._number(node, self.scalars.construct_yaml_int(node))
        if tag == _FLOAT:
            return self._number(node, self.scalars.construct_yaml_float(node))
        if tag == _BOOL:
            # YAML 1.2 booleans only: yes/no/on/off stay text (country code NO is not false)
            if node.value.lower() in ("true", "false"):
                return node.value.lower() == "true"
            return node.value
        if tag == _NULL:
            return None
        self._check_tag(node, _STR)
        return node.value  # pragma: no cover

    def _exponent(self, node: yaml.ScalarNode) -> float | None:
        """YAML 1.2's `1e6` (YAML 1.1, PyYAML's, wants `1.0e+6` and reads `1e6` as text); None: text it is."""
        if node.style or not _EXPONENT.fullmatch(node.value):
            return None
        return self._number(node, float(node.value))

    def _number(self, node: yaml.ScalarNode, value: Any) -> Any:
        """The number, noted in `numbers` when no spec value can be it: not finite (thresholds, sizes), or an
        integer beyond 64 bits (dbt's Python and BIGINT/INT64 columns take none); the document is then an error."""
        if isinstance(value, float) and not math.isfinite(value):
            line, col = _pos(node)
            self.numbers.append(YamlError("yaml-number", f"{node.value} is not a finite number", line, col,
                                          "write a number (leave an open bound out instead of writing .inf)"))
        elif isinstance(value, int) and not -_INT64 <= value < _INT64:
            line, col = _pos(node)
            self.numbers.append(YamlError(
                "yaml-number", f"{node.value} is out of the 64-bit integer range (-2^63 to 2^63-1)", line, col,
                "write a smaller number (leave an open bound out)"))
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        # merge keys first, so that the positions of explicit keys (which win) are the ones kept
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self._merge(value_node, path, merged)
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in (_STR, _INT, _BOOL):
                line, col = _pos(key_node)
                raise YamlError("yaml-key", "mapping keys must be plain strings", line, col)
            key = key_node.value
            if key_node.tag != _STR and not (key_node.tag == _BOOL and key.lower() not in ("true", "false")):
                line, col = _pos(key_node)
                raise YamlError("yaml-key", f"mapping key {key!r} is not a string", line, col,
                                f"quote it: \"{key}\"")
            if key in result:
                line, col = _pos(key_node)
                first = self.key_positions[(*path, key)]
                raise YamlError("duplicate-key", f"duplicate key '{key}'", line, col,
                                f"keep only one '{key}'",
                                (("first defined here", *first),))
            here = (*path, key)
            self.key_positions[here] = _pos(key_node)
            result[key] = self._child(value_node, here)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge(self, value_node: yaml.Node, path: Path, into: dict[str, Any]) -> None:
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                line, col = _pos(source)
                raise YamlError("yaml-merge", "a merge key (<<) needs a mapping or a list of mappings",
                                line, col)
            ident = id(source)
            if ident in self.active:  # `&a {<<: *a}` would otherwise recurse until Python gives up
                line, col = _pos(source)
                raise YamlError("yaml-recursive-alias", "a merge key (<<) refers to the mapping that contains it",
                                line, col)
            self.active.add(ident)
            try:
                for key, value in self._mapping(source, path).items():
                    into.setdefault(key, value)
            finally:
                self.active.discard(ident)


def parse_documents(text: str) -> list[ParsedDocument]:
    """Parse every document of a YAML text; raise YamlError on the first problem."""
    docs = []
    for doc in parse_each_document(text):
        if isinstance(doc, DocumentError):
            raise doc.error
        docs.append(doc)
    return docs


@dataclass(frozen=True)
class DocumentError:
    """A document that is valid YAML syntax but not a spec's YAML (a duplicate key, a tag, ...): the other
    documents of the file are still read."""

    error: YamlError
    text: str  # the document's own text
    more: tuple[YamlError, ...] = ()  # its other numbers out of range: each said where it is written


def parse_each_document(text: str) -> list[ParsedDocument | DocumentError]:
    """Every document of a YAML text, in order, or what is wrong with it; raise YamlError on a syntax error
    (after which nothing of the file can be trusted) or when the file as a whole is too big."""
    loader = _Loader(text)
    budget = [MAX_NODES_PER_FILE]
    docs: list[ParsedDocument | DocumentError] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            builder = _Builder(budget, text)
            if node is None:  # pragma: no cover - check_node guarantees a node
                continue
            try:
                data = builder.build(node, ())
            except YamlError as exc:
                if exc.code in ("yaml-too-large", "yaml-too-deep"):
                    raise
                docs.append(DocumentError(exc, text[node.start_mark.index:node.end_mark.index],
                                          tuple(builder.numbers)))
                continue
            if builder.numbers:  # bounds and thresholds come several at a time: every one is said
                first, *more = builder.numbers
                docs.append(DocumentError(first, text[node.start_mark.index:node.end_mark.index], tuple(more)))
                continue
            line, col = _document_start(text, node)
            docs.append(ParsedDocument(data, line, col, builder.positions, builder.key_positions))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own limit, below ours only for absurd documents
            raise YamlError("yaml-too-deep", f"nesting deeper than {MAX_DEPTH} levels", line, col) from None
        raise YamlError("yaml-syntax", f"YAML syntax error: {problem}", line, col,
                        _syntax_hint(problem)) from None
    except yaml.YAMLError as exc:  # reader errors (control characters) carry an offset, not a mark
        offset = getattr(exc, "position", None)
        if isinstance(offset, int) and _SafeLoader is not yaml.SafeLoader:  # libyaml counts UTF-8 bytes
            offset = len(text.encode("utf-8")[:offset].decode("utf-8", "ignore"))
        line, col = (1, 1) if not isinstance(offset, int) else _offset_position(text, offset)
        reason = getattr(exc, "reason", None)
        char = getattr(exc, "character", None)
        if isinstance(char, str):
            char = ord(char)
        if reason and isinstance(char, int):
            message = f"YAML error: character #x{char:04x}: {reason}"
        elif reason:
            message = f"YAML error: {reason}"
        else:
            message = f"YAML error: {str(exc).splitlines()[0]}"
        raise YamlError("yaml-syntax", message, line, col,
                        "remove the control character (or write it as an escape in a double-quoted string)"
                        ) from None
    except RecursionError:
        raise YamlError("yaml-too-deep", f"nesting deeper than {MAX_DEPTH} levels", 1, 1) from None
    finally:
        loader.dispose()
    return docs


def _offset_position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    offset = max(0, min(offset, len(text)))
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _document_start(text: str, node: yaml.Node) -> tuple[int, int]:
    """Where a document starts. An empty document's null node sits where the *next* token is (often
    the next '---' or the end of the file), so point at its own '---' line instead."""
    line, col = _pos(node)
    if not (isinstance(node, yaml.ScalarNode) and node.tag == _NULL and node.value == ""):
        return line, col
    lines = text.splitlines()
    i = node.start_mark.line
    if i >= len(lines) or (node.start_mark.column == 0 and lines[i].startswith("---")):
        i -= 1
    while i >= 0 and not lines[i].startswith("---"):
        i -= 1
    return (i + 1, 1) if i >= 0 else (line, col)


def _syntax_hint(problem: str) -> str | None:
    if "tab" in problem or "cannot start any token" in problem:
        return "indent with spaces, not tabs, and quote values that start with @, ` or %"
    if "mapping values are not allowed" in problem:
        return "quote a value containing ': ', or line this key up with its siblings (it is indented further)"
    if "found undefined alias" in problem:
        return "define the anchor (&name) before using the alias (*name)"
    if "did not find expected key" in problem or "expected <block end>" in problem or (
            "did not find expected '-' indicator" in problem):
        return ("check this line's indentation against the lines above: YAML nests by indentation (a key lines up "
                "with its siblings; nothing nests under a {...} or [...] written on one line)")
    return None
