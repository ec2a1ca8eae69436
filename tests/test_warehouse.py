"""Warehouse readers (compiler.apply.warehouse): DuckDB and PostgreSQL for real (a PostgreSQL server started by
the tests); Snowflake and BigQuery through fakes at their connector's boundary, since neither service can run
here (their connectors are optional extras): the tests check what reaches the connector (connection settings,
SQL, parameters) and what comes back."""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import EXAMPLE_ROOT

from compiler.apply.warehouse import TableRef, WarehouseError, Window, open_reader, secret, select_sql, table_ref
from compiler.apply.warehouse.bigquery import DIALECT as BQ
from compiler.apply.warehouse.bigquery import BigQueryReader
from compiler.apply.warehouse.duckdb import DIALECT as DUCK
from compiler.apply.warehouse.postgres import DIALECT as PG
from compiler.apply.warehouse.snowflake import DIALECT as SF
from compiler.apply.warehouse.snowflake import SnowflakeReader
from compiler.spec.ir import Environment, Loc, Meta, Warehouse

pd = pytest.importorskip("pandas")


def env(wtype: str, **settings: Any) -> Environment:
    return Environment(Meta("prod", None, None, (), ()), Loc("specs/env.yaml", 1, 1),
                       warehouse=Warehouse(wtype, tuple(sorted(settings.items()))))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the SQL


@pytest.mark.parametrize(("dialect", "expected"), [
    (DUCK, 'select "a", "b" from "main"."t" where "ts" >= ? order by "id", "a"'),
    (PG, 'select "a", "b" from "main"."t" where "ts" >= %s order by "id", "a"'),
    (SF, 'select "A", "B" from "MAIN"."T" where "TS" >= %s order by "ID", "A"'),
    (BQ, "select `a`, `b` from `main`.`t` where `ts` >= @since order by `id`, `a`"),
], ids=["duckdb", "postgres", "snowflake", "bigquery"])
def test_select_is_quoted_per_dialect(dialect, expected):
    sql, params = select_sql(dialect, TableRef("t", "main"), ["a", "b"], ["id", "a"], Window("ts", 5))
    assert sql == expected and params == [5]


def test_a_window_with_an_end_has_two_parameters():
    assert select_sql(BQ, TableRef("t", "d"), ["a"], window=Window("ts", 1, 2)) == (
        "select `a` from `d`.`t` where `ts` >= @since and `ts` < @until", [1, 2])
    assert select_sql(PG, TableRef("t", "d"), ["a"], window=Window("ts", 1, 2))[0].endswith(
        'where "ts" >= %s and "ts" < %s')


def test_quotes_inside_names_are_doubled_and_the_window_is_a_parameter():
    sql, params = select_sql(PG, TableRef('we"ird', "s"), ['x"y'], window=Window("t", "'; drop table x; --"))
    assert sql == 'select "x""y" from "s"."we""ird" where "t" >= %s'
    assert params == ["'; drop table x; --"]
    assert select_sql(BQ, TableRef("t", "d", "p"), ["a`b"])[0] == "select `a``b` from `p`.`d`.`t`"


def test_table_ref_follows_where_dbt_puts_a_dataset():
    from compiler.front.check import require_project

    project = require_project(EXAMPLE_ROOT)
    assert table_ref(project, env("duckdb", path="x.duckdb"), "customer_features") == TableRef(
        "customer_features", "main")
    assert table_ref(project, env("postgres", schema="analytics"), "customers") == TableRef("customers", "analytics")
    assert table_ref(project, env("snowflake", database="DB", schema="S"), "customers") == TableRef(
        "customers", "S", "DB")
    assert table_ref(project, env("bigquery", project="p", dataset="d"), "customers") == TableRef("customers", "d", "p")


def test_a_secret_variable_the_spec_names_must_be_set():
    e = env("postgres", password_env="WH_PASSWORD")
    assert secret({"WH_PASSWORD": "s3"}, e, "password_env") == "s3"
    assert secret({}, env("postgres"), "password_env") is None
    with pytest.raises(WarehouseError, match="WH_PASSWORD, which is not set"):
        secret({}, e, "password_env")


# --------------------------------------------------------------------------- DuckDB, for real


