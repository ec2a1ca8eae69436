"""The plan on edits of every kind: each edit's category, and exactly the downstream work it causes.

Against the churn example (a table of pull-request edits, planned against the state an apply of the
unedited example leaves) and the benchmark's synthetic repositories (edits picked by what the project is).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

from compiler.emit.compile import compile_project
from compiler.emit.manifest import sha256
from compiler.front.check import check_repository, require_project
from compiler.plan.baseline import BaselineData
from compiler.plan.make import make_plan
from compiler.plan.model import Baseline, Plan
from compiler.plan.render import render_json, render_markdown, render_text
from compiler.plan.scope import artifact_in_scope, head_snapshots
from compiler.spec.project import SpecProject

REPO_ROOT = Path(__file__).resolve().parent.parent
CA, CF, CU = "specs/datasets/customer_activity.yaml", "specs/datasets/customer_features.yaml", \
    "specs/datasets/customers.yaml"
SQL_CA, T_CF, MODEL = "sql/customer_activity.sql", "specs/transforms/customer_features.yaml", "specs/models/churn.yaml"
T_KPI = "specs/transforms/daily_kpis.yaml"
RULES_CF, RULES_SRC = "specs/quality/customer_features.yaml", "specs/quality/sources.yaml"

TA, TF = "transform.build_customer_activity", "transform.build_customer_features"
DOWN_TO_DEPLOYMENT = {TF: "rebuild", "model.churn": "retrain", "deployment.churn_api_dev": "rollout",
                      "quality_rule.customer_features_checks": "rerun"}


def build(root: Path) -> tuple[SpecProject, object]:
    project = require_project(root)
    return project, compile_project(project)


def plan_against(base: tuple[SpecProject, object], head: tuple[SpecProject, object], env: str | None = "dev") -> Plan:
    project, compiled = base
    contents = {a.key: a.content for a in compiled.artifacts if artifact_in_scope(a.key, env)}  # type: ignore[attr-defined]
    baseline = BaselineData(Baseline("state", None, "l", 1, "0" * 64, None), head_snapshots(project, env), {},
                            contents, {k: sha256(v) for k, v in contents.items()})
    return make_plan(head[0], head[1], baseline, env)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def churn_base(tmp_path_factory: pytest.TempPathFactory):
    return build(copy_repository(EXAMPLE_ROOT, tmp_path_factory.mktemp("base") / "churn"))


# customer_features' alias `a` (of its input customer_activity) renamed `act` wherever it is written
A_TO_ACT = [*[(T_CF, "cast(a.", "cast(act.")] * 3, (T_CF, "coalesce(a.", "coalesce(act."), (T_CF, "when a.", "when act."),
            (T_CF, "as a\n", "as act\n"), (T_CF, "on a.customer_id", "on act.customer_id")]



def _ctes_swapped() -> tuple[str, str, str]:
    """customer_activity's two CTEs defined in the other order (the query reads them the same)."""
    text = (EXAMPLE_ROOT / SQL_CA).read_text(encoding="utf-8")
    first, second = text.index("with subscription_rollup as ("), text.index("ticket_rollup as (")
    end = text.index(")\n\nselect") + 1
    return SQL_CA, text[first:end], f"with {text[second:end]},\n\n{text[first + 5:second].rstrip().rstrip(',')}"


SEGMENT = ("    - name: segment\n      type: string\n      description: Commercial segment, kept for slicing model "
           "metrics.\n      required: true\n      accepted_values: [consumer, smb, enterprise]\n")
OPT_IN = ("    - name: marketing_opt_in\n      type: boolean\n      description: Whether the customer agreed to receive "
          "marketing e-mail.\n      required: true\n")

