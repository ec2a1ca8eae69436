"""Seed values the warehouse cannot load into their declared types are errors at their row: checked against what
DuckDB's COPY (dbt-duckdb's seeds) really loads, so a file that loads is never refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import parse_text_report

from compiler.front.rules.seed_values import _rule

VALUES = {
    "integer": ["1", " 2 ", "+3", "1.5", "2.5", "-0", "1.", " .5", "1e3", "0x10", "0b101", "1_000", "1_000.000_1",
                "0x1_F", "2147483647", "-2147483648", "2147483648", "-2147483649", "1e400", "NULL", "null", "NaN",
                "N/A", "NA", "none", ".", "\\N", "-", " ", "1 000", "1,000", "$5", "5%", "(5)", "_1", "+", "0o7",
                "1e", "e1", "true", "١٢", "\xa012", "abc", "1.0", "0.0"],
    "bigint": ["9223372036854775807", "9223372036854775808", "-9223372036854775808", "1e18", "1e19", "abc"],
    "double": ["1.5", "1e3", "nan", "inf", "-inf", "infinity", "Infinity", "1e400", "1.5e-400", "1_000.5",
               "1_000.000_1", "1e1_0", "+-1", " 2.5 ", "NULL", "null", "N/A", "none", "1.2.3", ".", "-", "1d", "1f",
               "0x1p3", "1,5", "abc"],
    "decimal(5,2)": ["999.99", "999.994", "999.995", "999.999", "1000", "-999.99", "1e2", "0.001", "4.2_5", "abc",
                     "1e9", "NULL", "N/A", "nan", "inf"],
    "boolean": ["true", "TRUE", "t", "F", "yes", "No", "y", "N", "1", "0", "on", "off", "tr", "of", "1.0", "2", "-1",
                "null", "NULL", "none", "N/A", "abc", " true ", "true ", "\ttrue"],
    "date": ["2024-01-02", "2024/01/02", "01/02/2024", "2024-1-2", "24-01-02", "2024-01-02 10:00:00",
             "2024-01-02T00:00:00Z", "2024-01-02 24:00:00", "2024-01-02 23:59:60", "0000-01-01", "0000-02-29",
             "infinity", "epoch", "20240102", "2024-02-30", "2023-02-29", "2024-13-01", "0000-00-00", "NULL", "null",
             "N/A", "\\N", "today", "Jan 2 2024", "abc", "2024-02-30T03:04:05Z"],
    "timestamp": ["2024-01-02", "2024-01-02 10:00:00", "2024-01-02T10:00", "2024-01-02 10:00:00.123456",
                  "2024-01-02 24:00:00", "2024-01-02T24:00", "2024-01-02 25:00:00", "2024-01-02 10:61:00",
                  "2024-02-30 10:00:00", "0000-01-01 00:00:00", "NULL", "null", "now", "1700000000", "abc"],
}
# what a team's exports really hold, and validate must catch before apply
MUST_CATCH = {
    "duckdb": {"integer": ["NULL", "N/A", "abc", "1,000", "2147483648"], "double": ["N/A", "-"],
               "decimal(5,2)": ["1000"], "boolean": ["on", "null", "2", "true "],
               "date": ["2024-02-30", "N/A", "NULL"], "timestamp": ["2024-01-02 25:00:00", "NULL"]},
    "postgres": {"integer": ["1.0", "1.5", "1_000", "N/A", "none", "2147483648", "1,000"],
                 "double": ["1_000.5", "N/A"], "decimal(5,2)": ["1000", "N/A"], "boolean": ["2", "N/A", "none"],
                 "date": ["2024-02-30", "0000-00-00", "N/A", "\\N", "0000-01-01"],
                 "timestamp": ["2024-02-30 10:00:00", "2024-01-02 25:00:00"]},
}


def _loads_in_duckdb(tmp_path, spec_type: str, value: str) -> bool:
    import duckdb

    from compiler.spec.warehouse_types import sql_type

    path = tmp_path / "seed.csv"
    path.write_text('x\n"' + value.replace('"', '""') + '"\n', encoding="utf-8")
    con = duckdb.connect()
    con.execute(f"create table t (x {sql_type(spec_type)})")
    try:
        con.execute(f"copy t from '{path}' (format csv, header true, delimiter ',')")  # as dbt-duckdb's seeds
    except duckdb.Error:
        return False
    return True


def _loads_in_postgres(con, tmp_path, spec_type: str, value: str) -> bool:
    """As dbt-postgres's seeds: agate reads the file with every column as text (specops declares every seed
    column's type), then the rows are inserted as parameters."""
    import psycopg2
    from dbt_common.clients.agate_helper import from_csv

    from compiler.spec.warehouse_types import sql_type

    path = tmp_path / "seed.csv"
    path.write_text('x\n"' + value.replace('"', '""') + '"\n', encoding="utf-8")
    rows = [tuple(r) for r in from_csv(str(path), text_columns=["x"]).rows]
    with con.cursor() as cur:
        cur.execute(f"drop table if exists t; create table t (x {sql_type(spec_type)})")
        try:
            cur.executemany("insert into t values (%s)", rows)
        except psycopg2.Error:
            return False
    return True


