"""Resource digests, remembered between runs and computed on every core.

A resource's digest (compiler.spec.snapshot) costs a normalised JSON rendering; at 10,000 specs that is
a good part of a plan. A resource's fingerprint (compiler.front.check) covers everything its IR is
built from: its file's path and bytes, its place in the file, the bytes of the files it names and, for
a deployment, the alias it resolved; the cache folder's name covers specops' own code. Equal
fingerprints therefore mean equal resources and equal digests: a remembered digest is never stale.

`with_digests` gives the project with every digest known (SpecProject.with_digests): remembered ones
from the cache entry of the repository (fingerprint -> digest), the others computed, in shares by
several processes when they are many; then this run's are remembered.
"""

from __future__ import annotations

import hashlib
import marshal

from compiler.spec.project import SpecProject
from compiler.speed.cache import Cache
from compiler.speed.parallel import parallel_map

PARALLEL_MIN_RESOURCES = 300  # below this, forking costs more than the digests take


def entry_name(project: SpecProject) -> str:
    return f"digests-{hashlib.sha256(str(project.root).encode()).hexdigest()[:16]}"


def computed(project: SpecProject, known: dict[str, str] | None = None) -> dict[str, str]:
    """address -> digest of every resource (the Project's included): `known` ones kept, the others computed
    (in shares by several processes when they are many)."""
    known = dict(known or {})
    pending = [r for r in project.by_address.values() if r.address not in known]
    made = parallel_map(lambda r: r.digest, pending, min_items=PARALLEL_MIN_RESOURCES)
    known.update((r.address, digest) for r, digest in zip(pending, made, strict=True))
    return known


def with_digests(project: SpecProject, cache: Cache | None, memo: dict[str, str] | None = None) -> SpecProject:
    """The project with every resource's digest known, using and refreshing the remembered ones (`memo`:
    fingerprint -> digest of this run, e.g. the head's for a PR plan's base)."""
    fingerprints = project.fingerprints
    memo = {} if memo is None else memo
    if cache is None:
        digests = computed(project, {a: memo[fp] for a, fp in fingerprints.items() if fp in memo})
        memo.update((fingerprints[a], d) for a, d in digests.items() if a in fingerprints)
        return project.with_digests(digests)
    name = entry_name(project)
    remembered = _read(cache, name)
    known = {address: memo.get(fp) or remembered[fp] for address, fp in fingerprints.items()
             if fp in memo or fp in remembered}
    digests = computed(project, known)
    current = {fingerprints[a]: d for a, d in digests.items() if a in fingerprints}
    memo.update(current)
    if current != remembered:
        cache.write(name, marshal.dumps(current))
    return project.with_digests(digests)


def _read(cache: Cache, name: str) -> dict[str, str]:
    payload = cache.read(name)
    if payload is None:
        return {}
    try:
        data = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return {}
    if not isinstance(data, dict) or not all(type(k) is str and type(v) is str for k, v in data.items()):
        return {}
    return data
