"""Where specops writes and what it points other tools at stays inside the repository, clear of the user's files.

- The Project's `output` folder is replaced as a whole by compile: it may not be (or hold, or sit inside)
  the repository root, `.git`, `.specops`, a spec folder, the conventional `sql`, `training` and `data`
  folders, the workflows folder, or any folder holding a file a spec names (SQL, training code, data).
- `workflows_dir` may not be inside `.git`, `.specops` or a spec folder, nor overlap the output folder.
- An Environment's MLflow `tracking_uri`, when it names a local file (`sqlite:///...`, `file:...`), names one
  inside the repository: apply creates it there and the apply workflow caches it with the state.
  `sqlite:////abs/path`, `sqlite:///../x.db` and `file:///etc` are refused; use an http(s) server for a
  registry that lives elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from compiler.front.rules.context import Context
from compiler.paths import PROTECTED_FOLDERS, output_overlap, repo_path_problem
from compiler.spec.diagnostics import Diagnostic
from compiler.spec.ir import Environment


def check_confinement(ctx: Context) -> Iterator[Diagnostic]:
    yield from _output_folder(ctx)
    yield from _workflows_dir(ctx)
    for env in ctx.environments.values():
        yield from _tracking_uri(ctx, env)


def _parts(rel: str) -> tuple[str, ...]:
    return tuple(p for p in PurePosixPath(rel).parts if p not in ("", "."))


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether one folder is the other or holds it."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _output_folder(ctx: Context) -> Iterator[Diagnostic]:
    p = ctx.project
    out = _parts(p.output)
    if ".." in out or PurePosixPath(p.output).is_absolute():
        return  # a path the builder already refused (bad-path)
    problem = _output_problem(ctx, out) if out else "it is the repository root"
    if problem:
        yield ctx.at(p, ("spec", "output"), "bad-path",
                     f"output '{p.output}': {problem}, and compile replaces its output folder as a whole",
                     "use a folder of its own, e.g. output: build")


def _output_problem(ctx: Context, out: tuple[str, ...]) -> str | None:
    p = ctx.project
    named = {name: f"the '{name}' folder" for name in PROTECTED_FOLDERS}
    named.update({folder: f"the spec folder '{folder}'" for folder in p.specs})
    named[p.workflows_dir] = f"the workflows folder '{p.workflows_dir}'"
    for folder, what in named.items():
        if _overlap(out, _parts(folder)):
            return f"it overlaps {what}"
    for group in ctx.by_kind().values():
        for res in group.values():
            for rel in res.input_files():
                if _parts(rel)[:len(out)] == out:
                    return f"it holds '{rel}', which {res.address} reads"
    if ctx.root is not None:  # the same questions on resolved paths (a symlinked folder)
        return output_overlap(ctx.root, ctx.root / p.output, p.specs)
    return None


def _workflows_dir(ctx: Context) -> Iterator[Diagnostic]:
    p = ctx.project
    wf = _parts(p.workflows_dir)
    if not wf or ".." in wf or PurePosixPath(p.workflows_dir).is_absolute():
        return
    for name in (".git", ".specops"):
        if wf[0] == name:
            yield ctx.at(p, ("spec", "workflows_dir"), "bad-path",
                         f"workflows_dir '{p.workflows_dir}' is inside '{name}', which specops must never write into",
                         "GitHub reads workflows from .github/workflows")
            return
    if p.repository_path:
        return  # workflows_dir is in the git root, the spec folders in this repository's folder
    for folder in p.specs:
        spec = _parts(folder)
        hidden = any(part.startswith(".") for part in wf[len(spec):])  # spec folders' dot-folders are not read
        if wf[:len(spec)] == spec and not hidden:  # its workflows (YAML files) would be read as specs
            yield ctx.at(p, ("spec", "workflows_dir"), "bad-path",
                         f"workflows_dir '{p.workflows_dir}' is inside the spec folder '{folder}': the workflows "
                         "compile writes there would be read as specs",
                         "GitHub reads workflows from .github/workflows")
            return


def _tracking_uri(ctx: Context, env: Environment) -> Iterator[Diagnostic]:
    uri = env.tracking_uri
    path = local_registry_path(uri)
    if path is None:
        return
    problem = None
    if isinstance(path, Problem):
        problem = path.why
    elif ctx.root is not None:
        problem = repo_path_problem(ctx.root, path, must_exist=False)
    else:
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts:
            problem = "the path must stay inside the repository"
    if problem:
        yield ctx.at(env, ("spec", "mlflow", "tracking_uri"), "bad-path",
                     f"tracking_uri '{uri}': {problem}; a local MLflow registry lives inside the repository "
                     "(apply creates it there, and the apply workflow keeps it with the state)",
                     "write sqlite:///<path relative to the repository root> (default sqlite:///.specops/mlflow.db), "
                     "or use an http(s) MLflow server for a registry that lives elsewhere")


class Problem:
    def __init__(self, why: str):
        self.why = why


def local_registry_path(uri: str) -> str | Problem | None:
    """The repository-relative path a local tracking URI names (None for a server's URI, Problem when it
    can only name something outside the repository)."""
    scheme = uri.split(":", 1)[0].lower()
    if scheme == "sqlite":
        rest = uri[len("sqlite:"):]
        if not rest.startswith("///"):
            return Problem("a SQLite URI is sqlite:/// followed by a path")
        path = rest[3:].split("?", 1)[0]
        if path.startswith("/"):
            return Problem("it is an absolute path (sqlite:////...)")
        if not path or path == ":memory:":
            return Problem("it names no file")
        return path
    if scheme == "file":
        rest = uri[len("file:"):]
        if rest.startswith("//"):
            return Problem("it is an absolute file URI (file:///...)")
        return rest or Problem("it names no folder")
    return None
