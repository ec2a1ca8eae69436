"""dbt-style selection over the spec graph.

    name | kind.name | kind:model | tag:x | path:specs/models | owner:@team   (fnmatch wildcards allowed)
    +x  (x and its ancestors)   x+  (x and its descendants)   2+x / x+1  (bounded depth)
    @x  (x, its descendants, and their ancestors)
    space = union, comma = intersection

A transform and the dataset it produces are one dbt model (named after the dataset): selecting either selects
both, and a depth counts them as one step (`1+customer_features` reaches the datasets its transform reads).
Every term must match something: a typo is an error (with a did-you-mean), never a narrower selection.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from compiler.spec.project import SpecProject

_ATOM = re.compile(r"^(?P<at>@)?(?:(?P<up>\d*)\+)?(?P<body>[^+]+?)(?:\+(?P<down>\d*))?$")
METHODS = ("kind", "tag", "path", "owner", "name")
_EXAMPLES = {"kind": "model", "tag": "pii", "path": "specs/models", "owner": "@acme/ml", "name": "churn*"}


class SelectionError(ValueError):
    """A selector that cannot be parsed, names an unknown method, or matches nothing."""


def select(project: SpecProject, expression: str | Iterable[str] | None) -> set[str]:
    """Addresses matched by the expression, each transform with its output dataset; None, an empty string or no
    selectors select everything, an empty selector among several is an error, and so is a term that matches
    nothing."""
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
        if not chosen:  # a union never drops a term silently: that would narrow an apply
            raise SelectionError(f"'{term}' matches no resource: its selectors select nothing in common")
        result |= chosen
    return whole_models(project, result)


def whole_models(project: SpecProject, chosen: set[str]) -> set[str]:
    """`chosen` with each selected transform's output dataset and each selected produced dataset's transform:
    the two are one dbt model, built by one piece of work."""
    out = set(chosen)
    for t in project.transforms.values():
        output = f"dataset.{t.output}"
        if output in project.graph and (t.address in chosen or output in chosen):
            out |= {t.address, output}
    return out


def _one_model(project: SpecProject) -> Callable[[str, str], bool]:
    """Whether two neighbours are one dbt model (a transform and its output): no step for a depth."""
    pairs = {frozenset((t.address, f"dataset.{t.output}")) for t in project.transforms.values()}
    return lambda a, b: frozenset((a, b)) in pairs


def _atom(project: SpecProject, text: str) -> set[str]:
    m = _ATOM.match(text)
    if not m:
        raise SelectionError(f"cannot parse selector '{text}'")
    body = m.group("body")
    if body.startswith("@") or body.isdigit():  # `@`, `@@x`, `3+`: an operator without its selector
        raise SelectionError(f"cannot parse selector '{text}': '@' and a depth go with a name (@name, 2+name, "
                             "name+1)")
    base = _method(project, body)
    if not base:
        raise SelectionError(f"'{text}' matches no resource; {_hint(project, body)}")
    graph = project.graph
    out = set(base)
    if m.group("at"):
        for addr in base:
            down = graph.downstream(addr) | {addr}
            out |= down
            for d in down:
                out |= graph.upstream(d)
        return out
    free = _one_model(project) if m.group("up") or m.group("down") else None  # only a depth needs it
    if m.group("up") is not None:
        depth = int(m.group("up")) if m.group("up") else None
        for addr in base:
            out |= graph.upstream(addr, depth, free)
    if m.group("down") is not None:
        depth = int(m.group("down")) if m.group("down") else None
        for addr in base:
            out |= graph.downstream(addr, depth, free)
    return out


def _split(body: str) -> tuple[str, str]:
    """(method, value) of a selector's body; a bare name is the name method."""
    if ":" in body and not body.startswith(":"):
        method, _, value = body.partition(":")
        return method, value
    return "name", body


def _method(project: SpecProject, body: str) -> set[str]:
    resources = project.resources()
    method, value = _split(body)
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
        where = repository_path(project, value)
        return {r.address for r in resources
                if not where or any(fnmatch.fnmatchcase(f, where) or f.startswith(where + "/") for f in _files(r))}
    if method == "owner":
        return {r.address for r in resources if r.meta.owner and fnmatch.fnmatchcase(r.meta.owner, value)}
    return {r.address for r in resources
            if fnmatch.fnmatchcase(r.name, value) or fnmatch.fnmatchcase(r.address, value)}


def _files(resource) -> list[str]:
    """The repository files a resource is made from: its spec file, and its SQL file, training entrypoint or
    data file (dbt's path: selects a model by its SQL file)."""
    return [resource.loc.file, *(posixpath.normpath(f) for f in resource.input_files())]


def repository_path(project: SpecProject, value: str) -> str:
    """A path: value as the repository-relative path the resources' files are named by: `./specs/models` and an
    absolute path inside the repository are accepted; a relative path is relative to the repository root."""
    value = value.rstrip("/") or "/"
    if Path(value).is_absolute():
        root = project.root.resolve()
        try:
            value = Path(value).resolve().relative_to(root).as_posix()
        except ValueError:
            raise SelectionError(f"'path:{value}' is outside the repository ({root})") from None
    normal = posixpath.normpath(value)
    return "" if normal == "." else normal


def _hint(project: SpecProject, body: str) -> str:
    """What to try instead of a selector that matched nothing."""
    from compiler.spec.diagnostics import did_you_mean

    method, value = _split(body)
    resources = project.resources()
    if method == "kind":
        return f"the repository has no {value.replace('_', ' ')}"
    if method == "path":
        return (f"paths are relative to the repository root ({project.root}), e.g. path:specs/models or "
                "path:sql/orders.sql")
    if method == "tag":
        pool = {t for r in resources for t in r.meta.tags}
    elif method == "owner":
        pool = {r.meta.owner for r in resources if r.meta.owner}
    else:
        names = {r.name for r in resources} | {r.address for r in resources}
        same = sorted(n for n in names if n.lower() == value.lower())  # `Customers`: names are case-sensitive
        if same:
            return f"did you mean '{same[0]}'? (names are case-sensitive)"
        pool = names
    if not pool:
        return f"no resource has a {method}"
    shown = ", ".join(sorted(pool)[:8]) + (", ..." if len(pool) > 8 else "")
    return did_you_mean(value, pool) or f"no {method} is like it ({method}s: {shown})"
