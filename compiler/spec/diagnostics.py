"""Errors as values: every problem found in a spec repository is a Diagnostic with a location."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Related:
    """Another place a finding is about, e.g. the other transform producing the same dataset."""

    message: str  # what is there, e.g. "also produced here"
    file: str  # repository-relative
    line: int = 0
    col: int = 0


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: where it is (repository-relative file, 1-based line/col), what and why, and the other
    places it involves (`related`: the first definition of a duplicate name, the other producer, ...)."""

    code: str
    message: str
    file: str | None = None
    line: int = 0
    col: int = 0
    address: str | None = None
    hint: str | None = None
    severity: Severity = "error"
    related: tuple[Related, ...] = ()

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file or "", self.line, self.col, self.code, self.message)


@dataclass
class SpecError(Exception):
    """Raised by a stage that found errors; carries every diagnostic collected so far."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(d.message for d in self.diagnostics[:3])


class UserError(Exception):
    """A refusal caused by the user's files or setup (not a bug): the CLI prints it, exit code 1."""


def errors_only(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diags if d.severity == "error"]


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The closest candidate to `word`, or None when nothing is close enough."""
    pool = sorted(set(candidates))
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=cutoff)
    if matches:
        return matches[0]
    lowered = {c.lower(): c for c in pool}
    return lowered.get(word.lower())


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean' hint, or None."""
    match = closest(word, candidates)
    return f"did you mean '{match}'?" if match else None
