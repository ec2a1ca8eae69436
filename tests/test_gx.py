"""The gx backend: an expectation suite per QualityRule, loaded strictly by GX 1.x and agreeing with dbt.

Agreement: the same data goes through the dbt tests specops emits (dbt really runs, on DuckDB) and
through the GX suites (GX reads SQLite: its DuckDB support is broken, GX issue #11579, so the tables dbt
built are copied into SQLite). On the examples' data and on the planted defects of
tests/fixtures/dbt_defects (every check type, thresholds and severities on both sides of the line),
GX and dbt must fail exactly the same checks. GX runs in its own venv (.venv-gx, `make tools`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_repository
from dbt_support import DbtRun, compile_repo, dbt, requires_dbt
from integrations import EXAMPLE_NAMES, EXAMPLES, tool_python

from compiler.emit.gx import emit, suite
from compiler.emit.gx.checks import parameter_name
from compiler.front.check import require_project
from compiler.output.tools import script
from compiler.spec.project import SpecProject

DEFECTS = Path(__file__).resolve().parent / "fixtures" / "dbt_defects"


@pytest.fixture(scope="module")
def gx_python() -> Path:
    return tool_python(".venv-gx", "SPECOPS_GX_PYTHON")


def gx(python: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = subprocess.run([str(python), str(script("gx_suites")), *args], input=stdin, capture_output=True,
                          text=True, timeout=900, check=False, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the suites (no GX needed)


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_a_suite_per_rule_accounting_for_every_check(example: str) -> None:
    project = require_project(EXAMPLES / example)
    arts = {a.path: json.loads(a.content) for a in emit(project)}
    assert set(arts) == {f"gx/expectations/{env}/{name}.json" for name in project.rules for env in project.environments}
    for (name, rule), env in itertools.product(project.rules.items(), project.environments):
        data = arts[f"gx/expectations/{env}/{name}.json"]
        assert data["name"] == name and data["meta"]["specops"]["dataset"] == rule.dataset
        assert data["meta"]["specops"]["environment"] == env
        covered = [e["meta"]["specops"]["check"] for e in data["expectations"]]
        covered += list(data["meta"]["specops"].get("untranslated", {}))
        assert sorted(covered) == sorted(c.name for c in rule.checks)


def test_every_check_type_and_threshold_maps(tmp_path: Path) -> None:
    project = require_project(DEFECTS)
    by_check = {e["meta"]["specops"]["check"]: e for name in project.rules
                for e in suite(project, name)["expectations"]}
    kinds = {name: (e["type"], e["severity"]) for name, e in by_check.items()}
    assert kinds["email_present"] == ("expect_column_values_to_not_be_null", "critical")
    assert kinds["ref_unique"][0] == "expect_column_values_to_be_unique"
    assert by_check["one_order_per_customer_time"]["kwargs"] == {"column_list": ["customer_id", "ordered_at"],
                                                                 "ignore_row_if": "any_value_is_missing"}
    assert kinds["channel_known"][0] == "expect_column_values_to_be_in_set"
    assert by_check["amount_plausible"]["kwargs"] == {"column": "amount", "min_value": -1000, "max_value": 1000}
    assert kinds["enough_orders"][0] == "expect_table_row_count_to_be_between"
    assert by_check["orders_recent"]["kwargs"]["min_value"] == {"$PARAMETER": "freshness_cutoff__orders_recent"}
    assert kinds["email_format"][0] == "expect_column_values_to_match_regex"
    for query_based in ("orders_customer_known", "discount_le_amount", "no_big_returns"):
        assert kinds[query_based][0] == "unexpected_rows_expectation"
    # thresholds: a percentage is `mostly` on column expectations, a count an exact unexpected-rows query
    assert by_check["email_format_within_percent"]["kwargs"]["mostly"] == 0.9
    assert by_check["email_missing_percent_warn"]["kwargs"]["mostly"] == 0.99
    assert kinds["coupon_mostly_present"] == ("unexpected_rows_expectation", "warning")
    assert "> 5" in by_check["coupon_mostly_present"]["kwargs"]["unexpected_rows_query"]
    assert "> 2.5" in by_check["nothing_lost_percent"]["kwargs"]["unexpected_rows_query"]


def test_user_braces_survive_gx_query_formatting(edit) -> None:
    edit.replace("specs/quality/sources.yaml", "where status = 'active'\n", "where status = 'active'\n"
                 "          and plan <> '{x}'\n")
    data = suite(require_project(edit.root), "subscriptions_checks")
    query = next(e["kwargs"]["unexpected_rows_query"] for e in data["expectations"]
                 if e["meta"]["specops"]["check"] == "at_most_one_active_subscription")
    assert "'{{x}}'" in query and query.format(batch="t").count("'{x}'") == 1


# --------------------------------------------------------------------------- GX loads them strictly


def test_gx_loads_every_suite_strictly(gx_python: Path, tmp_path: Path) -> None:
    files = []
    for example in EXAMPLE_NAMES:
        for art in emit(require_project(EXAMPLES / example)):
            path = tmp_path / example / Path(art.path).name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(art.content)
            files.append(path)
    good = json.loads(files[0].read_text())
    bad_type = {**good, "expectations": [{**good["expectations"][0], "type": "expect_column_values_to_be_nonsense"}]}
    bad_kwarg = {**good, "expectations": [{**good["expectations"][0],
                                           "kwargs": {**good["expectations"][0]["kwargs"], "bogus": 1}}]}
    for name, data in (("bad_type", bad_type), ("bad_kwarg", bad_kwarg)):
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    result = gx(gx_python, "load", *map(str, files), str(tmp_path / "bad_type.json"), str(tmp_path / "bad_kwarg.json"))
    for path in files:
        assert result[str(path)]["ok"], result[str(path)]
        assert result[str(path)]["expectations"] == len(json.loads(path.read_text())["expectations"])
    assert "ExpectationNotFoundError" in result[str(tmp_path / "bad_type.json")]["error"]
    assert "bogus" in result[str(tmp_path / "bad_kwarg.json")]["error"]


# --------------------------------------------------------------------------- GX and dbt agree


def dbt_failures(project: SpecProject, run: DbtRun) -> dict[str, bool]:
    """check name -> whether dbt failed it (severity error: status fail; warn: status warn; within a threshold
    an error check warns, and that is a pass)."""
    nodes = run.manifest()["nodes"]
    severities = {c.name: c.severity for r in project.rules.values() for c in r.checks}
    out: dict[str, bool] = {}
    for result in run.run_results()["results"]:
        meta = nodes.get(result["unique_id"], {}).get("config", {}).get("meta", {}).get("specops", {})
        if "check" not in meta:
            continue  # a column property or dataset test, not a QualityRule check
        assert result["status"] in ("pass", "warn", "fail"), (result["unique_id"], result["status"], run.explain())
        out[meta["check"]] = result["status"] == ("fail" if severities[meta["check"]] == "error" else "warn")
    return out


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bool):
        return int(value)
    return value


def copy_to_sqlite(duck: Path, target: Path, tables: list[str]) -> None:
    """The warehouse's tables, as dbt built them in DuckDB, into a SQLite file for GX."""
    import duckdb

    with duckdb.connect(str(duck), read_only=True) as src, sqlite3.connect(target) as dst:
        for table in tables:
            cur = src.execute(f'select * from main."{table}"')
            columns = [d[0] for d in cur.description]
            dst.execute(f'create table "{table}" ({", ".join(f"{c!r}" for c in columns)})'.replace("'", '"'))
            rows = [tuple(_sqlite_value(v) for v in row) for row in cur.fetchall()]
            dst.executemany(f'insert into "{table}" values ({", ".join("?" for _ in columns)})', rows)


