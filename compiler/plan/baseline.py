"""Where a plan's baseline comes from: the environment's last apply, or another git revision."""

from __future__ import annotations

import marshal
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from compiler.apply.state import State, check_identity, parse_state, read_state_bytes, state_dir, state_path
from compiler.emit.compile import Compiled, compile_for_plan
from compiler.front.check import check_repository
from compiler.front.load import FileWork, each_file
from compiler.front.sql import SqlWork, analyze_each
from compiler.output.scratch import scratch_prefix, sweep
from compiler.paths import shown
from compiler.plan.gittree import materialize, submodules
from compiler.plan.model import Baseline
from compiler.plan.scope import LazySnapshots
from compiler.spec.diagnostics import Diagnostic, UserError, errors_only
from compiler.spec.project import SpecProject


class BaselineError(UserError):
    """A baseline that cannot be had (no such git revision, no git repository)."""


@dataclass(frozen=True)
class BaselineData:
    info: Baseline
    resources: Mapping[str, dict]  # address -> snapshot
    pending: dict[str, dict]  # address -> impact left over by an interrupted or failed apply
    artifacts: Mapping[str, bytes | None]  # artifact key -> content (None when only the digest is known)
    digests: dict[str, str]  # artifact key -> sha256
    # address -> snapshot_digest of its snapshot, when known without computing (a state file keeps them)
    resource_digests: Mapping[str, str] | None = None
    # a git baseline's environments (all of them, whatever the plan's scope): name -> {address: digest} of the
    # resources only that environment has (itself and its deployments)
    environment_digests: Mapping[str, Mapping[str, str]] | None = None


def applied_dir(root: Path, env: str) -> Path:
    """The compiled tree as it was at the environment's last apply (for file-level diffs)."""
    return state_dir(root) / "applied" / env


class AppliedFiles(Mapping[str, "bytes | None"]):
    """The applied tree's files by artifact key, read when asked for: a plan reads only the changed ones."""

    def __init__(self, folder: Path, keys: Iterable[str]):
        self.folder = folder
        self.keys_ = frozenset(keys)

    def __getitem__(self, key: str) -> bytes | None:
        if key not in self.keys_:
            raise KeyError(key)
        path = self.folder / key.replace(":", "/", 1)
        try:
            return path.read_bytes() if path.is_file() else None
        except OSError:
            return None  # the diff then says the previous content was not kept

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.keys_))

    def __len__(self) -> int:
        return len(self.keys_)


class PackedSnapshots(Mapping[str, dict]):
    """Applied snapshots by address, each kept as marshal bytes and decoded when asked for: a plan looks at
    the few whose digest changed."""

    def __init__(self, packed: dict[str, bytes]):
        self.packed = packed
        self._decoded: dict[str, dict] = {}

    def __getitem__(self, address: str) -> dict:
        found = self._decoded.get(address)
        if found is None:
            found = self._decoded[address] = marshal.loads(self.packed[address])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.packed)

    def __len__(self) -> int:
        return len(self.packed)


# (environment, lineage, serial, state digest, packed snapshots, pending, artifact digests, resource digests,
#  project)
StateSummary = tuple[str, str, int, str, dict[str, bytes], dict, dict[str, str], dict[str, str], str]


def state_summary(root: Path, env: str, read: Callable[[str], bytes | None] | None = None) -> StateSummary:
    """What a plan needs from the environment's state, as plain data (`read(env)`: its bytes, from the state's
    backend; default the local file)."""
    raw = read(env) if read is not None else read_state_bytes(root, env)
    return summarize(parse_state(raw, root, env))


def summarize(state: State) -> StateSummary:
    # the file's digest when there is one (the same bytes give the same digest, without re-serialising)
    return (state.environment, state.lineage, state.serial, state.source_digest or state.digest(),
            {a: marshal.dumps(s) for a, s in state.resources.items()}, dict(state.pending), dict(state.artifacts),
            state.resource_digests(), state.project)


def from_summary(root: Path, summary: StateSummary, env: str | None = None, project: str | None = None) -> BaselineData:
    """The baseline a state summary gives; given `env` and `project`, a summary of another environment's or
    project's state is refused (compiler.apply.state.check_identity), wherever the summary came from."""
    found_env, lineage, serial, digest, packed, pending, artifacts, resource_digests, found_project = summary
    if env is not None:
        check_identity(shown(state_path(root, env)), found_env, found_project, lineage, env, project)
    env = found_env
    info = Baseline("state", None, lineage or None, serial, digest, None)
    return BaselineData(info, PackedSnapshots(packed), pending, AppliedFiles(applied_dir(root, env), artifacts),
                        artifacts, resource_digests)


def from_state(root: Path, state: State) -> BaselineData:
    return from_summary(root, summarize(state))