# (id, [(file, old, new), ...], {changed address: category}, {impacted address: work})
CHURN_EDITS = [
    ("sql-file-comment", [(SQL_CA, "-- The latest change", "-- The most recent change")],
     {TA: "metadata"}, {}),
    ("inline-sql-formatting", [(T_CF, "    select\n        cast(c.customer_id", "    SELECT\n      CAST(c.customer_id"),
                               (T_CF, "    cross join snapshot as s", "    CROSS JOIN snapshot AS s -- one row")],
     {TF: "metadata"}, {}),
    ("inline-sql-table-alias-renamed", A_TO_ACT, {TF: "metadata"}, {}),
    ("sql-file-table-alias-renamed", [*[(SQL_CA, "cast(s.", "cast(sr.")] * 6, (SQL_CA, "> s.", "> sr."),
                                      (SQL_CA, "else s.", "else sr."), (SQL_CA, "as s\n", "as sr\n"),
                                      (SQL_CA, "= s.customer_id", "= sr.customer_id")],
     {TA: "metadata"}, {}),
    ("inline-sql-aliases-of-ctes-renamed", [(T_KPI, "cast(d.", "cast(dd."), (T_KPI, "coalesce(st.", "coalesce(sx."),
                                            (T_KPI, "as d\n", "as dd\n"), (T_KPI, "started as st on st.", "started as sx on sx."),
                                            *[(T_KPI, "= d.kpi_date", "= dd.kpi_date")] * 3],
     {"transform.build_daily_kpis": "metadata"}, {}),
    # grouped by position, then by the expression at that position: the same query
    ("inline-sql-group-by-ordinal-spelt-out", [(T_KPI, "group by cast(opened_at as date)", "group by 1")],
     {"transform.build_daily_kpis": "metadata"}, {}),
    # an incremental transform: the same query, so no full refresh either
    ("sql-file-ctes-defined-in-another-order", [_ctes_swapped()], {TA: "metadata"}, {}),
    ("sql-cte-column-renamed-where-it-is-read", [(SQL_CA, "count(*) as support_tickets", "count(*) as n_tickets"),
                                                 (SQL_CA, "coalesce(t.support_tickets, 0)", "coalesce(t.n_tickets, 0)")],
     {TA: "metadata"}, {}),
    # the aliases of two joined tables swapped: `d` now reads `started`, whose kpi_date the other joins then match
    ("inline-sql-aliases-swapped", [(T_KPI, "from days as d\n    left join started as st", "from days as st\n    left join started as d"),
                                    (T_KPI, "coalesce(st.new_subscriptions", "coalesce(d.new_subscriptions")],
     {"transform.build_daily_kpis": "breaking"},
     {"transform.build_daily_kpis": "rebuild", "quality_rule.daily_kpis_checks": "rerun"}),
    # an output column renamed (its uses too): what its readers see changes
    ("sql-output-column-renamed-and-its-reader", [
        (SQL_CA, "as integer) as support_tickets", "as integer) as n_tickets"),
        (CA, "- name: support_tickets", "- name: n_tickets"),
        (T_CF, "cast(a.support_tickets as integer)", "cast(a.n_tickets as integer)")],
     {TA: "breaking", "dataset.customer_activity": "breaking", TF: "breaking"},
     {TA: "rebuild", **DOWN_TO_DEPLOYMENT}),
    ("sql-new-filter", [(SQL_CA, "    from {{ input('subscriptions') }}\n    group by",
                         "    from {{ input('subscriptions') }}\n    where plan <> 'basic'\n    group by")],
     {TA: "breaking"}, {TA: "rebuild", **DOWN_TO_DEPLOYMENT}),
    ("sql-aggregation-changed-on-a-feature", [(SQL_CA, "avg(monthly_price) as avg_monthly_price",
                                               "max(monthly_price) as avg_monthly_price")],
     {TA: "breaking"}, {TA: "rebuild", **DOWN_TO_DEPLOYMENT}),
    ("sql-values-of-an-unread-column", [(SQL_CA, "min(started_at) as first_started_on",
                                         "max(started_at) as first_started_on")],
     {TA: "breaking"}, {TA: "rebuild"}),
    ("sql-additive-column", [(SQL_CA, "    -- The latest", "    cast('emea' as varchar) as region,\n    -- The latest"),
                             (CA, "  primary_key: [customer_id]",
                              "    - {name: region, type: string}\n  primary_key: [customer_id]")],
     {TA: "non-breaking", "dataset.customer_activity": "non-breaking"}, {TA: "rebuild"}),
    ("drop-an-unread-produced-column", [
        (SQL_CA, "    cast(s.first_started_on as date) as first_started_on,\n", ""),
        (CA, "    - name: first_started_on\n      type: date\n      description: Start of the customer's first "
             "subscription.\n      required: true\n", "")],
     {TA: "breaking", "dataset.customer_activity": "breaking"}, {TA: "rebuild"}),
    ("rename-an-unread-produced-column", [
        (SQL_CA, "as date) as last_ended_on", "as date) as last_cancelled_on"),
        (CA, "- name: last_ended_on", "- name: last_cancelled_on")],
     {TA: "breaking", "dataset.customer_activity": "breaking"}, {TA: "rebuild"}),
    ("retype-a-feature-column", [(CA, "type: double", "type: decimal(10,2)"),
                                 (SQL_CA, "cast(t.avg_satisfaction as double precision)",
                                  "cast(t.avg_satisfaction as decimal(10,2))")],
     {TA: "breaking", "dataset.customer_activity": "breaking"}, {TA: "rebuild", **DOWN_TO_DEPLOYMENT}),
    ("source-column-made-required", [(CU, "      description: First and last name as entered at signup.\n",
                                      "      description: First and last name as entered at signup.\n"
                                      "      required: true\n")],
     {"dataset.customers": "breaking"}, {"dataset.customers": "rerun"}),
    ("source-nullable-column-added", [(CU, "  primary_key: [customer_id]",
                                       "    - {name: phone, type: string, pii: true}\n  primary_key: [customer_id]"),
                                      (("data/customers.csv", "phone"), None, None)],
     {"dataset.customers": "non-breaking"}, {"dataset.customers": "reload"}),
    ("source-unread-column-dropped", [(CU, "    - name: marketing_opt_in\n      type: boolean\n      description: "
                                           "Whether the customer agreed to receive marketing e-mail.\n"
                                           "      required: true\n", "")],
     {"dataset.customers": "breaking"}, {"dataset.customers": "rerun"}),
    ("produced-columns-reordered", [(CF, SEGMENT, ""), (CF, "    - name: churned\n", SEGMENT + "    - name: churned\n")],
     {"dataset.customer_features": "non-breaking"}, {TF: "rebuild"}),  # the table takes the contract's order
    ("seed-columns-reordered", [(CU, OPT_IN, ""), (CU, "    - name: email\n", OPT_IN + "    - name: email\n")],
     {"dataset.customers": "non-breaking"}, {}),  # a seed's table has its CSV's order
    ("seed-column-retyped", [(CU, "    - name: marketing_opt_in\n      type: boolean", "    - name: marketing_opt_in\n      type: string")],
     {"dataset.customers": "breaking"}, {"dataset.customers": "reload"}),
    ("seed-rows-changed", [(("data/customers.csv", "last row", "dropped"), None, None)],
     {"dataset.customers": "non-breaking"},
     {"dataset.customers": "reload", "quality_rule.customers_checks": "rerun",
      "quality_rule.subscriptions_checks": "rerun", "quality_rule.support_tickets_checks": "rerun",
      TF: "rebuild", "model.churn": "retrain", "deployment.churn_api_dev": "rollout",
      "quality_rule.customer_features_checks": "rerun"}),
    # one e-mail edited: only what reads email has anything to do (nothing downstream does; its checks do)
    ("seed-value-changed", [(("data/customers.csv",), None, None)],
     {"dataset.customers": "non-breaking"},
     {"dataset.customers": "reload", "quality_rule.customers_checks": "rerun"}),
    ("check-added", [(RULES_CF, "    - {type: not_null, column: churned}\n",
                      "    - {type: not_null, column: churned}\n    - {type: not_null, column: segment}\n")],
     {"quality_rule.customer_features_checks": "non-breaking"}, {"quality_rule.customer_features_checks": "rerun"}),
    ("check-expression-changed", [(RULES_SRC, "closed_at is null or closed_at >= opened_at",
                                   "closed_at is null or closed_at > opened_at")],
     {"quality_rule.support_tickets_checks": "non-breaking"}, {"quality_rule.support_tickets_checks": "rerun"}),
    ("feature-added", [(MODEL, "features: [tenure_months,", "features: [customer_id, tenure_months,")],
     {"model.churn": "breaking"}, {"model.churn": "retrain", "deployment.churn_api_dev": "rollout"}),
    ("model-schedule-only", [(MODEL, 'schedule: "0 3 * * 1"', 'schedule: "0 4 * * 1"')],
     {"model.churn": "non-breaking"}, {}),
    ("column-description", [(CA, "description: The customer.", "description: The customer account.")],
     {"dataset.customer_activity": "metadata"}, {}),
    ("warehouse-moved", [("specs/environments.yaml", "path: .specops/dev.duckdb", "path: .specops/dev2.duckdb")],
     {"environment.dev": "non-breaking"},
     {**{f"dataset.{d}": "reload" for d in ("customers", "subscriptions", "support_tickets")},
      **{f"quality_rule.{d}_checks": "rerun" for d in ("customers", "subscriptions", "support_tickets",
                                                          "customer_features", "daily_kpis")},
      **{f"transform.build_{t}": "rebuild" for t in ("customer_activity", "customer_features", "daily_kpis")},
      "model.churn": "retrain", "deployment.churn_api_dev": "rollout"}),
    ("warehouse-threads-only", [("specs/environments.yaml", "path: .specops/dev.duckdb",
                                 "path: .specops/dev.duckdb\n    threads: 2")],
     {"environment.dev": "non-breaking"}, {}),
    # paths are normalised when the IR is built: another spelling of the same file is no change
    ("warehouse-path-written-otherwise", [("specs/environments.yaml", "path: .specops/dev.duckdb",
                                           "path: ./.specops/dev.duckdb")], {}, {}),
]

# every path a spec names, written otherwise (`./`, `//`, trailing `/`): the same files
PATHS_WRITTEN_OTHERWISE = [
    (CU, "path: data/customers.csv", "path: ./data/customers.csv"),
    ("specs/transforms/customer_activity.yaml", "sql_file: sql/customer_activity.sql",
     "sql_file: ./sql//customer_activity.sql"),
    (MODEL, "entrypoint: training/churn.py", "entrypoint: ./training/./churn.py"),
    ("specs/environments.yaml", "path: .specops/dev.duckdb", "path: .specops//dev.duckdb"),
    ("specops.yaml", "specs: [specs]\n  output: build",
     "specs: [./specs/]\n  output: ./build/\n  workflows_dir: .github//workflows/"),
]


def _apply(root: Path, edits: list) -> None:
    ed = RepoEditor(root)
    for rel, old, new in edits:
        if isinstance(rel, tuple) and len(rel) == 3:  # a data file: its last row dropped
            path = root / rel[0]
            path.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[:-1]) + "\n", encoding="utf-8")
        elif isinstance(rel, tuple) and len(rel) == 2:  # a data file: an empty column added at the end
            add_csv_column(root / rel[0], rel[1])
        elif isinstance(rel, tuple):  # a data file: one row's e-mail changed
            path = root / rel[0]
            lines = path.read_text(encoding="utf-8").splitlines()
            lines[1] = lines[1].replace("@", ".changed@", 1)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        else:
            ed.replace(rel, old, new)


