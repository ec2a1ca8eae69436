"""Resource digests remembered between runs, keyed by what each resource was built from.

A resource's digest (compiler.spec.snapshot) costs a normalised JSON rendering; at 10,000 specs that is a
good part of a plan. A resource's fingerprint (compiler.front.check) covers everything its IR is built
from: its file's path and bytes, its place in the file, the bytes of the files it names and, for a
deployment, the alias it resolved; the cache folder's name covers specops' own code. Equal
fingerprints therefore mean equal resources and equal digests: a remembered digest is never stale.

One file per repository in the cache folder holds the last run's fingerprint -> digest map
(marshal), replaced atomically; a file that cannot be read is as good as none.
"""

from __future__ import annotations

import hashlib
import marshal
from pathlib import Path

from compiler.spec.project import SpecProject
from compiler.speed.cache import store_file


def digests_file(folder: Path, root: Path) -> Path:
    return folder / f"digests-{hashlib.sha256(str(root).encode()).hexdigest()[:16]}"


def prime_digests(project: SpecProject, folder: Path | None) -> int:
    """Give every resource its digest: remembered ones set, the others computed (in shares); return how many
    were remembered. Then remember this run's."""
    from compiler.emit import share_digests

    if folder is None:
        return 0
    path = digests_file(folder, project.root)
    known = _read(path)
    resources = [project.project, *project.resources()]
    found = 0
    for res in resources:
        digest = known.get(project.fingerprints.get(res.address, ""))
        if digest is not None:
            res.__dict__.setdefault("digest", digest)  # what the digest property would compute
            found += 1
    share_digests(project)  # the others, in shares when they are many
    current = {project.fingerprints[r.address]: r.digest for r in resources if r.address in project.fingerprints}
    if current != known:
        _write(path, current)
    return found


def _read(path: Path) -> dict[str, str]:
    try:
        with open(path, "rb") as handle:
            data = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        return {}
    return data


def _write(path: Path, data: dict[str, str]) -> None:
    store_file(path, marshal.dumps(data))