def gx_failures(python: Path, project: SpecProject, out: Path, database: Path | str, now: dt.datetime,
                env: str = "dev", schema: str | None = None, tool_env: dict[str, str] | None = None
                ) -> dict[str, bool]:
    """check name -> whether GX failed it, every suite of `env` run on `database` (a SQLite file, or a SQLAlchemy
    connection string with the tables in `schema`); a check GX could not run fails the test."""
    where = {"database": str(database)} if isinstance(database, Path) else {"connection_string": database}
    request: dict[str, Any] = {**where, "suites": []}
    for name, rule in sorted(project.rules.items()):
        params = {parameter_name(c): (now - dt.timedelta(minutes=_minutes(c.max_age))).strftime("%Y-%m-%d %H:%M:%S")
                  for c in rule.checks if c.type == "freshness" and c.max_age}
        request["suites"].append({"file": str(out / "gx" / "expectations" / env / f"{name}.json"), "table": rule.dataset,
                                  "parameters": params, **({"schema": schema} if schema else {})})
    result = gx(python, "run", stdin=json.dumps(request), env=tool_env)
    out_checks: dict[str, bool] = {}
    for checks in result.values():
        for check, info in checks.items():
            assert info["error"] is None, (check, info)
            out_checks[check] = not info["success"]
    return out_checks


def _minutes(duration: str) -> int:
    return int(duration[:-1]) * {"m": 1, "h": 60, "d": 1440}[duration[-1]]


