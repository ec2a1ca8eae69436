"""A corpus of broken repositories: one targeted edit of examples/churn (or the init scaffold) each.

Every case runs `specops validate` through the CLI and checks what a user sees: exit code 1, the
right file and line (computed from the edited file, never hard-coded), the error code, the hint
SPEC.md promises, no traceback, and nothing written into the repository.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Container
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from conftest import RepoEditor, parse_text_report

Edit = Callable[[RepoEditor], None]
Where = Callable[[RepoEditor], Container[int]]

MODEL = "specs/models/churn.yaml"
ENVS = "specs/environments.yaml"
DEPLOY = "specs/deployments/churn_api.yaml"
DEPLOY_DEV = "specs/deployments/churn_api_dev.yaml"
KPIS = "specs/datasets/daily_kpis.yaml"
KPIS_T = "specs/transforms/daily_kpis.yaml"
KPIS_Q = "specs/quality/daily_kpis.yaml"
FEATURES = "specs/datasets/customer_features.yaml"
FEATURES_T = "specs/transforms/customer_features.yaml"
FEATURES_Q = "specs/quality/customer_features.yaml"
ACTIVITY_T = "specs/transforms/customer_activity.yaml"
ACTIVITY_SQL = "sql/customer_activity.sql"
CUSTOMERS = "specs/datasets/customers.yaml"
TICKETS = "specs/datasets/support_tickets.yaml"


@dataclass(frozen=True)
class Case:
    id: str
    edit: Edit
    code: str
    file: str  # the file the diagnostic must name (repository-relative)
    at: str | Where  # text on the expected line of `file` after the edit, or a function giving lines
    nth: int = 1  # which occurrence of `at` (-1: the last)
    hint: str | Callable[[RepoEditor], str] | None = None  # must appear in the diagnostic's hint
    message: str | None = None  # must appear in the diagnostic's message (a regex)
    source: str = "churn"
    also: tuple[str, ...] = ()  # other codes this edit legitimately causes; anything else is noise
    col_at: str | None = None  # when given, the column must point at this text on the line

    def lines(self, ed: RepoEditor) -> Container[int]:
        if callable(self.at):
            return self.at(ed)
        return {ed.line_of(self.file, self.at, self.nth)}


def replace(rel: str, old: str, new: str) -> Edit:
    return lambda ed: ed.replace(rel, old, new)


def append(rel: str, doc: str) -> Edit:
    return lambda ed: ed.append_docs(rel, doc)


def outside_symlink(rel: str) -> Edit:
    """Replace `rel` by a symlink to a copy of it outside the repository."""

    def edit(ed: RepoEditor) -> None:
        target = ed.root.parent / f"outside-{Path(rel).name}"
        target.write_text(ed.read(rel), encoding="utf-8")
        ed.symlink(rel, target)

    return edit


def first_line(_: RepoEditor) -> Container[int]:
    return {1}


def last_separator(rel: str) -> Where:
    def where(ed: RepoEditor) -> Container[int]:
        lines = ed.read(rel).splitlines()
        return {max(i for i, line in enumerate(lines, start=1) if line.startswith("---"))}

    return where


def lines_after(rel: str, marker: str) -> Where:
    """Any line from the one holding `marker` to the end of the file."""

    def where(ed: RepoEditor) -> Container[int]:
        return range(ed.line_of(rel, marker), len(ed.read(rel).splitlines()) + 1)

    return where


def both(*edits: Edit) -> Edit:
    def edit(ed: RepoEditor) -> None:
        for e in edits:
            e(ed)

    return edit


ORPHAN_DATASET = """apiVersion: specops/v1
kind: Dataset
metadata: {name: orphan_scores, owner: "@acme/ml"}
spec:
  columns:
    - {name: score, type: double}
"""

SECOND_PRODUCER = """apiVersion: specops/v1
kind: Transform
metadata: {name: rebuild_daily_kpis, owner: "@acme/analytics"}
spec:
  inputs: [subscriptions]
  output: daily_kpis
  sql: select * from {{ input('subscriptions') }}
