"""`specops docs --registry ENV`: the alias holder's version and metrics from a real MLflow registry.

Only with the flag; a registry that is unreachable, or not there yet, is noted on the pages and the
command still succeeds (it never fails the build).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli.main import main


def _rows(html: str) -> list[list[str]]:
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", html, re.S)]


def _docs(root: Path, *args: str):
    return CliRunner().invoke(main, ["docs", str(root), "--out", str(root / "site"), *args], catch_exceptions=False)


def test_without_the_flag_no_registry_is_read(repo) -> None:
    root = repo()
    result = _docs(root)
    assert result.exit_code == 0, result.output
    assert "Registry in environment" not in (root / "site/r/model.churn.html").read_text(encoding="utf-8")


def test_a_registry_not_there_yet_is_noted_and_not_created(repo) -> None:
    root = repo()
    result = _docs(root, "--registry", "dev")
    assert result.exit_code == 0, result.output
    assert "note: model churn: no registry yet at" in result.output
    assert not (root / ".specops" / "mlflow.db").exists()
    rows = _rows((root / "site/r/model.churn.html").read_text(encoding="utf-8"))
    assert any(r[0] == "status" and r[1].startswith("no registry yet at") for r in rows)


def test_an_unknown_environment_is_a_usage_error(example_root: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["docs", str(example_root), "--out", str(tmp_path / "s"), "--registry", "qa"])
    assert result.exit_code == 2 and "unknown environment 'qa'" in result.output


@pytest.mark.slow
def test_an_unreachable_registry_is_noted_and_the_site_is_written(repo, editor) -> None:
    root = repo()
    editor(root).replace("specs/environments.yaml", "https://mlflow.acme.internal", "http://127.0.0.1:9")
    result = _docs(root, "--registry", "prod")
    assert result.exit_code == 0, result.output
    assert "note: model churn: registry at http://127.0.0.1:9 unreachable" in result.output
    html = (root / "site/r/model.churn.html").read_text(encoding="utf-8")
    assert "Registry in environment prod" in html and "unreachable" in html


@pytest.mark.slow
def test_the_alias_holder_version_and_metrics(repo) -> None:
    import mlflow  # noqa: F401 - the run extra; the test needs the real registry
    from mlflow import MlflowClient

    root = repo()
    (root / ".specops").mkdir(exist_ok=True)
    uri = f"sqlite:///{root / '.specops' / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    experiment = client.create_experiment("churn", artifact_location=(root / "mlruns").as_uri())
    for auc in (0.71, 0.8125):  # two versions; the alias goes to the second
        run = client.create_run(experiment)
        client.log_metric(run.info.run_id, "roc_auc", auc)
        client.log_metric(run.info.run_id, "log_loss", 0.41)
        client.set_terminated(run.info.run_id)
        if auc == 0.71:
            client.create_registered_model("churn")
        version = client.create_model_version("churn", source=(root / "mlruns" / "m").as_uri(), run_id=run.info.run_id)
    client.set_registered_model_alias("churn", "champion", version.version)

    result = _docs(root, "--registry", "dev")
    assert result.exit_code == 0, result.output
    assert "note:" not in result.output
    rows = _rows((root / "site/r/model.churn.html").read_text(encoding="utf-8"))
    assert ["version", "2"] in rows and ["alias", "champion"] in rows
    assert ["roc_auc", "0.8125"] in rows and ["log_loss", "0.41"] in rows
    assert ["run", run.info.run_id] in rows
