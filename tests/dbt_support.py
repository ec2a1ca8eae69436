"""Helpers for the tests that compile a spec repository and run the real dbt on it.

Used by test_dbt_build.py, test_dbt_defects.py and test_dbt_hostile.py. dbt runs as a subprocess,
exactly as a user or `specops apply` would run it, with its target/ and logs/ kept out of the
compiled output so that the output stays byte-identical to what compile wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def dbt_executable() -> str | None:
    """dbt beside the running interpreter (the project venv), else the repo's .venv, else PATH."""
    for candidate in (Path(sys.executable).with_name("dbt"), REPO_ROOT / ".venv" / "bin" / "dbt"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("dbt")


DBT = dbt_executable()
requires_dbt = pytest.mark.skipif(DBT is None, reason="dbt is not installed (pip install -e '.[run]')")


def compile_repo(root: Path) -> Path:
    """`specops compile` through the Python API (the pure compile, then the atomic write); returns the output."""
    from compiler.emit.compile import compile_project
    from compiler.front.check import require_project
    from compiler.output.write import write_output, write_workflows

    compiled = compile_project(require_project(root))
    out = compiled.output_dir()
    write_output(out, compiled.artifacts)
    write_workflows(compiled.workflows_dir, compiled.artifacts)
    return out


ARTIFACTS = ("run_results.json", "manifest.json", "sources.json")  # sources.json: `dbt source freshness`


@dataclass
class DbtRun:
    """One dbt invocation: its exit code, its console output and its run_results.json."""

    args: list[str]
    returncode: int
    output: str = field(repr=False)
    artifacts: dict[str, Any] = field(repr=False)  # ARTIFACTS as this run left them

    def run_results(self) -> dict[str, Any]:
        assert "run_results.json" in self.artifacts, self.explain()
        return self.artifacts["run_results.json"]

    def manifest(self) -> dict[str, Any]:
        assert "manifest.json" in self.artifacts, self.explain()
        return self.artifacts["manifest.json"]

    def statuses(self) -> dict[str, str]:
        """unique_id -> status of every node dbt ran (success, pass, warn, fail, error, skipped)."""
        return {r["unique_id"]: r["status"] for r in self.run_results()["results"]}

    def by_name(self, resource_type: str) -> dict[str, str]:
        """name -> status for one resource type ("test", "model", "seed").

        Unique ids are `<type>.<package>.<name>` plus, for generic tests, a hash suffix.
        """
        found: dict[str, str] = {}
        for uid, status in self.statuses().items():
            parts = uid.split(".")
            if parts[0] == resource_type:
                assert parts[2] not in found, f"two {resource_type}s named {parts[2]}"
                found[parts[2]] = status
        return found

    def warnings(self) -> list[str]:
        """dbt's own warnings and deprecation notices (not test results of severity warn)."""
        return [line for line in self.output.splitlines()
                if "[WARNING]" in line or "deprecat" in line.lower()]

    def explain(self) -> str:
        """The console output, for assertion messages."""
        return f"$ {' '.join(self.args)}\n(exit {self.returncode})\n{self.output[-6000:]}"


def dbt(repo: Path, out: Path, command: str, *args: str, target: str = "dev", work: Path | None = None,
        env: dict[str, str] | None = None) -> DbtRun:
    """Run `dbt <command>` (e.g. "build", "source freshness") on the compiled project `out/dbt` of `repo`.

    target/ and logs/ go to `work` (default: beside `out`), so the compiled output is never written to.
    """
    assert DBT is not None
    project = out / "dbt"
    work = work or out.parent / f".dbt-{target}"
    # the dev profile's DuckDB file lives under .specops/ of the repository; like `specops apply`, make the folder
    (repo / ".specops").mkdir(exist_ok=True)
    argv = [DBT, *command.split(), "--project-dir", str(project), "--profiles-dir", str(project), "--target", target,
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"), *args]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    full_env.update({"SPECOPS_ROOT": str(repo), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1",
                     "DBT_USE_COLORS": "false"})
    full_env.update(env or {})
    for stale in ARTIFACTS:
        (work / "target" / stale).unlink(missing_ok=True)
    proc = subprocess.run(argv, cwd=project, env=full_env, capture_output=True, text=True, timeout=600)
    # read now: the next run in the same work folder overwrites them
    artifacts = {name: json.loads((work / "target" / name).read_text(encoding="utf-8"))
                 for name in ARTIFACTS if (work / "target" / name).is_file()}
    return DbtRun(argv, proc.returncode, proc.stdout + proc.stderr, artifacts)


# --------------------------------------------------------------------------- a hostile repository

CANARY = "SPECOPS_CANARY"  # set while dbt runs: if any text were evaluated as Jinja, it would show up
HOSTILE = (
    "it's",
    'say "hi"',
    "{{ env_var('HOME') }}",
    "{{ env_var('" + CANARY + "') }}",
    "{% raw %}x{% endraw %}",
    "{%- if true -%}yes{%- endif -%}",
    "{# a comment #}",
    "ref('x')",
    "  source('a', 'b')  ",
    "env_var('HOME')",
    "doc('x')",
    "var('x', 'y')",
    "-- comment",
    "/* block */ */",
    "'; drop table x; --",
    "line1\nline2\n",
    "}} {{ unbalanced",
    "back\\slash \\' \\n",
    "ünïcödé ✓ \t tab",
)
ACCEPTED = ("it's", 'say "hi"', "{{ x }}", "-- c", "back\\slash", "'; drop table x; --")