def _git(args: list[str], cwd: Path) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BaselineError(f"git {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


def head_sha(root: Path) -> str | None:
    try:
        return _git(["rev-parse", "HEAD"], root)
    except (BaselineError, OSError):
        return None


def _shallow(root: Path) -> bool:
    try:
        return _git(["rev-parse", "--is-shallow-repository"], root).strip() == "true"
    except BaselineError:
        return False


def from_git(root: Path, ref: str, env: str | None, sql: SqlWork = analyze_each, files: FileWork = each_file,
             compile: Callable[[SpecProject, str | None], Compiled] = compile_for_plan,
             digests: Callable[[SpecProject], SpecProject] | None = None) -> BaselineData:
    """Compile the specs as they are at `ref`, from a temporary worktree.

    `files`, `sql`, `compile` and `digests` do the front end's per-file work, the SQL analyses, the compile and
    the resources' digests; faster equivalents that reuse the head's results for what did not change may be
    passed (compiler.speed): the result is the same."""
    try:
        top = Path(_git(["rev-parse", "--show-toplevel"], root)).resolve()
    except BaselineError:
        raise BaselineError(f"--against needs a git repository, and {root} is not inside one") from None
    try:
        sha = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    except BaselineError:
        shallow = _shallow(root)
        hint = ("this clone is shallow: fetch the base, e.g. git fetch --deepen=50 origin, or git fetch origin "
                "<branch>:refs/remotes/origin/<branch> (in GitHub Actions: actions/checkout with fetch-depth: 0)"
                if shallow else "for a branch of the remote, fetch it first: git fetch origin")
        if ".." in ref:  # main...pr, main..pr: a range, where one revision is wanted
            raise BaselineError(f"--against takes one git revision, not a range: '{ref}' (for the base of a branch, "
                                "give its merge base: --against $(git merge-base main HEAD))") from None
        raise BaselineError(f"unknown git revision '{ref}' ({hint})") from None
    rel = root.resolve().relative_to(top)
    near = _near(top)
    if near is not None and sweep(Path(near), BASELINE_SCRATCH):  # left by a plan that was killed
        subprocess.run(["git", "worktree", "prune"], cwd=top, capture_output=True, check=False)
    tmp = Path(tempfile.mkdtemp(prefix=scratch_prefix(BASELINE_SCRATCH), dir=near))
    tree = tmp / "tree"
    try:
        if not materialize(top, sha, rel, tree):  # the files that differ from git, the others linked
            shutil.rmtree(tree, ignore_errors=True)
            # without the repository's hooks: a post-checkout hook must not run (or fail) in a plan's scratch tree
            _git(["-c", f"core.hooksPath={os.devnull}", "worktree", "add", "--detach", "--quiet", str(tree), sha],
                 top)
        unfetched = submodules(top, sha, rel, tree)
        if unfetched:
            raise BaselineError(f"submodule '{unfetched[0]}' is at a commit in {ref} that its repository here does "
                                "not have: run git submodule update --init --recursive (or fetch it in the "
                                "submodule)")
        spec_root = tree / rel
        if not (spec_root / "specops.yaml").exists():
            return BaselineData(Baseline("git", ref, spec_digest=None, sha=sha,
                                         no_project=(rel / "specops.yaml").as_posix()), {}, {}, {}, {})
        project, diags = check_repository(spec_root, files, sql)
        if project is None:  # compared with nothing, and said so: a pull request fixing the base gets its plan
            return BaselineData(Baseline("git", ref, spec_digest=None, sha=sha,
                                         errors=tuple(_located(ref, rel, d) for d in errors_only(diags))),
                                {}, {}, {}, {})
        if digests is not None:
            project = digests(project)
        compiled = compile(project, env)  # the same scope as the head side: what the plan compares
        contents = {a.key: a.content for a in compiled.artifacts}
        info = Baseline("git", ref, None, None, None, project.spec_digest, sha)
        snapshots = LazySnapshots(project, env)
        known = {a: project.digest(a) for a in snapshots} if digests is not None else None
        return BaselineData(info, snapshots, {}, contents, {k: compiled.digest(a) for k, a in
                                                              ((a.key, a) for a in compiled.artifacts)}, known,
                            environment_resources(project))
    finally:
        if (tree / ".git").exists():  # checked out as a worktree
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=top, capture_output=True,
                           check=False)
            shutil.rmtree(tmp, ignore_errors=True)
            subprocess.run(["git", "worktree", "prune"], cwd=top, capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def environment_resources(project: SpecProject) -> dict[str, dict[str, str]]:
    """Each environment's own resources (the environment and its deployments) with their digests."""
    found = {name: {f"environment.{name}": project.digest(f"environment.{name}")} for name in project.environments}
    for d in project.deployments.values():
        found.setdefault(d.environment, {})[d.address] = project.digest(d.address)
    return found


def _located(ref: str, rel: Path, d: Diagnostic) -> str:
    """An error of the base revision as `REF:path:line:col [code]`, named as git names a file at a revision (the
    working tree's file may say something else); without its message, which may quote a spec's value."""
    where = f"{ref}:{(rel / d.file).as_posix()}" if d.file else ref
    return f"{where}:{d.line}:{d.col} [{d.code}]" if d.file and d.line else f"{where} [{d.code}]"


BASELINE_SCRATCH = "specops-baseline-"  # followed by the pid of the plan that made it (compiler.output.scratch)


def _near(top: Path) -> str | None:
    """A folder for the baseline's files on the working tree's file system (hard links need one), else the
    system's temporary folder: the repository's git folder, which git and specops's discovery never read."""
    try:
        common = Path(_git(["rev-parse", "--git-common-dir"], top))
    except BaselineError:
        return None
    common = common if common.is_absolute() else top / common
    return str(common) if common.is_dir() and os.access(common, os.W_OK) else None