@pytest.mark.slow
@requires_dbt
@pytest.mark.parametrize("source", ["churn", "fraud", "dbt_defects"])
def test_gx_and_dbt_fail_the_same_checks(source: str, gx_python: Path, tmp_path: Path) -> None:
    root = copy_repository(DEFECTS if source == "dbt_defects" else EXAMPLES / source, tmp_path / source)
    out = compile_repo(root)
    project = require_project(root)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run = dbt(root, out, "build")
    by_dbt = dbt_failures(project, run)
    database = tmp_path / "warehouse.sqlite"
    copy_to_sqlite(root / ".specops" / "dev.duckdb", database, sorted(project.datasets))
    by_gx = gx_failures(gx_python, project, out, database, now)
    assert sorted(by_gx) == sorted(by_dbt) == sorted(c.name for r in project.rules.values() for c in r.checks)
    disagree = {c: {"dbt": by_dbt[c], "gx": by_gx[c]} for c in by_dbt if by_dbt[c] != by_gx[c]}
    assert not disagree, disagree
    failed = sorted(c for c, bad in by_dbt.items() if bad)
    if source == "dbt_defects":
        assert len(failed) >= 15, failed  # the fixture breaks every check type; the agreement is not vacuous
    else:
        assert failed == [], failed  # the examples' data is clean


RELATIONSHIPS = Path(__file__).resolve().parent / "fixtures" / "relationships"


def test_an_untranslated_check_warns_and_two_seeds_are_unordered(tmp_path: Path) -> None:
    """A regex check with max_failures has no GX equivalent (its suite leaves it out): validate warns. A relationship
    between two seeds cannot be ordered (compiler.spec.relationships)."""
    import yaml

    project = require_project(RELATIONSHIPS)
    assert {(w.code, w.address) for w in project.warnings} == {("gx-untranslated", "quality_rule.items_checks")}
    assert "code_format" in suite(project, "items_checks")["meta"]["specops"]["untranslated"]
    docs = yaml.safe_load_all((RELATIONSHIPS / "specs" / "quality.yaml").read_text(encoding="utf-8"))
    rules = {d["metadata"]["name"]: d for d in docs}
    rules["items_checks"]["spec"]["checks"].append({"name": "owner_known", "type": "relationship",
                                                    "column": "owner_id", "to": "owners.owner_id"})
    root = copy_repository(RELATIONSHIPS, tmp_path / "rel")
    (root / "specs" / "quality.yaml").write_text(yaml.safe_dump_all(list(rules.values()), sort_keys=False))
    unordered = require_project(root).relationships.unordered
    assert [(rule.name, check.name) for rule, check in unordered] == [("items_checks", "owner_known")]


