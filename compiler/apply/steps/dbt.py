"""Running the compiled dbt project: seeds, models and their tests, streamed to the terminal.

A failure is traced back to the specs: a test's name is the name of the check it was generated from
(compiler.emit.dbt.tests.check_origins), so a failing test is reported with the spec file and line of its
check, the check's type, dbt's count of failing rows and a query that shows a sample of them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from compiler.apply.children import run_streamed
from compiler.apply.context import RunContext, StepFailed
from compiler.apply.sqlline import sql_line
from compiler.spec.ir import Check
from compiler.spec.project import SpecProject


@dataclass(frozen=True)
class Failure:
    """One dbt node that failed (or was skipped because of a failure)."""

    name: str  # the node's name: a test's name, a model's or seed's dataset name
    resource_type: str  # test | model | seed | snapshot
    status: str  # error | fail | skipped | runtime error
    message: str
    dataset: str  # the dataset it concerns (a test's model)
    failures: int | None = None  # rows a test found failing
    sql: str | None = None  # a test's compiled query, which selects the failing rows


@dataclass
class DbtResult:
    ok: bool
    failed_nodes: set[str] = field(default_factory=set)  # dataset names whose model/seed/tests failed
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    warnings: list[Failure] = field(default_factory=list)  # tests that found failing rows their check allows
    held: set[str] = field(default_factory=set)  # names of the tests that ran and hold (pass, or warn)


def dbt_executable() -> str:
    beside = Path(sys.executable).with_name("dbt")
    if beside.exists():
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise StepFailed("dbt is not installed: pip install 'specops[run]' (dbt-core and dbt-duckdb)")
    return found


def run_dbt(ctx: RunContext, command: str, select: list[str] | None, full_refresh: bool = False) -> DbtResult:
    """`dbt <command> [--full-refresh] [--select ...]` for the environment's target; lines are streamed as they
    come. A full refresh rebuilds incremental models from scratch and reloads seeds."""
    project_dir = ctx.out_dir / "dbt"
    work = ctx.root / ".specops" / "dbt" / ctx.env.name
    args = [dbt_executable(), command, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
            "--target", ctx.env.name, "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", *select]
        if command in ("build", "test"):
            # a test of a selected node that also reads an unselected one (a relationship to a model rebuilt
            # later, from scratch) waits for that node's build: dbt's eager default ran it against the stale table
            args += ["--indirect-selection", "buildable"]
    env = {**os.environ, "SPECOPS_ROOT": str(ctx.root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "DBT_USE_COLORS": "false"}
    wh = ctx.env.warehouse
    if wh.type == "duckdb":
        (ctx.root / str(wh.get("path"))).parent.mkdir(parents=True, exist_ok=True)
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    unmatched: list[str] = []

    def echo(line: str) -> None:
        tail.append(line)
        if (found := _UNMATCHED.search(line)) is not None:
            unmatched.append(found.group(1))
        ctx.echo(f"   dbt | {line}")

    # an earlier run's results must not be read as this run's when dbt stops before writing its own
    (work / "target" / "run_results.json").unlink(missing_ok=True)
    # dbt runs in apply's process group, dies with apply and is waited for when apply is interrupted
    code = run_streamed(args, project_dir, env, echo)
    if unmatched:  # dbt warns and goes on: the work specops asked for would be counted done, never run
        raise StepFailed(f"dbt found nothing to run for {', '.join(unmatched)} in the compiled project: run `specops "
                         "compile` and apply again (if it persists, it is a specops bug: please report it)")
    return _results(work / "target", code, list(tail))


_UNMATCHED = re.compile(r"The selection criterion '([^']+)' does not match any enabled nodes")


TAIL_LINES = 60  # the last lines of dbt's output kept to say why it failed when it wrote no results
_TIME = re.compile(r"^\d\d:\d\d:\d\d(?:\.\d+)?\s+")  # dbt's line prefix


def failure_cause(lines: list[str], limit: int = 400) -> str | None:
    """Why dbt stopped, from the end of its output: its last error heading ("Database Error", "Runtime Error
    in model x", ...) and the detail lines under it."""
    text = [_TIME.sub("", line).strip() for line in lines]
    heads = [i for i, line in enumerate(text) if _HEADING.match(line)]
    if not heads:  # dbt crashed: the last line of a Python traceback (`_duckdb.IOException: IO Error: ...`)
        raised = [m.group(1) for line in text if (m := _RAISED.match(line))]
        return _flat(raised[-1], limit) if raised else None
    first = heads[-1]
    detail = [line for line in text[first + 1:first + 6] if line and not _HEADING.match(line)]
    return _flat(": ".join([text[first].rstrip(":"), " ".join(detail)]) if detail else text[first], limit)


_RAISED = re.compile(r"^[\w.]+(?:Exception|Error): (.+)")
_HEADING = re.compile(r"^(?:[A-Z][A-Za-z]* )*Error\b(?! *=)")  # Database Error, IO Error, Runtime Error in model x


def _results(target: Path, code: int, tail: list[str] | None = None) -> DbtResult:
    result = DbtResult(ok=code == 0)
    try:
        run = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        if code != 0:
            cause = failure_cause(tail or [])
            raise StepFailed(f"dbt exited with code {code} and wrote no results"
                             + (f": {cause}" if cause else " (its output is above)")) from None
        return result
    nodes = manifest.get("nodes", {})
    for item in run.get("results", []):
        uid, status = item["unique_id"], item["status"]
        result.counts[status] = result.counts.get(status, 0) + 1
        node = nodes.get(uid, {})
        if status in ("pass", "warn") and node.get("resource_type") == "test":
            result.held.add(str(node.get("name") or uid))
        if status == "warn" and node.get("resource_type") == "test":
            count = item.get("failures")
            result.warnings.append(Failure(node.get("name") or uid, "test", status, str(item.get("message") or ""),
                                           _attached(node), int(count) if count is not None else None,
                                           item.get("compiled_code")))
        if status not in ("error", "fail", "skipped", "runtime error"):
            continue
        name = node.get("name") or uid.split(".")[2 if uid.count(".") >= 2 else -1]
        if node.get("resource_type") == "test":
            owner = _attached(node)
            if owner:
                result.failed_nodes.add(owner)
            count = item.get("failures")
            result.failures.append(Failure(name, "test", status, str(item.get("message") or ""), owner,
                                           int(count) if count is not None else None, item.get("compiled_code")))
        else:
            result.failed_nodes.add(uid.rsplit(".", 1)[-1])
            result.failures.append(Failure(uid.rsplit(".", 1)[-1], node.get("resource_type") or uid.split(".")[0],
                                           status, str(item.get("message") or ""), uid.rsplit(".", 1)[-1]))
    return result


def _attached(node: dict[str, object]) -> str:
    """The dataset a test is written on: a relationship's other parent (its `to`) is not at fault."""
    depends = node.get("depends_on")
    nodes = depends.get("nodes", []) if isinstance(depends, dict) else []
    attached = node.get("attached_node") or next((d for d in nodes if not str(d).startswith("macro.")), "")
    return str(attached).rsplit(".", 1)[-1]


def _found(check_type: str, failures: int | None) -> str | None:
    """What a test found, in words: failing rows, or for a check of the whole dataset (row_count, freshness: one row
    at most) that it does not hold."""
    if failures is None:
        return None
    if check_type.startswith(("row_count", "freshness")):
        return "the check does not hold" if failures else "it holds"
    return f"{failures} failing row(s)"


def explain_warning(project: SpecProject, warning: Failure) -> str:
    """A test that found failing rows its check allows, in words: a warn-severity check, or one within its
    threshold (dbt says `warn` for both)."""
    from compiler.emit.dbt.tests import check_origins

    origin = check_origins(project).get(warning.name)
    rows = _found(origin.type if origin else "", warning.failures) or "failing rows"
    check = project.rule_check(origin.address if origin else "", warning.name)
    allowed = _allowed(check)
    if check is not None and check.severity == "error" and allowed:
        why = f"within its threshold ({allowed}): it holds"
    elif allowed:
        why = f"over its threshold ({allowed}), severity warn: reported, not failed"
    else:
        why = "severity warn: reported, not failed"
    where = f" of {origin.address} at {origin.loc}" if origin else ""
    kind = f" ({origin.type})" if origin else ""
    return f"check '{warning.name}'{kind}{where} on dataset.{warning.dataset}: {rows}, {why}"


def _allowed(check: Check | None) -> str | None:
    """The failing rows a check's threshold allows, in words (None without a threshold)."""
    return check.threshold.allowed() if check is not None and check.threshold is not None else None


def explain(project: SpecProject, failure: Failure) -> tuple[str, str]:
    """(address it belongs to, what failed in words) of a failure: a check with its spec line, failing rows and
    a sample query; a model or seed with dbt's message."""
    from compiler.emit.dbt.tests import check_origins

    if failure.resource_type != "test":
        what = f"dataset.{failure.dataset} ({failure.resource_type}) {failure.status}"
        where = sql_line(project, failure.dataset, failure.message)
        return f"dataset.{failure.dataset}", f"{what}: {_flat(failure.message, 400)}" + (
            f" (at {where})" if where else "")
    origin = check_origins(project).get(failure.name)
    rows = _found(origin.type if origin else "", failure.failures) or failure.status
    if failure.status == "skipped":
        rows = "skipped (an upstream node failed)"
    where = f" of {origin.address} at {origin.loc}" if origin else ""
    kind = f" ({origin.type})" if origin else ""
    text = f"check '{failure.name}'{kind}{where} on dataset.{failure.dataset}: {rows}"
    if failure.status == "fail" and (allowed := _allowed(project.rule_check(origin.address if origin else "",
                                                                           failure.name))):
        text += f", more than its threshold allows ({allowed})"
    if failure.status in ("error", "runtime error") and failure.message:
        text += f": {_flat(failure.message, 300)}"
    if failure.sql and failure.failures:
        text += f"; sample: {sample_query(failure.sql)}"
    return (origin.address if origin else f"dataset.{failure.dataset}"), text


def sample_query(sql: str, limit: int = 10) -> str:
    """A one-line query showing some failing rows of a test (its compiled query selects them)."""
    return f"select * from ({_one_line(sql, 2000)}) as failing limit {limit}"


def _one_line(text: str, limit: int) -> str:
    """SQL on one line: `--` comments (outside quotes) dropped, whitespace collapsed."""
    return _flat(" ".join(_uncommented(line) for line in text.strip().splitlines()), limit)


def _flat(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _uncommented(line: str) -> str:
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif line.startswith("--", i):
            return line[:i]
    return line