def add_csv_column(path: Path, name: str) -> None:
    """A column `name` added at the end of a CSV file, empty in every row (the file is rewritten)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([f"{lines[0]},{name}", *(f"{line}," for line in lines[1:])]) + "\n", encoding="utf-8")


@pytest.mark.parametrize(("edits", "changed", "work"), [pytest.param(*e[1:], id=e[0]) for e in CHURN_EDITS])
def test_churn_edit(churn_base, tmp_path, edits, changed, work):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    _apply(root, edits)
    plan = plan_against(churn_base, build(root))
    assert {c.address: c.category for c in plan.resource_changes} == changed
    assert {i.address: i.work for i in plan.impacts} == work
    text = render_text(plan) + render_markdown(plan) + render_json(plan)
    assert ".changed@" not in text  # PII values never appear in a plan
    if any(c.address.startswith("environment.") for c in plan.resource_changes) and len(work) > 1:
        data = [i for i in plan.impacts if i.work in ("rebuild", "reload")]  # a new warehouse holds no table yet
        assert data and all(i.full_refresh for i in data), [(i.address, i.full_refresh) for i in data]


def test_paths_written_otherwise_compile_the_same_bytes_and_plan_no_change(churn_base, tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    _apply(root, PATHS_WRITTEN_OTHERWISE)
    head = build(root)
    assert {a.key: a.content for a in head[1].artifacts} == {a.key: a.content for a in churn_base[1].artifacts}
    plan = plan_against(churn_base, head)
    assert not plan.has_changes, render_text(plan)
    assert head[0].transforms["build_customer_activity"].sql_file == "sql/customer_activity.sql"


def test_a_decimal_type_written_with_spaces_compiles_the_same_bytes_and_plans_no_change(churn_base, tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    _apply(root, [(CA, "type: decimal(10,2)", 'type: "decimal( 10 , 2 )"'),
                  ("specs/datasets/subscriptions.yaml", "type: decimal(10,2)", 'type: "decimal(10,\\t2)"')])
    head = build(root)
    assert {a.key: a.content for a in head[1].artifacts} == {a.key: a.content for a in churn_base[1].artifacts}
    assert not plan_against(churn_base, head).has_changes
    assert {c.name: c.type for c in head[0].datasets["subscriptions"].columns}["monthly_price"] == "decimal(10,2)"


@pytest.mark.parametrize("rewrite", [
    lambda raw: b"\xef\xbb\xbf" + raw,  # a UTF-8 byte order mark, as some Windows editors save
    lambda raw: raw.replace(b"\n", b"\r\n"),  # a Windows checkout (core.autocrlf)
    lambda raw: b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r"),  # old Mac line endings, and a BOM
], ids=["bom", "crlf", "bom-cr"])
def test_a_sql_file_is_read_as_text_like_a_spec_file(churn_base, tmp_path, rewrite):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    (root / SQL_CA).write_bytes(rewrite((root / SQL_CA).read_bytes()))
    project, diags = check_repository(root)
    assert project is not None and [d.code for d in diags] == [], diags  # no sql-unparsed warning
    head = (project, compile_project(project))
    assert {a.key: a.content for a in head[1].artifacts} == {a.key: a.content for a in churn_base[1].artifacts}
    assert not plan_against(churn_base, head).has_changes
    assert project.fingerprints[TA] == churn_base[0].fingerprints[TA]  # the file's digest is the text's


@pytest.mark.parametrize("rewrite", [
    lambda raw: raw.replace(b"\n", b"\r\n"),  # a Windows checkout (core.autocrlf)
    lambda raw: raw.replace(b"\n", b"\r\n", 700),  # half edited on Windows: CRLF and LF lines mixed
    lambda raw: raw.replace(b"\n", b"\r"),  # old Mac line endings
    lambda raw: b"\xef\xbb\xbf" + raw,  # a UTF-8 byte order mark, as Excel saves "CSV UTF-8"
    lambda raw: b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n"),
], ids=["crlf", "mixed", "cr", "bom", "bom-crlf"])
def test_a_seed_is_read_with_lf_line_endings(churn_base, tmp_path, rewrite):
    """Line endings and a byte order mark are no data: a CSV checked out with CRLF, or saved with a BOM, compiles
    the same seed, plans no change, and a file mixing CRLF and LF lines (which DuckDB's CSV reader refuses: dbt
    seed failed) loads."""
    import duckdb

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    raw = (root / "data/customers.csv").read_bytes()
    (root / "data/customers.csv").write_bytes(rewrite(raw))
    project, diags = check_repository(root)
    assert project is not None and [d.code for d in diags] == [], diags
    head = (project, compile_project(project))
    assert {a.key: a.content for a in head[1].artifacts} == {a.key: a.content for a in churn_base[1].artifacts}
    assert not plan_against(churn_base, head).has_changes
    seed = next(a.content for a in head[1].artifacts if a.key.endswith("seeds/customers.csv"))
    (tmp_path / "seed.csv").write_bytes(seed)
    loaded = duckdb.sql(f"select count(*) from read_csv_auto('{tmp_path / 'seed.csv'}')").fetchall()
    assert loaded == [(raw.count(b"\n") - 1,)]


def test_an_ordinal_stands_for_its_plain_select_expression_only():
    from compiler.front.sql.canonical import query_shape

    schema = {"x": ("w", "t")}
    sql = ("select coalesce(w, 'u') as ward, cast(t as date) as day, count(*) as n from {{{{ input('x') }}}} "
           "group by {} order by {}")
    shape = query_shape(sql.format("1, 2", "3 desc"), "duckdb", schema)
    assert shape == query_shape(sql.format("coalesce(w, 'u'), cast(t as date)", "3 desc"), "duckdb", schema)
    assert shape != query_shape(sql.format("coalesce(w, 'v'), cast(t as date)", "3 desc"), "duckdb", schema)


def test_a_line_ending_inside_a_quoted_csv_field_is_data_and_kept():
    from compiler.spec.csvfile import lf_line_endings

    raw = b'id,note\r\n1,"two\r\nlines"\r\n2,"say ""hi"""\r\n3,x\r'
    assert lf_line_endings(raw) == b'id,note\n1,"two\r\nlines"\n2,"say ""hi"""\n3,x\n'
    assert lf_line_endings(b"id\n1\n") == b"id\n1\n"


def test_a_subquery_alias_renamed_with_its_uses_is_the_same_query(tmp_path):
    subquery = [(T_CF, "inner join {{ input('customer_activity') }} as a",
                 "inner join (select * from {{ input('customer_activity') }} where support_tickets >= 0) as a")]
    base = copy_repository(EXAMPLE_ROOT, tmp_path / "base")
    _apply(base, subquery)
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    _apply(root, [*subquery, *A_TO_ACT])
    assert ") as act\n" in (root / T_CF).read_text(encoding="utf-8")
    plan = plan_against(build(base), build(root))
    assert {c.address: c.category for c in plan.resource_changes} == {TF: "metadata"}
    assert not plan.impacts
    sql = next(a for c in plan.resource_changes for a in c.changes if a.path == "spec.sql")
    assert sql.reason.startswith("aliases renamed")
    # the subquery's filter changed as well: a change of its rows, under any alias
    _apply(root, [(T_CF, "support_tickets >= 0", "support_tickets > 0")])
    assert {c.address: c.category for c in plan_against(build(base), build(root)).resource_changes} == {TF: "breaking"}


