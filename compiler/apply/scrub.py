"""Keeping data values of PII columns and restricted datasets out of what apply prints and sends.

Warehouses quote the data they fail on: DuckDB's CSV reader the whole line ("Original Line: ..."), PostgreSQL
the failing row ("Failing row contains (...)") or key, every warehouse the value it could not convert. apply
prints dbt's output and messages as they are, and sends its failures in OpenLineage events, so in a project
holding PII or restricted data those values are replaced by "…" (the warehouse's own log keeps them). The same
holds for the user's training code: a dataset's values quoted in its exception are not shown (the traceback
log beside the repository keeps them)."""

from __future__ import annotations

import re
from collections.abc import Callable

from compiler.plan.redact import Secrets
from compiler.spec.ir import Model
from compiler.spec.project import SpecProject

HIDDEN = "…"

_QUOTED = r"""(['"])(?:(?!\2).)*\2"""  # a value in quotes (group 2: the quote)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(Original Line:)[^\n]*"), rf"\1 {HIDDEN}"),  # DuckDB's CSV reader: the whole line
    (re.compile(r"(Failing row contains )\([^\n]*\)"), rf"\1({HIDDEN})"),  # PostgreSQL: the whole row
    (re.compile(r"(Key \([^)\n]*\)=)\([^\n]*?\)(?= already exists| is not present| conflicts|\s*$)", re.M),
     rf"\1({HIDDEN})"),  # PostgreSQL: a key's values
    # DuckDB's strptime: the value quoted, then the value again on a line of its own
    (re.compile(r"(Could not parse string )\"[^\"\n]*\"( according to format specifier \"[^\"\n]*\")\n[^\n]*"),
     "\\1\"" + HIDDEN + "\"\\2\n" + HIDDEN),
    # a value the warehouse could not convert, cast, parse or accept, in quotes
    (re.compile(r"((?:string|literal|value|[Kk]ey|input syntax for type [\w ]+?:|out of range:|for enum [\w.\"]+:|"
                r"format:|Input:|[Tt]imestamp|[Dd]ate|Invalid \w+:)\s*)" + _QUOTED), rf"\1\2{HIDDEN}\2"),
    (re.compile(r"(Bad \w+ value: )[^\s;,]+"), rf"\1{HIDDEN}"),  # BigQuery
)


def scrub_values(text: str) -> str:
    """`text` with the data values warehouses quote in their errors replaced by "…"."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def hide_quoted(text: str) -> str:
    """`text` with every quoted string and bracketed list replaced by "…" (what user code's exceptions quote of
    the data it was given: `could not convert string to float: 'x'`, `unknown categories ['x']`)."""
    text = re.sub(r"""(['"])(?:(?!\1).)*\1""", lambda m: f"{m.group(1)}{HIDDEN}{m.group(1)}", text)
    return re.sub(r"\[[^\[\]\n]*\]", f"[{HIDDEN}]", text)


def holds_secrets(project: SpecProject) -> bool:
    """Whether any dataset is restricted or has PII columns (declared, or derived through SQL lineage)."""
    secrets = Secrets(project)
    return any(secrets.restricted(name) or secrets.columns(name) for name in project.datasets)


def dataset_secret(project: SpecProject, name: str) -> bool:
    """Whether the values of dataset `name` may not be shown: restricted (or unknown), or with PII columns."""
    secrets = Secrets(project)
    return secrets.restricted(name) or bool(secrets.columns(name))


def secret_features(project: SpecProject, model: Model) -> frozenset[str]:
    """The model's features whose values may not be kept (in its drift profile): PII columns of its training
    dataset (declared or derived), or every feature of a restricted one."""
    tr = model.training
    if tr is None:
        return frozenset()
    secrets = Secrets(project)
    if secrets.restricted(tr.dataset):
        return frozenset(tr.features)
    return frozenset(tr.features) & secrets.columns(tr.dataset)


def scrubber(project: SpecProject) -> Callable[[str], str]:
    """scrub_values where the project holds secrets, else the text as it is."""
    return scrub_values if holds_secrets(project) else _same


def _same(text: str) -> str:
    return text