def _compare(spec_type: str, warehouse: str, loads: Callable[[str], bool]) -> None:
    why = _rule(spec_type, warehouse)
    assert why is not None
    refused = {v for v in VALUES[spec_type] if why(v) is not None}
    loaded = {v: loads(v) for v in VALUES[spec_type]}
    assert not [v for v in refused if loaded[v]], f"refused, though {warehouse} loads them"
    must = set(MUST_CATCH[warehouse].get(spec_type, ()))
    assert not [v for v in must if loaded[v]], "the test's premise: these do not load"
    assert must <= refused, sorted(must - refused)


@pytest.mark.parametrize("spec_type", sorted(VALUES))
def test_what_is_refused_is_what_duckdb_cannot_load(tmp_path, spec_type):
    _compare(spec_type, "duckdb", lambda v: _loads_in_duckdb(tmp_path, spec_type, v))


@pytest.mark.parametrize("spec_type", sorted(VALUES))
def test_what_is_refused_is_what_postgres_cannot_load(postgres, tmp_path, spec_type):
    pytest.importorskip("dbt_common")
    con = postgres.connect()
    try:
        _compare(spec_type, "postgres", lambda v: _loads_in_postgres(con, tmp_path, spec_type, v))
    finally:
        con.close()


def test_a_value_dbt_seed_cannot_load_is_an_error_at_its_row_and_a_secret_one_is_not_quoted(edit, validate_cli):
    data = "data/subscriptions.csv"
    rows = edit.read(data).splitlines()
    header = rows[0].split(",")
    first = rows[1].split(",")
    first[header.index("monthly_price")] = "N/A"
    edit.replace(data, rows[1], ",".join(first))
    people = "data/customers.csv"
    row = edit.read(people).splitlines()[2]
    edit.replace(people, row, row.replace(",true", ",on", 1))
    tickets = "data/support_tickets.csv"
    edit.replace("specs/datasets/support_tickets.yaml", "classification: internal", "classification: restricted")
    row = edit.read(tickets).splitlines()[1]
    edit.replace(tickets, row, row.rsplit(",", 1)[0] + ",ZZsecret")
    result = validate_cli(edit.root)
    assert result.exit_code == 1, result.output
    found = [(rel, d.line, d.message) for d in parse_text_report(result.output) if d.code == "seed-value"
             for rel in (data, people, tickets) if d.is_in(rel)]
    assert [(rel, line) for rel, line, _ in found] == [(people, 3), (data, 2), (tickets, 2)], found
    assert found[1][2] == ("dataset.subscriptions: 'N/A' in decimal(10,2) column 'monthly_price' is no number: dbt "
                           "seed fails to load data/subscriptions.csv on DuckDB (environment 'dev')")
    assert "'on' in boolean column 'marketing_opt_in' is no boolean" in found[0][2]
    assert "the value in integer column 'satisfaction_score' (not shown: restricted dataset)" in found[2][2]
    assert "ZZsecret" not in result.output and "@example.com" not in result.output  # no row is shown


def test_a_zoned_time_of_a_pii_column_is_warned_without_its_value(edit, validate_cli):
    """The zone and day/month warnings quoted the value, and their hint its UTC time: not for a PII column."""
    data = "data/subscriptions.csv"
    edit.replace("specs/datasets/subscriptions.yaml", "    - name: updated_at\n",
                 "    - name: updated_at\n      pii: true\n")
    edit.replace(data, "2024-09-30,2024-09-30 16:46:58", "2024-09-30,2024-09-30 16:46:58-05:00")
    result = validate_cli(edit.root)  # (it fails: the column becomes PII features of a model served in prod)
    assert "the value in column 'updated_at' has a zone" in result.output, result.output
    assert "16:46:58" not in result.output and "21:46:58" not in result.output