def test_impact_paths_name_the_columns(churn_base, tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    _apply(root, [(SQL_CA, "avg(monthly_price) as avg_monthly_price", "max(monthly_price) as avg_monthly_price")])
    plan = plan_against(churn_base, build(root))
    retrain = next(i for i in plan.impacts if i.address == "model.churn")
    assert retrain.steps() == ["transform.build_customer_activity (→ avg_monthly_price)",
                               "dataset.customer_activity.avg_monthly_price",
                               "transform.build_customer_features (→ monthly_spend)",
                               "dataset.customer_features.monthly_spend", "model.churn (feature monthly_spend)"]
    sql = next(a for c in plan.resource_changes for a in c.changes if a.path == "spec.sql")
    assert sql.detail == {"kind": "columns", "rows_change": False, "added": [], "removed": [],
                          "changed": ["avg_monthly_price"], "clauses": []}
    data = json.loads(render_json(plan))
    assert data["lineage"]["build_customer_activity"]["columns"]["avg_monthly_price"] == [
        "subscriptions.monthly_price"]
    item = next(i for i in data["impact"]["items"] if i["address"] == "model.churn")
    assert item["steps"][-1] == "model.churn (feature monthly_spend)"


def test_a_change_the_analysis_does_not_follow_plans_as_breaking_and_its_json_validates(churn_base, tmp_path):
    """A DuckDB sample added to a transform's source changes which rows come out though no column or row
    fingerprint shows it: the whole queries differ, so the change is breaking and its readers rebuild."""
    import jsonschema

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).replace(SQL_CA, "from {{ input('subscriptions') }}",
                             "from {{ input('subscriptions') }} using sample 50 percent (bernoulli, 7)")
    plan = plan_against(churn_base, build(root))
    sql = next(a for c in plan.resource_changes for a in c.changes if a.path == "spec.sql")
    assert sql.category == "breaking" and sql.detail["kind"] == "unfollowed", (sql.category, sql.reason)
    assert "transform.build_customer_features" in {i.address for i in plan.impacts}
    schema = json.loads((Path(__file__).resolve().parents[1] / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(json.loads(render_json(plan)), schema)


def test_markdown_leads_with_decisions_and_lists_elements(churn_base, tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    _apply(root, [(MODEL, "features: [tenure_months,", "features: [customer_id, tenure_months,")])
    plan = plan_against(churn_base, build(root), env="prod")
    text = render_markdown(plan)
    decisions = text.split("\n#### ")[0]  # a training edit changes no generated file (image tags follow code only)
    assert "**Approval required** in `prod`" in decisions
    assert "spec.training.features: + customer_id" in decisions
    assert "**retrain** `model.churn`" in decisions and "**rollout** `deployment.churn_api`" in decisions
    assert '["customer_id", "tenure_months"' not in text  # no JSON list dumps for a list change
    assert text.count("spec.training.features: + customer_id") == 1  # nothing is shown twice
    assert text.count("`model.churn`") == 1


def test_seed_diff_of_a_pii_or_restricted_dataset_shows_counts_only(churn_base, tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    _apply(root, [(("data/customers.csv",), None, None)])
    plan = plan_against(churn_base, build(root))
    seed = next(a for a in plan.artifact_changes if a.key.endswith("seeds/customers.csv"))
    assert seed.redacted and "1 line(s) added, 1 removed" in seed.diff and "@" not in seed.diff
    # a restricted dataset without PII columns is redacted too
    root2 = copy_repository(EXAMPLE_ROOT, tmp_path / "churn2")
    ed = RepoEditor(root2)
    ed.replace("specs/datasets/subscriptions.yaml", "classification: internal", "classification: restricted")
    base2 = build(copy_repository(root2, tmp_path / "base2"))
    path = root2 / "data/subscriptions.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("basic", "premium", 1) if "basic" in lines[1] else lines[1] + "0"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seed2 = next(a for a in plan_against(base2, build(root2)).artifact_changes if a.key.endswith("subscriptions.csv"))
    assert seed2.redacted and "is restricted" in seed2.diff


def test_pii_follows_lineage_into_features(tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.replace(T_CF, "cast(c.segment as varchar) as segment,",
               "cast(c.segment as varchar) as segment,\n        length(c.email) as email_length,")
    ed.replace(CF, "  primary_key: [customer_id]", "    - {name: email_length, type: bigint}\n"
                                                   "  primary_key: [customer_id]")
    ed.replace(MODEL, "features: [tenure_months,", "features: [email_length, tenure_months,")
    project, diags = check_repository(root)
    assert project is None
    found = [d for d in diags if d.code == "pii-feature"]
    assert found and "derived from customers.email" in found[0].message
    ed.replace(CF, "{name: email_length, type: bigint}", "{name: email_length, type: bigint, masked: true}")
    project, diags = check_repository(root)
    assert project is not None, [str(d.message) for d in diags]
    assert not project.lineage.is_pii("customer_features", "email_length")


def test_validate_points_into_the_sql(tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.replace(SQL_CA, "avg(satisfaction_score) as avg_satisfaction", "avg(satisfation_score) as avg_satisfaction")
    ed.replace(T_CF, "as segment,", "as segmnt,")
    ed.replace(RULES_CF, "monthly_spend > 0", "monthly_spnd > 0")
    ed.replace(SQL_CA, "cast(s.active_subscriptions as integer)", "cast(x.active_subscriptions as integer)")
    _, diags = check_repository(root)
    got = {(d.code, d.file, d.line, d.col) for d in diags}
    sql_lines = (root / SQL_CA).read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(sql_lines, 1) if "satisfation_score" in text)
    assert ("unknown-sql-column", SQL_CA, line, sql_lines[line - 1].index("satisfation_score") + 1) in got
    line = next(n for n, text in enumerate(sql_lines, 1) if "x.active_subscriptions" in text)
    assert ("unknown-sql-column", SQL_CA, line, sql_lines[line - 1].index("x.active") + 1) in got
    (alias,) = [d for d in diags if "x.active_subscriptions" in d.message]
    assert "'x' in 'x.active_subscriptions' is not a table or alias" in alias.message and "s, " in (alias.hint or "")
    yaml_lines = (root / T_CF).read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(yaml_lines, 1) if "as segmnt" in text)
    assert ("sql-undeclared-column", T_CF, line, yaml_lines[line - 1].index("segmnt") + 1) in got
    (typo,) = [d for d in diags if d.code == "sql-undeclared-column"]
    assert typo.hint == "did you mean 'segment'?"  # a declared column the SQL no longer produces
    assert any(c == "sql-missing-column" for c, *_ in got)
    assert any(c == "unknown-column" and f == RULES_CF for c, f, *_ in got)


def test_every_stray_template_of_a_sql_file_is_reported_in_one_run(tmp_path):
    """Three Jinja constructs (a ref, a config in a comment, a var) are three errors, each at its place: not one
    per run, three rounds of fixing."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.replace(SQL_CA, "with ", "-- {{ config(materialized='table') }}\nwith ", 1)
    ed.replace(SQL_CA, "group by customer_id\n", "group by customer_id {% if true %}{% endif %}\n", 1)
    ed.replace(SQL_CA, "from {{ input('support_tickets') }}", "from {{ input('support_tickets') }} -- {{ var('x') }}")
    _, diags = check_repository(root)
    found = [d for d in diags if d.code == "sql-template"]
    lines = (root / SQL_CA).read_text(encoding="utf-8").splitlines()
    shown = sorted(lines[d.line - 1][d.col - 1:d.col + 6] for d in found)
    assert shown == sorted(["{{ conf", "{% if t", "{% endi", "{{ var("]), shown


def test_an_extra_sql_column_is_not_taken_for_a_typo_of_one_the_sql_produces(tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).replace(T_CF, "as segment,", "as segment, c.segment as segments,")
    _, diags = check_repository(root)
    (extra,) = [d for d in diags if d.code == "sql-undeclared-column"]
    assert "'segments'" in extra.message and "did you mean" not in (extra.hint or ""), extra.hint
    assert extra.hint == "declare it in dataset.customer_features's columns, or remove it from the SQL"


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
def test_validate_reads_a_select_list_alias_later_in_the_select_list_where_the_dialect_does(tmp_path, warehouse):
    """DuckDB reads `subscription_total` in the projection after the one that names it; Postgres does not, and the
    hint says why."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    if warehouse == "postgres":
        ed.replace("specs/environments.yaml", "    type: duckdb\n    path: .specops/dev.duckdb",
                   "    type: postgres\n    host: localhost\n    database: dev\n    user: dev")
    ed.replace(SQL_CA, "cast(s.subscription_count as integer) as subscription_count,",
               "s.subscription_count as subscription_total,\n    cast(subscription_total as integer) as subscription_count,")
    _, diags = check_repository(root)
    unknown = [d for d in diags if d.code == "unknown-sql-column" and d.file == SQL_CA]
    if warehouse == "duckdb":
        assert not unknown
        return
    (d,) = unknown
    assert "'subscription_total' is a select-list alias: Postgres reads those in GROUP BY and ORDER BY" in d.hint


# --- the benchmark's synthetic repositories ---------------------------------------------------------


def _generator():
    spec = importlib.util.spec_from_file_location("bench_generate", REPO_ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_generate", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("gen") / "repo"
    _generator().generate(300, root, seed=5)
    return root, build(root)


def _edit_synthetic(root: Path, kind: str, project: SpecProject) -> tuple[str, str, set[str] | None]:
    """Make one edit of `kind`; (changed address, expected category, addresses that must or must not work)."""
    lineage = project.lineage
    if kind == "comment":
        t = next(t for t in project.transforms.values() if t.sql_file is None)
        path = root / t.loc.file
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("    select\n", "    -- a comment\n    select\n", 1)
                        if "    select\n" in text else text.replace("select\n", "select -- note\n", 1),
                        encoding="utf-8")
        return t.address, "metadata", set()
    if kind == "unread-source-column":
        for ds in project.external_datasets():
            unread = [c for c in ds.columns if not lineage.readers(ds.name, c.name) and c.name not in ds.primary_key
                      and (ds.freshness is None or ds.freshness.column != c.name)]
            if unread:
                col = unread[0]
                path = root / ds.loc.file
                text = path.read_text(encoding="utf-8")
                start = text.index(f"  - name: {col.name}\n")
                end = text.find("  - name: ", start + 5)
                end = text.index("  primary_key", start) if end < 0 else end
                path.write_text(text[:start] + text[end:], encoding="utf-8")
                return ds.address, "breaking", {ds.address}
        pytest.skip("no unread column")
    if kind == "new-filter":
        t = next(t for t in project.transforms.values() if " where " not in t.sql and "group by" not in t.sql
                 and t.sql_file is None)
        path = root / t.loc.file
        text = path.read_text(encoding="utf-8")
        alias_line = next(line for line in text.splitlines() if line.strip().startswith("from "))
        path.write_text(text.replace(alias_line, alias_line + "\n    where s0.updated_at is not null", 1),
                        encoding="utf-8")
        return t.address, "breaking", None
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["comment", "unread-source-column", "new-filter"])
def test_synthetic_edit(synthetic, tmp_path, kind):
    root0, base = synthetic
    root = copy_repository(root0, tmp_path / "repo")
    address, category, only = _edit_synthetic(root, kind, base[0])
    head = build(root)
    plan = plan_against(base, head, env=None)
    assert {c.address: c.category for c in plan.resource_changes}[address] == category
    worked = {i.address for i in plan.impacts}
    if only is not None:
        assert worked == only
    else:  # a row change reaches everything downstream of the transform's output that reads it
        t = head[0].transforms[address.split(".", 1)[1]]
        assert address in worked
        readers = {c for c in head[0].graph.children(f"dataset.{t.output}")}
        assert readers <= worked


def test_values_of_pii_columns_are_counted_not_listed(churn_base, tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.replace(CU, "      description: First and last name as entered at signup.\n",
               "      description: First and last name as entered at signup.\n"
               "      accepted_values: [Ada Lovelace, Alan Turing]\n")
    ed.replace(RULES_SRC, "    - {type: accepted_values, column: country, values: [US, GB, DE, FR, CA]}\n",
               "    - {type: accepted_values, column: country, values: [US, GB, DE, FR, CA]}\n"
               "    - {type: accepted_values, column: email, values: [grace@hopper.example]}\n")
    plan = plan_against(churn_base, build(root))
    text = render_text(plan) + render_markdown(plan) + render_json(plan)
    assert "Ada Lovelace" not in text and "grace@hopper.example" not in text
    assert "(2 values, not shown)" in text and "(1 values, not shown)" in text
    assert "[US, GB, DE, FR, CA]" not in text or "US" in text  # other columns' values are shown as usual


def test_the_lineage_files_diff_is_shown_though_some_datasets_have_pii(churn_base, tmp_path):
    """A lineage file describes every dataset (customers has PII) but holds no values: its diff is shown."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).replace("specs/datasets/daily_kpis.yaml", "description: The calendar day.",
                             "description: The calendar day (UTC).")
    head = build(root)
    plan = plan_against(churn_base, head)
    lineage = next(a for a in plan.artifact_changes if a.key == "lineage/dev.jsonl")
    assert not lineage.redacted and "The calendar day (UTC)." in lineage.diff, lineage.diff
    from compiler.plan.redact import sensitive

    project = head[0]
    owners = ("environment.dev", "dataset.customers")  # a PII dataset first among the file's datasets
    assert sensitive(project, owners, key="lineage/dev.jsonl") is None
    assert "dataset.customers has PII columns" in sensitive(project, owners, key="dbt/seeds/customers.csv")


def test_what_checks_on_pii_columns_spell_out_is_never_printed(churn_base, tmp_path):
    """A check on a PII column shows no pattern, expression, bound or value; nor does the diff of the
    expectation file of a rule that also checks a relationship to a dataset without PII (named first)."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.replace(RULES_SRC, "pattern: '^[a-z0-9._-]+@[a-z0-9-]+(\\.[a-z0-9-]+)+$'", "pattern: '^leakypattern[a-z]+$'")
    ed.replace(RULES_SRC, "    - {type: accepted_values, column: country, values: [US, GB, DE, FR, CA]}\n",
               "    - {type: accepted_values, column: country, values: [US, GB, DE, FR, CA]}\n"
               "    - {type: accepted_values, column: email, values: [grace@hopper.example]}\n"
               "    - {type: expression, expression: \"email <> 'leaky@example.com'\"}\n"
               "    - {type: relationship, column: customer_id, to: customer_activity.customer_id}\n")
    plan = plan_against(churn_base, build(root))
    text = render_text(plan) + render_markdown(plan) + render_json(plan)
    for secret in ("leakypattern", "leaky@example.com", "grace@hopper"):
        assert secret not in text
    assert "(not shown)" in text and "(1 values, not shown)" in text and "sha256 " not in text.split("Generated")[0]
    gx = next(a for a in plan.artifact_changes if a.key.startswith("gx/") and "customers_checks" in a.key)
    assert gx.owner == "quality_rule.customers_checks" and gx.redacted  # the owner the change touched


def test_a_check_without_a_name_changed_is_one_change_not_a_removal_and_an_addition(churn_base, tmp_path):
    """Its default name ends with a hash of its content: the edit is still shown as the values that changed."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).replace(RULES_SRC, "values: [US, GB, DE, FR, CA]", "values: [US, GB, DE, FR, CA, ES]")
    change = next(c for c in plan_against(churn_base, build(root)).resource_changes
                  if c.address == "quality_rule.customers_checks")
    assert [(a.path.split("].", 1)[1], a.before, a.after) for a in change.changes] == [
        ("values", ["US", "GB", "DE", "FR", "CA"], ["US", "GB", "DE", "FR", "CA", "ES"])]
    assert change.changes[0].path.startswith("spec.checks[accepted_values_customers_country_")


def test_a_seed_column_retyped_reloads_the_seed_from_scratch(churn_base, tmp_path):
    """dbt seed truncates a seed's table and keeps its column types: a retype takes --full-refresh."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).replace(CU, "    - name: marketing_opt_in\n      type: boolean",
                             "    - name: marketing_opt_in\n      type: string")
    seed = next(i for i in plan_against(churn_base, build(root)).impacts if i.address == "dataset.customers")
    assert (seed.work, seed.full_refresh) == ("reload", True)
    assert any("its columns changed" in n for n in seed.notes)


def test_a_seed_column_added_with_its_data_reloads_the_seed_from_scratch(churn_base, tmp_path):
    """The CSV gains a column (and the spec declares it): an existing seed table has no such column."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    lines = ed.read("data/customers.csv").splitlines()
    ed.write("data/customers.csv", "\n".join([lines[0] + ",tier", *(line + ",gold" for line in lines[1:])]) + "\n")
    ed.replace(CU, "  primary_key: [customer_id]", "    - {name: tier, type: string}\n  primary_key: [customer_id]")
    seed = next(i for i in plan_against(churn_base, build(root)).impacts if i.address == "dataset.customers")
    assert (seed.work, seed.full_refresh) == ("reload", True)


def test_values_stay_hidden_when_the_pii_dataset_goes_or_stops_being_pii(tmp_path):
    """Secrecy is decided on both sides: a restricted dataset removed with its checks, or a column that loses
    `pii: true` in the same edit as its values change, shows none of the values that were secret."""
    base_root = copy_repository(EXAMPLE_ROOT, tmp_path / "base")
    ed = RepoEditor(base_root)
    ed.replace(RULES_SRC, "    - {type: accepted_values, column: country, values: [US, GB, DE, FR, CA]}\n",
               "    - {type: accepted_values, column: country, values: [US, GB, DE, FR, CA]}\n"
               "    - {type: regex, column: full_name, pattern: '^secretpattern'}\n")
    base = build(base_root)
    gone = copy_repository(base_root, tmp_path / "gone")  # the secret check goes, with its column's PII flag
    edg = RepoEditor(gone)
    edg.replace(RULES_SRC, "    - {type: regex, column: full_name, pattern: '^secretpattern'}\n", "")
    edg.replace(CU, "      description: First and last name as entered at signup.\n      pii: true\n",
                "      description: First and last name as entered at signup.\n")
    for head in (build(gone),):
        plan = plan_against(base, head)
        text = render_text(plan) + render_markdown(plan) + render_json(plan)
        assert "secretpattern" not in text


def test_the_pr_comment_names_every_change_of_a_resource_with_a_breaking_one(churn_base, tmp_path):
    """A breaking resource is listed under the decision, not in the table: its other changes are named there;
    SQL diffs are unindented in their diff block (else GitHub does not colour them)."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.replace(MODEL, "support_tickets, avg_satisfaction]", "support_tickets]")
    ed.replace(MODEL, "params: {C: 1.0, max_iter: 500}", "params: {C: 0.5, max_iter: 500}")
    ed.replace(MODEL, "description: Probability that a customer", "description: The probability that a customer")
    ed.replace(SQL_CA, "cast(t.avg_satisfaction as double precision)", "round(cast(t.avg_satisfaction as float8), 2)")
    md = render_markdown(plan_against(churn_base, build(root)))
    decision = next(line for line in md.splitlines() if "model.churn` update" in line)
    assert "- avg_satisfaction" in decision and "0.5 (non-breaking)" in decision and "(metadata)" in decision
    assert "| `~` | `model.churn` |" not in md  # not twice
    block = md.split("```diff", 1)[1].split("```", 1)[0]
    assert "\n-    cast(t.avg_satisfaction as double precision)" in block
    assert "\n+    round(cast(t.avg_satisfaction as float8), 2)" in block


def _committed_churn(tmp_path: Path):
    """A copy of examples/churn committed on `main`, and a function running git in it."""
    import subprocess

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false",
                        *args], cwd=root, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "base")
    return root, git


