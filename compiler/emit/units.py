"""Backends in pieces: a Unit is the part of a backend's work that one resource (or one project-wide
file) needs, computed from the project by `run`, and named by `key` (stable from run to run).

Running every unit of a backend gives exactly the backend's artifacts; a plan reuses the results of
units whose reads did not change (compiler.speed.incremental). A unit reads the project only through
the SpecProject it is given, and nothing else varies between runs but specops' own code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compiler.emit import Artifact
    from compiler.spec.project import SpecProject


@dataclass(frozen=True)
class Unit:
    key: tuple[str, ...]
    run: Callable[[SpecProject], list[Artifact]]
