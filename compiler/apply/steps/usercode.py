"""Failures of the user's own code (a model's training module): located in the repository, as a bad spec is.

A train() that raises, or a training module that cannot be imported, becomes a StepFailed that names the
innermost place in the repository's own files where it happened (`training/train.py:3 in train`, with the
source line), not a frame of pandas or scikit-learn. The full traceback goes to a log file under .specops/,
which the message names; the terminal gets one line.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from compiler.apply.context import StepFailed
from compiler.output.localdir import local_dir
from compiler.paths import shown

LOG_DIR = "logs"  # under .specops/: .specops/logs/<env>/train-<model>.log, the last failure's traceback
_THIRD_PARTY = {"site-packages", "dist-packages"}  # a virtualenv inside the repository is not the user's code


def user_frame(root: Path, exc: BaseException) -> tuple[str, int, str, str] | None:
    """(path relative to `root`, line, function, source line) of the innermost frame of `exc`'s traceback in a
    file of the repository at `root`; for a SyntaxError, where the parser stopped. None when there is none."""
    root = root.resolve()
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        rel = _inside(root, frame.filename)
        if rel is not None and frame.lineno is not None:
            found = (rel, frame.lineno, frame.name, (frame.line or "").strip())
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        rel = _inside(root, exc.filename)
        if rel is not None:
            found = (rel, exc.lineno, "<module>", (exc.text or "").strip())
    return found


def _inside(root: Path, filename: str) -> str | None:
    if not filename or filename.startswith("<"):
        return None
    try:
        rel = Path(filename).resolve().relative_to(root)
    except (ValueError, OSError):
        return None
    if _THIRD_PARTY.intersection(rel.parts):
        return None
    return rel.as_posix()


def described(exc: BaseException) -> str:
    """`KeyError: 'x'`; a SyntaxError without its "(file, line n)", which the location says."""
    text = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
    return f"{type(exc).__name__}: {text}"


def user_code_failed(root: Path, env: str, model: str, headline: str, exc: BaseException) -> StepFailed:
    """The StepFailed for `exc`, raised by the user's code for `model`: `headline` (what failed, e.g.
    "train() raised KeyError: 'x'"), where in the repository, and the log file that holds the full traceback."""
    text = headline
    where = user_frame(root, exc)
    if where is not None:
        path, line, function, source = where
        text += f" at {path}:{line} in {function}" + (f": {source}" if source else "")
    log = _write_traceback(root, env, model, exc)
    if log is not None:
        text += f" (full traceback in {shown(log)})"
    return StepFailed(text)


def _write_traceback(root: Path, env: str, model: str, exc: BaseException) -> Path | None:
    """The traceback, in .specops/logs/<env>/train-<model>.log (replacing the last one); None if it cannot be
    written (a read-only checkout: the message then says only where)."""
    try:
        path = local_dir(root) / LOG_DIR / env / f"train-{model}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    except OSError:
        return None
    return path