def test_a_git_baseline_from_linked_files_equals_a_checkout(tmp_path, monkeypatch):
    """The base of a PR plan is made from git's objects where files differ and links elsewhere; it is the
    same as a checkout of the revision, whatever the working tree holds (edits, deletions, new files)."""
    import compiler.plan.baseline as baseline_module
    from compiler.plan.baseline import from_git

    root, _ = _committed_churn(tmp_path)
    ed = RepoEditor(root)
    ed.replace(SQL_CA, "min(started_at) as first_started_on", "max(started_at) as first_started_on")  # tracked edit
    (root / "specs/quality/daily_kpis.yaml").unlink()  # a deletion
    (root / "specs/extra.yaml").write_text((root / CU).read_text().replace("name: customers", "name: customers2"))
    linked = from_git(root, "main", "dev")
    monkeypatch.setattr(baseline_module, "materialize", lambda *a: False)
    checked_out = from_git(root, "main", "dev")
    assert dict(linked.digests) == dict(checked_out.digests)
    assert {a: linked.resources[a] for a in linked.resources} == {a: checked_out.resources[a]
                                                                  for a in checked_out.resources}
    assert "quality_rule.daily_kpis_checks" in linked.resources and "dataset.customers2" not in linked.resources
    sql = linked.resources["transform.build_customer_activity"]["spec"]["sql"]
    assert "min(started_at) as first_started_on" in sql  # the committed text, not the working tree's
    assert not [p for p in (root / ".git").iterdir() if p.name.startswith("specops-baseline-")]  # cleaned up


