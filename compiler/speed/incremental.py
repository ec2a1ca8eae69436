"""A plan's artifacts, reusing the results of the units whose reads did not change since last time.

`emit_incremental(project, env, store)` gives exactly `emit_all(project, environment=env)`: every
unit (compiler.emit.base.Unit) of every backend part (compiler.emit.registry), for one environment's
manifests and lineage. A unit's stored result is reused when each read it recorded (compiler.speed.tracking) has
the same value now; otherwise it runs again, on a recording view, and its new result is stored. Image
tags are put in after, and what a part computes from its units' files (a kustomization) is computed
again (never stored, like an environment's lineage file, joined from its jobs' lines).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from compiler.emit.base import Artifact, Part, Unit, unique
from compiler.emit.manifest import sha256
from compiler.emit.registry import parts
from compiler.spec.project import SpecProject
from compiler.speed.parallel import parallel_map
from compiler.speed.tracking import Facts, ProjectView, Tags, Trace
from compiler.speed.unitstore import Record, UnitStore

PARALLEL_MIN_UNITS = 400  # fewer stale units than this run here: a fork costs more
PER_ENVIRONMENT = ("kubernetes", "lineage")  # backends whose units' keys are (backend, environment, ...)


def emit_incremental(project: SpecProject, environment: str | None,
                     store: UnitStore) -> tuple[list[Artifact], dict[str, str]]:
    """The artifacts, sorted, and the sha256 of those whose digest was stored (no image tag in them)."""
    chosen: list[tuple[Part, list[str]]] = []
    units = {}
    for part in parts(project, environment=environment):
        keys = []
        for unit in part.units(project):
            key = "\x1f".join(unit.key)
            units[key] = unit
            keys.append(key)
        chosen.append((part, keys))
    nonce = store.nonce()
    tags = Tags(nonce)
    facts = Facts(project, unknown="?" + secrets.token_hex(8))  # never equal to a stored value
    stored = store.load(nonce)
    records: dict[str, Record] = {}
    stale: list[str] = []
    for key in units:
        record = stored.get(key)
        if record is not None and _still_valid(record, facts):
            records[key] = record
        else:
            stale.append(key)
    made = parallel_map(lambda key: _run(project, facts, tags, units[key]), stale, min_items=PARALLEL_MIN_UNITS)
    records.update(zip(stale, made, strict=True))
    # kept: this run's units, and the manifests and lineage of the other environments (a plan of another --env
    # reuses them)
    kept = {key: record for key, record in stored.items() if _other_environment(key, environment, project)}
    kept.update((key, records[key]) for key in units)
    store.save(nonce, kept, set(stale))

    out: dict[str, Artifact] = {}
    digests: dict[str, str] = {}
    for part, keys in chosen:
        made_here = [art for key in keys for art in _artifacts(project, tags, records[key], digests)]
        unique(part.complete(project, made_here), out)
    return [out[k] for k in sorted(out)], digests


def _other_environment(key: str, environment: str | None, project: SpecProject) -> bool:
    kind, env, _ = [*key.split("\x1f", 2), "", ""][:3]
    return (kind in PER_ENVIRONMENT and environment is not None and env != environment
            and env in project.environments)


def _still_valid(record: Record, facts: Facts) -> bool:
    try:
        reads, used, made = record
        return (all(facts.value(tuple(key)) == value for key, value in reads)
                and all(kind in ("train", "serve", "dbt") and type(name) is str for kind, name in used)
                and all(type(path) is str and type(content) is bytes and type(owners) is tuple and type(base) is str
                        and type(digest) is str for path, content, owners, base, digest in made))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return False  # a damaged record: run the unit again


def _run(project: SpecProject, facts: Facts, tags: Tags, unit: Unit) -> Record:
    trace = Trace()
    made = unit.run(ProjectView(project, facts, trace, tags))  # type: ignore[arg-type]  # the SpecProject API
    return (tuple(sorted(trace.reads.items())), tuple(sorted(trace.tags)),
            tuple((a.path, a.content, a.owners, a.base, sha256(a.content)) for a in made))


def _artifacts(project: SpecProject, tags: Tags, record: Record, digests: dict[str, str]) -> Iterable[Artifact]:
    """The record's artifacts with the real image tags; the digests of those that had none go to `digests`."""
    used = frozenset(tuple(t) for t in record[1])
    for path, content, owners, base, digest in record[2]:
        art = Artifact(path, tags.put(project, content, used) if used else content, tuple(owners), base)  # type: ignore[arg-type]
        if not used:
            digests[art.key] = digest
        yield art
