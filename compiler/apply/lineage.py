"""OpenLineage run events of `specops apply` (and `specops train`): START, then COMPLETE or FAIL, per job run.

Jobs and their static facets come from compiler.emit.lineage.jobs; a run adds a UUID run id, the event
times (the clock is read here, never in compile), the processing engine, an errorMessage on FAIL, the
dataQualityAssertions of the dbt tests that ran on a job's input datasets, and the registered model
version of a training.

Where events go: always appended to `.specops/lineage/<env>.jsonl` (one JSON event per line), and when
the Environment sets `lineage.url`, POSTed to `<url>/<endpoint>` (default api/v1/lineage, Marquez and
any OpenLineage HTTP backend), with `Authorization: Bearer $<api_key_env>` when set. A lineage backend
that is down never fails an apply: the event stays in the file and a warning is printed.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from compiler.apply.context import RunContext
from compiler.emit.lineage import facets
from compiler.emit.lineage.jobs import Job, load_job, quality_job, training_job, transform_job

HTTP_TIMEOUT = 10
# dbt statuses of a node that did not do its work (a test of severity warn that finds rows says `warn`)
_FAILED = {"fail", "error", "runtime error", "skipped"}


def lineage_file(root: Path, env: str) -> Path:
    return root / ".specops" / "lineage" / f"{env}.jsonl"


@dataclass
class Sink:
    """Where one apply's events go; `sent` counts what the HTTP endpoint accepted."""

    ctx: RunContext
    warned: bool = False
    sent: int = 0
    written: list[dict[str, Any]] = field(default_factory=list)
    # the dbt tests of this apply's dbt build, per tested dataset (`namespace/name`): a training reports those
    # on its input, never an older build's
    assertions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def emit(self, event: dict[str, Any]) -> None:
        path = lineage_file(self.ctx.root, self.ctx.env.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")
        self.written.append(event)
        target = self.ctx.env.lineage
        if target is not None:
            self._post(target.url.rstrip("/") + "/" + target.endpoint.strip("/"), event, target.api_key_env)

    def _post(self, url: str, event: dict[str, Any], key_env: str | None) -> None:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(key_env) if key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(url, json.dumps(event).encode("utf-8"), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # the schema allows http(s) only
                response.read()
            self.sent += 1
        except (urllib.error.URLError, OSError, ValueError) as exc:
            if not self.warned:
                self.ctx.echo(f"   warning: lineage events could not be sent to {url} ({exc}); they are in "
                              f"{lineage_file(self.ctx.root, self.ctx.env.name)}")
                self.warned = True


@dataclass
class Run:
    job: Job
    run_id: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event(kind: str, run: Run, run_facets: dict[str, Any] | None = None,
           inputs: list[dict[str, Any]] | None = None, outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "eventType": kind,
        "eventTime": _now(),
        "producer": facets.PRODUCER,
        "schemaURL": f"{facets.CORE}#/$defs/RunEvent",
        "run": {"runId": run.run_id, "facets": {"processing_engine": facets.processing_engine(), **(run_facets or {})}},
        "job": run.job.ref(),
        "inputs": inputs if inputs is not None else list(run.job.inputs),
        "outputs": outputs if outputs is not None else list(run.job.outputs),
    }


def start(sink: Sink | None, job: Job) -> Run | None:
    if sink is None:
        return None
    run = Run(job, str(uuid.uuid4()))
    sink.emit(_event("START", run))
    return run


def finish(sink: Sink | None, run: Run | None, error: str | None = None,
           assertions: dict[str, list[dict[str, Any]]] | None = None, job: Job | None = None) -> None:
    """COMPLETE (or FAIL with `error`), with the assertions found per input dataset name (`namespace/name`);
    `job` replaces the run's job description (e.g. with the registered model version)."""
    if sink is None or run is None:
        return
    if job is not None:
        run = Run(job, run.run_id)
    inputs = []
    for item in run.job.inputs:
        found = (assertions or {}).get(f"{item['namespace']}/{item['name']}")
        inputs.append({**item, "inputFacets": {"dataQualityAssertions": facets.assertions(found)}} if found else item)
    run_facets = {"errorMessage": facets.error_message(sink.ctx.scrub(error))} if error else {}
    sink.emit(_event("FAIL" if error else "COMPLETE", run, run_facets, inputs))


# --- what apply's steps call -------------------------------------------------------------------------


def open_sink(ctx: RunContext) -> Sink:
    return Sink(ctx)


def start_data(sink: Sink | None, ctx: RunContext, addresses: list[str], everything: bool) -> dict[str, Run]:
    """START events of the data work about to run in one dbt build: seed loads, transforms, quality rules."""
    if sink is None:
        return {}
    project, env = ctx.project, ctx.env
    wanted = set(addresses)
    runs: dict[str, Run] = {}
    for ds in project.external_datasets():
        if ds.source is not None and ds.source.type == "file" and (everything or ds.address in wanted):
            runs[ds.address] = start(sink, load_job(project, env, ds))  # type: ignore[assignment]
    for name, t in sorted(project.transforms.items()):
        if everything or t.address in wanted:
            runs[t.address] = start(sink, transform_job(project, env, name))  # type: ignore[assignment]
    for name, rule in sorted(project.rules.items()):
        if everything or rule.address in wanted or f"dataset.{rule.dataset}" in wanted:
            runs[rule.address] = start(sink, quality_job(project, env, name))  # type: ignore[assignment]
    return runs


def finish_data(sink: Sink | None, ctx: RunContext, runs: dict[str, Run], error: str | None) -> None:
    """COMPLETE or FAIL of each data job, from dbt's run_results.json of the build that just ran."""
    if sink is None or not runs:
        return
    results = dbt_results(ctx)
    sink.assertions = assertions_by_dataset(ctx, results)
    for address, run in runs.items():
        failed = _failed(ctx, address, results)
        why = f"{error or 'dbt failed'} ({', '.join(failed)})" if failed else None
        if error and not results:
            why = error  # dbt wrote no results: every job of the build failed
        finish(sink, run, why, sink.assertions)


def dbt_results(ctx: RunContext) -> dict[str, Any]:
    """node unique_id -> (status, node) from the last dbt run of this environment; {} when unreadable."""
    target = ctx.root / ".specops" / "dbt" / ctx.env.name / "target"
    try:
        run = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    nodes = manifest.get("nodes", {})
    return {r["unique_id"]: (r["status"], nodes.get(r["unique_id"], {}), r.get("failures"))
            for r in run.get("results", [])}


def _failed(ctx: RunContext, address: str, results: dict[str, Any]) -> list[str]:
    """The dbt nodes of a job that did not succeed: its seed or model, or (a quality rule) its tests."""
    kind, name = address.split(".", 1)
    bad = []
    for uid, (status, node, _) in results.items():
        meta = node.get("config", {}).get("meta", {}).get("specops", {})
        mine = (kind == "quality_rule" and meta.get("address") == address) or \
               (kind in ("dataset", "transform") and node.get("resource_type") in ("seed", "model")
                and node.get("name") == (ctx.project.transforms[name].output if kind == "transform" else name))
        if mine and status in _FAILED:
            bad.append(f"{node.get('name', uid)}: {status}")
    return sorted(bad)


def assertions_by_dataset(ctx: RunContext, results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """`namespace/name` of each tested dataset -> its dataQualityAssertions (the dbt tests that ran on it)."""
    from compiler.emit.lineage import naming

    out: dict[str, list[dict[str, Any]]] = {}
    for _uid, (status, node, failures) in sorted(results.items()):
        if node.get("resource_type") != "test" or status == "skipped":
            continue
        attached = node.get("attached_node") or next(iter(node.get("depends_on", {}).get("nodes", [])), "")
        dataset = ctx.project.datasets.get(attached.rsplit(".", 1)[-1]) if attached else None
        if dataset is None:
            continue
        meta = node.get("config", {}).get("meta", {}).get("specops", {})
        severity = str(node.get("config", {}).get("severity", "ERROR")).lower()
        # success is whether the check holds as the spec states it, threshold included: an error check
        # within its tolerated failures ends `warn` in dbt (warn_if met, error_if, its threshold, not), and holds
        item: dict[str, Any] = {"assertion": meta.get("type") or _generic(node),
                                "success": status == "pass" or (status == "warn" and severity == "error"),
                                "severity": severity, "name": meta.get("check") or node.get("name", "")}
        column = node.get("column_name")
        if column:
            item["column"] = column
        expected = _tolerated(ctx, meta)
        if expected is not None:
            item["expected"] = expected
        # dbt reports 0 failures for every test that passes: that is the count, except for a warn check with a
        # threshold, whose warn_if is the threshold itself (compiler.emit.dbt.tests): its rows within it are uncounted
        uncounted = status == "pass" and severity == "warn" and expected is not None
        if isinstance(failures, int) and not isinstance(failures, bool) and not uncounted:
            item["actual"] = f"{failures} failing rows"
        namespace, name = naming.dataset(ctx.env, dataset)
        out.setdefault(f"{namespace}/{name}", []).append(item)
    return out


def _tolerated(ctx: RunContext, meta: dict[str, Any]) -> str | None:
    """The failures a QualityRule check tolerates, from its threshold (None without one, or not a check of ours)."""
    check = ctx.project.rule_check(str(meta.get("address") or ""), meta.get("check"))
    return check.threshold.allowed() if check is not None and check.threshold is not None else None


def _generic(node: dict[str, Any]) -> str:
    """not_null, unique, ... of a column property test (specops_not_null -> not_null)."""
    name = (node.get("test_metadata") or {}).get("name") or "custom_sql"
    return name.removeprefix("specops_")


def start_training(sink: Sink | None, ctx: RunContext, model: str) -> Run | None:
    return start(sink, training_job(ctx.project, ctx.env, model)) if sink is not None else None


def finish_training(sink: Sink | None, ctx: RunContext, run: Run | None, version: int | None,
                    error: str | None) -> None:
    if sink is None or run is None:
        return
    job = training_job(ctx.project, ctx.env, run.job.address.split(".", 1)[1],
                       str(version) if version is not None else None)
    finish(sink, run, error, sink.assertions, job)