@pytest.mark.parametrize("setup", ["skip-worktree", "assume-unchanged", "autocrlf"])
def test_a_git_baseline_is_exact_where_git_diff_would_not_say_so(tmp_path, setup):
    """A file git is told not to look at, or a checkout that converts line endings: the base is what a checkout of
    the revision holds (linking the working tree's file showed no change, or CRLF-only differences)."""
    from compiler.plan.baseline import from_git

    root, git = _committed_churn(tmp_path)
    if setup == "autocrlf":
        git("config", "core.autocrlf", "true")
        for path in root.joinpath("sql").iterdir():  # as a checkout with autocrlf writes them
            path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
        RepoEditor(root).replace(SQL_CA, "min(started_at) as first_started_on", "max(started_at) as first_started_on")
        base = from_git(root, "main", "dev")
        sql = base.resources["transform.build_customer_activity"]["spec"]["sql"]
        assert "min(started_at)" in sql and "\r" not in sql  # a checkout of main's text, read as LF lines
        return
    git("update-index", f"--{setup}", MODEL)
    RepoEditor(root).replace(MODEL, "description: Probability that", "description: The probability that")
    base = from_git(root, "main", "dev")
    assert base.resources["model.churn"]["metadata"]["description"].startswith("Probability that")


@pytest.mark.parametrize("linked", [True, False])
def test_a_git_baseline_reads_the_specs_of_a_submodule_at_the_commit_the_revision_records(tmp_path, monkeypatch,
                                                                                          linked):
    """The working tree reads a checked-out submodule's specs, so the base must read them too (at the submodule
    commit the base revision records), or every one of them shows as created in every PR plan."""
    import shutil
    import subprocess

    import compiler.plan.baseline as baseline_module
    from compiler.plan.baseline import BaselineError, from_git

    root, git = _committed_churn(tmp_path)
    sub = tmp_path / "models-repo"
    shutil.move(root / "specs/models", sub)
    if not linked:  # attributes: the submodule is written through a checkout (its export-ignore is no concern)
        (sub / ".gitattributes").write_text("churn.yaml export-ignore\n", encoding="utf-8")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "models"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args], cwd=sub, check=True,
                       capture_output=True)
    git("rm", "-rq", "--cached", "specs/models")
    git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "specs/models")
    git("commit", "-qm", "models as a submodule")
    if not linked:
        monkeypatch.setattr(baseline_module, "materialize", lambda *a: False)
    RepoEditor(root).replace(MODEL, "description: Probability that", "description: The probability that")
    base = from_git(root, "main", "dev")
    assert base.resources["model.churn"]["metadata"]["description"].startswith("Probability that")
    # the submodule moved on and main records it; the base revision's commit is what is read
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qam", "edit"],
                   cwd=root / "specs/models", check=True, capture_output=True)
    git("commit", "-qam", "bump the submodule")
    assert from_git(root, "main~1", "dev").resources["model.churn"]["metadata"]["description"].startswith(
        "Probability that")
    assert from_git(root, "main", "dev").resources["model.churn"]["metadata"]["description"].startswith(
        "The probability that")
    # a recorded commit the submodule's repository does not have is an error that says what to fetch
    subprocess.run(["git", "reset", "-q", "--hard", "HEAD~1"], cwd=root / "specs/models", check=True)
    subprocess.run(["git", "reflog", "expire", "--expire=now", "--all"], cwd=root / "specs/models", check=True)
    subprocess.run(["git", "gc", "-q", "--prune=now"], cwd=root / "specs/models", check=True)
    with pytest.raises(BaselineError, match=r"submodule 'specs/models'.*git submodule update"):
        from_git(root, "main", "dev")
    assert not [p for p in (root / ".git").iterdir() if p.name.startswith("specops-baseline-")]


def test_plan_text_and_markdown_print_unicode_as_written(churn_base, tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).replace(MODEL, "description: Probability that a customer", "description: Kündigungsrisiko – ü")
    plan = plan_against(churn_base, build(root))
    for text in (render_text(plan), render_markdown(plan)):
        assert "Kündigungsrisiko – ü" in text and "\\u00fc" not in text


def test_a_base_left_by_a_killed_plan_is_swept_by_the_next(tmp_path):
    import subprocess

    from compiler.plan.baseline import from_git

    root, _ = _committed_churn(tmp_path)
    proc = subprocess.Popen(["true"])
    proc.wait()
    left = root / ".git" / f"specops-baseline-{proc.pid}-abc"
    (left / "tree" / "specs").mkdir(parents=True)
    from_git(root, "main", "dev")
    assert not left.exists()
    assert not [p for p in (root / ".git").iterdir() if p.name.startswith("specops-baseline-")]


