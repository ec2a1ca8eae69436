"""The front end's SQL analysis (compiler.front.sql.SqlWork), remembered by digest and shared between cores.

An analysis is a pure function of its job: the SQL text, the dialect and the inputs' column names (the
cache folder's name covers specops' own code). `sql_work(cache, memo)` gives a SqlWork with the same
results as `analyze_each`: jobs seen earlier in this run (`memo`: e.g. the head's, reused for the base of
a PR plan) or remembered in the cache entry of the repository are not analysed again; the others are
shared between processes when they are many, then remembered.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
from collections.abc import Sequence

from compiler.front.sql import SqlJob, SqlWork, analyze_job
from compiler.spec.lineage import SqlAnalysis
from compiler.speed.cache import Cache
from compiler.speed.parallel import parallel_map

PARALLEL_MIN_JOBS = 150  # below this, forking costs more than the analyses take


def job_key(job: SqlJob) -> str:
    return hashlib.blake2b(marshal.dumps(job), digest_size=16).hexdigest()


def _encode(analysis: SqlAnalysis) -> bytes:
    return marshal.dumps(analysis.to_plain())


def _decode(data: bytes) -> SqlAnalysis:
    return SqlAnalysis.from_plain(marshal.loads(data))


def sql_work(cache: Cache | None, memo: dict[str, SqlAnalysis], entry: str = "sql-analyses") -> SqlWork:
    def work(jobs: Sequence[SqlJob]) -> list[SqlAnalysis]:
        keys = [job_key(j) for j in jobs]
        remembered = _read(cache, entry) if cache is not None and any(k not in memo for k in keys) else {}
        for key in keys:
            if key not in memo and key in remembered:
                with contextlib.suppress(TypeError, ValueError):  # another format: analysed again below
                    memo[key] = SqlAnalysis.from_plain(remembered[key])
        todo = list({k: j for k, j in zip(keys, jobs, strict=True) if k not in memo}.items())
        made = parallel_map(analyze_job, [j for _, j in todo], min_items=PARALLEL_MIN_JOBS, codec=(_encode, _decode))
        memo.update((k, a) for (k, _), a in zip(todo, made, strict=True))
        if cache is not None and todo:
            current = {k: memo[k].to_plain() for k in dict.fromkeys(keys)}
            cache.write(entry, marshal.dumps(current))
        return [memo[k] for k in keys]

    return work


def _read(cache: Cache, entry: str) -> dict:
    payload = cache.read(entry)
    if payload is None:
        return {}
    try:
        data = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}