def test_duckdb_reads_in_order_and_inside_the_window(tmp_path: Path):
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table t (id integer, amount decimal(10,2), day date)")
    con.execute("insert into t values (3, 1.5, '2024-03-01'), (1, 2.25, '2024-01-01'), (2, 3.0, '2024-02-01')")
    con.close()
    e = env("duckdb", path="w.duckdb")
    with open_reader(e, tmp_path) as reader:
        frame = reader.read(TableRef("t", "main"), ["id", "amount"], ["id"])
        assert frame["id"].tolist() == [1, 2, 3] and frame["amount"].tolist() == [2.25, 3.0, 1.5]
        recent = reader.read(TableRef("t", "main"), ["id"], ["id"], Window("day", dt.date(2024, 2, 1)))
        assert recent["id"].tolist() == [2, 3]
        # a window that ends (drift --as-of a past day): rows from its end on are left out
        past = reader.read(TableRef("t", "main"), ["id"], ["id"], Window("day", dt.date(2024, 1, 1), dt.date(2024, 3, 1)))
        assert past["id"].tolist() == [1, 2]
        with pytest.raises(WarehouseError, match="cannot read"):
            reader.read(TableRef("missing", "main"), ["id"])
    with pytest.raises(WarehouseError, match="does not exist yet"), open_reader(env("duckdb", path="nope.duckdb"),
                                                                                  tmp_path):
        pass


# --------------------------------------------------------------------------- PostgreSQL, for real


@pytest.fixture
def pg_env(postgres):
    db = postgres.create_database("specops_reader")
    con = postgres.connect(db)
    with con.cursor() as cur:
        cur.execute("create schema analytics")
        cur.execute('create table analytics.features (id integer, score numeric(6,3), label boolean, '
                    'seen_at timestamptz, "Mixed" text)')
        cur.execute("insert into analytics.features values "
                    "(2, 0.5, true, '2024-02-01T00:00:00Z', 'b'), (1, 1.25, false, '2024-01-01T00:00:00Z', 'a'), "
                    "(3, 2.0, true, '2024-03-01T00:00:00Z', 'c')")
    con.close()
    return env("postgres", host=postgres.host, port=postgres.port, database=db, user=postgres.user,
               schema="analytics", password_env="SPECOPS_TEST_PG_PASSWORD"), postgres


def test_postgres_reads_in_order_with_floats_and_a_window(pg_env):
    e, server = pg_env
    environ = {"SPECOPS_TEST_PG_PASSWORD": server.password}
    with open_reader(e, Path("."), environ) as reader:
        frame = reader.read(TableRef("features", "analytics"), ["id", "score", "label"], ["id"])
        assert frame["id"].tolist() == [1, 2, 3]
        assert frame["score"].tolist() == [1.25, 0.5, 2.0] and frame["score"].dtype == float  # numeric: Decimal
        assert frame["label"].tolist() == [False, True, True]
        since = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
        recent = reader.read(TableRef("features", "analytics"), ["id"], ["id"], Window("seen_at", since))
        assert recent["id"].tolist() == [2, 3]
        by_score = reader.read(TableRef("features", "analytics"), ["id"], ["score"])
        assert by_score["id"].tolist() == [2, 1, 3]
        with pytest.raises(WarehouseError, match=r'cannot read "analytics"\."nope"'):
            reader.read(TableRef("nope", "analytics"), ["id"])
        # the connection survives a failed read (autocommit: no aborted transaction)
        assert len(reader.read(TableRef("features", "analytics"), ["id"])) == 3


def test_postgres_refuses_a_wrong_password_and_a_missing_variable(pg_env):
    e, _ = pg_env
    wrong = {"SPECOPS_TEST_PG_PASSWORD": "wrong"}
    with pytest.raises(WarehouseError, match="password authentication failed"), open_reader(e, Path("."), wrong):
        pass
    with pytest.raises(WarehouseError, match="SPECOPS_TEST_PG_PASSWORD, which is not set"), open_reader(
            e, Path("."), {}):
        pass


def test_postgres_reader_is_read_only(pg_env):
    e, server = pg_env
    environ = {"SPECOPS_TEST_PG_PASSWORD": server.password}
    with open_reader(e, Path("."), environ) as reader, reader._con.cursor() as cur, pytest.raises(  # type: ignore
            Exception, match="read-only"):
        cur.execute("delete from analytics.features")


# --------------------------------------------------------------------------- Snowflake, at the connector boundary


class FakeSnowflake:
    """snowflake.connector's surface the reader uses: connect(), cursor(), execute(), fetch_pandas_all()."""

    class Error(Exception):
        pass

    class NotSupportedError(Error):
        pass

    def __init__(self, rows: list[tuple], names: list[str]):
        self.rows, self.names = rows, names
        self.connected: dict[str, Any] = {}
        self.executed: list[tuple[str, list[Any]]] = []
        self.closed = False

    def connect(self, **kwargs: Any) -> FakeSnowflake:
        if kwargs.get("password") == "bad":
            raise self.Error("250001: Incorrect username or password was specified.")
        self.connected = kwargs
        return self

    def cursor(self) -> FakeSnowflake:
        return self

    def execute(self, sql: str, params: list[Any]) -> None:
        self.executed.append((sql, params))

    def fetch_pandas_all(self):
        return pd.DataFrame.from_records(self.rows, columns=[n.upper() for n in self.names])

    def close(self) -> None:
        self.closed = True