def test_a_seed_whose_header_changes_reloads_from_scratch_and_its_readers_only_when_values_change(churn_base,
                                                                                                  tmp_path):
    """dbt seed keeps an existing table's columns: a file with another header (even a column nobody declares) must
    be reloaded with --full-refresh; its readers' rows are the same unless a shared column's values changed."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    add_csv_column(root / "data/customers.csv", "region")  # undeclared: a warning, loaded all the same
    plan = plan_against(churn_base, build(root))
    (reload,) = plan.impacts
    assert (reload.address, reload.work, reload.full_refresh) == ("dataset.customers", "reload", True)
    (content,) = [a for c in plan.resource_changes for a in c.changes if a.path.startswith("spec.source.content.sha")]
    assert content.detail == {"header_changed": True, "columns_only": True}
    _apply(root, [(("data/customers.csv",), None, None)])  # and one row's e-mail changed: its readers rebuild
    assert "quality_rule.customers_checks" in {i.address for i in plan_against(churn_base, build(root)).impacts}


def test_graph_columns_answers_what_reads_a_column():
    from click.testing import CliRunner

    from compiler.cli.main import main

    runner = CliRunner()
    text = runner.invoke(main, ["graph", str(EXAMPLE_ROOT), "--columns", "-s", "subscriptions.status+"])
    assert text.exit_code == 0, text.output
    assert "-> customer_activity.active_subscriptions  by transform.build_customer_activity" in text.output
    assert "-> model.churn (target)  (reads customer_features.churned)" in text.output
    data = json.loads(runner.invoke(main, ["graph", str(EXAMPLE_ROOT), "--columns", "-f", "json",
                                           "-s", "+customer_features.tenure_months"]).output)
    sources = {u["from"] for u in data["columns"][0]["upstream"]}
    assert {"customers.signup_date", "customer_activity.updated_at", "subscriptions.updated_at"} <= sources
    every = runner.invoke(main, ["graph", str(EXAMPLE_ROOT), "--columns"]).output
    assert "monthly_spend <- customer_activity.avg_monthly_price" in every
    assert "rows <- customer_activity.customer_id (join), customers.customer_id (join)" in every
    graph = json.loads(runner.invoke(main, ["graph", str(EXAMPLE_ROOT), "-f", "json"]).output)
    node = next(n for n in graph["nodes"] if n["address"] == "dataset.customer_features")
    assert {"name": "monthly_spend", "type": "double", "pii": False,
            "sources": ["customer_activity.avg_monthly_price"]} in node["columns"]
    bad = runner.invoke(main, ["graph", str(EXAMPLE_ROOT), "--columns", "-f", "dot"])
    assert bad.exit_code == 2


def test_select_star_makes_an_added_column_breaking_for_its_consumer(tmp_path):
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.append_docs("specs/datasets/customers.yaml", {
        "apiVersion": "specops/v1", "kind": "Dataset", "metadata": {"name": "tickets_copy", "owner": "@a/b"},
        "spec": {"columns": [{"name": n, "type": t} for n, t in (
            ("ticket_id", "integer"), ("customer_id", "integer"), ("opened_at", "timestamp"),
            ("closed_at", "timestamp"), ("priority", "string"), ("category", "string"),
            ("satisfaction_score", "integer"))]}}, {
        "apiVersion": "specops/v1", "kind": "Transform", "metadata": {"name": "copy_tickets", "owner": "@a/b"},
        "spec": {"inputs": ["support_tickets"], "output": "tickets_copy",
                 "sql": "select * from {{ input('support_tickets') }}"}})
    base = build(copy_repository(root, tmp_path / "base"))
    ed.replace("specs/datasets/support_tickets.yaml", "  primary_key: [ticket_id]",
               "    - {name: channel, type: string}\n  primary_key: [ticket_id]")
    add_csv_column(root / "data/support_tickets.csv", "channel")
    _, diags = check_repository(root)
    assert any(d.code == "sql-undeclared-column" and "channel" in d.message for d in diags)  # validate says so
    ed.replace("specs/datasets/customers.yaml", "  - name: satisfaction_score\n    type: integer\n",
               "  - name: satisfaction_score\n    type: integer\n  - name: channel\n    type: string\n")
    plan = plan_against(base, build(root))
    # the select * consumer rebuilds (its output's contract gained the column too); a transform that names its
    # columns does not
    assert {i.address: i.work for i in plan.impacts if i.address.startswith("transform.")} == {
        "transform.copy_tickets": "rebuild"}


DEV_DUCKDB = "    type: duckdb\n    path: .specops/dev.duckdb\n"
WAREHOUSES = {"duckdb": DEV_DUCKDB,
              "postgres": "    type: postgres\n    host: localhost\n    database: analytics\n    user: dev\n",
              "bigquery": "    type: bigquery\n    project: acme\n    dataset: churn\n"}
WHOLE_ROWS = {"duckdb": "select c.customer_id, to_json(c) as profile from {{ input('customers') }} as c",
              "postgres": "select c.customer_id, row_to_json(c) as profile from {{ input('customers') }} c",
              "bigquery": "select customer_id, to_json_string(customers) as profile from {{ input('customers') }}"}


def add_profiles(ed: RepoEditor, sql: str) -> None:
    """dataset.customer_profiles, each customer's row as JSON (`profile`), made by transform.build_profiles."""
    ed.append_docs("specs/datasets/customers.yaml", (
        "apiVersion: specops/v1\nkind: Dataset\nmetadata: {name: customer_profiles, owner: '@a/b'}\nspec:\n"
        "  columns:\n    - {name: customer_id, type: integer}\n    - {name: profile, type: string}\n"), (
        "apiVersion: specops/v1\nkind: Transform\nmetadata: {name: build_profiles, owner: '@a/b'}\nspec:\n"
        f"  inputs: [customers]\n  output: customer_profiles\n  sql: |\n    {sql}\n"))


@pytest.mark.parametrize("dialect", sorted(WHOLE_ROWS))
def test_a_whole_row_validates_and_carries_the_pii_of_every_column(tmp_path, dialect):
    """`row_to_json(c)` in the dev warehouse's dialect is c's whole row, not an unknown column `c`: it derives from
    every column of customers, so it is PII (email, full_name) unless masked."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    if dialect != "duckdb":
        ed.replace("specs/environments.yaml", DEV_DUCKDB, WAREHOUSES[dialect])
    add_profiles(ed, WHOLE_ROWS[dialect])
    project, diags = check_repository(root)
    assert project is not None, [f"{d.code}: {d.message}" for d in diags if d.severity == "error"]
    assert project.lineage.dialect == dialect
    customers = project.datasets["customers"].column_names
    assert set(project.lineage.sources_of("customer_profiles", "profile")) == {("customers", c) for c in customers}
    assert project.lineage.pii_origin("customer_profiles", "profile") == (("customers", "email"),
                                                                          ("customers", "full_name"))
    from compiler.cli.graph_columns import column_report, render_columns_text

    graph = render_columns_text(column_report(project, {"transform.build_profiles"}, []))
    assert "    profile holds whole rows of: customers\n" in graph  # specops graph --columns
    ed.replace("specs/datasets/customers.yaml", "{name: profile, type: string}",
               "{name: profile, type: string, masked: true}")
    project, _ = check_repository(root)
    assert project is not None and not project.lineage.is_pii("customer_profiles", "profile")
    typo = WHOLE_ROWS[dialect].replace("(c)", "(cc)").replace("(customers)", "(customer)")
    ed.replace("specs/datasets/customers.yaml", WHOLE_ROWS[dialect], typo)
    _, diags = check_repository(root)
    assert [d.message for d in diags if d.code == "unknown-sql-column"] == [
        f"column '{'customer' if dialect == 'bigquery' else 'cc'}' is not a column of any input"]


def test_a_whole_row_reader_rebuilds_when_its_input_gains_a_column(tmp_path):
    """Like `select *`, `to_json(c)` reads every column, the new one too: the consumer rebuilds (its column's
    values change, its declared columns do not), while a transform that names its columns does not."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    add_profiles(RepoEditor(root), WHOLE_ROWS["duckdb"])
    base = build(copy_repository(root, tmp_path / "base"))
    ed = RepoEditor(root)
    ed.replace(CU, "  primary_key: [customer_id]", "    - {name: tier, type: string}\n  primary_key: [customer_id]")
    add_csv_column(root / "data/customers.csv", "tier")
    plan = plan_against(base, build(root))
    rebuilt = {i.address: i for i in plan.impacts if i.address.startswith("transform.")}
    assert set(rebuilt) == {"transform.build_profiles"} and rebuilt["transform.build_profiles"].work == "rebuild"
    assert "(whole row → profile)" in rebuilt["transform.build_profiles"].via


