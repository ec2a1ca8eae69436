"""`specops plan` without dbt or MLflow: classification, impact, baselines, renderers, JSON schema.

Most tests edit a copy of examples/churn and plan it against a baseline made from the unedited
example (its snapshots and compiled files, as a state baseline would hold them), through
compiler.plan.make.make_plan; the git baseline and the exit codes go through the CLI.

Refresh the markdown snapshot with:

    SPECOPS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_plan_unit.py -k markdown_snapshot
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

from compiler.cli.main import main
from compiler.emit.compile import Compiled, compile_project
from compiler.emit.manifest import sha256
from compiler.front.check import require_project
from compiler.plan.artifacts import ArtifactChange
from compiler.plan.baseline import BaselineData
from compiler.plan.diff import AttrChange
from compiler.plan.impact import Impact
from compiler.plan.make import make_plan
from compiler.plan.model import Baseline, Plan, ResourceChange
from compiler.plan.render import MARKER, MAX_MARKDOWN, UNWRAPPED_LINES, render_json, render_markdown, render_text
from compiler.plan.scope import artifact_in_scope, head_snapshots
from compiler.spec.project import SpecProject

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO_ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "plan_churn.md"
UPDATE = os.environ.get("SPECOPS_UPDATE_GOLDEN") == "1"
LINEAGE = "00000000-0000-4000-8000-000000000000"

CA = "specs/datasets/customer_activity.yaml"
CF = "specs/datasets/customer_features.yaml"
MODEL = "specs/models/churn.yaml"
RULES_CF = "specs/quality/customer_features.yaml"

SQL_CA = "sql/customer_activity.sql"
SQL_CF = "specs/transforms/customer_features.yaml"
# a column retyped as users do it now that validate reads SQL: in the dataset and in the SQL's cast
RETYPE = ((CA, "type: double", "type: decimal(10,2)"),
          (SQL_CA, "cast(t.avg_satisfaction as double precision)", "cast(t.avg_satisfaction as decimal(10,2))"))
DROP_SNAPSHOT_DATE_SQL = (SQL_CF, "        cast(s.snapshot_date as date) as snapshot_date,\n", "")

CHAIN_DEV = ("dataset.customer_activity", "transform.build_customer_features", "dataset.customer_features",
             "model.churn", "deployment.churn_api_dev")


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Built:
    project: SpecProject
    compiled: Compiled


def build(root: Path) -> Built:
    project = require_project(root)
    return Built(project, compile_project(project))


def state_baseline(base: Built, env: str | None, pending: dict[str, dict] | None = None) -> BaselineData:
    """What the state of `env` holds after an apply of `base` (no state file needed)."""
    contents = {a.key: a.content for a in base.compiled.artifacts if artifact_in_scope(a.key, env)}
    info = Baseline("state", None, LINEAGE, 3, "0" * 64, None)
    return BaselineData(info, head_snapshots(base.project, env), dict(pending or {}), contents,
                        {k: sha256(v) for k, v in contents.items()})


def plan_of(head: Built, base: Built, env: str | None = "dev", **kw) -> Plan:
    return make_plan(head.project, head.compiled, state_baseline(base, env, **kw), env)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The unedited example, loaded and compiled once."""
    return build(copy_repository(EXAMPLE_ROOT, tmp_path_factory.mktemp("base") / "churn"))


@pytest.fixture
def edited(tmp_path: Path) -> Callable[..., Built]:
    """edited((file, old, new), ...) -> the example with those replacements, loaded and compiled."""
    def make(*edits: tuple[str, str, str]) -> Built:
        root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
        ed = RepoEditor(root)
        for rel, old, new in edits:
            ed.replace(rel, old, new)
        return build(root)

    return make


def impacts(plan: Plan) -> dict[str, str]:
    return {i.address: i.work for i in plan.impacts}


def validate_plan_json(data: dict) -> None:
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors)


# --------------------------------------------------------------------------- classification

DROP_SNAPSHOT_DATE = """    - name: snapshot_date
      type: date
      description: Day the features describe, the date of the latest change in the data.
      required: true
"""

# (id, edit, address, action, category, {changed attribute path: its category})
CLASSIFICATION = [
    ("column-dropped", [(CF, DROP_SNAPSHOT_DATE, ""), DROP_SNAPSHOT_DATE_SQL], "dataset.customer_features", "update",
     "breaking", {"spec.columns[snapshot_date]": "breaking"}),
    ("column-retyped", list(RETYPE), "dataset.customer_activity", "update",
     "breaking", {"spec.columns[avg_satisfaction].type": "breaking"}),
    ("column-made-required", (CA, "empty if none was cancelled.\n", "empty if none was cancelled.\n      required: true\n"),
     "dataset.customer_activity", "update", "breaking", {"spec.columns[last_ended_on].required": "breaking"}),
    ("column-added", [(CA, "  primary_key: [customer_id]", "    - {name: region, type: string}\n  primary_key: [customer_id]"),
                      (SQL_CA, "    -- The latest", "    cast('emea' as varchar) as region,\n    -- The latest")],
     "dataset.customer_activity", "update", "non-breaking", {"spec.columns[region]": "non-breaking"}),
    ("primary-key-changed", (CF, "primary_key: [customer_id]", "primary_key: [customer_id, snapshot_date]"),
     "dataset.customer_features", "update", "breaking", {"spec.primary_key": "breaking"}),
    ("accepted-values-narrowed", (CF, "accepted_values: [consumer, smb, enterprise]", "accepted_values: [consumer, smb]"),
     "dataset.customer_features", "update", "breaking", {"spec.columns[segment].accepted_values": "breaking"}),
    ("accepted-values-widened",
     (CF, "accepted_values: [consumer, smb, enterprise]", "accepted_values: [consumer, smb, enterprise, public]"),
     "dataset.customer_features", "update", "non-breaking", {"spec.columns[segment].accepted_values": "non-breaking"}),
    ("description", (CA, "  description: >-\n    Billing", "  description: >-\n    All billing"),
     "dataset.customer_activity", "update", "metadata", {"metadata.description": "metadata"}),
    ("column-description", (CA, "description: The customer.", "description: The customer account."),
     "dataset.customer_activity", "update", "metadata", {"spec.columns[customer_id].description": "metadata"}),
    ("owner", (CA, 'owner: "@acme/data-eng"', 'owner: "@acme/analytics"'), "dataset.customer_activity", "update",
     "metadata", {"metadata.owner": "metadata"}),
    ("tags", (CA, "tags: [intermediate, daily]", "tags: [intermediate]"), "dataset.customer_activity", "update",
     "metadata", {"metadata.tags": "metadata"}),
    ("check-added", (RULES_CF, "    - {type: not_null, column: churned}\n",
                     "    - {type: not_null, column: churned}\n    - {type: not_null, column: segment}\n"),
     "quality_rule.customer_features_checks", "update", "non-breaking", None),
    ("model-features", (MODEL, "support_tickets, avg_satisfaction]", "support_tickets]"), "model.churn", "update",
     "breaking", {"spec.training.features": "breaking"}),
    ("model-target", (MODEL, "target: churned", "target: segment"), "model.churn", "update", "breaking",
     {"spec.training.target": "breaking"}),
    ("model-params", (MODEL, "C: 1.0", "C: 0.5"), "model.churn", "update", "non-breaking",
     {"spec.training.params.C": "non-breaking"}),
    ("transform-materialization",
     ("specs/transforms/customer_features.yaml", "materialization: table", "materialization: view"),
     "transform.build_customer_features", "replace", "non-breaking", {"spec.materialization": "non-breaking"}),
    ("deployment-runtime", ("specs/deployments/churn_api_dev.yaml", "runtime: mlflow", "runtime: kserve"),
     "deployment.churn_api_dev", "replace", "non-breaking", {"spec.runtime": "non-breaking"}),
]