@pytest.mark.slow
@requires_dbt
def test_relationship_queries_name_the_parent_in_the_environments_schema_on_postgres(
        gx_python: Path, postgres, tmp_path: Path) -> None:
    """On PostgreSQL with `schema: analytics_2`, GX ran `left join owners` and failed: relation "owners" does not
    exist. The parent is now named as dbt names it there (analytics_2.owners), and GX fails the planted rows."""
    import yaml

    db = postgres.create_database("gx_rel")
    root = copy_repository(RELATIONSHIPS, tmp_path / "rel")
    path = root / "specs" / "environments.yaml"
    docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    pg = next(d for d in docs if d["metadata"]["name"] == "pg")
    pg["spec"]["warehouse"].update(host=postgres.host, port=postgres.port, database=db, user=postgres.user)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
    out = compile_repo(root)
    run = dbt(root, out, "build", target="pg", env={"PGPASSWORD": postgres.password})
    project = require_project(root)
    by_dbt = dbt_failures(project, run)
    data = suite(project, "item_counts_checks", "pg")
    assert "left join analytics_2.owners as specops_parent" in data["expectations"][0]["kwargs"]["unexpected_rows_query"]
    meta = data["meta"]["specops"]
    assert (meta["table"], meta["schema_name"], meta["table_name"]) == (
        "analytics_2.item_counts", "analytics_2", "item_counts")
    request = {"connection_string": pg_url(postgres, db),
               "suites": [{"file": str(out / "gx" / "expectations" / "pg" / f"{name}.json"),
                           "table": name.removesuffix("_checks"), "schema": "analytics_2"}
                          for name in ("item_counts_checks", "items_checks")]}
    proc = subprocess.run([str(gx_python), str(script("gx_suites")), "run"], input=json.dumps(request),
                          capture_output=True, text=True, timeout=900, check=False, env=psycopg2_shim(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    by_gx = {check: not info["success"] for checks in result.values() for check, info in checks.items()
             if info["error"] is None}
    errors = {check: info["error"] for checks in result.values() for check, info in checks.items() if info["error"]}
    assert errors == {}, errors
    assert by_gx == {k: v for k, v in by_dbt.items() if k in by_gx}
    assert by_gx["n_items_owner"] and by_gx["item_named_owner"], by_gx


def pg_url(postgres: Any, database: str) -> str:
    return f"postgresql+psycopg2://{postgres.user}:{postgres.password}@{postgres.host}:{postgres.port}/{database}"


def psycopg2_shim(tmp_path: Path) -> dict[str, str]:
    """The environment of a GX run on PostgreSQL: GX's venv has no driver, so it borrows this venv's psycopg2
    (the same Python version)."""
    import psycopg2

    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    site = Path(psycopg2.__file__).parent.parent
    for name in ("psycopg2", "psycopg2_binary.libs"):
        if (site / name).exists() and not (shim / name).exists():
            (shim / name).symlink_to(site / name)
    return {"PYTHONPATH": str(shim), "PATH": "/usr/bin:/bin"}


# checks whose GX queries join: before PostgreSQL 16 each subquery in FROM needs an alias, which GX does not give
# the `{batch}` of a query with a JOIN (and gives one to those of a query without, after any of the author's)
JOINED_CHECKS = """\
    - name: returned_twice_percent                                                             # pass: 0% <= 50%
      type: sql
      sql: |
        select a.* from {{ dataset }} as a
        join {{ dataset }} as b on a.ref = b.ref and a.order_id < b.order_id
        where a.status = 'returned'
      threshold: {max_failure_percent: 50}
    - name: negative_aliased                                                                   # fail: -5.00
      type: sql
      sql: "select o.* from {{ dataset }} o where o.amount < 0 -- a refund is no order"
    - name: negative_aliased_within                                                            # warn: 1 <= 2
      type: sql
      sql: "select o.* from {{ dataset }} as o where o.amount < 0 -- a refund is no order"
      threshold: {max_failures: 2}
"""


@pytest.mark.slow
@requires_dbt
def test_gx_and_dbt_fail_the_same_checks_on_postgres(gx_python: Path, postgres, tmp_path: Path) -> None:
    """On PostgreSQL 15, GX could not run a unique check with a threshold nor a sql check joining its dataset with a
    percent threshold (`subquery in FROM must have an alias`), and a sql check aliasing its dataset without a join
    (`from {{ dataset }} o`) got two aliases; dbt ran them all. Each now runs, and fails where dbt fails."""
    import yaml

    root = copy_repository(DEFECTS, tmp_path / "defects")
    quality = root / "specs" / "quality.yaml"
    text = quality.read_text(encoding="utf-8")
    quality.write_text(text.replace("    # --- max_failures\n", JOINED_CHECKS + "    # --- max_failures\n", 1),
                       encoding="utf-8")
    db = postgres.create_database("gx_defects")
    env = {"apiVersion": "specops/v1", "kind": "Environment", "metadata": {"name": "pg"},
           "spec": {"warehouse": {"type": "postgres", "host": postgres.host, "port": postgres.port, "database": db,
                                  "schema": "analytics", "user": postgres.user, "password_env": "PGPASSWORD"}}}
    (root / "specs" / "pg.yaml").write_text(yaml.safe_dump(env, sort_keys=False), encoding="utf-8")
    out = compile_repo(root)
    project = require_project(root)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    by_dbt = dbt_failures(project, dbt(root, out, "build", target="pg", env={"PGPASSWORD": postgres.password}))
    by_gx = gx_failures(gx_python, project, out, pg_url(postgres, db), now, env="pg", schema="analytics",
                        tool_env=psycopg2_shim(tmp_path))
    assert sorted(by_gx) == sorted(by_dbt) == sorted(c.name for r in project.rules.values() for c in r.checks)
    disagree = {c: {"dbt": by_dbt[c], "gx": by_gx[c]} for c in by_dbt if by_dbt[c] != by_gx[c]}
    assert not disagree, disagree
    assert by_dbt["customer_repeat_rows"] and by_dbt["negative_aliased"], by_dbt  # planted defects found by both
    assert not by_dbt["returned_twice_percent"] and not by_dbt["negative_aliased_within"], by_dbt


def test_each_batch_of_a_joining_query_gets_one_alias() -> None:
    """GX aliases every `{batch}` of a query without JOIN itself, none of a query with one (see compiler.emit.gx.batch)."""
    from compiler.emit.gx.batch import for_gx

    plain = "select * from {batch} where x is null"
    assert for_gx(plain) == plain
    assert for_gx("select * from {batch} where note = 'join us' -- no join") == (
        "select * from {batch} where note = 'join us' -- no join")
    joined = "select a.* from {batch} as a join (select k from {batch} where k > 0) b on a.k = b.k"
    assert for_gx(joined) == ("select a.* from {batch} as a join (select k from {batch} as specops_batch_2 where "
                              "k > 0) b on a.k = b.k")
    assert for_gx("select o.* from {batch} o where o.x < 0 -- note") == (
        "select specops_query.* from (select o.* from {batch} o where o.x < 0 -- note\n) as specops_query "
        "cross join (select 1 as specops_one) as specops_one_row")
