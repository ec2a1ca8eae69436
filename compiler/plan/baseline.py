"""Where a plan's baseline comes from: the environment's last apply, or another git revision."""

from __future__ import annotations

import marshal
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from compiler.apply.state import State, parse_state, read_state_bytes, state_dir
from compiler.emit.compile import compile_for_plan
from compiler.emit.manifest import sha256
from compiler.front.check import check_repository
from compiler.plan.model import Baseline
from compiler.plan.scope import head_snapshots
from compiler.spec.diagnostics import Diagnostic, SpecError, UserError


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


# (environment, lineage, serial, state digest, packed snapshots, pending, artifact digests, resource digests)
StateSummary = tuple[str, str, int, str, dict[str, bytes], dict, dict[str, str], dict[str, str]]


def state_summary(root: Path, env: str, read: Callable[[str], bytes | None] | None = None) -> StateSummary:
    """What a plan needs from the environment's state, as plain data (`read(env)`: its bytes, from the state's
    backend; default the local file)."""
    raw = read(env) if read is not None else read_state_bytes(root, env)
    return summarize(parse_state(raw, root, env))


def summarize(state: State) -> StateSummary:
    # the file's digest when there is one (the same bytes give the same digest, without re-serialising)
    return (state.environment, state.lineage, state.serial, state.source_digest or state.digest(),
            {a: marshal.dumps(s) for a, s in state.resources.items()}, dict(state.pending), dict(state.artifacts),
            state.resource_digests())


def from_summary(root: Path, summary: StateSummary) -> BaselineData:
    env, lineage, serial, digest, packed, pending, artifacts, resource_digests = summary
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


def from_git(root: Path, ref: str, env: str | None) -> BaselineData:
    """Compile the specs as they are at `ref`, from a temporary worktree."""
    try:
        top = Path(_git(["rev-parse", "--show-toplevel"], root)).resolve()
    except BaselineError:
        raise BaselineError(f"--against needs a git repository, and {root} is not inside one") from None
    try:
        sha = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    except BaselineError:
        raise BaselineError(f"unknown git revision '{ref}' (for a branch of the remote, fetch it first: "
                            "git fetch origin)") from None
    rel = root.resolve().relative_to(top)
    tmp = Path(tempfile.mkdtemp(prefix="specops-baseline-"))
    tree = tmp / "tree"
    try:
        _git(["worktree", "add", "--detach", "--quiet", str(tree), sha], top)
        spec_root = tree / rel
        if not (spec_root / "specops.yaml").exists():
            return BaselineData(Baseline("git", ref, spec_digest=None), {}, {}, {}, {})
        project, diags = check_repository(spec_root)
        if project is None:
            errors = [d for d in diags if d.severity == "error"]
            raise SpecError([Diagnostic(d.code, f"at {ref}: {d.message}", d.file, d.line, d.col, d.address, d.hint)
                             for d in errors])
        compiled = compile_for_plan(project, env)  # the same scope as the head side: what the plan compares
        contents = {a.key: a.content for a in compiled.artifacts}
        info = Baseline("git", ref, None, None, None, project.spec_digest)
        return BaselineData(info, head_snapshots(project, env), {}, contents,
                            {k: sha256(v) for k, v in contents.items()})
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=top, capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=top, capture_output=True, check=False)
