"""Everything that only saves time, behind one object: `Speed`.

The stages (compiler.front, compiler.emit, compiler.plan) are plain and single-process; each offers a
parameter where a faster equivalent can be passed in, and the CLI (the one place that wires options and
caches) passes the ones of a `Speed`, made once per command run:

- `files`: the front end's per-file work, remembered in the user's cache and shared with a second process
  (compiler.speed.files);
- `with_digests`: every resource's digest, remembered and computed on every core (compiler.speed.digests);
- `emit`: the backends on every core (compiler.speed.emitting);
- `compile_for_plan`: a plan's artifacts, reusing the units whose reads did not change
  (compiler.speed.incremental);
- `write_groups`: the output files, a folder per process;
- `state_summary`: the environment's state, remembered by the state file's bytes;
- `sql`: the transforms' SQL analyses, remembered by digest and made on every core (compiler.speed.sqlwork).

Nothing here changes a result: `SPECOPS_JOBS=1` with `--no-cache` (or the plain stages) gives the same
bytes, and a damaged or planted cache entry is a miss (compiler.speed.cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.speed.cache import Cache

PARALLEL_MIN_WRITES = 2000  # files; below this, forking costs more than writing takes

if TYPE_CHECKING:  # imported where used: `specops --help` must not load the stages
    from collections.abc import Callable

    from compiler.emit.base import Artifact
    from compiler.emit.compile import Compiled
    from compiler.front.load import FileWork
    from compiler.front.sql import SqlWork
    from compiler.output.write import FileGroups
    from compiler.plan.baseline import StateSummary
    from compiler.spec.project import SpecProject

    StateReader = Callable[[str], bytes | None]


@dataclass(frozen=True)
class Speed:
    """The time savers of one run; `cache` is None when nothing may be remembered (--no-cache, or no cache
    can be used here)."""

    cache: Cache | None
    # what this run made, for a PR plan's base to reuse (read from another checkout, mostly the same files):
    sql_memo: dict = field(default_factory=dict, compare=False, repr=False)  # SQL analyses by job digest
    file_memo: dict = field(default_factory=dict, compare=False, repr=False)  # file outcomes by file key
    digest_memo: dict = field(default_factory=dict, compare=False, repr=False)  # resource digests by fingerprint
    unit_memo: dict = field(default_factory=dict, compare=False, repr=False)  # the head's unit records (a plan's)

    @classmethod
    def for_run(cls, use_cache: bool) -> Speed:
        if not use_cache:
            return cls(None)
        from compiler.front.schemas import schema_digest

        return cls(Cache.open(schema_digest()))

    @property
    def files(self) -> FileWork:
        from compiler.speed.files import file_work

        return file_work(self.cache, self.file_memo)

    @property
    def sql(self) -> SqlWork:
        from compiler.speed.sqlwork import sql_work

        return sql_work(self.cache, self.sql_memo)

    def with_digests(self, project: SpecProject) -> SpecProject:
        from compiler.speed.digests import with_digests

        return with_digests(project, self.cache, self.digest_memo)

    def base_digests(self, project: SpecProject) -> SpecProject:
        """with_digests for a PR plan's base (a temporary checkout): this run's digests reused, none cached."""
        from compiler.speed.digests import with_digests

        return with_digests(project, None, self.digest_memo)

    def emit(self, project: SpecProject, environment: str | None = None) -> list[Artifact]:
        from compiler.speed.emitting import emit_parallel

        return emit_parallel(project, environment)

    def compile_for_plan(self, project: SpecProject, environment: str | None) -> Compiled:
        """compiler.emit.compile.compile_for_plan's result, reusing units' results from the cache (and keeping
        them for the rest of the run: compile_base)."""
        from compiler.speed.unitstore import KeptUnits, UnitStore

        store = UnitStore(self.cache, project.root) if self.cache is not None else None
        return self._incremental(project, environment, KeptUnits(self.unit_memo, store))

    def compile_base(self, project: SpecProject, environment: str | None) -> Compiled:
        """The artifacts of a PR plan's base (another checkout): the units whose reads did not change since
        the head's compile in this run are reused (nothing of the temporary checkout goes to the cache)."""
        from compiler.speed.unitstore import KeptUnits

        return self._incremental(project, environment, KeptUnits(dict(self.unit_memo), None))

    def _incremental(self, project: SpecProject, environment: str | None, store: object) -> Compiled:
        from compiler.emit.compile import Compiled
        from compiler.speed.incremental import emit_incremental
        from compiler.speed.tracking import UntrackedRead

        try:
            artifacts, digests = emit_incremental(project, environment, store)  # type: ignore[arg-type]
        except UntrackedRead:  # a backend reads something units cannot track (a bug): never a wrong result
            return Compiled(project, self.emit(project, environment))
        return Compiled(project, artifacts, digests)

    def write_groups(self, groups: FileGroups) -> None:
        """compiler.output.write.write_groups, each folder's files by one process (writers in different
        folders do not contend)."""
        from compiler.output.write import write_group
        from compiler.speed.parallel import parallel_map

        parallel_map(write_group, groups, weights=[len(g) for g in groups],
                     worth_it=sum(map(len, groups)) >= PARALLEL_MIN_WRITES)

    def state_summary(self, root: Path, env: str, read: StateReader | None = None) -> StateSummary:
        """`read(env)` gives the state's bytes (default: the local state file)."""
        from compiler.speed.statesummary import state_summary

        return state_summary(root, env, self.cache, read)
