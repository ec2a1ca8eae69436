"""Literal secrets in specs (issue #18 item 4): keys matched the way secret scanners match them, values in
URLs and connection strings, in every document and every free-form map, and no false alarms on the
names specs legitimately use."""

from __future__ import annotations

import pytest
from conftest import parse_text_report

from compiler.front.literal_secrets import is_secret_key, secret_in_text

SECRET_KEYS = ["password", "secret_key", "aws_secret_access_key", "dbPassword", "clientSecret", "pass",
               "db-password", "example.com/api-token", "api_key", "apiKey", "APIKEY", "API_TOKEN", "x-api-key",
               "SECRET", "passwd", "pwd", "db_pass", "token", "auth_token", "GITHUB_TOKEN", "privateKey",
               "ssh_key", "credentials", "passphrase", "password2", "password_hash", "client.secret",
               "Db Password", "refreshToken"]
NOT_SECRET_KEYS = ["password_env", "token_env", "keyfile_env", "passthrough", "compass", "bypass", "tokenizer",
                   "max_tokens", "primary_key", "unique_key", "sort_key", "secret_name", "secret_ref",
                   "password_file", "private_key_path", "aws_access_key_id", "pass_rate", "cost_center",
                   "release", "C", "max_iter", "key", "monkey", "passenger_count", "token_count"]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_keys_are_recognised(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", NOT_SECRET_KEYS)
def test_keys_that_only_look_alike_are_not(key):
    assert not is_secret_key(key)


SECRET_TEXT = ["jdbc:postgresql://db:5432/app?user=svc&password=hunter2",
               "jdbc:sqlserver://db:1433;databaseName=app;user=svc;password=hunter2",
               "Server=db;Database=app;User Id=svc;Password=hunter2;",
               "host=db dbname=app user=svc password=hunter2",
               "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=bm90IGEga2V5;",
               "https://user:pass@mlflow.example.com", "redis://:hunter2@cache:6379/0",
               "see postgres://svc:hunter2@db/app for details",
               "https://acct.blob.core.windows.net/c?sv=2022&sig=abcdef",
               "https://api.example.com/v1?api_key=abc123"]
NOT_SECRET_TEXT = ["https://mlflow.acme.internal", "sqlite:///.specops/mlflow.db", "user@example.com",
                   "select * from t where discount <= amount", "s3://bucket/orders/*.parquet",
                   "postgres://svc:${DB_PASSWORD}@db/app", "jdbc:postgresql://db/app?user=svc&password=${PW}",
                   "https://api.example.com/v1?page=2", "a == b", "token_count=3"]


@pytest.mark.parametrize("text", SECRET_TEXT)
def test_secrets_inside_text_are_recognised(text):
    assert secret_in_text(text)


@pytest.mark.parametrize("text", NOT_SECRET_TEXT)
def test_text_without_a_secret_is_left_alone(text):
    assert secret_in_text(text) is None


# --------------------------------------------------------------------------- end to end, through validate

MODEL = "specs/models/churn.yaml"
DEPLOY = "specs/deployments/churn_api.yaml"
ENVS = "specs/environments.yaml"
PROJECT = "specops.yaml"

CASES = [
    ("model-param-secret-key", MODEL, "params: {C: 1.0, max_iter: 500}",
     "params: {C: 1.0, max_iter: 500, secret_key: abc123}", "secret_key"),
    ("model-param-camel-case", MODEL, "params: {C: 1.0, max_iter: 500}",
     "params: {C: 1.0, max_iter: 500, dbPassword: abc123}", "dbPassword"),
    ("model-param-list-value", MODEL, "params: {C: 1.0, max_iter: 500}",
     "params: {C: 1.0, max_iter: 500, password: [abc123]}", "password"),
    ("model-param-nested-list", MODEL, "params: {C: 1.0, max_iter: 500}",
     "params: {C: 1.0, max_iter: 500, api_key: [[abc123]]}", "api_key"),
    ("model-param-nested", MODEL, "params: {C: 1.0, max_iter: 500}",
     "params: {C: 1.0, max_iter: 500, credentials: {value: abc123}}", "value"),
    ("model-param-number", MODEL, "params: {C: 1.0, max_iter: 500}", "params: {C: 1.0, max_iter: 500, pass: 1234}",
     "pass"),
    ("label-prefixed", DEPLOY, 'labels: {cost_center: "42"}', 'labels: {cost_center: "42", example.com/api-token: x1}',
     "example.com/api-token"),
    ("label-dashed", DEPLOY, 'labels: {cost_center: "42"}', 'labels: {cost_center: "42", db-password: x1}',
     "db-password"),
    ("monitoring-label", DEPLOY, "labels: {release: kube-prometheus-stack}",
     "labels: {release: kube-prometheus-stack, clientSecret: x1}", "clientSecret"),
    ("aws-key", DEPLOY, 'labels: {cost_center: "42"}', 'labels: {cost_center: "42", aws_secret_access_key: x1}',
     "aws_secret_access_key"),
    ("tracking-uri-jdbc-style", ENVS, "tracking_uri: https://mlflow.acme.internal",
     "tracking_uri: https://mlflow.acme.internal/?token=abc123", "tracking_uri"),
    ("tracking-uri-userinfo", ENVS, "tracking_uri: https://mlflow.acme.internal",
     "tracking_uri: https://ml:abc123@mlflow.acme.internal", "tracking_uri"),
    ("project-description", PROJECT, "description: Customer churn analytics,",
     "description: jdbc:postgresql://db/app?password=abc123 Customer churn analytics,", "description"),
    ("project-label", PROJECT, 'owner: "@acme/platform"', 'owner: "@acme/platform"\n  labels: {pass: abc}', "pass"),
]


@pytest.mark.parametrize(("rel", "old", "new", "key"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_literal_secrets_are_refused_where_they_are(edit, validate_cli, rel, old, new, key):
    edit.replace(rel, old, new)
    result = validate_cli(edit.root)
    assert result.exit_code == 1, result.output
    found = [d for d in parse_text_report(result.output) if d.code == "literal-secret"]
    assert found, result.output
    changed = new.splitlines()[-1].strip()
    assert found[0].is_in(rel) and found[0].line == edit.line_of(rel, changed)
    assert key.split("/")[-1] in edit.read(rel).splitlines()[found[0].line - 1][found[0].col - 1:]
    assert "abc123" not in result.output and "x1," not in result.output  # the snippet masks the value


def test_the_sanctioned_forms_validate(edit, validate_cli):
    edit.replace(MODEL, "params: {C: 1.0, max_iter: 500}",
                 "params: {C: 1.0, max_iter: 500, passthrough: 1, compass: 2, max_tokens: 3, token_count: 4, "
                 "use_password: true, password_column: x}")
    edit.replace(DEPLOY, 'labels: {cost_center: "42"}', 'labels: {cost_center: "42", secret_name: db-creds, '
                 "password_env: DB_PASSWORD, tokenizer: bpe}")
    result = validate_cli(edit.root)
    # password_column ends with a word that says it names something (a column), not a secret
    assert result.exit_code == 0, result.output


def test_a_column_named_password_hash_is_not_a_secret(edit, validate_cli):
    edit.replace("specs/datasets/customers.yaml", "columns:", "columns:\n    - {name: password_hash, type: string}")
    result = validate_cli(edit.root)
    assert "literal-secret" not in result.output


def test_the_examples_and_the_scaffold_have_no_false_alarms(repo, validate_cli):
    for source in ("churn", "init"):
        result = validate_cli(repo(source))
        assert result.exit_code == 0, result.output


SECRET_DATASETS = """\
apiVersion: specops/v1
kind: Dataset
metadata: {name: ext_orders, owner: "@a/b"}
spec:
  source: {type: external, uri: "s3://bucket/x.csv?sig=SIGabc123", format: "csv;password=PWabc124"}
  columns:
    - {name: a, type: integer}
---
apiVersion: specops/v1
kind: Dataset
metadata: {name: raw_orders, owner: "@a/b"}
spec:
  source: {type: table, schema: "raw password=PWabc125", table: t}
  columns:
    - {name: a, type: integer}
"""


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_no_other_finding_prints_a_secret(edit, validate_cli, fmt):
    """A schema error on a value holding a secret, and two secrets on one line: no message and no snippet shows
    any of them, in any format."""
    (edit.root / "specs/datasets/secret_sources.yaml").write_text(SECRET_DATASETS, encoding="utf-8")
    result = validate_cli(edit.root, "--format", fmt)
    assert result.exit_code == 1, result.output
    for secret in ("SIGabc123", "PWabc124", "PWabc125"):
        assert secret not in result.output, result.output
    if fmt == "text":
        codes = [d.code for d in parse_text_report(result.output)]
        assert codes.count("literal-secret") == 3 and "invalid-value" in codes, result.output


def test_a_long_secret_cut_short_in_a_message_is_masked_too(edit, validate_cli):
    """A schema message quotes a long value's first characters and '...': the whole text was looked for, and the
    password in the part shown was printed."""
    edit.replace("specops.yaml", "  kubernetes_version:", '  repository: {url: "https://git:ghp_RepoTok3nXXXXXXXXXXXX'
                 'XXXXXXXXXXXXXXXX@github.com/acme/x.git"}\n  kubernetes_version:')
    for fmt in ("text", "json"):
        result = validate_cli(edit.root, "--format", fmt)
        assert result.exit_code == 1, result.output
        assert "ghp_RepoTok3n" not in result.output, result.output
