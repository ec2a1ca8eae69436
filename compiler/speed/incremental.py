"""A plan's artifacts, reusing the results of the units whose reads did not change since last time.

`emit_incremental(project, env, store)` gives exactly `emit_all(project, environment=env)`: every
unit (compiler.emit.units) of every backend, for one environment's manifests. A unit's stored
result is reused when each read it recorded (compiler.speed.tracking) has the same value now;
otherwise it runs again, on a recording view, and its new result is stored. Image tags are put in
after, and each environment's kustomization is computed from its objects (never stored).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from compiler.emit import Artifact
from compiler.emit.manifest import sha256
from compiler.emit.units import Unit
from compiler.spec.project import SpecProject
from compiler.speed.parallel import parallel_map
from compiler.speed.tracking import Facts, ProjectView, Tags, Trace
from compiler.speed.unitstore import Record, UnitStore

PARALLEL_MIN_UNITS = 400  # fewer stale units than this run here: a fork costs more


def plan_units(project: SpecProject, environment: str | None) -> list[Unit]:
    """Every backend's units; Kubernetes' for `environment` only (all when None)."""
    from compiler.emit import docker, github, kubernetes
    from compiler.emit.dbt import units as dbt_units

    return [*dbt_units(project), *docker.units(project), *github.units(project),
            *kubernetes.units(project, only=environment)]


def emit_incremental(project: SpecProject, environment: str | None,
                     store: UnitStore) -> tuple[list[Artifact], dict[str, str]]:
    """The artifacts, sorted, and the sha256 of those whose digest was stored (no image tag in them)."""
    from compiler.emit.kubernetes import PREFIX as K8S
    from compiler.emit.kubernetes import with_kustomization

    units = plan_units(project, environment)
    nonce = store.nonce()
    tags = Tags(nonce)
    facts = Facts(project, unknown="?" + secrets.token_hex(8))  # never equal to a stored value
    stored = store.load(nonce)
    records: dict[str, Record] = {}
    stale: list[tuple[str, Unit]] = []
    for unit in units:
        key = "\x1f".join(unit.key)
        record = stored.get(key)
        if record is not None and _still_valid(record, facts):
            records[key] = record
        else:
            stale.append((key, unit))
    made = parallel_map(lambda item: _run(project, facts, tags, item[1]), stale, min_items=PARALLEL_MIN_UNITS)
    for (key, _), record in zip(stale, made, strict=True):
        records[key] = record
    # kept: this run's units, and the manifests of the other environments (a plan of another --env reuses them)
    kept = {key: record for key, record in stored.items() if _other_environment(key, environment, project)}
    kept.update({"\x1f".join(u.key): records["\x1f".join(u.key)] for u in units})
    store.save(nonce, kept, {key for key, _ in stale})

    out: dict[str, Artifact] = {}
    by_env: dict[str, list[Artifact]] = {}
    digests: dict[str, str] = {}
    for unit in units:
        for art in _artifacts(project, tags, records["\x1f".join(unit.key)], digests):
            if unit.key[0] == "kubernetes":
                by_env.setdefault(unit.key[1], []).append(art)
            else:
                _add(out, art)
    for env_name, made_here in by_env.items():
        for art in with_kustomization(project.environments[env_name], made_here):
            assert art.path.startswith(f"{K8S}/{env_name}/")
            _add(out, art)
    return [out[k] for k in sorted(out)], digests


def _other_environment(key: str, environment: str | None, project: SpecProject) -> bool:
    kind, env, _ = [*key.split("\x1f", 2), "", ""][:3]
    return kind == "kubernetes" and environment is not None and env != environment and env in project.environments


def _still_valid(record: Record, facts: Facts) -> bool:
    try:
        reads, used, made = record
        return (all(facts.value(tuple(key)) == value for key, value in reads)
                and all(kind in ("train", "dbt") and type(name) is str for kind, name in used)
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


def _add(out: dict[str, Artifact], art: Artifact) -> None:
    if art.key in out:
        raise ValueError(f"two artifacts claim {art.key}")
    out[art.key] = art
