"""The laptop-only rule as validate reports it, and the one secrets table as `specops secrets ENV` and the compiled
README show it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import RepoEditor, parse_text_report

from compiler.cli.main import main
from compiler.emit.compile import compile_project
from compiler.front.check import require_project

QA = """\
apiVersion: specops/v1
kind: Environment
metadata: {name: qa}
spec:
  warehouse: {type: duckdb, path: .specops/qa.duckdb}
  kubernetes: {namespace: ml-qa}
---
apiVersion: specops/v1
kind: Deployment
metadata: {name: churn_api_qa, owner: "@acme/ml"}
spec:
  model: churn
  environment: qa
  replicas: 2
"""


def test_an_environment_other_than_dev_on_a_laptop_is_warned_about(edit: RepoEditor) -> None:
    edit.write("specs/qa.yaml", QA)
    result = CliRunner().invoke(main, ["validate", str(edit.root)])
    assert result.exit_code == 0, result.output
    (found,) = [r for r in parse_text_report(result.output) if r.code == "laptop-only"]
    assert found.severity == "warning" and found.is_in("specs/qa.yaml")
    assert "environment 'qa' keeps its MLflow store sqlite:///.specops/mlflow.db and DuckDB file .specops/qa.duckdb" \
        in found.message
    assert "deployment.churn_api_qa, model.churn (retrain job), model.churn (drift job), " \
           "transform.build_customer_activity (dbt job)" in found.message
    paths = {a.path for a in compile_project(require_project(edit.root)).artifacts}
    assert not [p for p in paths if p.startswith(("k8s/qa/", "k8s/dev/"))]
    readme = next(a for a in compile_project(require_project(edit.root)).artifacts if a.path == "README.md")
    assert "### qa" in readme.content.decode() and "runs where the repository is" in readme.content.decode()


def test_secrets_lists_every_secret_of_an_environment(example_root: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["secrets", "prod", str(example_root), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    assert data["kubernetes_secret"] == "churn-analytics-secrets" and data["namespace"] == "ml-prod"
    by_name = {s["name"]: s for s in data["secrets"]}
    assert set(by_name) == {"KUBE_CONFIG", "MLFLOW_TRACKING_TOKEN", "WAREHOUSE_PASSWORD"}
    assert by_name["WAREHOUSE_PASSWORD"]["workflows"] == ["apply"]  # churn retrains in the cluster: no train workflow
    assert by_name["WAREHOUSE_PASSWORD"]["cluster"] == ["retrain", "drift", "transform"]
    assert "state backend" in by_name["WAREHOUSE_PASSWORD"]["purpose"]  # prod's state shares the warehouse's
    assert by_name["MLFLOW_TRACKING_TOKEN"]["cluster"] == ["retrain", "drift"]
    assert by_name["KUBE_CONFIG"]["cluster"] == [] and by_name["KUBE_CONFIG"]["airflow"] == []
    # the Airflow DAGs' tasks: dbt and training read the warehouse, rollout the state backend (the same secret)
    assert by_name["WAREHOUSE_PASSWORD"]["airflow"] == ["dbt", "train", "rollout"]
    assert by_name["MLFLOW_TRACKING_TOKEN"]["airflow"] == ["train"]  # rollout reads versions from the state
    text = runner.invoke(main, ["secrets", "prod", str(example_root)]).output
    assert "WAREHOUSE_PASSWORD" in text and (
        "GitHub Actions: apply; Kubernetes: retrain, drift, transform; Airflow: dbt, train, rollout" in text)
    assert "needs no secret" in runner.invoke(main, ["secrets", "dev", str(example_root)]).output
    markdown = runner.invoke(main, ["secrets", "prod", str(example_root), "--format", "markdown"]).output
    readme = next(a for a in compile_project(require_project(example_root)).artifacts if a.path == "README.md")
    assert markdown.strip() in readme.content.decode()  # the same table in both places
    unknown = runner.invoke(main, ["secrets", "prd", str(example_root)])
    assert unknown.exit_code == 2 and "did you mean 'prod'" in unknown.output.lower()


def test_the_readme_changes_with_settings_not_with_descriptions(edit: RepoEditor) -> None:
    def readme() -> bytes:
        return next(a.content for a in compile_project(require_project(edit.root)).artifacts if a.path == "README.md")

    before = readme()
    edit.replace("specs/models/churn.yaml", "Probability that a customer", "The probability that a customer")
    assert readme() == before
    edit.replace("specs/environments.yaml", "token_env: MLFLOW_TRACKING_TOKEN", "token_env: PROD_MLFLOW_TOKEN")
    assert b"`PROD_MLFLOW_TOKEN`" in readme()


def test_the_lineage_endpoint_key_is_a_secret_of_apply_and_train() -> None:
    """examples/fraud sends OpenLineage events to Marquez with a key; it retrains in Airflow, not in the cluster."""
    from integrations import EXAMPLES

    result = CliRunner().invoke(main, ["secrets", "prod", str(EXAMPLES / "fraud"), "--format", "json"])
    assert result.exit_code == 0, result.output
    by_name = {s["name"]: s for s in json.loads(result.output[result.output.index("{"):])["secrets"]}
    assert by_name["MARQUEZ_API_KEY"]["workflows"] == ["apply"] and by_name["MARQUEZ_API_KEY"]["cluster"] == []
    assert by_name["MARQUEZ_API_KEY"]["airflow"] == ["train"]  # the retraining DAG's training sends run events
    # its features are rebuilt by an Airflow DAG, not a dbt CronJob: only the drift job mounts the warehouse's key
    assert by_name["WAREHOUSE_PASSWORD"]["cluster"] == ["drift"]
    assert by_name["WAREHOUSE_PASSWORD"]["airflow"] == ["dbt", "train"]
    assert by_name["MLFLOW_TRACKING_TOKEN"]["optional"]  # a server without mlflow.token_env: used when set


def test_kafka_credentials_are_in_the_secrets_table(editor, repo) -> None:
    edit = editor(repo("clickstream"))
    edit.replace("specs/datasets/page_views.yaml", "    start: earliest\n",
                 "    start: earliest\n    security: {protocol: SASL_SSL, mechanism: SCRAM-SHA-512, "
                 "username_env: KAFKA_USER, password_env: KAFKA_PASSWORD}\n")
    result = CliRunner().invoke(main, ["secrets", "prod", str(edit.root), "--format", "json"])
    assert result.exit_code == 0, result.output
    found = {s["name"]: s for s in json.loads(result.output)["secrets"]}
    assert found["KAFKA_PASSWORD"]["workflows"] == ["apply"] and found["KAFKA_PASSWORD"]["cluster"] == ["land"]
    assert found["KAFKA_USER"]["cluster"] == ["land"]
    # the landing CronJob mounts exactly those keys and the warehouse's, from the one Secret
    project = require_project(edit.root)
    job = next(a for a in compile_project(project).artifacts if a.path == "k8s/prod/page-views-land.cronjob.yaml")
    assert b"key: KAFKA_PASSWORD" in job.content and b"key: WAREHOUSE_PASSWORD" in job.content


def test_the_train_workflow_reads_the_secrets_only_where_a_github_runner_trains(tmp_path) -> None:
    """`specops secrets` named a GitHub Actions `train` job for every environment, where none exists."""
    from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).replace("specs/models/churn.yaml", '    schedule: "0 3 * * 1"\n',
                             '    schedule: "0 3 * * 1"\n    runner: github\n')
    result = CliRunner().invoke(main, ["secrets", "prod", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    by_name = {s["name"]: s for s in json.loads(result.output[result.output.index("{"):])["secrets"]}
    assert by_name["WAREHOUSE_PASSWORD"]["workflows"] == ["apply", "train"]