@pytest.mark.parametrize(("edit", "address", "action", "category", "attrs"),
                         [pytest.param(*case[1:], id=case[0]) for case in CLASSIFICATION])
def test_classification(base, edited, edit, address, action, category, attrs):
    plan = plan_of(edited(*edit) if isinstance(edit, list) else edited(edit), base)
    change = next(c for c in plan.resource_changes if c.address == address)
    assert (change.address, change.action, change.category) == (address, action, category)
    # the only other change is the transform SQL edited along with a produced dataset
    assert {c.kind for c in plan.resource_changes if c.address != address} <= {"Transform"}
    if attrs is not None:
        assert {a.path: a.category for a in change.changes} == attrs
    else:  # a check added: one new named check, nothing else
        assert len(change.changes) == 1
        added = change.changes[0]
        assert added.path.startswith("spec.checks[") and added.before is None and added.after is not None
        assert added.category == "non-breaking"
    replace_paths = [a.path for a in change.changes if a.forces_replacement]
    assert bool(replace_paths) == (action == "replace")
    assert next(c for c in plan.to_json()["resource_changes"] if c["address"] == address)["change"]["actions"] == (
        ["delete", "create"] if action == "replace" else [action])


def test_resource_added_and_removed(base, tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.delete("specs/quality/daily_kpis.yaml")
    ed.append_docs(CA, {"apiVersion": "specops/v1", "kind": "Dataset",
                        "metadata": {"name": "regions", "owner": "@acme/data-eng"},
                        "spec": {"source": {"type": "table", "schema": "raw", "table": "regions"},
                                 "columns": [{"name": "region", "type": "string"}]}})
    plan = plan_of(build(root), base)
    got = {c.address: (c.action, c.category) for c in plan.resource_changes}
    assert got == {"dataset.regions": ("create", "non-breaking"),
                   "quality_rule.daily_kpis_checks": ("delete", "breaking")}
    deleted = next(c for c in plan.resource_changes if c.action == "delete")
    assert deleted.after is None and deleted.before is not None and deleted.file is None
    assert plan.summary()["add"] == 1 and plan.summary()["destroy"] == 1
    validate_plan_json(plan.to_json())


def test_a_destroy_says_what_apply_leaves_in_place(base, tmp_path):
    """A removed dataset and transform: their table stays in the warehouse (apply never drops data)."""
    from compiler.plan.render import render_markdown, render_text

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    for rel in ("specs/quality/daily_kpis.yaml", "specs/transforms/daily_kpis.yaml", "specs/datasets/daily_kpis.yaml"):
        ed.delete(rel)
    plan = plan_of(build(root), base)
    assert {c.address for c in plan.resource_changes if c.action == "delete"} >= {
        "dataset.daily_kpis", "transform.build_daily_kpis"}
    text = render_text(plan)
    lines = text.splitlines()
    after = lines[next(i for i, line in enumerate(lines) if line.strip().startswith("- dataset.daily_kpis")) + 1]
    assert "leaves its table in the warehouse" in after, text
    assert "leaves the table or view it built in the warehouse" in render_markdown(plan)

def test_an_element_added_or_removed_reads_as_the_spec_would_write_it(base, edited):
    """A check added or removed shows what it says (its set fields), not `null -> {"column": ..., null ...}`."""
    head = edited(("specs/quality/daily_kpis.yaml", "    - {type: row_count, min: 1}",
                   "    - {type: row_count, min: 1}\n    - {type: not_null, column: kpi_date}"),
                  ("specs/quality/customer_features.yaml", "    - {type: not_null, column: churned}\n", ""))
    text = render_text(plan_of(head, base))
    added = next(line.strip() for line in text.splitlines() if "+ spec.checks[not_null_daily_kpis_kpi_date" in line)
    removed = next(line.strip() for line in text.splitlines() if "- spec.checks[not_null_customer_features" in line)
    assert added.split("]: ", 1)[1].startswith('{"column": "kpi_date", "severity": "warn", "type": "not_null"}')
    assert removed.split("]: ", 1)[1].startswith('{"column": "churned", "severity": "error", "type": "not_null"}')
    assert "null ->" not in text and "-> null" not in text


# --------------------------------------------------------------------------- formatting is no change

BLOCK_PARAMS = "params:\n      C: 1.0\n      max_iter: 500"
REFORMATS = {
    "reorder-keys": [
        (CA, '  name: customer_activity\n  owner: "@acme/data-eng"\n', '  owner: "@acme/data-eng"\n  name: customer_activity\n'),
        (CA, "      type: integer\n      description: The customer.\n",
         "      description: The customer.\n      type: integer\n"),
        (MODEL, "  task: classification\n  framework: sklearn\n", "  framework: sklearn\n  task: classification\n"),
    ],
    "flow-and-block-style": [
        (CA, "tags: [intermediate, daily]", "tags:\n    - intermediate\n    - daily"),
        (MODEL, "params: {C: 1.0, max_iter: 500}", BLOCK_PARAMS),
        ("specs/deployments/churn_api_dev.yaml", "    requests: {cpu: 100m, memory: 256Mi}\n",
         "    requests:\n      cpu: 100m\n      memory: 256Mi\n"),
    ],
    "flow-to-block-in-a-quality-rule": [
        (RULES_CF, "    - {type: not_null, column: churned}\n", "    - type: not_null\n      column: churned\n"),
    ],
    "comments": [
        (CA, "spec:\n", "# why this dataset exists\nspec:  # the contract\n"),
        (MODEL, "  task: classification", "  # a binary classifier\n  task: classification  # not regression"),
    ],
    "quoting-and-scalars": [
        (MODEL, "random_seed: 42", "random_seed: 0x2A"),
        (MODEL, "task: classification", "task: 'classification'"),
        (CF, "primary_key: [customer_id]", 'primary_key: ["customer_id"]'),
    ],
    "explicit-default-value": [
        ("specs/quality/sources.yaml", "  dataset: subscriptions\n", "  dataset: subscriptions\n  severity: error\n"),
        ("specs/deployments/churn_api.yaml", "  runtime: kserve\n", "  runtime: kserve\n  alias: champion\n"),
    ],
}

@pytest.mark.parametrize("name", list(REFORMATS))
def test_reformatting_is_no_resource_change(base, edited, name):
    head = edited(*REFORMATS[name])
    plan = plan_of(head, base)
    assert plan.resource_changes == [] and plan.impacts == []
    assert head_snapshots(head.project, "dev") == head_snapshots(base.project, "dev")


@pytest.mark.parametrize("name", list(REFORMATS))
def test_reformatting_is_no_change_at_all(base, edited, name):
    plan = plan_of(edited(*REFORMATS[name]), base)
    assert [a.key for a in plan.artifact_changes] == []
    assert not plan.has_changes
    assert plan.summary_line().startswith("No changes")


def test_moving_a_resource_to_another_file_is_no_resource_change(base, tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.write("specs/extra/moved.yaml", ed.read("specs/datasets/daily_kpis.yaml"))
    ed.delete("specs/datasets/daily_kpis.yaml")
    plan = plan_of(build(root), base)
    assert plan.resource_changes == [] and plan.impacts == []


# --------------------------------------------------------------------------- impact


def test_breaking_column_type_impact_chain_dev(base, edited):
    plan = plan_of(edited(*RETYPE), base, "dev")
    by = {i.address: i for i in plan.impacts}
    assert by["model.churn"].work == "retrain"
    assert by["model.churn"].path == CHAIN_DEV[:4]
    assert by["deployment.churn_api_dev"].work == "rollout"
    assert by["deployment.churn_api_dev"].path == CHAIN_DEV
    assert by["transform.build_customer_features"].work == "rebuild"
    assert by["transform.build_customer_activity"].work == "rebuild"  # it produces the changed dataset
    assert by["quality_rule.customer_features_checks"].work == "rerun"
    assert all(i.cause == "dataset.customer_activity" and i.category == "breaking" for i in plan.impacts)
    assert "deployment.churn_api" not in by  # prod's deployment is not in dev's plan
    # dependencies first: rebuilds before the retrain, the retrain before the rollout
    order = [i.address for i in plan.impacts]
    assert order.index("transform.build_customer_features") < order.index("model.churn") < order.index(
        "deployment.churn_api_dev")
    text = render_text(plan)
    assert ("dataset.customer_activity.avg_satisfaction ~ breaking -> transform.build_customer_features "
            "(→ avg_satisfaction) -> dataset.customer_features.avg_satisfaction -> model.churn "
            "(feature avg_satisfaction) -> deployment.churn_api_dev rollout") in text


@pytest.mark.parametrize(("env", "deployments"), [
    pytest.param("prod", {"deployment.churn_api"}, id="prod"),
    pytest.param(None, {"deployment.churn_api", "deployment.churn_api_dev"}, id="every-environment"),
])
def test_impact_reaches_the_deployments_of_the_planned_environments(base, edited, env, deployments):
    plan = plan_of(edited(*RETYPE), base, env)
    found = {a for a in impacts(plan) if a.startswith("deployment.")}
    assert found == deployments
    for address in deployments:
        item = next(i for i in plan.impacts if i.address == address)
        assert item.path == (*CHAIN_DEV[:4], address)


def test_metadata_only_change_has_no_impact(base, edited):
    plan = plan_of(edited((CA, 'owner: "@acme/data-eng"', 'owner: "@acme/analytics"'),
                          (MODEL, "tags: [churn, classification]", "tags: [churn]")), base)
    assert {c.category for c in plan.resource_changes} == {"metadata"}
    assert plan.impacts == []
    assert plan.summary()["retrain"] == plan.summary()["rebuild"] == 0


def test_params_change_retrains_and_rolls_out_only(base, edited):
    plan = plan_of(edited((MODEL, "C: 1.0", "C: 0.5")), base)
    assert impacts(plan) == {"model.churn": "retrain", "deployment.churn_api_dev": "rollout"}
    retrain = next(i for i in plan.impacts if i.work == "retrain")
    assert retrain.path == ("model.churn",) and retrain.cause == "model.churn"
    data = plan.to_json()
    assert data["impact"]["retrain"] == ["model.churn"] and data["impact"]["rollout"] == ["deployment.churn_api_dev"]
    assert data["impact"]["items"][0]["direct"] is True and data["impact"]["items"][1]["direct"] is False


def test_dropped_column_nobody_reads_needs_no_downstream_work(base, edited):
    plan = plan_of(edited((CF, DROP_SNAPSHOT_DATE, ""), DROP_SNAPSHOT_DATE_SQL), base)
    rebuild = next(i for i in plan.impacts if i.address == "transform.build_customer_features")
    assert rebuild.work == "rebuild"  # its SQL and its output's contract changed
    # the model is not trained on snapshot_date and no check reads it: nothing else runs
    assert impacts(plan) == {"transform.build_customer_features": "rebuild"}


def test_pending_work_from_the_baseline_is_planned(base):
    pending = {"model.churn": {"address": "model.churn", "work": "retrain", "cause": "model.churn",
                               "category": "non-breaking", "path": ["model.churn"]}}
    plan = plan_of(base, base, pending=pending)
    assert plan.resource_changes == [] and plan.artifact_changes == []
    assert plan.has_changes
    assert impacts(plan) == {"model.churn": "retrain"}
    assert plan.impacts[0].notes == ("pending from an earlier apply",)
    assert "model.churn (pending)" in render_text(plan)


def test_unchanged_project_has_no_changes(base):
    plan = plan_of(base, base)
    assert not plan.has_changes
    assert plan.summary_line() == "No changes. The specs match the baseline."
    validate_plan_json(plan.to_json())


# --------------------------------------------------------------------------- git baseline, CLI


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "user.name=specops-tests", "-c", "user.email=tests@specops.invalid",
                           "-c", "commit.gpgsign=false", *args], cwd=root, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    _git(root, "init", "--quiet", "--initial-branch=main")
    _git(root, "add", "--all")
    _git(root, "commit", "--quiet", "-m", "specs")
    return root


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_git_baseline_without_changes_exits_0(git_repo):
    result = run_cli("plan", str(git_repo), "--against", "HEAD", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output
    sha = _git(git_repo, "rev-parse", "HEAD")
    assert f"baseline: git HEAD ({sha[:12]})" in result.output  # the commit it named, once main has moved on
    data = json.loads(run_cli("plan", str(git_repo), "--against", "HEAD", "--format", "json").output)
    assert data["baseline"]["sha"] == sha and data["format_version"] == "1.7"
    assert "errors" not in data["baseline"]


def test_an_invalid_base_revision_still_gets_a_plan_that_says_where_it_fails(git_repo):
    """A pull request that fixes a broken main must get its plan (a failing plan job would hold back the fix):
    the plan compares with nothing at the base and lists the base's errors at REF:path:line:col, without the
    working tree's line (which the PR fixed) and without messages (which may quote a value)."""
    ed = RepoEditor(git_repo)
    ed.replace("specs/datasets/daily_kpis.yaml", "type: integer", "type: integr")
    _git(git_repo, "commit", "--quiet", "-am", "broken")
    ed.replace("specs/datasets/daily_kpis.yaml", "type: integr", "type: integer")
    line = ed.line_of("specs/datasets/daily_kpis.yaml", "type: integer")
    where = f"HEAD:specs/datasets/daily_kpis.yaml:{line}:"
    result = run_cli("plan", str(git_repo), "--against", "HEAD")
    assert result.exit_code == 0, result.output
    assert "The specs at HEAD do not validate (1 error(s))" in result.output and where in result.output
    assert "+ dataset.daily_kpis" in result.output  # compared with nothing
    assert "type: integer" not in result.output and "integr" not in result.output
    md = run_cli("plan", str(git_repo), "--against", "HEAD", "--format", "markdown").output
    assert "> [!WARNING]\n> The specs at HEAD do not validate" in md and f"> - `{where}" in md
    data = json.loads(run_cli("plan", str(git_repo), "--against", "HEAD", "--format", "json").output)
    validate_plan_json(data)
    (error,) = data["baseline"]["errors"]
    assert error.startswith(where) and error.endswith(" [invalid-value]"), error


def test_git_baseline_with_an_edit(git_repo):
    for rel, old, new in RETYPE:
        RepoEditor(git_repo).replace(rel, old, new)
    result = run_cli("plan", str(git_repo), "--against", "HEAD", "--detailed-exitcode", "--format", "json")
    assert result.exit_code == 2, result.output
    data = json.loads(result.output)
    validate_plan_json(data)
    assert data["baseline"]["kind"] == "git" and data["baseline"]["ref"] == "HEAD"
    assert data["applyable"] is False and data["environment"] is None
    assert data["head"]["git_sha"] == _git(git_repo, "rev-parse", "HEAD")
    assert [(c["address"], c["category"]) for c in data["resource_changes"]] == [
        ("dataset.customer_activity", "breaking"), ("transform.build_customer_activity", "breaking")]
    # without --env: every environment's deployments
    assert set(data["impact"]["rollout"]) == {"deployment.churn_api", "deployment.churn_api_dev"}
    paths = {i["address"]: i["path"] for i in data["impact"]["items"]}
    assert paths["deployment.churn_api_dev"] == list(CHAIN_DEV)
    assert any(a["path"] == "dbt/models/customer_activity.yml" and a["action"] == "update" and a["diff"]
               for a in data["artifact_changes"])

    dev = run_cli("plan", str(git_repo), "--against", "HEAD", "--env", "dev", "--format", "json")
    assert dev.exit_code == 0, dev.output  # no --detailed-exitcode: changes are not an error
    dev_data = json.loads(dev.output)
    assert dev_data["environment"] == "dev" and dev_data["impact"]["rollout"] == ["deployment.churn_api_dev"]
    assert not any(a["path"].startswith("k8s/prod/") for a in dev_data["artifact_changes"])


QA_ENVIRONMENT = """---
apiVersion: specops/v1
kind: Environment
metadata:
  name: qa
spec:
  warehouse:
    type: duckdb
    path: .specops/qa.duckdb
"""


def test_a_plan_of_one_environment_names_the_others_the_change_adds_changes_or_removes(git_repo):
    """A state holds one environment, a git revision all of them: a plan of dev against it lists a new
    environment qa, and credits the shared files qa changes (README, profiles.yml, the workflow) to qa."""
    envs = git_repo / "specs" / "environments.yaml"
    envs.write_text(envs.read_text(encoding="utf-8") + QA_ENVIRONMENT, encoding="utf-8")
    dev = run_cli("plan", str(git_repo), "--against", "HEAD", "--env", "dev", "--format", "json")
    data = json.loads(dev.output)
    validate_plan_json(data)
    assert data["other_environments"] == [{"environment": "qa", "action": "create", "resources": ["environment.qa"]}]
    assert data["resource_changes"] == []
    owners = {a["path"]: a["owner"] for a in data["artifact_changes"]}
    assert owners["README.md"] == owners["dbt/profiles.yml"] == "environment.qa", owners
    text = run_cli("plan", str(git_repo), "--against", "HEAD", "--env", "dev").output
    assert "Other environments\n    + environment.qa  (new: its plan is `specops plan --env qa`)" in text
    assert "(environment.dev)" not in text
    md = run_cli("plan", str(git_repo), "--against", "HEAD", "--env", "dev", "--format", "markdown").output
    assert "#### Other environments\n\n- `+ environment.qa` (new" in md
    qa = json.loads(run_cli("plan", str(git_repo), "--against", "HEAD", "--env", "qa", "--format", "json").output)
    assert qa["other_environments"] == [] and ("environment.qa", "create") in {
        (c["address"], c["action"]) for c in qa["resource_changes"]}

    _git(git_repo, "commit", "--quiet", "-am", "qa")
    RepoEditor(git_repo).replace("specs/environments.yaml", "path: .specops/qa.duckdb", "path: .specops/qa2.duckdb")
    changed = json.loads(run_cli("plan", str(git_repo), "--against", "HEAD", "--env", "prod", "--format",
                                 "json").output)
    assert changed["other_environments"] == [{"environment": "qa", "action": "update", "resources": ["environment.qa"]}]
    envs.write_text(envs.read_text(encoding="utf-8").replace(QA_ENVIRONMENT.replace("qa.duck", "qa2.duck"), ""),
                    encoding="utf-8")
    removed = run_cli("plan", str(git_repo), "--against", "HEAD", "--env", "dev").output
    assert "- environment.qa  (removed: apply leaves its warehouse, registry and state as they are)" in removed
    state = json.loads(run_cli("plan", str(git_repo), "--env", "dev", "--format", "json").output)
    assert state["other_environments"] == []  # a state holds one environment: it cannot tell


def test_git_baseline_at_a_revision_without_specs(git_repo):
    (git_repo / "README.md").write_text("x\n", encoding="utf-8")
    _git(git_repo, "mv", "specops.yaml", "specops.yaml.off")
    _git(git_repo, "commit", "--quiet", "-am", "no project")
    _git(git_repo, "mv", "specops.yaml.off", "specops.yaml")
    result = run_cli("plan", str(git_repo), "--against", "HEAD", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    validate_plan_json(data)
    assert {c["action"] for c in data["resource_changes"]} == {"create"}


def test_git_baseline_unknown_revision_is_an_error(git_repo):
    result = run_cli("plan", str(git_repo), "--against", "no-such-branch", "--detailed-exitcode")
    assert result.exit_code == 1
    assert "no-such-branch" in result.output


def test_detailed_exitcode_against_state(tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    result = run_cli("plan", str(root), "--detailed-exitcode")  # nothing applied yet: everything to create
    assert result.exit_code == 2, result.output
    assert "baseline: nothing applied yet" in result.output
    plain = run_cli("plan", str(root))
    assert plain.exit_code == 0
    # an error is 1, never 2 (which would read as "changes")
    bad = run_cli("plan", str(root), "--env", "staging", "--detailed-exitcode")
    assert bad.exit_code == 1 and "unknown environment 'staging'" in bad.output


# --------------------------------------------------------------------------- markdown

SNAPSHOT_EDITS = (
    *RETYPE,  # breaking, with a chain down to the deployment
    (MODEL, "C: 1.0", "C: 0.5"),  # non-breaking
    (CF, "description: The customer (join key, not a feature).", "description: The customer (join key)."),  # metadata
)


def test_markdown_snapshot(base, edited):
    text = render_markdown(plan_of(edited(*SNAPSHOT_EDITS), base))
    if UPDATE or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"{SNAPSHOT} did not exist and was written; check it and commit it")
    assert text == SNAPSHOT.read_text(encoding="utf-8"), (
        "the markdown plan changed; if on purpose, refresh it: SPECOPS_UPDATE_GOLDEN=1 "
        ".venv/bin/python -m pytest tests/test_plan_unit.py -k markdown_snapshot")


def _well_formed(text: str) -> None:
    assert text.startswith(MARKER + "\n")
    assert len(text) < 65_000
    assert text.count("```") % 2 == 0
    assert text.count("<details>") == text.count("</details>")
    depth = 0
    for line in text.splitlines():  # never closed before opened
        depth += line.count("<details>") - line.count("</details>")
        assert depth >= 0


def test_markdown_layout(base, edited):
    plan = plan_of(edited(*SNAPSHOT_EDITS), base)
    text = render_markdown(plan)
    _well_formed(text)
    lines = text.splitlines()
    assert lines[0] == MARKER
    assert f"**{plan.summary_line()}**" in lines[:5]  # the summary, outside any <details>
    warning = lines.index("> [!WARNING]")
    assert warning < lines.index("#### Other resource changes")
    block = []
    for line in lines[warning:]:
        if not line.startswith(">"):
            break
        block.append(line)
    listed = " ".join(block)
    assert "dataset.customer_activity" in listed and "spec.columns[avg_satisfaction].type" in listed
    assert "model.churn` update" not in listed and "dataset.customer_features` update" not in listed
    # what a reviewer decides on: the retrain and the rollout it causes, with the chain and its columns, once
    assert "**retrain** `model.churn`, via dataset.customer_activity.avg_satisfaction ~ breaking" in listed
    assert "→ model.churn (feature avg_satisfaction) → deployment.churn_api_dev" in listed
    assert text.count("**retrain** `model.churn`") == 1 and text.count("| `dataset.customer_activity` |") == 0
    # long sections are collapsed (the file list when over 12 lines), the file diffs always
    collapsed = f"<details><summary>{len(plan.artifact_changes)} files</summary>" in text
    assert collapsed == (len(plan.artifact_changes) > UNWRAPPED_LINES)
    assert "<details><summary>File diffs</summary>" in text
    short = lines.index("#### Other work across the graph")
    assert lines[short + 2].startswith("- **rebuild")  # few items: shown as they are


def _synthetic_plan(n: int) -> Plan:
    changes, items, files = [], [], []
    for k in range(n):
        ds = f"dataset.d{k:04d}"
        snap = {"kind": "Dataset", "metadata": {"name": f"d{k:04d}", "owner": "@acme/data", "description": None,
                                                "tags": [], "labels": []}, "spec": {"columns": []}}
        category = "breaking" if k % 2 else "non-breaking"
        changes.append(ResourceChange(
            ds, "Dataset", "replace" if k % 7 == 0 else "update", category,
            (AttrChange(f"spec.columns[c{k}].type", "integer", "string", category, k % 7 == 0),
             AttrChange("metadata.description", "old ```text```\nsecond line", "new", "metadata")),
            f"specs/d{k}.yaml", snap, snap))
        path = (ds, f"transform.t{k:04d}", f"dataset.o{k:04d}", f"model.m{k:04d}", f"deployment.x{k:04d}")
        items += [Impact(f"transform.t{k:04d}", "rebuild", ds, category, path[:2]),
                  Impact(f"deployment.x{k:04d}", "rollout", ds, category, path, ("a note | with <html>",))]
        files.append(ArtifactChange(f"dbt/models/d{k:04d}.yml", "update", ds, "a" * 64, "b" * 64,
                                    "\n".join(f"~ models[d{k}].columns[c{j}].data_type: int -> text" for j in range(40))))
    return Plan("dev", Baseline("state", None, LINEAGE, 7, "0" * 64), "1" * 64, "0.0.0", changes, items, files)


def test_markdown_of_a_huge_plan_stays_under_the_comment_limit():
    plan = _synthetic_plan(2_000)
    text = render_markdown(plan)
    _well_formed(text)
    assert len(text) <= MAX_MARKDOWN
    assert plan.summary_line() in text
    assert "> [!WARNING]" in text and "more breaking changes or destroys" in text
    assert "<details><summary>3980 downstream actions</summary>" in text  # 20 rollouts are among the decisions
    assert "… and 1980 more to rollout (in the impact below)" in text
    assert "<details><summary>2000 files</summary>" in text and "<details><summary>Text changes" in text
    assert "more file diffs" in text or "plan truncated" in text
    assert "'''text'''" in text and "```text```" not in text  # user text cannot close a fence


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_generate", REPO_ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_generate", module)
    spec.loader.exec_module(module)
    return module


def test_markdown_of_a_generated_repository_with_everything_changed(tmp_path):
    """A bench repository whose every dataset was retyped and every generated file edited since the baseline."""
    root = tmp_path / "bench"
    _load_bench().generate(150, root, seed=3)
    head = build(root)
    before = copy.deepcopy(head_snapshots(head.project, None))
    for snap in before.values():
        if snap["kind"] == "Dataset" and snap["spec"]["columns"]:
            snap["spec"]["columns"][0]["type"] = "json"
    contents = {a.key: a.content + b"\n# edited\n" for a in head.compiled.artifacts if artifact_in_scope(a.key, None)}
    baseline = BaselineData(Baseline("git", "origin/main", spec_digest="2" * 64), before, {}, contents,
                            {k: sha256(v) for k, v in contents.items()})
    plan = make_plan(head.project, head.compiled, baseline, None)
    assert len(plan.resource_changes) > 50 and len(plan.artifact_changes) > 50 and len(plan.impacts) > 50
    _well_formed(render_markdown(plan))
    validate_plan_json(plan.to_json())


# --------------------------------------------------------------------------- JSON


def test_json_validates_and_is_stable(base, edited):
    head = edited(*SNAPSHOT_EDITS)
    first = render_json(plan_of(head, base))
    second = render_json(plan_of(build(head.project.root), base))
    assert first == second  # no timestamp, no random id: the same inputs give the same bytes
    data = json.loads(first)
    validate_plan_json(data)
    assert re.fullmatch(r"1\.\d+", data["format_version"])
    assert data["complete"] is True and data["applyable"] is True and data["selection"] == []
    assert data["summary"]["breaking"] == 2 and data["summary"]["retrain"] == 1  # the dataset and its SQL
    assert not re.search(r"20\d\d-\d\d-\d\dT\d\d:", first)


def test_json_of_a_selected_plan(tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    result = run_cli("plan", str(root), "--select", "+model.churn", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    validate_plan_json(data)
    assert data["complete"] is False and "model.churn" in data["selection"]
    assert all(c["address"] in data["selection"] for c in data["resource_changes"])


def test_json_of_synthetic_huge_plan_validates():
    validate_plan_json(_synthetic_plan(50).to_json())


@pytest.mark.parametrize(("where", "bad"), [
    pytest.param("format_version", "2.0", id="major-version"),
    pytest.param("resource_changes.0.action", "recreate", id="unknown-action"),
    pytest.param("resource_changes.0.category", "dangerous", id="unknown-category"),
    pytest.param("resource_changes.0.change.actions", ["create"], id="actions-disagree-with-action"),
    pytest.param("impact.items.0.work", "redeploy", id="unknown-work"),
    pytest.param("summary.surprise", 1, id="unknown-summary-count"),
    pytest.param("surprise", True, id="unknown-top-level-key"),
    pytest.param("artifact_changes.0.before_sha256", None, id="update-without-before-digest"),
])
def test_schema_rejects(base, edited, where, bad):
    # a parameter (a retrain) and a column's documentation (a changed dbt file)
    data = json.loads(render_json(plan_of(edited((MODEL, "C: 1.0", "C: 0.5"),
                                                 ("specs/datasets/customer_features.yaml", "description: The customer",
                                                  "description: Each customer")), base)))
    validate_plan_json(data)
    *parents, last = where.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[last] = bad
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))


def test_schema_file_is_a_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    text = (REPO_ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8")
    assert text == json.dumps(SCHEMA, indent=2, ensure_ascii=False) + "\n"  # the house format of schemas/


def test_a_plan_with_many_changed_files_diffs_only_the_first(base: Built, edited, monkeypatch) -> None:
    import compiler.plan.make as plan_build

    monkeypatch.setattr(plan_build, "MAX_FILE_DIFFS", 1)
    head = edited(*RETYPE)
    updated = [a for a in plan_of(head, base).artifact_changes if a.action == "update"]
    assert len(updated) >= 2
    assert updated[0].diff and not updated[0].diff.startswith("(")
    assert all(a.diff == "(not diffed: only the first 1 updated files are)" and a.not_diffed for a in updated[1:])
    assert all(a.before_sha256 and a.after_sha256 and a.before_sha256 != a.after_sha256 for a in updated)
    plan = plan_of(head, base)
    text = render_text(plan)
    assert "not diffed" not in "".join(line for line in text.splitlines() if line.startswith("        "))
    assert text.count("updated files listed without their diff: only the first 1 updated files are") == 1
    assert all(f" {a.key}" in text for a in updated)  # every file is still listed
    markdown = render_markdown(plan)
    assert "not diffed" not in markdown and f"**`{updated[0].key}`**" in markdown


def test_the_applied_tree_is_read_lazily_and_missing_files_are_not_kept(tmp_path: Path) -> None:
    from compiler.plan.baseline import AppliedFiles

    (tmp_path / "dbt").mkdir()
    (tmp_path / "dbt" / "a.sql").write_bytes(b"select 1")
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "ci.yml").write_bytes(b"on: push")
    files = AppliedFiles(tmp_path, ["dbt/a.sql", "dbt/gone.sql", "workflows:ci.yml"])
    assert files["dbt/a.sql"] == b"select 1" and files["workflows:ci.yml"] == b"on: push"
    assert files["dbt/gone.sql"] is None and files.get("other") is None
    assert list(files) == ["dbt/a.sql", "dbt/gone.sql", "workflows:ci.yml"] and len(files) == 3


@pytest.mark.parametrize("env", ["dev", "prod", None])
def test_a_plan_compiles_exactly_the_files_it_compares(base: Built, env: str | None) -> None:
    from compiler.emit.compile import compile_for_plan

    scoped = compile_for_plan(base.project, env).artifacts
    assert scoped == [a for a in base.compiled.artifacts if artifact_in_scope(a.key, env)]
    if env == "prod":
        assert any(a.key.startswith(f"k8s/{env}/") for a in scoped)
    assert not any(a.key.startswith("k8s/dev/") for a in scoped)  # the example's dev is laptop-only


# --------------------------------------------------------------------------- state: stored resource digests


def test_a_snapshot_edited_by_hand_in_the_state_shows_in_the_plan(tmp_path, base, monkeypatch):
    """Digests of applied snapshots come from the snapshots themselves (cached by the file's bytes), so an
    edited state file is planned against what it now says."""
    from compiler.apply.state import load_state, save_state, state_path

    monkeypatch.setenv("SPECOPS_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "applied")
    state = load_state(root, "dev")
    state.resources = head_snapshots(base.project, "dev")
    save_state(root, state)
    args = ["plan", str(root), "--env", "dev", "--format", "json"]
    before = json.loads(run_cli(*args).output)  # the summary of this state is cached now
    assert "deployment.churn_api_dev" not in {c["address"] for c in before["resource_changes"]}
    on_disk = json.loads(state_path(root, "dev").read_text())
    on_disk["resources"]["deployment.churn_api_dev"]["spec"]["replicas"] = 7
    state_path(root, "dev").write_text(json.dumps(on_disk))
    for flags in ((), ("--no-cache",)):
        after = json.loads(run_cli(*args, *flags).output)
        changed = {c["address"]: c for c in after["resource_changes"]}
        assert changed["deployment.churn_api_dev"]["action"] == "update", flags


def test_the_state_summary_kept_in_the_cache_is_that_of_the_files_bytes(tmp_path, base, monkeypatch):
    """A plan keeps a summary of the state file keyed by its bytes: a new apply (new bytes) is a new key."""
    from compiler.apply.state import load_state, save_state
    from compiler.plan.baseline import summarize
    from compiler.speed.cache import Cache
    from compiler.speed.statesummary import state_summary

    monkeypatch.setenv("SPECOPS_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "kept")
    cache = Cache(tmp_path / "cache" / "front", b"k" * 32)
    folder = cache.folder
    state = load_state(root, "dev")
    state.resources = head_snapshots(base.project, "dev")
    save_state(root, state)
    first = state_summary(root, "dev", cache)
    assert first == summarize(load_state(root, "dev"))
    assert len(list(folder.iterdir())) == 1
    with monkeypatch.context() as m:  # read back from the cache: the state file is not parsed again
        m.setattr("compiler.speed.statesummary.parse_state", lambda *a: pytest.fail("parsed again"))
        assert state_summary(root, "dev", cache) == first
    state.resources.pop("dataset.customers")
    state.serial += 1
    save_state(root, state)
    second = state_summary(root, "dev", cache)
    assert second == summarize(load_state(root, "dev")) != first
    assert "dataset.customers" not in second[4]
    (next(folder.iterdir())).write_bytes(b"\x00damaged")
    assert state_summary(root, "dev", cache) == second
    plans = [run_cli("plan", str(root), "--env", "dev", "--format", "json", *flag).output for flag in
             ((), (), ("--no-cache",))]
    assert plans[0] == plans[1] == plans[2] and '"serial": 1' in plans[0]


@pytest.mark.parametrize("content", ["[]", '{"format_version": "1.0"}', '{"format_version": "1.0", "environment": "dev", '
                                     '"lineage": "x", "serial": 1, "resources": []}', "{not json"])
def test_a_malformed_state_file_is_a_clear_error(tmp_path, content):
    from compiler.apply.state import state_path

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "broken")
    state_path(root, "dev").parent.mkdir(parents=True)
    state_path(root, "dev").write_text(content)
    result = run_cli("plan", str(root), "--env", "dev")
    assert result.exit_code == 1
    assert "state" in result.output and "dev.json" in result.output and "Traceback" not in result.output
    assert "internal error" not in result.output


def test_a_long_impact_chain_is_shortened_in_text_and_markdown_only() -> None:
    """A chain through a deep DAG keeps its ends and counts its middle; the JSON plan keeps every step."""
    from compiler.plan import render

    class Stub:
        def action_of(self, address: str) -> str:
            return "update"

    chain = tuple(f"transform.t{n}" for n in range(30))
    impact = Impact(chain[-1], "rebuild", chain[0], "breaking", chain, ())
    text = render._path(Stub(), impact)  # type: ignore[arg-type]
    assert text.startswith("transform.t0 ~ breaking -> transform.t1 -> transform.t2 -> transform.t3 -> (22 more) -> ")
    assert text.endswith("transform.t26 -> transform.t27 -> transform.t28 -> transform.t29 rebuild")
    assert "(22 more)" in render._md_chain(Stub(), impact)  # type: ignore[arg-type]
    short = Impact(chain[8], "rebuild", chain[0], "breaking", chain[:9], ())  # nine steps: all shown
    assert render._path(Stub(), short).count(" -> ") == 8  # type: ignore[arg-type]
    assert impact.to_json()["path"] == list(chain)


def test_a_withheld_diff_counts_lines_that_look_like_diff_headers():
    """A removed `-- comment` line is `--- comment` in a unified diff: it was taken for a header, not counted."""
    from compiler.plan.artifacts import redacted_diff

    before = b"-- old note\nselect 1\n++ x\n"
    after = b"-- new note\nselect 1\n+++ y\n"
    text = redacted_diff("dataset.x has PII columns (email)", before, after)
    assert "2 line(s) added, 2 removed; 3 -> 3 lines" in text, text


DEPLOY_PROD = "specs/deployments/churn_api.yaml"
REGISTRY = ("specops.yaml", "image_registry: ghcr.io/acme", "image_registry: registry.acme.io/ml")


def test_a_project_setting_that_changes_the_served_image_rolls_the_deployments_out(git_repo, tmp_path):
    """The Project's image_registry names the serving image of an mlflow-runtime Deployment: apply re-applies the
    Deployment whose image changes (its pods are replaced), so the plan shows the Project's change and a rollout
    with the reason."""
    RepoEditor(git_repo).replace(DEPLOY_PROD, "runtime: kserve", "runtime: mlflow")
    _git(git_repo, "commit", "--quiet", "-am", "mlflow runtime")
    RepoEditor(git_repo).replace(*REGISTRY)
    data = json.loads(run_cli("plan", str(git_repo), "--against", "HEAD", "--env", "prod", "--format",
                              "json").stdout)  # (stderr warns of the canary's share with runtime mlflow)
    validate_plan_json(data)
    assert [(c["address"], c["action"]) for c in data["resource_changes"]] == [("project.churn_analytics", "update")]
    rollouts = [i for i in data["impact"]["items"] if i["work"] == "rollout"]
    assert [(i["address"], i["cause"], i["via"][-1]) for i in rollouts] == [
        ("deployment.churn_api", "project.churn_analytics", "(image changed)")]
    assert "registry.acme.io/ml/" in rollouts[0]["notes"][0]
    text = run_cli("plan", str(git_repo), "--against", "HEAD", "--env", "prod").output
    assert "project.churn_analytics ~ non-breaking -> deployment.churn_api (image changed) rollout" in text
    assert "1 rollout" in text
    md = run_cli("plan", str(git_repo), "--against", "HEAD", "--env", "prod", "--format", "markdown").output
    assert "**rollout** `deployment.churn_api`" in md
    # against the state of the last apply too, which records the Project
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "state" / "churn")
    RepoEditor(root).replace(DEPLOY_PROD, "runtime: kserve", "runtime: mlflow")
    before = build(root)
    RepoEditor(root).replace(*REGISTRY)
    plan = plan_of(build(root), before, "prod")
    assert [c.address for c in plan.resource_changes] == ["project.churn_analytics"]
    assert impacts(plan) == {"deployment.churn_api": "rollout"}


def test_a_deployment_switched_to_another_model_is_breaking():
    """Its endpoint serves another model: the inputs callers send and the outputs they read change, so it is
    breaking (a reviewer decides on it), and replaced."""
    from compiler.plan.diff import classify

    old = {"kind": "Deployment", "metadata": {"name": "api"}, "spec": {"model": "churn", "environment": "prod"}}
    new = copy.deepcopy(old)
    new["spec"]["model"] = "upsell"
    action, category, attrs = classify("Deployment", old, new)
    assert (action, category) == ("replace", "breaking")
    assert attrs[0].reason is not None and "callers" in attrs[0].reason
    new = copy.deepcopy(old)
    new["spec"]["environment"] = "qa"
    assert classify("Deployment", old, new)[:2] == ("replace", "non-breaking")


RENAME_TRANSFORM = (SQL_CF, "  name: build_customer_features", "  name: make_customer_features")


def test_a_renamed_transform_is_metadata_and_its_table_is_not_left_behind(base, edited):
    """The dbt model is named after the output dataset: a transform renamed (the same SQL and output) builds the
    same table, so nothing is rebuilt and there is nothing to drop; the destroy does not need a decision."""
    plan = plan_of(edited(RENAME_TRANSFORM), base)
    changes = {c.address: c for c in plan.resource_changes}
    gone, new = changes["transform.build_customer_features"], changes["transform.make_customer_features"]
    assert (gone.action, gone.category, gone.taken_over_by) == ("delete", "metadata", "transform.make_customer_features")
    assert (new.action, new.category, new.takes_over, new.renamed) == (
        "create", "metadata", "transform.build_customer_features", True)
    assert plan.impacts == []
    text = render_text(plan)
    assert "drop it once nothing reads it" not in text
    assert "transform.make_customer_features builds its table (dataset.customer_features) now" in text
    assert "renamed from transform.build_customer_features" in text
    md = render_markdown(plan)
    assert "drop it" not in md and "Needs a decision" not in md
    data = plan.to_json()
    validate_plan_json(data)
    by = {c["address"]: c for c in data["resource_changes"]}
    assert by["transform.build_customer_features"]["taken_over_by"] == "transform.make_customer_features"
    assert by["transform.make_customer_features"]["renamed"] is True


def test_a_transform_replaced_by_another_building_its_table_is_taken_over(base, edited):
    """Renamed and its SQL edited: the new transform rebuilds the table (what reads it follows), and the destroy
    still leaves nothing to drop."""
    plan = plan_of(edited(RENAME_TRANSFORM, (SQL_CF, "cast(s.snapshot_date as date) as snapshot_date",
                                             "cast(s.snapshot_date as date) as snapshot_date -- the day")), base)
    changes = {c.address: c for c in plan.resource_changes}
    gone, new = changes["transform.build_customer_features"], changes["transform.make_customer_features"]
    assert (gone.category, gone.taken_over_by) == ("non-breaking", "transform.make_customer_features")
    assert (new.takes_over, new.renamed) == ("transform.build_customer_features", False)
    assert impacts(plan)["transform.make_customer_features"] == "rebuild"
    text = render_text(plan)
    assert "drop it once nothing reads it" not in text and "apply leaves nothing behind" in text
    validate_plan_json(plan.to_json())


# the same query written otherwise: keyword case, a comment of its own line, other indentation
REFORMAT_CF = (SQL_CF, "    select\n        cast(c.customer_id as integer) as customer_id,",
               "    -- one row per customer\n    SELECT\n      CAST(c.customer_id AS integer) AS customer_id,")


@pytest.mark.parametrize(("edits", "renamed"), [
    ((REFORMAT_CF,), True),
    ((REFORMAT_CF, (SQL_CF, "a.avg_satisfaction, 3.0", "a.avg_satisfaction, 4.0")), False),
], ids=["reformatted", "reformatted-and-changed"])
def test_a_transform_renamed_with_its_sql_only_reformatted_is_a_rename(base, edited, edits, renamed):
    """Renamed and its SQL only reformatted: as the same edit in place is metadata (nothing rebuilt), so is the
    rename; a change of what the SQL does still makes the new transform rebuild the table."""
    plan = plan_of(edited(RENAME_TRANSFORM, *edits), base)
    changes = {c.address: c for c in plan.resource_changes}
    gone, new = changes["transform.build_customer_features"], changes["transform.make_customer_features"]
    assert (gone.taken_over_by, new.takes_over) == ("transform.make_customer_features", gone.address)
    assert (gone.category, new.renamed) == ("metadata" if renamed else "non-breaking", renamed)
    if renamed:
        assert new.category == "metadata" and plan.impacts == []
    else:  # the new transform's category is its SQL change's, as an edit in place (not the create's default)
        assert impacts(plan)["transform.make_customer_features"] == "rebuild" and new.category == "breaking"


def test_a_plan_of_one_environment_counts_the_changes_of_another_environments_deployments(git_repo):
    """A change of a prod Deployment only: the dev plan has nothing to do, and says that prod changed (the
    environment's own spec is the same, its deployment is not)."""
    RepoEditor(git_repo).replace(DEPLOY_PROD, "min_replicas: 2", "min_replicas: 3")
    data = json.loads(run_cli("plan", str(git_repo), "--against", "HEAD", "--env", "dev", "--format", "json").stdout)
    validate_plan_json(data)
    assert data["resource_changes"] == [] and data["impact"]["items"] == []
    assert data["other_environments"] == [
        {"environment": "prod", "action": "update", "resources": ["deployment.churn_api"]}]
    assert data["summary_line"] == "No changes in dev; 1 change in other environments (prod): see their plans."
    text = run_cli("plan", str(git_repo), "--against", "HEAD", "--env", "dev").output
    assert "~ environment.prod  (changed (deployment.churn_api): its plan is `specops plan --env prod`)" in text
    assert "The specs match the baseline" not in text


@pytest.mark.parametrize(("env", "deployment", "said"), [
    ("dev", "churn_api_dev", "environment 'dev' has no kubernetes.context: apply deletes nothing in the cluster"),
    ("prod", "churn_api", "apply deletes its Kubernetes objects (kubectl delete, context 'prod-cluster')"),
])
def test_a_destroyed_deployment_says_whether_apply_deletes_its_objects(base, tmp_path, env, deployment, said):
    """Without a kube context apply deletes nothing: the plan says so plainly, and who must (the GitOps tool)."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).delete(f"specs/deployments/{deployment}.yaml")
    plan = plan_of(build(root), base, env)
    assert [(c.address, c.action) for c in plan.resource_changes] == [(f"deployment.{deployment}", "delete")]
    for text in (render_text(plan), render_markdown(plan)):
        assert said in text and "where the environment has a kube context" not in text
    if env == "dev":
        assert "the GitOps tool that syncs them must delete them" in render_text(plan)


def test_a_plan_of_every_environment_says_where_each_piece_of_work_happens(base, edited):
    """Without --env, a retrain is listed once: it happens in every environment's apply (each has its registry),
    a rollout in its deployment's environment; a plan of one environment does not repeat its name."""
    head = edited((MODEL, "C: 1.0", "C: 0.5"))
    plan = plan_of(head, base, None)
    where = {i.address: i.environments for i in plan.impacts}
    assert where == {"model.churn": ("dev", "prod"), "deployment.churn_api_dev": ("dev",),
                     "deployment.churn_api": ("prod",)}
    text = render_text(plan)
    assert "retrain  model.churn  (in dev, prod)" in text
    assert "rollout  deployment.churn_api  (in prod)" in text
    assert "**retrain** `model.churn` in `dev`, `prod`, via" in render_markdown(plan)
    data = plan.to_json()
    validate_plan_json(data)
    assert {i["address"]: i["environments"] for i in data["impact"]["items"]}["model.churn"] == ["dev", "prod"]
    one = plan_of(head, base, "dev")
    assert all(not i.environments for i in one.impacts) and "(in dev" not in render_text(one)


def test_a_saved_plan_made_stale_by_a_promote_says_so_not_serial_n_to_n():
    """promote, train and rollout write the state without a new serial: 'serial 25 -> 25' contradicted itself."""
    from types import SimpleNamespace

    from compiler.cli.ops import _stale

    def current(serial: int, digest: str) -> SimpleNamespace:
        return SimpleNamespace(spec_digest="s", baseline=SimpleNamespace(lineage="l", serial=serial, state_digest=digest),
                               environment="dev", artifact_digests={}, selection=[], full_refresh=False)

    saved = {"head": {"spec_digest": "s"}, "baseline": {"kind": "state", "lineage": "l", "serial": 25,
                                                        "state_digest": "a"}, "environment": "dev",
             "artifact_digests": {}, "selection": [], "full_refresh": False}
    assert _stale(saved, current(25, "a")) == []
    (promoted,) = _stale(saved, current(25, "b"))
    assert "by a command other than apply" in promoted and "25 -> 25" not in promoted
    assert _stale(saved, current(26, "b")) == ["the environment's state changed since the plan was made (serial 25 -> 26)"]


def test_a_plan_whose_state_cannot_be_read_says_how_to_plan_against_git(example_root, monkeypatch):
    """prod keeps its state in Postgres, out of reach here: the error says so, and how to plan without it."""
    monkeypatch.delenv("WAREHOUSE_PASSWORD", raising=False)
    result = run_cli("plan", str(example_root), "--env", "prod")
    assert result.exit_code == 1, result.output
    assert "WAREHOUSE_PASSWORD, which is not set" in result.output
    assert "to compare with the specs at a git revision instead, as a pull request's plan does: specops plan " \
           "--against origin/main --env prod" in result.output and "Traceback" not in result.output


def test_a_selected_plan_says_what_its_work_reads_that_no_apply_built(tmp_path):
    """`apply -s customer_activity` on a fresh environment ran `dbt build --select customer_activity` and failed on a
    missing table, with nothing in the plan to say so: the plan names the unbuilt inputs and the selector to use."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    text = run_cli("plan", str(root), "-s", "customer_activity").output
    assert ("note: transform.build_customer_activity reads dataset.subscriptions, dataset.support_tickets, which no "
            "apply has built in dev and the selection leaves out: its dbt build would fail on a missing table "
            "(select +customer_activity, or subscriptions support_tickets too)") in text, text
    assert "note:" not in run_cli("plan", str(root), "-s", "+customer_activity").output
    assert "note:" not in run_cli("plan", str(root), "-s", "customer_activity", "-s", "subscriptions",
                                  "-s", "support_tickets").output


def test_a_change_of_a_models_split_column_retrains_it(tmp_path):
    """A time split holds out the latest rows by its column: new values of that column make other training and
    holdout rows (the trainer reads it), though it is neither a feature nor the target. The plan said no retrain;
    the next `specops train` then registered a new version no plan announced."""
    split = ("specs/models/churn.yaml", "    random_seed: 42\n",
             "    random_seed: 42\n    split: {strategy: time, column: snapshot_date}\n")
    roots = []
    for name in ("base", "head"):
        ed = RepoEditor(copy_repository(EXAMPLE_ROOT, tmp_path / name))
        ed.replace(*split)
        roots.append(ed)
    roots[1].replace(SQL_CF, "cast(s.snapshot_date as date) as snapshot_date",
                     "cast(s.snapshot_date - 1 as date) as snapshot_date")
    base, head = build(roots[0].root), build(roots[1].root)
    assert ("customer_features", "snapshot_date") in head.project.lineage.reads_of("model.churn")
    plan = plan_of(head, base, "dev")
    by = {i.address: i for i in plan.impacts}
    assert by["model.churn"].work == "retrain", impacts(plan)
    assert "(split column snapshot_date)" in render_text(plan), render_text(plan)
    assert by["deployment.churn_api_dev"].work == "rollout"


def test_a_selection_leaves_pending_what_waits_on_work_it_leaves_out(base, edited):
    """`apply --exclude churn` with a change the model trains on rolled out its deployment (the old version,
    ticked off) and left the retrain pending: the retrain's rollout was then never planned."""
    head = edited((SQL_CF, "coalesce(a.avg_satisfaction, 3.0)", "coalesce(a.avg_satisfaction, 3.5)"))
    everything = {r.address for r in head.project.resources()}
    plan = make_plan(head.project, head.compiled, state_baseline(base, "dev"), "dev",
                     selected=everything - {"model.churn"})
    assert "deployment.churn_api_dev" not in impacts(plan), impacts(plan)
    assert {i.address: i.work for i in plan.left_pending} == {"model.churn": "retrain",
                                                              "deployment.churn_api_dev": "rollout"}


def test_a_selection_does_not_leave_pending_the_checks_its_dbt_build_runs(base, edited):
    """`apply -s daily_kpis` ran the checks on daily_kpis (dbt builds a model with its tests), and still left their
    rerun pending for the next apply."""
    from compiler.spec.selection import whole_models

    kpis = edited(("specs/transforms/daily_kpis.yaml", "where ended_at is not null", "where ended_at is not null "
                   "and ended_at > date '2000-01-01'"))
    selected = whole_models(kpis.project, {"dataset.daily_kpis"})
    plan = make_plan(kpis.project, kpis.compiled, state_baseline(base, "dev"), "dev", selected=selected)
    assert impacts(plan) == {"transform.build_daily_kpis": "rebuild"}, impacts(plan)
    assert plan.left_pending == [], plan.left_pending


def test_a_gx_expectation_removed_is_shown_by_its_check_not_as_two_truncated_lists():
    """A suite that lost one expectation showed `~ expectations: [{"kwargs": ... -> [{"kwargs": ...`, the same 120
    characters on both sides: the expectations are now told apart by the check they stand for."""
    import json

    from compiler.plan.artifacts import structural_diff

    kept = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "book_id"},
            "meta": {"specops": {"check": "book_id_present"}}}
    dropped = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "avg_loan_days", "min_value": 0},
               "meta": {"specops": {"check": "loan_days_range"}}}
    before = json.dumps({"name": "demand_checks", "expectations": [kept, dropped]}).encode()
    after = json.dumps({"name": "demand_checks", "expectations": [kept]}).encode()
    shown = structural_diff("gx/expectations/dev/demand_checks.json", before, after)
    assert shown is not None and shown.splitlines()[0].startswith(
        "- expectations[expect_column_values_to_be_between:loan_days_range]: "), shown
    assert "book_id_present" not in shown