def test_snowflake_upper_cases_names_and_returns_the_spec_names():
    fake = FakeSnowflake([(1, 0.5), (2, 0.25)], ["id", "score"])
    settings = {"account": "acme-xy1", "user": "svc", "warehouse": "WH", "database": "DB", "schema": "ANALYTICS",
                "role": "READER"}
    reader = SnowflakeReader(settings, "pw", connector=fake)
    frame = reader.read(TableRef("features", "ANALYTICS", "DB"), ["id", "score"], ["id"],
                        Window("seen_at", dt.date(2024, 1, 1)))
    assert fake.connected == {"account": "acme-xy1", "user": "svc", "warehouse": "WH", "database": "DB",
                              "schema": "ANALYTICS", "role": "READER", "password": "pw", "application": "specops",
                              "login_timeout": 60}
    assert fake.executed == [('select "ID", "SCORE" from "DB"."ANALYTICS"."FEATURES" where "SEEN_AT" >= %s '
                              'order by "ID"', [dt.date(2024, 1, 1)])]
    assert list(frame.columns) == ["id", "score"] and frame["id"].tolist() == [1, 2]
    reader.close()
    assert fake.closed
    with pytest.raises(WarehouseError, match="cannot connect to snowflake account acme-xy1: 250001"):
        SnowflakeReader(settings, "bad", connector=fake)


# --------------------------------------------------------------------------- BigQuery, at the client boundary


class FakeBigQuery:
    """google.cloud.bigquery's surface the reader uses."""

    def __init__(self, frame):
        self.frame = frame
        self.calls: list[tuple[str, Any]] = []
        test = self

        class Client:
            def __init__(self, project: str | None = None):
                test.calls.append(("client", project))

            @classmethod
            def from_service_account_json(cls, path: str, project: str | None = None):
                with open(path, encoding="utf-8") as handle:
                    test.calls.append(("keyfile", json.load(handle), path))
                return cls(project)

            def query(self, sql: str, job_config: Any = None):
                test.calls.append(("query", sql, job_config.query_parameters))
                return SimpleNamespace(result=lambda: SimpleNamespace(to_dataframe=test.to_dataframe))

            def close(self) -> None:
                test.calls.append(("close",))

        self.Client = Client
        self.QueryJobConfig = lambda query_parameters: SimpleNamespace(query_parameters=query_parameters)
        self.ScalarQueryParameter = lambda name, kind, value: (name, kind, value)

    def to_dataframe(self, create_bqstorage_client: bool = True):
        self.calls.append(("to_dataframe", create_bqstorage_client))
        return self.frame.copy()


def test_bigquery_keeps_the_order_and_binds_the_window_with_its_type():
    fake = FakeBigQuery(pd.DataFrame({"id": [1, 2], "amount": [Decimal("1.50"), Decimal("2.00")]}))
    reader = BigQueryReader({"project": "acme", "dataset": "analytics"}, None, module=fake)
    frame = reader.read(TableRef("features", "analytics", "acme"), ["id", "amount"], ["id"],
                        Window("seen_at", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)))
    assert ("client", "acme") in fake.calls
    query = next(c for c in fake.calls if c[0] == "query")
    assert query[1] == ("select `id`, `amount` from `acme`.`analytics`.`features` where `seen_at` >= @since "
                        "order by `id`")
    assert query[2] == [("since", "TIMESTAMP", dt.datetime(2024, 1, 1, tzinfo=dt.UTC))]
    assert ("to_dataframe", False) in fake.calls  # the REST result keeps ORDER BY; the Storage API does not
    assert frame["amount"].tolist() == [1.5, 2.0]


def test_bigquery_key_content_is_written_to_a_private_file_and_removed(monkeypatch):
    import compiler.apply.warehouse.bigquery as bq_module

    fake = FakeBigQuery(pd.DataFrame({"id": [1]}))
    monkeypatch.setattr(bq_module, "_module", lambda: fake)
    key = {"type": "service_account", "project_id": "acme"}
    e = env("bigquery", project="acme", dataset="analytics", keyfile_env="GCP_KEY")
    with open_reader(e, Path("."), {"GCP_KEY": json.dumps(key)}) as reader:
        _, seen, path = next(c for c in fake.calls if c[0] == "keyfile")
        assert seen == key and os.stat(path).st_mode & 0o077 == 0
        reader.read(TableRef("features", "analytics", "acme"), ["id"])
    assert not os.path.exists(path)
    # a path is used as it is
    key_path = Path(path).with_name("given-key.json")
    key_path.write_text(json.dumps(key), encoding="utf-8")
    try:
        with open_reader(e, Path("."), {"GCP_KEY": str(key_path)}):
            assert [c for c in fake.calls if c[0] == "keyfile"][-1][2] == str(key_path)
        assert key_path.exists()
    finally:
        key_path.unlink()