def test_new_source_datasets_are_loaded_and_their_readers_built(tmp_path):
    """Against an empty baseline every file dataset is new: its seed must be loaded (reload), like the
    transforms that read it are built."""
    from compiler.plan.baseline import BaselineData
    from compiler.plan.model import Baseline

    head = build(copy_repository(EXAMPLE_ROOT, tmp_path / "churn"))
    empty = BaselineData(Baseline("state", None, None, 0, "0" * 64, None), {}, {}, {}, {})
    work = {i.address: i.work for i in make_plan(head[0], head[1], empty, "dev").impacts}  # type: ignore[arg-type]
    files = {f"dataset.{d.name}" for d in head[0].datasets.values() if d.source and d.source.type == "file"}
    assert files and all(work.get(address) == "reload" for address in files), work
    assert work.get(TA) == "rebuild" and work.get("model.churn") == "retrain"


@pytest.mark.parametrize(("column", "value", "work"), [
    ("full_name", "Someone Else", {"dataset.customers": "reload", "quality_rule.customers_checks": "rerun"}),
    ("segment", "smb", {"dataset.customers": "reload", TF: "rebuild",
                        "quality_rule.customer_features_checks": "rerun"}),  # a passed-on column, no feature
    ("customer_id", "999999", {"dataset.customers": "reload", "quality_rule.subscriptions_checks": "rerun",
                               "quality_rule.support_tickets_checks": "rerun", TF: "rebuild", "model.churn": "retrain",
                               "deployment.churn_api_dev": "rollout",
                               "quality_rule.customer_features_checks": "rerun"}),  # a join key: rows change
])
def test_a_seed_value_edit_reaches_only_what_reads_that_column(churn_base, tmp_path, column, value, work):
    """The same header and rows, one value edited: the seed reloads, and the change follows that column's lineage
    (a retrain and a rollout only when a feature, target or the rows of the training set depend on it)."""
    import csv
    import io

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    path = root / "data/customers.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    rows[1][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    plan = plan_against(churn_base, build(root))
    assert {i.address: i.work for i in plan.impacts} == work
    (content,) = [a for c in plan.resource_changes for a in c.changes if a.path.startswith("spec.source.content.sha")]
    assert content.detail == {"values_changed": [column]}
    assert content.reason == f"only values of {column} changed: the same rows, row by row"


def test_a_seed_written_with_other_quoting_is_a_metadata_change_with_no_work(churn_base, tmp_path):
    """Every value quoted: the same header and values, loaded the same by DuckDB's COPY (what dbt-duckdb's seeds
    run), so nothing is reloaded or rebuilt."""
    import csv
    import io

    import duckdb

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    path = root / "data/customers.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(rows)
    old = path.read_bytes()
    path.write_text(out.getvalue(), encoding="utf-8")
    plan = plan_against(churn_base, build(root))
    assert [(c.address, c.category) for c in plan.resource_changes] == [("dataset.customers", "metadata")]
    assert plan.impacts == []
    (content,) = [a for c in plan.resource_changes for a in c.changes if a.path.startswith("spec.source.content.sha")]
    assert content.detail == {"same_values": True} and content.category == "metadata"
    (tmp_path / "old.csv").write_bytes(old)
    loaded = [duckdb.sql(f"select * from read_csv('{tmp_path / name}', header = true, all_varchar = true) "
                         "order by all").fetchall() for name in ("old.csv", "churn/data/customers.csv")]
    assert loaded[0] == loaded[1]


def test_a_quoted_empty_value_is_null_to_dbts_loaders_like_an_empty_one(tmp_path):
    """What `same_values` stands on: DuckDB's COPY (dbt-duckdb's seeds) and agate (dbt's other adapters) read `""`
    as NULL, like an empty field."""
    import agate
    import duckdb

    from compiler.plan.seeddiff import same_values

    plain, quoted = b"id,note\n1,\n2,x\n", b'"id","note"\n"1",""\n"2","x"\n'
    assert same_values(plain, quoted, ",")
    for name, content in (("plain.csv", plain), ("quoted.csv", quoted)):
        (tmp_path / name).write_bytes(content)
        duckdb.sql("create or replace table t (id integer, note varchar)")
        duckdb.sql(f"copy t from '{tmp_path / name}' (format csv, header true, delimiter ',')")
        assert duckdb.sql("select * from t order by id").fetchall() == [(1, None), (2, "x")]
        assert [tuple(r) for r in agate.Table.from_csv(str(tmp_path / name)).rows] == [(1, None), (2, "x")]


def test_the_json_plan_of_seed_edits_follows_the_plan_schema(churn_base, tmp_path):
    """A file source's content change is described under seed_change (format 1.5); it was written as a sql_change
    without the kind that schema requires."""
    import jsonschema

    from compiler.plan.render import render_json

    schema = json.loads((Path(__file__).resolve().parent.parent / "schemas" / "plan.schema.json").read_text())
    for i, edits in enumerate(([(("data/customers.csv", "region"), None, None)], [(("data/customers.csv",), None, None)])):
        root = copy_repository(EXAMPLE_ROOT, tmp_path / f"churn{i}")
        _apply(root, edits)
        doc = json.loads(render_json(plan_against(churn_base, build(root))))
        jsonschema.Draft202012Validator(schema).validate(doc)
        attrs = [a for c in doc["resource_changes"] for a in c["change"]["attributes"] if "seed_change" in a]
        assert attrs and not [a for c in doc["resource_changes"] for a in c["change"]["attributes"]
                              if "sql_change" in a]


def test_the_pull_requests_plan_of_every_environment_asks_for_prods_approval(churn_base, tmp_path):
    """The PR comment (a plan of every environment) said nothing of prod's required approval when the change was a
    model's training (prod serves no deployment of it), though the model is retrained in prod too."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    (root / "specs" / "deployments" / "churn_api.yaml").unlink()  # prod's deployment: the model is only trained there
    _apply(root, [(MODEL, "C: 1.0", "C: 0.5")])
    plan = plan_against(churn_base, build(root), env=None)
    assert plan.approvals == ["prod"], plan.approvals
    assert "**Approval required** in `prod`" in render_markdown(plan).split("\n#### ")[0]
    # prod's deployment removed, and nothing else: its destroy needs prod's approval too
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn2")
    (root / "specs" / "deployments" / "churn_api.yaml").unlink()
    assert plan_against(churn_base, build(root), env=None).approvals == ["prod"]


def test_a_zero_in_a_changed_check_is_shown(churn_base, tmp_path):
    """`min: 0` is a bound, not an unset field: the text plan showed the check without it (0 == False)."""
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).replace(RULES_CF, "{type: range, column: tenure_months, min: 0, max: 600}",
                             "{type: range, column: support_tickets, min: 0, max: 600}")
    text = render_text(plan_against(churn_base, build(root)))
    added = [line for line in text.splitlines() if line.lstrip().startswith("+ spec.checks[range_")]
    assert len(added) == 1 and '"min": 0' in added[0], added


def test_an_incremental_models_columns_reordered_rebuild_it_from_scratch(churn_base, tmp_path):
    """An incremental run keeps the table's columns as they are: the plan said rebuild, and the table kept its old
    order. It is rebuilt from scratch, and nothing downstream has work."""
    block = ("    - name: subscription_count\n      type: integer\n      description: Subscriptions the customer ever "
             "held (plan changes included).\n      required: true\n")
    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.replace(CA, block, "")
    ed.replace(CA, "    - name: avg_monthly_price\n", block + "    - name: avg_monthly_price\n")
    plan = plan_against(churn_base, build(root))
    assert [(i.address, i.work, i.full_refresh) for i in plan.impacts] == [(TA, "rebuild", True)]
