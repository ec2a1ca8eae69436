"""Reading a plan saved by `specops plan --out` back for `specops apply PLANFILE`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from compiler.apply.shapes import diagnostics, plan_problems
from compiler.paths import shown
from compiler.spec.diagnostics import Diagnostic, SpecError, UserError

_HINT = "a plan file is written by `specops plan --out FILE`; make it again rather than editing it"


class PlanFileError(UserError):
    """A file that cannot be read as a saved plan."""


def load_saved_plan(path: Path) -> dict[str, Any]:
    """The saved plan's data, its shape checked; every problem is reported with its line and column."""
    name = shown(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PlanFileError(f"cannot read plan {name}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise PlanFileError(f"{name} is not a specops plan: it is not UTF-8 text ({exc.reason} at byte "
                            f"{exc.start})") from None
    except json.JSONDecodeError as exc:
        raise SpecError([Diagnostic(code="bad-plan", message=f"the plan is not valid JSON: {exc.msg}", file=name,
                                    line=exc.lineno, col=exc.colno, hint=_HINT)]) from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if not isinstance(version, str) or version.split(".")[0] != "1":
        raise PlanFileError(f"{name} is not a specops plan (format_version 1.x)")
    problems = plan_problems(data) or _schema_problems(data)
    if problems:
        raise SpecError(diagnostics(name, text, problems, "bad-plan", _HINT))
    return data


def _schema_problems(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Everything else the plan's JSON Schema says (what apply shows and acts on must be what was planned)."""
    import jsonschema

    from compiler.shipped import data_dir

    schema = json.loads((data_dir("schemas") / "plan.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])[:20]
    return [(tuple(e.absolute_path), e.message[:200])
            for e in errors]