def write_hostile_repo(root: Path, external_csv: Path) -> None:
    """A tiny repository with hostile text in every free-text field that reaches dbt.

    Datasets: `items` (a ;-delimited seed whose accepted values contain quotes and Jinja), `events`
    (a table source with freshness; the caller creates raw.events), `ext` (an external CSV whose
    file name holds a quote and braces); a view `item_summary`; checks with hostile descriptions.
    """
    import csv
    import io

    import yaml

    owner = "@a/x'y\"z {{ env_var('HOME') }} -- /* */"
    (root / "specs").mkdir(parents=True)
    (root / "data").mkdir()
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\n")
    writer.writerow(["id", "status", "note"])
    for i, value in enumerate(ACCEPTED, start=1):
        writer.writerow([i, value, HOSTILE[i % len(HOSTILE)].replace("\n", " ")])
    (root / "data" / "items.csv").write_text(buf.getvalue(), encoding="utf-8")
    external_csv.write_text("a,b\n1,x\n2,y\n", encoding="utf-8")
    (root / "specops.yaml").write_text(yaml.safe_dump({
        "apiVersion": "specops/v1", "kind": "Project",
        "metadata": {"name": "hostile", "owner": owner, "description": "\n".join(HOSTILE)},
        "spec": {"default_environment": "dev"},
    }), encoding="utf-8")
    docs = [
        {"apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "dev"},
         "spec": {"warehouse": {"type": "duckdb"}}},
        {"apiVersion": "specops/v1", "kind": "Dataset",
         "metadata": {"name": "items", "owner": owner, "description": "\n".join(HOSTILE)},
         "spec": {"source": {"type": "file", "path": "data/items.csv", "delimiter": ";"},
                  "columns": [
                      {"name": "id", "type": "integer", "description": HOSTILE[7], "required": True,
                       "unique": True},
                      {"name": "status", "type": "string", "description": HOSTILE[2], "required": True,
                       "accepted_values": list(ACCEPTED)},
                      {"name": "note", "type": "string", "description": HOSTILE[15]},
                  ],
                  "primary_key": ["id"]}},
        {"apiVersion": "specops/v1", "kind": "Dataset",
         "metadata": {"name": "events", "owner": owner, "description": HOSTILE[8]},
         "spec": {"source": {"type": "table", "schema": "raw", "table": "events"},
                  "columns": [{"name": "event_id", "type": "integer", "description": HOSTILE[3], "required": True},
                              {"name": "loaded_at", "type": "timestamp", "description": HOSTILE[4]}],
                  "freshness": {"column": "loaded_at", "warn_after": "1d", "error_after": "36500d"}}},
        {"apiVersion": "specops/v1", "kind": "Dataset",
         "metadata": {"name": "ext", "owner": owner, "description": HOSTILE[4]},
         "spec": {"source": {"type": "external", "uri": f"file://{external_csv.resolve()}", "format": "csv"},
                  "columns": [{"name": "a", "type": "integer", "required": True},
                              {"name": "b", "type": "string", "description": HOSTILE[14]}]}},
        {"apiVersion": "specops/v1", "kind": "Dataset",
         "metadata": {"name": "item_summary", "owner": owner, "description": " | ".join(HOSTILE)},
         "spec": {"columns": [{"name": "id", "type": "integer", "required": True, "description": HOSTILE[0]},
                              {"name": "status", "type": "string", "description": HOSTILE[1],
                               "accepted_values": list(ACCEPTED)}]}},
        {"apiVersion": "specops/v1", "kind": "Transform",
         "metadata": {"name": "build_item_summary", "owner": owner, "description": HOSTILE[5]},
         "spec": {"inputs": ["items"], "output": "item_summary", "materialization": "view",
                  "sql": "select cast(id as integer) as id, cast(status as varchar) as status\n"
                         "from {{ input('items') }}\n"}},
        {"apiVersion": "specops/v1", "kind": "QualityRule",
         "metadata": {"name": "items_checks", "owner": owner, "description": HOSTILE[6]},
         "spec": {"dataset": "items", "checks": [
             {"type": "not_null", "column": "id", "name": f"hostile_{i}", "description": text}
             for i, text in enumerate(HOSTILE)
         ] + [
             {"type": "accepted_values", "column": "status", "values": list(ACCEPTED), "name": "status_known",
              "description": HOSTILE[14]},
             {"type": "regex", "column": "note", "pattern": "^([^']|'|\")*$", "name": "note_quotes",
              "description": HOSTILE[2]},
             {"type": "expression", "expression": "status <> 'it''s' or id = 1", "name": "quoted_expression"},
             {"type": "sql", "name": "sql_with_quotes", "description": HOSTILE[3],
              "sql": "select * from {{ dataset }} where status = 'say \"hi\"' and id <> 2"},
         ]}},
    ]
    (root / "specs" / "all.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True),
                                             encoding="utf-8")
