"""dbt-style selection over the spec graph.

    name | kind.name | kind:model | tag:x | path:specs/models | owner:@team   (fnmatch wildcards allowed)
    +x  (x and its ancestors)   x+  (x and its descendants)   2+x / x+1  (bounded depth)
    @x  (x, its descendants, and their ancestors)
    space = union, comma = intersection
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from compiler.spec.project import SpecProject

_ATOM = re.compile(r"^(?P<at>@)?(?:(?P<up>\d*)\+)?(?P<body>[^+]+?)(?:\+(?P<down>\d*))?$")
METHODS = ("kind", "tag", "path", "owner", "name")
_EXAMPLES = {"kind": "model", "tag": "pii", "path": "specs/models", "owner": "@acme/ml", "name": "churn*"}


class SelectionError(ValueError):
    """A selector that cannot be parsed or names an unknown method."""


def select(project: SpecProject, expression: str | Iterable[str] | None) -> set[str]:
    """Addresses matched by the expression; None, an empty string or no selectors select everything, an empty
    selector among several is an error."""
    if expression is None:
        return set(project.graph.nodes)
    if not isinstance(expression, str) and any(not s.strip() for s in expression):
        # `--select "$UNSET"`: selecting everything would turn a narrow apply into a full one
        raise SelectionError("an empty selector selects nothing (an unset variable?); leave --select out to "
                             "select everything")
    text = expression if isinstance(expression, str) else " ".join(expression)
    if not text.strip():
        return set(project.graph.nodes)
    result: set[str] = set()
    for term in text.split():
        parts = term.split(",")
        if not all(parts):
            raise SelectionError(f"'{term}' has an empty selector beside a comma (a comma joins two selectors: "
                                 "a,b selects what both select)")
        chosen = _atom(project, parts[0])
        for part in parts[1:]:
            chosen &= _atom(project, part)
        result |= chosen
    return result


def _atom(project: SpecProject, text: str) -> set[str]:
    m = _ATOM.match(text)
    if not m:
        raise SelectionError(f"cannot parse selector '{text}'")
    body = m.group("body")
    if body.startswith("@") or body.isdigit():  # `@`, `@@x`, `3+`: an operator without its selector
        raise SelectionError(f"cannot parse selector '{text}': '@' and a depth go with a name (@name, 2+name, "
                             "name+1)")
    base = _method(project, body)
    graph = project.graph
    out = set(base)
    if m.group("at"):
        for addr in base:
            down = graph.downstream(addr) | {addr}
            out |= down
            for d in down:
                out |= graph.upstream(d)
        return out
    if m.group("up") is not None:
        depth = int(m.group("up")) if m.group("up") else None
        for addr in base:
            out |= graph.upstream(addr, depth)
    if m.group("down") is not None:
        depth = int(m.group("down")) if m.group("down") else None
        for addr in base:
            out |= graph.downstream(addr, depth)
    return out


def _method(project: SpecProject, body: str) -> set[str]:
    resources = project.resources()
    if ":" in body and not body.startswith(":"):
        method, _, value = body.partition(":")
        if method not in METHODS:
            known = ", ".join(m + ":" for m in METHODS)
            raise SelectionError(f"unknown selector method '{method}:'; use one of {known}")
        if not value:
            raise SelectionError(f"'{method}:' needs a value, e.g. {method}:{_EXAMPLES[method]}")
        if method == "kind":
            value = value.replace("-", "_").lower()
            value = {"qualityrule": "quality_rule", "rule": "quality_rule"}.get(value, value)
            kinds = ("environment", "dataset", "quality_rule", "transform", "model", "deployment")
            if not any(fnmatch.fnmatchcase(k, value) for k in kinds):
                from compiler.spec.diagnostics import did_you_mean

                hint = did_you_mean(value, kinds) or f"kinds: {', '.join(kinds)}"
                raise SelectionError(f"unknown kind '{value}' in 'kind:{value}'; {hint}")
            return {r.address for r in resources if fnmatch.fnmatchcase(r.PREFIX, value)}
        if method == "tag":
            return {r.address for r in resources if any(fnmatch.fnmatchcase(t, value) for t in r.meta.tags)}
        if method == "path":
            value = value.rstrip("/")
            return {r.address for r in resources
                    if fnmatch.fnmatchcase(r.loc.file, value) or r.loc.file.startswith(value + "/")}
        if method == "owner":
            return {r.address for r in resources if r.meta.owner and fnmatch.fnmatchcase(r.meta.owner, value)}
        body = value
    return {r.address for r in resources
            if fnmatch.fnmatchcase(r.name, body) or fnmatch.fnmatchcase(r.address, body)}
