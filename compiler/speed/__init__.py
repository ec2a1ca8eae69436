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
- `state_summary`: the environment's state, remembered by the state file's bytes.

Nothing here changes a result: `SPECOPS_JOBS=1` with `--no-cache` (or the plain stages) gives the same
bytes, and a damaged or planted cache entry is a miss (compiler.speed.cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.speed.cache import Cache

PARALLEL_MIN_WRITES = 2000  # files; below this, forking costs more than writing takes

if TYPE_CHECKING:  # imported where used: `specops --help` must not load the stages
    from collections.abc import Callable

    from compiler.emit.base import Artifact
    from compiler.emit.compile import Compiled
    from compiler.front.load import FileWork
    from compiler.output.write import FileGroups
    from compiler.plan.baseline import StateSummary
    from compiler.spec.project import SpecProject

    StateReader = Callable[[str], bytes | None]


@dataclass(frozen=True)
class Speed:
    """The time savers of one run; `cache` is None when nothing may be remembered (--no-cache, or no cache
    can be used here)."""

    cache: Cache | None

    @classmethod
    def for_run(cls, use_cache: bool) -> Speed:
        if not use_cache:
            return cls(None)
        from compiler.front.schemas import schema_digest

        return cls(Cache.open(schema_digest()))

    @property
    def files(self) -> FileWork:
        from compiler.speed.files import file_work

        return file_work(self.cache)

    def with_digests(self, project: SpecProject) -> SpecProject:
        from compiler.speed.digests import with_digests

        return with_digests(project, self.cache)

    def emit(self, project: SpecProject, environment: str | None = None) -> list[Artifact]:
        from compiler.speed.emitting import emit_parallel

        return emit_parallel(project, environment)

    def compile_for_plan(self, project: SpecProject, environment: str | None) -> Compiled:
        """compiler.emit.compile.compile_for_plan's result, reusing units' results from the cache."""
        from compiler.emit.compile import Compiled

        if self.cache is None:
            return Compiled(project, self.emit(project, environment))
        from compiler.speed.incremental import emit_incremental
        from compiler.speed.tracking import UntrackedRead
        from compiler.speed.unitstore import UnitStore

        try:
            artifacts, digests = emit_incremental(project, environment, UnitStore(self.cache, project.root))
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