"""

BOMB = "\n".join(
    ["bomb0: &b0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"bomb{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]" for i in range(1, 9)]
) + "\n"

PII_COLUMN = replace(FEATURES, "description: Whole months from signup to the snapshot date.",
                     "description: Whole months from signup to the snapshot date.\n      pii: true")


CASES = [
    # ------------------------------------------------------------------ YAML and files
    Case("yaml-syntax", replace(MODEL, "task: classification", "task: classification: binary"),
         "yaml-syntax", MODEL, "task: classification: binary", hint="quote a value"),
    Case("key-indented-under-a-flow-mapping",
         replace(MODEL, "  framework: sklearn\n", "  framework: sklearn\n  extra: {a: 1}\n    nested: x\n"),
         "yaml-syntax", MODEL, "    nested: x", hint="indentation"),
    Case("tab-indentation", replace(MODEL, "  task: classification", "\ttask: classification"),
         "yaml-syntax", MODEL, "\ttask: classification", hint="tabs"),
    Case("duplicate-key", replace(MODEL, "  framework: sklearn", "  framework: sklearn\n  task: regression"),
         "duplicate-key", MODEL, "task: regression",
         hint="keep only one 'task'", col_at="task: regression"),
    Case("alias-bomb", append(MODEL, BOMB), "yaml-too-large", MODEL, lines_after(MODEL, "bomb0:"),
         hint="billion laughs"),
    Case("non-utf8", lambda ed: ed.replace_bytes(MODEL, b"Probability that", b"Probability \xff that"),
         "not-utf8", MODEL, "Probability", hint="UTF-8", message="0xff"),
    Case("file-over-size-cap",
         lambda ed: ed.write(CUSTOMERS, ed.read(CUSTOMERS) + ("# " + "x" * 1022 + "\n") * 2100),
         "file-too-large", CUSTOMERS, first_line, message="limit"),
    Case("document-is-a-list", append(MODEL, "- name: churn\n- name: churn2\n"), "not-a-mapping", MODEL,
         "- name: churn", message="is a list"),
    # a seed's rows: dbt seed refuses them, or (DuckDB) reads the whole file as one column
    Case("seed-row-too-short", lambda ed: ed.write("data/customers.csv", ed.read("data/customers.csv") + "1,2\n"),
         "seed-row", "data/customers.csv", "1,2", nth=-1, message="has 2 fields; the header has 7"),
    Case("seed-row-unterminated-quote",
         lambda ed: ed.write("data/customers.csv", ed.read("data/customers.csv") + '999,"x@y,never closed\n'),
         "seed-row", "data/customers.csv", '999,"x@y', message="cannot be read as CSV"),
    Case("seed-nul-byte", lambda ed: ed.replace_bytes("data/customers.csv", b"Amara Tanaka", b"Amara\x00Tanaka"),
         "seed-row", "data/customers.csv", "1001,", message="NUL byte"),
    Case("sql-comma-before-join", replace(FEATURES_T, "    inner join {{ input('customer_activity') }} as a",
                                          "    , inner join {{ input('customer_activity') }} as a"),
         "sql-syntax", FEATURES_T, ", inner join", hint="remove the comma", col_at=", inner join"),
    # ------------------------------------------------------------------ envelope
    Case("unknown-kind", replace(MODEL, "kind: Model", "kind: Modle"), "unknown-kind", MODEL, "kind: Modle",
         hint="did you mean 'Model'",
         col_at="Modle"),
    Case("bad-api-version", replace(MODEL, "apiVersion: specops/v1", "apiVersion: specops/v2"), "api-version",
         MODEL, "apiVersion: specops/v2", message="supported: specops/v1"),
    Case("missing-name", replace(MODEL, "  name: churn\n", ""), "missing-key", MODEL, 'owner: "@acme/ml"',
         message="'name'", also=("unresolved-reference",)),
    Case("bad-name-pattern", replace(MODEL, "  name: churn\n", "  name: Churn-Model\n"), "invalid-value", MODEL,
         "name: Churn-Model", message="lower snake case", also=("unresolved-reference",)),
    Case("dataset-without-owner", replace(KPIS, '  owner: "@acme/analytics"\n', ""), "missing-key", KPIS,
         "name: daily_kpis", message="'owner'"),
    # ------------------------------------------------------------------ schema
    Case("unknown-key-top-level", replace(MODEL, "kind: Model", "kind: Model\nmetdata: {}"), "unknown-key",
         MODEL, "metdata:", hint="did you mean 'metadata'"),
    Case("unknown-key-in-spec", replace(MODEL, "  task: classification", "  task: classification\n  tsak: x"),
         "unknown-key", MODEL, "tsak: x", hint="did you mean 'task'",
         col_at="tsak"),
    Case("unknown-key-in-training", replace(MODEL, "    test_size: 0.2", "    test_sise: 0.2"), "unknown-key",
         MODEL, "test_sise", hint="did you mean 'test_size'"),
    Case("unknown-key-in-list-item", replace(KPIS_Q, "{type: row_count, min: 1}",
                                             "{type: row_count, min: 1, severty: warn}"),
         "unknown-key", KPIS_Q, "severty", hint="did you mean 'severity'",
         col_at="severty"),
    Case("unknown-key-in-environment", replace(ENVS, "context: prod-cluster", "contxt: prod-cluster"),
         "unknown-key", ENVS, "contxt:", hint="did you mean 'context'"),
    Case("wrong-type", replace(MODEL, "random_seed: 42", "random_seed: forty-two"), "wrong-type", MODEL,
         "random_seed: forty-two", message="expected an integer"),
    Case("yaml-1.1-boolean", replace(KPIS, "      required: true\n      unique: true", "      required: yes\n      unique: true"),
         "wrong-type", KPIS, "required: yes", message="expected a boolean, got 'yes'",
         hint="write true: specs read YAML 1.2"),
    Case("bad-enum", replace(MODEL, "framework: sklearn", "framework: sklaern"), "invalid-value", MODEL,
         "framework: sklaern", hint="did you mean 'sklearn'",
         col_at="sklaern"),
    # ------------------------------------------------------------------ paths
    Case("path-with-dotdot", replace(ACTIVITY_T, "sql_file: sql/customer_activity.sql",
                                     "sql_file: ../sql/customer_activity.sql"),
         "invalid-value", ACTIVITY_T, "sql_file:", message=r"'\.\.'"),
    Case("data-path-with-dotdot", replace(CUSTOMERS, "path: data/customers.csv", "path: data/../../customers.csv"),
         "invalid-value", CUSTOMERS, "path: data/", message=r"'\.\.'"),
    Case("absolute-path", replace(ACTIVITY_T, "sql_file: sql/customer_activity.sql", "sql_file: /etc/activity.sql"),
         "invalid-value", ACTIVITY_T, "sql_file:", message="absolute"),
    Case("sql-file-symlink-escapes", outside_symlink(ACTIVITY_SQL), "bad-path", ACTIVITY_T, "sql_file:",
         message="symlink"),
    Case("data-file-symlink-escapes", outside_symlink("data/customers.csv"), "bad-path", CUSTOMERS,
         "path: data/customers.csv", message="symlink"),
    Case("missing-sql-file", replace(ACTIVITY_T, "sql_file: sql/customer_activity.sql", "sql_file: sql/activity.sql"),
         "bad-path", ACTIVITY_T, "sql_file:", message="no such file"),
    Case("output-is-the-repository-root", replace("specops.yaml", "output: build", "output: ."), "bad-path",
         "specops.yaml", "output: .", message="repository root"),
    Case("output-holds-the-specs", replace("specops.yaml", "output: build", "output: specs"), "bad-path",
         "specops.yaml", "output: specs", message="spec folder"),
    # ------------------------------------------------------------------ names and references
    Case("duplicate-name", replace(KPIS, "name: daily_kpis", "name: customers"), "duplicate-name", KPIS,
         "name: customers", hint="names are unique within a kind", also=("unresolved-reference",)),
    Case("unresolved-transform-input", replace(KPIS_T, "inputs: [subscriptions, support_tickets]",
                                               "inputs: [subscriptions, support_ticket]"),
         "unresolved-reference", KPIS_T, "inputs:", hint="did you mean 'support_tickets'", also=("undeclared-input",)),
    Case("unresolved-transform-output", replace(KPIS_T, "output: daily_kpis", "output: daily_kpi"),
         "unresolved-reference", KPIS_T, "output: daily_kpi", hint="did you mean 'daily_kpis'", also=("no-producer",)),
    Case("unresolved-rule-dataset", replace(KPIS_Q, "dataset: daily_kpis", "dataset: daily_kpi"),
         "unresolved-reference", KPIS_Q, "dataset: daily_kpi", hint="did you mean 'daily_kpis'"),
    Case("unresolved-relationship-to", replace(FEATURES_Q, "to: customers.customer_id", "to: customer.customer_id"),
         "unresolved-reference", FEATURES_Q, "to: customer.customer_id", hint="did you mean 'customers'",
         col_at="customer.customer_id"),
    Case("unresolved-training-dataset", replace(MODEL, "dataset: customer_features", "dataset: customer_feature"),
         "unresolved-reference", MODEL, "dataset: customer_feature", hint="did you mean 'customer_features'"),
    Case("unresolved-deployment-model", replace(DEPLOY, "model: churn", "model: chrun"), "unresolved-reference",
         DEPLOY, "model: chrun", hint="did you mean 'churn'",
         col_at="chrun"),
    Case("unresolved-deployment-environment", replace(DEPLOY, "environment: prod", "environment: prd"),
         "unresolved-reference", DEPLOY, "environment: prd", hint="did you mean 'prod'"),
    Case("unresolved-default-environment", replace("specops.yaml", "default_environment: dev",
                                                   "default_environment: deev"),
         "unresolved-reference", "specops.yaml", "default_environment:", hint="did you mean 'dev'"),
    Case("reference-to-wrong-kind", replace(MODEL, "dataset: customer_features", "dataset: churn"),
         "unresolved-reference", MODEL, "dataset: churn", hint="'churn' is a model, not a dataset"),
    Case("deployment-of-a-dataset", replace(DEPLOY, "model: churn", "model: customers"),
         "unresolved-reference", DEPLOY, "model: customers", hint="'customers' is a dataset, not a model"),
    # ------------------------------------------------------------------ graph
    Case("cycle", replace(ACTIVITY_T, "inputs: [subscriptions, support_tickets]",
                          "inputs: [subscriptions, support_tickets, customer_features]"),
         "cycle", FEATURES_T, "inputs: [customers, customer_activity]",
         message=r"dependency cycle: (\S+) -> .* -> \1$", hint="break the loop", also=("unused-input",)),
    Case("produced-dataset-without-producer", append(KPIS, ORPHAN_DATASET), "no-producer", KPIS, "orphan_scores",
         hint="Transform with output: orphan_scores", col_at="orphan_scores"),
    Case("external-dataset-produced", replace(KPIS, "spec:\n  columns:",
                                              "spec:\n  source: {type: table, schema: raw, table: kpis}\n  columns:"),
         "external-output", KPIS_T, "output: daily_kpis", hint="remove spec.source"),
    Case("two-producers", append(KPIS_T, SECOND_PRODUCER), "two-producers", KPIS_T, "output: daily_kpis", nth=-1,
         message="also produced by transform.build_daily_kpis"),
    # ------------------------------------------------------------------ SQL
    Case("undeclared-input",
         replace(KPIS_T, "from days as d", "from days as d\n    cross join {{ input('customers') }} as cu"),
         "undeclared-input", KPIS_T, "{{ input('customers') }}",
         hint="declared inputs: subscriptions, support_tickets",
         col_at="{{ input('customers') }}"),
    Case("undeclared-input-in-sql-file", replace(ACTIVITY_SQL, "from {{ input('support_tickets') }}",
                                                 "from {{ input('support_ticket') }}"),
         "undeclared-input", ACTIVITY_SQL, "{{ input('support_ticket') }}", hint="did you mean 'support_tickets'",
         also=("unused-input",),
         col_at="{{ input('support_ticket') }}"),
    Case("declared-input-unused", replace(KPIS_T, "inputs: [subscriptions, support_tickets]",
                                          "inputs: [subscriptions, support_tickets, customers]"),
         "unused-input", KPIS_T, "inputs:", message="'customers'"),
    Case("other-jinja-in-sql", replace(KPIS_T, "where ended_at is not null", "where ended_at > '{{ var(\"since\") }}'"),
         "sql-template", KPIS_T, "var(", hint="specs are not templated: write the value",
         col_at="{{ var"),
    Case("sql-semicolon-before-a-comment", replace(FEATURES_T, "cross join snapshot as s", "cross join snapshot as s; -- ok"),
         "sql-semicolon", FEATURES_T, "cross join snapshot as s;", col_at=";", hint="remove the final ';'"),
    Case("unknown-column-in-sql-check", replace(FEATURES_Q, "where churn_rate < 0.05", "where churn_rat < 0.05"),
         "unknown-sql-column", FEATURES_Q, "sql: >-", message="in the check's query, column 'churn_rat'",
         hint="did you mean 'churn_rate'"),
    Case("sql-check-ends-with-semicolon", replace(FEATURES_Q, "or churn_rate > 0.6\n", "or churn_rate > 0.6;\n"),
         "sql-semicolon", FEATURES_Q, "sql: >-", message="the check's SQL ends with ';'", hint="remove the final ';'"),
    Case("dbt-ref-in-sql", replace(KPIS_T, "from {{ input('support_tickets') }}", "from {{ ref('support_tickets') }}"),
         "sql-template", KPIS_T, "{{ ref(", hint="write {{ input('support_tickets') }} instead",
         also=("unused-input",), col_at="{{ ref("),
    Case("dbt-config-in-sql-file", replace(ACTIVITY_SQL, "with subscription_rollup", "{{ config(materialized='view') }}\nwith subscription_rollup"),
         "sql-template", ACTIVITY_SQL, "{{ config(", hint="set materialization (and incremental) in the Transform",
         col_at="{{ config("),
    Case("sql-ends-with-semicolon", replace(FEATURES_T, "cross join snapshot as s", "cross join snapshot as s;"),
         "sql-semicolon", FEATURES_T, "cross join snapshot as s;", col_at=";", hint="remove the final ';'"),
    Case("other-jinja-in-sql-file", replace(ACTIVITY_SQL, "group by customer_id\n),",
                                            "group by customer_id {% if true %}{% endif %}\n),"),
         "sql-template", ACTIVITY_SQL, "{% if true %}",
         col_at="{% if"),
    # ------------------------------------------------------------------ columns
    Case("unknown-column-in-check", replace(KPIS_Q, "columns: [kpi_date]", "columns: [kpi_day]"),
         "unknown-column", KPIS_Q, "kpi_day", hint="did you mean 'kpi_date'"),
    Case("unknown-column-in-primary-key", replace(KPIS, "primary_key: [kpi_date]", "primary_key: [kpi_day]"),
         "unknown-column", KPIS, "primary_key:", hint="did you mean 'kpi_date'"),
    Case("unknown-column-in-freshness", replace(TICKETS, "freshness: {column: opened_at", "freshness: {column: opened"),
         "unknown-column", TICKETS, "freshness:", hint="did you mean 'opened_at'"),
    Case("unknown-feature", replace(MODEL, "features: [tenure_months,", "features: [tenure_month,"),
         "unknown-column", MODEL, "features:", hint="did you mean 'tenure_months'",
         col_at="tenure_month,"),
    Case("unknown-target", replace(MODEL, "target: churned", "target: churn"), "unknown-column", MODEL,
         "target: churn", hint="did you mean 'churned'"),
    Case("unknown-relationship-to-column", replace(FEATURES_Q, "to: customers.customer_id", "to: customers.customer"),
         "unknown-column", FEATURES_Q, "to: customers.customer", hint="did you mean 'customer_id'"),
    Case("target-among-features", replace(MODEL, "features: [tenure_months,", "features: [churned, tenure_months,"),
         "target-in-features", MODEL, "features:", message="'churned'"),
    # ------------------------------------------------------------------ policy
    Case("pii-feature", PII_COLUMN, "pii-feature", MODEL, "features:", hint="allow_pii_features: true",
         message="tenure_months", also=("pii-deployment",)),
    Case("pii-model-deployed-where-pii-is-not-allowed",
         both(PII_COLUMN, replace(MODEL, "allow_pii_features: false", "allow_pii_features: true")),
         "pii-deployment", DEPLOY, "environment: prod", hint="allow_pii: true", message="tenure_months"),
    Case("literal-secret", replace(ENVS, "password_env: WAREHOUSE_PASSWORD", "password: hunter2"),
         "literal-secret", ENVS, "password: hunter2", hint="password_env",
         col_at="password"),
    Case("one-replica-outside-dev",
         replace(DEPLOY, "autoscaling: {min_replicas: 2, max_replicas: 6, target_cpu_percent: 70}", "replicas: 1"),
         "replicas", DEPLOY, "replicas: 1", message="at least 2"),
    Case("split-column-with-a-random-split",
         replace(MODEL, "    test_size: 0.2\n", "    test_size: 0.2\n    split: {strategy: random, column: tenure_months}\n"),
         "invalid-value", MODEL, "split:", message="'column' is not used unless strategy is time or group",
         hint="remove 'column'", col_at="column:"),
    Case("type-misspelt", replace(KPIS, "type: integer", "type: integr"), "invalid-value", KPIS, "type: integr",
         hint="did you mean 'integer'"),
    Case("decimal-precision-out-of-range",
         replace("specs/datasets/subscriptions.yaml", "type: decimal(10,2)", 'type: "decimal( 100, 2 )"'),
         "invalid-value", "specs/datasets/subscriptions.yaml", "decimal( 100, 2 )",
         hint="write decimal(p,s): a precision p of 1 to 38 and a scale s of 0 to p", col_at='"decimal'),
    Case("decimal-in-upper-case", replace("specs/datasets/subscriptions.yaml", "type: decimal(10,2)",
                                          "type: DECIMAL(10,2)"),
         "invalid-value", "specs/datasets/subscriptions.yaml", "DECIMAL(10,2)", hint="in lower case",
         col_at="DECIMAL"),
    Case("check-expression-that-escapes-its-query",
         replace("specs/quality/sources.yaml", "closed_at is null or closed_at >= opened_at",
                 "1=1) or (1=1; drop table x; --"),
         "bad-expression", "specs/quality/sources.yaml", "drop table x", message="closes nothing"),
    Case("range-on-a-timestamp", replace("specs/quality/sources.yaml", "{type: range, column: satisfaction_score, min: 1, max: 5}",
                                         "{type: range, column: opened_at, min: 0}"),
         "column-type", "specs/quality/sources.yaml", "column: opened_at, min: 0", message="needs a number column"),
    Case("threshold-on-row-count", replace(KPIS_Q, "{type: row_count, min: 1}",
                                           "{type: row_count, min: 1, threshold: {max_failures: 1}}"),
         "check-threshold", KPIS_Q, "type: row_count", message="a row_count check has no threshold",
         hint="remove the threshold", col_at="threshold"),
    Case("threshold-on-freshness", replace("specs/quality/sources.yaml",
                                           "{type: freshness, column: opened_at, max_age: 3650d}",
                                           "{type: freshness, column: opened_at, max_age: 3650d, "
                                           "threshold: {max_failure_percent: 5}}"),
         "check-threshold", "specs/quality/sources.yaml", "max_age: 3650d",
         message="a freshness check has no threshold", hint="remove the threshold"),
    Case("accepted-value-not-a-date", replace("specs/datasets/subscriptions.yaml",
                                              "description: Last day of a cancelled subscription; empty while active.",
                                              "accepted_values: [2026-12-05, tomorrow-ish]"),
         "value-type", "specs/datasets/subscriptions.yaml", "tomorrow-ish", message="is not a date",
         hint="2026-12-05", col_at="tomorrow-ish"),
    Case("accepted-value-no-such-day", replace("specs/datasets/subscriptions.yaml",
                                               "description: Last day of a cancelled subscription; empty while active.",
                                               "accepted_values: [2024-02-30]"),
         "value-type", "specs/datasets/subscriptions.yaml", "2024-02-30", message="is not a real date",
         col_at="2024-02-30"),
    Case("accepted-value-time-on-a-date", replace(FEATURES_Q, "{type: accepted_values, column: segment, values: "
                                                  "[consumer, smb, enterprise]}",
                                                  '{type: accepted_values, column: snapshot_date, values: '
                                                  '["2026-12-05", "2026-12-05 06:44:39"]}'),
         "value-type", FEATURES_Q, "snapshot_date", message="'2026-12-05 06:44:39' is not a date"),
    Case("accepted-value-timestamp-with-offset", replace("specs/datasets/subscriptions.yaml",
                                                         "description: Last time the billing system changed the row.",
                                                         'accepted_values: ["2026-12-05 06:44:39", '
                                                         '"2026-12-05T06:44:39-05:00"]'),
         "value-type", "specs/datasets/subscriptions.yaml", "06:44:39-05:00", message="is not a timestamp",
         hint="without a zone"),
    Case("replicas-beyond-int32",
         replace(DEPLOY, "autoscaling: {min_replicas: 2, max_replicas: 6, target_cpu_percent: 70}",
                 "replicas: 3000000000"),
         "invalid-value", DEPLOY, "replicas: 3000000000", message="maximum of 2147483647"),
    Case("default-namespace", replace(ENVS, "namespace: ml-prod", "namespace: default"), "invalid-value", ENVS,
         "namespace: default", message="'default' is not allowed"),
    Case("deployment-to-environment-without-namespace", replace(ENVS, "    namespace: ml-prod\n", ""),
         "no-namespace", DEPLOY, "environment: prod", hint="kubernetes.namespace"),
    Case("metric-not-for-the-task", replace(MODEL, "{name: accuracy, min: 0.7}", "{name: rmse, max: 0.7}"),
         "invalid-value", MODEL, "name: rmse", message="roc_auc"),
    Case("cron-sunday-as-7", replace(MODEL, 'schedule: "0 3 * * 1"', 'schedule: "0 3 * * 5-7"'), "bad-cron", MODEL,
         'schedule: "0 3 * * 5-7"', message=r"has 7: .*\(Sunday is 0\)"),
    Case("cron-never-fires", replace(MODEL, 'schedule: "0 3 * * 1"', 'schedule: "0 3 31 2 *"'), "bad-cron", MODEL,
         'schedule: "0 3 31 2 *"', message="never fires"),
    Case("regex-read-otherwise-by-postgres", replace("specs/quality/sources.yaml", "pattern: '^[a-z0-9._-]+@",
                                                     "pattern: '\\b^[a-z0-9._-]+@"), "regex-dialect",
         "specs/quality/sources.yaml", "pattern: '\\b^", message="Postgres .* as a backspace", hint="[^A-Za-z0-9_]",
         col_at="'\\b^"),
    Case("incremental-without-settings",
         replace(ACTIVITY_T, "  incremental: {unique_key: customer_id, updated_at: updated_at}\n", ""),
         "missing-key", ACTIVITY_T, "materialization: incremental",
         message=r"'incremental' in spec \(required when materialization is incremental\)"),
    # ------------------------------------------------------------------ on the init scaffold
    Case("scaffold-unknown-key", replace("specs/quality/orders_checks.yaml", "severity: error", "severty: error"),
         "unknown-key", "specs/quality/orders_checks.yaml", "severty", hint="did you mean 'severity'", source="init"),
    Case("scaffold-unresolved-input", replace("specs/transforms/build_orders_clean.yaml", "inputs: [raw_orders]",
                                              "inputs: [raw_order]"),
         "unresolved-reference", "specs/transforms/build_orders_clean.yaml", "inputs:",
         hint="did you mean 'raw_orders'", source="init", also=("undeclared-input",)),
    Case("scaffold-bad-column-type", replace("specs/datasets/orders_clean.yaml",
                                                           "- {name: status, type: string}",
                                                           "- {name: status, type: strng}"),
         "invalid-value", "specs/datasets/orders_clean.yaml", "type: strng", source="init"),
]


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def find(reports, case: Case, lines: Container[int]):
    return [r for r in reports if r.code == case.code and r.is_in(case.file) and r.line in lines]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_repository_is_reported_precisely(case: Case, repo, validate_cli):
    root = repo(case.source)
    ed = RepoEditor(root)
    case.edit(ed)
    before = tree(root)

    result = validate_cli(root)
    out = result.output

    assert result.exit_code == 1, out
    assert "Traceback" not in out and "internal error" not in out, out
    assert f"[{case.code}]" in out, out
    lines = case.lines(ed)
    reports = parse_text_report(out)
    found = find(reports, case, lines)
    assert found, f"no [{case.code}] diagnostic at {case.file}:{lines} in:\n{out}"
    if case.hint is not None:
        hint = case.hint(ed) if callable(case.hint) else case.hint
        assert any(r.hint and hint in r.hint for r in found), f"hint {hint!r} missing in:\n{out}"
    if case.message is not None:
        assert any(re.search(case.message, r.message) for r in found), f"{case.message!r} missing in:\n{out}"
    if case.col_at is not None:
        text = ed.path(case.file).read_bytes().decode("utf-8", "replace").splitlines()
        assert any(text[r.line - 1][r.col - 1:].startswith(case.col_at) for r in found), (case.col_at, out)
    # one mistake, one explanation: no cascade of follow-up errors
    assert {r.code for r in reports} <= {case.code, *case.also}, out
    # a run with errors writes nothing
    assert tree(root) == before
    assert not (root / "build").exists() and not (root / ".specops").exists()


def test_the_corpus_covers_enough_rules():
    assert len(CASES) >= 35
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({c.code for c in CASES}) >= 25


def test_the_unedited_sources_are_valid(repo, validate_cli):
    for source in ("churn", "init"):
        result = validate_cli(repo(source))
        assert result.exit_code == 0, result.output
        assert result.output.startswith("valid: ")


# --------------------------------------------------------------------------- all errors, one run


def several_errors(ed: RepoEditor) -> list[tuple[str, str, int]]:
    """Four independent mistakes in four files; returns (file, code, line) for each."""
    ed.replace(MODEL, "    test_size: 0.2", "    test_sise: 0.2")
    ed.replace(DEPLOY, "environment: prod", "environment: prd")
    ed.replace(KPIS_Q, "severity: warn", "severity: [warn")
    ed.replace(TICKETS, "type: timestamp", "type: timestmp")
    return [
        (MODEL, "unknown-key", ed.line_of(MODEL, "test_sise")),
        (DEPLOY, "unresolved-reference", ed.line_of(DEPLOY, "environment: prd")),
        (KPIS_Q, "yaml-syntax", 0),
        (TICKETS, "invalid-value", ed.line_of(TICKETS, "type: timestmp")),
    ]


def test_independent_errors_in_different_files_are_all_reported(repo, validate_cli):
    root = repo()
    expected = several_errors(RepoEditor(root))
    result = validate_cli(root)
    assert result.exit_code == 1
    reports = parse_text_report(result.output)
    for file, code, line in expected:
        assert any(r.is_in(file) and r.code == code and (line == 0 or r.line == line) for r in reports), (
            f"{file} [{code}] missing in:\n{result.output}")
    summary = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ error\(s\), 0 warning\(s\) in 4 file\(s\)", summary), summary
    assert len({r.path for r in reports}) == 4


def test_diagnostics_are_sorted_by_file_and_line(repo, validate_cli):
    root = repo()
    several_errors(RepoEditor(root))
    reports = parse_text_report(validate_cli(root).output)
    keys = [(r.path, r.line, r.col) for r in reports]
    assert keys == sorted(keys)


# --------------------------------------------------------------------------- machine-readable formats


def test_json_format(repo, validate_cli):
    root = repo()
    expected = several_errors(RepoEditor(root))
    result = validate_cli(root, "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["valid"] is False
    assert doc["error_count"] == len(doc["diagnostics"]) >= 4
    assert doc["warning_count"] == 0
    assert set(doc) >= {"format_version", "tool_version", "valid", "error_count", "warning_count", "diagnostics"}
    for d in doc["diagnostics"]:
        assert set(d) >= {"severity", "code", "message", "file", "path", "line", "column", "address", "hint"}
        assert d["severity"] == "error"
        assert d["line"] >= 1 and d["column"] >= 1
    got = {(d["file"], d["code"]) for d in doc["diagnostics"]}
    assert {(f, c) for f, c, _ in expected} <= got
    model = next(d for d in doc["diagnostics"] if d["file"] == MODEL)
    assert model["address"] == "model.churn" and model["hint"] == "did you mean 'test_size'?"


def test_json_format_of_a_valid_repository(example_root, validate_cli):
    result = validate_cli(example_root, "-f", "json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["valid"] is True and doc["diagnostics"] == [] and doc["error_count"] == 0


GITHUB = re.compile(
    r"^::error file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),title=specops (?P<code>[a-z-]+)::(?P<body>.+)$"
)


def test_github_annotations(repo, validate_cli):
    root = repo()
    expected = several_errors(RepoEditor(root))
    result = validate_cli(root, "--format", "github")
    assert result.exit_code == 1
    annotations = [GITHUB.match(line) for line in result.output.splitlines() if line.startswith("::")]
    assert annotations and all(annotations), result.output
    for file, code, line in expected:
        assert any(a["file"].endswith(file) and a["code"] == code and (line == 0 or int(a["line"]) == line)
                   for a in annotations), (file, code, result.output)
    # one line per annotation: the hint's newline is escaped
    hinted = next(a for a in annotations if a["file"].endswith(MODEL))
    assert "%0Ahint: did you mean 'test_size'?" in hinted["body"]


def test_github_and_sarif_paths_are_relative_to_the_workspace_wherever_validate_runs(
        tmp_path, repo, validate_cli, monkeypatch):
    import subprocess

    top = tmp_path / "monorepo"
    root = repo()
    (top / "data").mkdir(parents=True)
    root = Path(root.rename(top / "data" / "specs-repo"))
    subprocess.run(["git", "init", "-q", str(top)], check=True)
    RepoEditor(root).replace(MODEL, "    test_size: 0.2", "    test_sise: 0.2")
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not the repository: paths must not depend on it
    gh = validate_cli(root, "-f", "github").output
    (match,) = [GITHUB.match(line) for line in gh.splitlines() if line.startswith("::error")]
    assert match is not None and match["file"] == f"data/specs-repo/{MODEL}"
    sarif = json.loads(validate_cli(root, "-f", "sarif").output)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris == {f"data/specs-repo/{MODEL}"}
    monkeypatch.setenv("GITHUB_WORKSPACE", str(top / "data"))  # the workspace wins over the git top
    (match,) = [GITHUB.match(line) for line in validate_cli(root, "-f", "github").output.splitlines()
                if line.startswith("::error")]
    assert match is not None and match["file"] == f"specs-repo/{MODEL}"


def test_github_annotation_escapes_properties(tmp_path, repo, validate_cli):
    # a folder name with a comma and a colon must not break the `file=` property
    root = repo()
    weird = tmp_path / "odd,name:here"
    root.rename(weird)
    RepoEditor(weird).replace(MODEL, "    test_size: 0.2", "    test_sise: 0.2")
    result = validate_cli(weird, "-f", "github")
    line = next(line for line in result.output.splitlines() if line.startswith("::error"))
    assert "odd%2Cname%3Ahere" in line


# A hand-written subset of the SARIF 2.1.0 schema: the parts GitHub code scanning reads.
SARIF_SUBSET = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "informationUri": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": {
                                                    "type": "object", "required": ["text"],
                                                    "properties": {"text": {"type": "string"}},
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message", "ruleId", "locations"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {
                                    "type": "object", "required": ["text"],
                                    "properties": {"text": {"type": "string", "minLength": 1}},
                                },
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object", "required": ["uri"],
                                                        "properties": {"uri": {"type": "string", "minLength": 1}},
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine"],
                                                        "properties": {
                                                            "startLine": {"type": "integer", "minimum": 1},
                                                            "startColumn": {"type": "integer", "minimum": 1},
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_output(repo, validate_cli):
    root = repo()
    expected = several_errors(RepoEditor(root))
    result = validate_cli(root, "--format", "sarif")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(SARIF_SUBSET)
    jsonschema.Draft202012Validator(SARIF_SUBSET).validate(doc)
    (run,) = doc["runs"]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(rules) == len(set(rules))
    for res in run["results"]:
        assert rules[res["ruleIndex"]] == res["ruleId"]
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert "\\" not in uri
    located = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["ruleId"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]}
    for file, code, line in expected:
        assert any(u.endswith(file) and c == code and (line == 0 or n == line) for u, c, n in located), (file, code)


def test_sarif_of_a_valid_repository_has_no_results(example_root, validate_cli):
    result = validate_cli(example_root, "--format", "sarif")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    jsonschema.Draft202012Validator(SARIF_SUBSET).validate(doc)
    assert doc["runs"][0]["results"] == []


def test_a_stray_separator_and_a_spec_file_without_documents_are_warnings(edit, validate_cli):
    """kubectl and kustomize skip empty documents; so does specops, saying so, and reads everything else."""
    edit.append_docs(MODEL, "# nothing here yet\n")
    edit.write("specs/retired.yaml", "# kind: Dataset (retired in 2026)\n")
    result = validate_cli(edit.root)
    assert result.exit_code == 0, result.output
    line = last_separator(MODEL)(edit)
    assert re.search(rf"{re.escape(MODEL)}:({'|'.join(map(str, line))}):1: warning: document 2 is empty and skipped "
                     r"\[empty-document\]", result.output), result.output
    assert "specs/retired.yaml:1:1: warning: the file holds no YAML document" in result.output
    assert "valid: 19 resources" in result.output


def test_a_column_both_pii_and_masked_is_a_warning(edit, validate_cli):
    """masked is for a column derived from PII that no longer holds it; with pii as well, pii wins: say so."""
    edit.replace(CUSTOMERS, "      description: First and last name as entered at signup.\n      pii: true\n",
                 "      description: First and last name as entered at signup.\n      pii: true\n      masked: true\n")
    result = validate_cli(edit.root)
    assert result.exit_code == 0, result.output
    line = edit.line_of(CUSTOMERS, "masked: true")
    assert f"customers.yaml:{line}:7: warning: dataset.customers: column 'full_name' is both pii and masked" \
        in result.output, result.output


def test_incremental_settings_beside_another_materialization_are_a_warning(edit, validate_cli):
    """Harmless (they are not used), and SPEC's Transform example writes both: valid, with a warning."""
    edit.replace(ACTIVITY_T, "materialization: incremental", "materialization: table")
    result = validate_cli(edit.root)
    assert result.exit_code == 0, result.output
    line = edit.line_of(ACTIVITY_T, "incremental:")
    assert f"{ACTIVITY_T}:{line}:3: warning: transform.build_customer_activity: incremental settings are given " \
        "but materialization is 'table': they are not used [incremental-unused]" in result.output, result.output


