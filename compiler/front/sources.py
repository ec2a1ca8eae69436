"""Building the sources specops lands itself (dvc, kafka): defaults, and the data version of a DVC file.

A `dvc` source in this repository is versioned by its `<path>.dvc` file, committed next to the (git-ignored)
data: the md5 written there is the version. It is read here, like a file source's bytes, so that a new version
is a change of the dataset's IR, which plan compares and classifies as new data. Nothing here imports dvc.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from compiler.front.documents import Document
from compiler.spec.diagnostics import Diagnostic
from compiler.spec.ir import Dvc, Kafka, Landing, Source


@dataclass(frozen=True)
class Files:
    """What building a landed source may do besides reading its document (compiler.front.build.Builder's)."""

    read: Callable[[str, tuple[str, ...]], tuple[str | None, bytes | None]]  # (problem, None) or (None, bytes)
    reads: list[tuple[str, str]]  # what was read: (file, sha256 of its bytes or the problem)
    diagnostics: list[Diagnostic]

DEFAULT_LANDING_SCHEMA = "landing"
_MD5 = re.compile(r"^[0-9a-f]{32}$")


def landed_source(builder: Files, doc: Document, raw: dict[str, Any]) -> Source:
    """The Source of a dvc or kafka dataset, its defaults applied (and for dvc, its version read)."""
    landing = raw.get("landing") or {}
    where = Landing(landing.get("schema", DEFAULT_LANDING_SCHEMA), landing.get("table", doc.name))
    if raw["type"] == "dvc":
        return Source(type="dvc", path=raw["path"], delimiter=raw.get("delimiter"), landing=where,
                      dvc=_dvc(builder, doc, raw))
    security = raw.get("security") or {}
    connect = raw.get("connect") or {}
    kafka = Kafka(
        brokers=tuple(raw["brokers"]),
        topic=raw["topic"],
        format=raw["format"],
        start=raw.get("start", "earliest"),
        max_messages=int(raw.get("max_messages", 10000)),
        consumer=tuple(sorted((raw.get("consumer") or {}).items())),
        security=tuple(sorted({"protocol": "PLAINTEXT", **security}.items())),
        on_error=raw.get("on_error", "fail"),
        schedule=raw.get("schedule"),
        connect_cluster=connect.get("cluster"),
        connect_tasks_max=int(connect.get("tasks_max", 1)),
    )
    return Source(type="kafka", delimiter=raw.get("delimiter"), landing=where, kafka=kafka)


def _dvc(builder: Files, doc: Document, raw: dict[str, Any]) -> Dvc:
    if "repo" in raw:  # another repository: its rev is the version (read at apply time)
        return Dvc(remote=raw.get("remote"), repo=raw["repo"], rev=raw.get("rev"))
    path = raw["path"]
    dvc_file = f"{path}.dvc"
    problem, content = builder.read(dvc_file, (".dvc",))
    builder.reads.append((dvc_file, problem if content is None else hashlib.sha256(content).hexdigest()))
    at = ("spec", "source", "path")
    if content is None:
        if problem == "no such file":
            _error(builder, doc, at, "dvc-untracked", f"'{path}' is not tracked by DVC: {dvc_file} does not exist",
                   f"run `dvc add {path}` and commit {dvc_file} (or set repo: and rev: to read it from another "
                   "repository)")
        else:
            _error(builder, doc, at, "bad-path", f"DVC file '{dvc_file}': {problem}",
                   "paths are relative to the repository root")
        return Dvc(remote=raw.get("remote"))
    out, why = _tracked_output(content, posixpath.basename(path))
    if out is None:
        _error(builder, doc, at, "dvc-file", f"{dvc_file}: {why}",
               f"`dvc add {path}` writes a .dvc file with one output: its md5, size and path")
        return Dvc(remote=raw.get("remote"))
    return Dvc(md5=out["md5"], hash=str(out.get("hash", "md5-dos2unix")), size=out.get("size"),
               remote=raw.get("remote"))


def _tracked_output(content: bytes, name: str) -> tuple[dict[str, Any] | None, str]:
    """The one output of a .dvc file (md5, size, path), or None and why it cannot be read."""
    try:
        data = yaml.safe_load(content.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, f"not a readable .dvc file ({type(exc).__name__})"
    outs = data.get("outs") if isinstance(data, dict) else None
    if not isinstance(outs, list) or len(outs) != 1 or not isinstance(outs[0], dict):
        return None, "expected exactly one entry under `outs`"
    out = outs[0]
    if out.get("path") != name:
        return None, f"its output is '{out.get('path')}', not '{name}'"
    md5 = out.get("md5")
    if isinstance(md5, str) and md5.endswith(".dir"):
        return None, f"'{name}' is a directory; a dvc source is one CSV file"
    if not isinstance(md5, str) or not _MD5.match(md5):
        return None, "its output has no md5 (was it written by `dvc add`?)"
    if "size" in out and not isinstance(out["size"], int):
        return None, "its output's size is not a number"
    return out, ""


def _error(builder: Files, doc: Document, path: tuple, code: str, message: str, hint: str) -> None:
    line, col = doc.locate(path)
    builder.diagnostics.append(Diagnostic(code, message, doc.file, line, col, doc.address, hint))