def test_every_warehouse_of_the_environments_is_checked(edit, validate_cli):
    """dev on DuckDB, prod on PostgreSQL: `1.0` in an integer column loads in dev and fails in prod (only DuckDB's
    rules were checked when an environment used it)."""
    data = "data/support_tickets.csv"
    row = edit.read(data).splitlines()[1]
    edit.replace(data, row, row.rsplit(",", 1)[0] + ",4.0")
    result = validate_cli(edit.root)
    assert result.exit_code == 1, result.output
    (found,) = [d for d in parse_text_report(result.output) if d.code == "seed-value"]
    assert found.is_in(data) and found.line == 2
    assert found.message == ("dataset.support_tickets: '4.0' in integer column 'satisfaction_score' is no integer "
                             "(PostgreSQL reads digits only: no decimal point, exponent or separator): dbt seed fails "
                             "to load data/support_tickets.csv on PostgreSQL (environment 'prod')")


def test_a_row_of_the_wrong_length_is_said_once_and_no_value_of_it_is_quoted(edit, validate_cli):
    """An unquoted comma in a PII name shifted part of it into the next columns, which were checked and quoted."""
    data = "data/customers.csv"
    row = edit.read(data).splitlines()[1]
    cells = row.split(",")
    cells[2] = cells[2].replace(" ", ", ZZshift")
    edit.replace(data, row, ",".join(cells))
    result = validate_cli(edit.root)
    assert result.exit_code == 1, result.output
    assert [d.code for d in parse_text_report(result.output)] == ["seed-row"], result.output
    assert "ZZshift" not in result.output


def test_a_blank_line_of_a_seed_is_a_warning_where_postgres_loads_it_as_a_row(edit, validate_cli):
    """DuckDB skips it; agate (dbt-postgres's seeds) loads a row of NULLs. The plan took a blank line for no
    change at all."""
    from dbt_common.clients.agate_helper import from_csv

    from compiler.plan.seeddiff import same_values

    data = "data/support_tickets.csv"
    raw = edit.read(data)
    rows = raw.splitlines()
    edit.replace(data, rows[2] + "\n", rows[2] + "\n\n")
    result = validate_cli(edit.root)
    assert result.exit_code == 0, result.output
    (found,) = [d for d in parse_text_report(result.output) if d.code == "seed-row"]
    assert found.is_in(data) and found.line == 4 and found.severity == "warning"
    assert "loads it as a row of NULLs on PostgreSQL (environment 'prod'" in found.message
    loaded = from_csv(str(edit.path(data)), text_columns=rows[0].split(","))
    assert len(loaded.rows) == len(rows)  # the header aside, one more row: the blank line's
    assert not same_values(raw.encode(), edit.read(data).encode(), ",")


@pytest.mark.parametrize("written", ["2026-12-01 06:10:00Z", "2026-12-01T06:10:00+00:00", "2026-12-01 06:10:00 UTC"])
def test_a_time_with_a_zone_of_offset_zero_loads_as_its_utc_time(postgres, tmp_path, written):
    """Why such a time is no warning: DuckDB's COPY and PostgreSQL (agate passes seed values as text) both load
    06:10, its UTC clock time."""
    import datetime

    import duckdb

    path = tmp_path / "seed.csv"
    path.write_text(f"t\n{written}\n", encoding="utf-8")
    con = duckdb.connect()
    con.execute("create table t (t timestamp)")
    con.execute(f"copy t from '{path}' (format csv, header true, delimiter ',')")
    expected = datetime.datetime(2026, 12, 1, 6, 10)
    assert con.execute("select t from t").fetchall() == [(expected,)]
    pg = postgres.connect()
    try:
        with pg.cursor() as cur:
            cur.execute("drop table if exists tz; create table tz (t timestamp)")
            cur.execute("insert into tz values (%s)", (written,))
            cur.execute("select t from tz")
            assert cur.fetchall() == [(expected,)]
    finally:
        pg.close()