def test_a_seed_timestamp_with_a_utc_offset_is_a_warning(edit, validate_cli):
    """A timestamp is a time without zone: DuckDB and Postgres load `06:44:39-05:00` as 06:44:39 (the offset
    dropped, the time read as UTC, 5 hours off): say so at the row, and stay valid."""
    data = "data/subscriptions.csv"
    edit.replace(data, "2024-09-30,2024-09-30 16:46:58", "2024-09-30,2024-09-30 16:46:58-05:00")
    result = validate_cli(edit.root)
    assert result.exit_code == 0, result.output
    line = edit.line_of(data, "16:46:58-05:00")
    assert f"{data}:{line}:1: warning: dataset.subscriptions: '2024-09-30 16:46:58-05:00' in column 'updated_at' " \
        "has a zone" in result.output, result.output
    assert "[seed-row]" in result.output and "without an offset" in result.output, result.output
    assert "(2024-09-30 21:46:58 for 2024-09-30 16:46:58-05:00)" in result.output, result.output


def test_every_seed_timestamp_with_a_zone_is_said_at_its_row_with_its_own_utc_time(edit, validate_cli):
    """Only the first was, with a fixed example for a hint: a file with zoned times on several rows was fixed one
    row per round, and the hint did not convert the value at hand. A zone of offset zero (Z, UTC, +00:00) is no
    warning: the clock time the seed keeps is the UTC time already."""
    data = "data/subscriptions.csv"
    rows = edit.read(data).splitlines()
    zoned = [r for r in rows[1:6]]
    for i, suffix in enumerate(("-07:00", "+05:30", "Z", " UTC", "+00:00")):
        stamp = zoned[i].rsplit(",", 1)[1]
        edit.replace(data, zoned[i], zoned[i] + suffix)
        zoned[i] = (zoned[i] + suffix, stamp)
    result = validate_cli(edit.root)
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if "has a zone" in line]
    assert len(warned) == 2, result.output
    assert "+05:30" in warned[1] and "-07:00" in warned[0], warned


def test_a_seed_date_with_day_and_month_as_numbers_is_a_warning_at_its_row(edit, validate_cli):
    """`01/02/2024` loaded as February 1 in one file and January 2 in another (a `12/31/2024` row elsewhere made
    DuckDB's reader take month first), and validate said nothing."""
    data = "data/subscriptions.csv"
    edit.replace(data, "2024-09-30,2024-09-30 16:46:58", "30/09/2024,2024-09-30 16:46:58")
    result = validate_cli(edit.root)
    assert result.exit_code == 0, result.output
    line = edit.line_of(data, "30/09/2024")
    assert (f"{data}:{line}:1: warning: dataset.subscriptions: '30/09/2024' in date column 'ended_at' is no ISO "
            "date: dbt seed guesses the order of its day and month") in result.output, result.output
    assert "write dates as YYYY-MM-DD" in result.output
