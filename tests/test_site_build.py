"""`specops docs` without a browser: the files, their content, determinism, safety and the command.

The browser tests (tests/test_site_browser.py) open the same sites in Chromium.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli.main import main
from compiler.emit.site import build_site, read_plan
from compiler.emit.site.facts import safe_setting
from compiler.emit.site.layout import layered_layout
from compiler.emit.site.planview import is_data_file
from compiler.emit.site.static import VENDORED, static_dir
from compiler.front.check import require_project
from compiler.spec.diagnostics import SpecError
from compiler.spec.project import SpecProject
from tests.site_support import REPO_ROOT, SECRET_ROW_EMAIL, churn_with_a_breaking_change, generated_repo


def _files(project: SpecProject, **kwargs) -> dict[str, bytes]:
    return {a.path: a.content for a in build_site(project, **kwargs)}


def _data(files: dict[str, bytes]) -> dict:
    text = files["data.js"].decode()
    assert text.startswith("window.SPECOPS_DATA=") and text.endswith(";\n")
    return json.loads(text[len("window.SPECOPS_DATA="):-2])


def _cells(html: str) -> list[list[str]]:
    """The text of every table row's cells (tags stripped)."""
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        rows.append([re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)])
    return rows


@pytest.fixture(scope="module")
def site(churn: SpecProject) -> dict[str, bytes]:
    return _files(churn)


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[SpecProject, dict, dict[str, bytes]]:
    root, plan_file = churn_with_a_breaking_change(tmp_path_factory.mktemp("planned") / "churn")
    project = require_project(root)
    plan = read_plan(plan_file.read_text(encoding="utf-8"), "plan.json")
    return project, plan, _files(project, plan=plan)


# --- the files -------------------------------------------------------------------------------------


def test_a_page_per_resource_and_the_fixed_files(churn: SpecProject, site: dict[str, bytes]) -> None:
    pages = {p for p in site if p.startswith("r/")}
    assert pages == {f"r/{r.address}.html" for r in churn.resources()}
    assert {"index.html", "data.js", "resources.html", "manifest.json", "static/app.js", "static/page.js",
            "static/site.css", "static/vendor/README.md"} <= set(site)
    assert "plan.html" not in site  # only with a plan
    manifest = json.loads(site["manifest.json"])
    assert manifest["tool"] == "specops" and manifest["kind"] == "docs-site"
    assert manifest["artifacts"] == {p: hashlib.sha256(c).hexdigest() for p, c in site.items() if p != "manifest.json"}


def test_vendored_javascript_is_pinned_and_licensed(site: dict[str, bytes]) -> None:
    readme = (static_dir() / "vendor" / "README.md").read_text(encoding="utf-8")
    for v in VENDORED:
        content = site[f"static/vendor/{v.file}"]
        assert hashlib.sha256(content).hexdigest() == v.sha256, f"{v.file} is not the pinned {v.package} {v.version}"
        assert f"| {v.version} |" in readme
        for lic in v.licenses:
            assert b"Permission is hereby granted, free of charge" in site[f"static/vendor/{lic}"]
    assert b"* cytoscape-dagre" in site["static/vendor/cytoscape-dagre.min.js"][:200]


def test_offline_no_cdn_no_network(site: dict[str, bytes]) -> None:
    for path, content in site.items():
        if not path.endswith(".html"):
            continue
        html = content.decode()
        for url in re.findall(r'<(?:script|link|iframe|img)[^>]*(?:src|href)="([^"]*)"', html):
            assert not re.match(r"^[a-z]+:|^//", url), f"{path} loads {url}"
    app = site["static/app.js"].decode() + site["static/page.js"].decode()
    for banned in ("fetch(", "XMLHttpRequest", "import(", "new Worker", "http://", "https://"):
        assert banned not in app


def test_same_specs_same_bytes(tmp_path: Path, example_root: Path) -> None:
    """Two runs in fresh interpreters with different hash seeds write byte-identical sites."""
    trees = []
    for seed in ("1", "2"):
        out = tmp_path / f"site{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed, "SPECOPS_JOBS": "1" if seed == "1" else "2"}
        proc = subprocess.run([sys.executable, "-m", "compiler", "docs", str(example_root), "--out", str(out)],
                              capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300)
        assert proc.returncode == 0, proc.stderr
        trees.append({p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert trees[0] == trees[1]


# --- the graph's data -----------------------------------------------------------------------------------


def test_data_is_the_graph(churn: SpecProject, site: dict[str, bytes]) -> None:
    data = _data(site)
    assert data["id"] == churn.graph.nodes
    edges = [(data["id"][a], data["id"][b]) for a, b in zip(data["edges"][::2], data["edges"][1::2], strict=True)]
    assert edges == churn.graph.edges
    i = data["id"].index("dataset.customers")
    assert data["kinds"][data["kind"][i]] == "dataset"
    assert data["files"][data["file"][i]] == "specs/datasets/customers.yaml"
    assert data["owners"][data["owner"][i]] == "@acme/data-eng"
    assert [data["tags"][t] for t in data["tag"][i]] == ["raw", "crm"]
    assert data["collapse"] == "none" and data["plan"] is None


def test_layout_runs_left_to_right(tmp_path: Path) -> None:
    project = require_project(generated_repo(tmp_path / "gen"))
    place = layered_layout(project.graph.nodes, project.graph.edges)
    assert all(place[a][0] < place[b][0] for a, b in project.graph.edges)
    rows = {}
    for layer, row in place.values():
        rows.setdefault(layer, []).append(row)
    assert all(sorted(r) == list(range(len(r))) for r in rows.values())  # rows 0..n-1 in every layer
    assert layered_layout(reversed(project.graph.nodes), reversed(project.graph.edges)) == place


def test_a_large_repository_opens_collapsed(tmp_path: Path) -> None:
    project = require_project(generated_repo(tmp_path / "gen", n=1600))
    data = _data(_files(project))
    assert data["collapse"] == "folder"
    assert len(data["id"]) == 1600


# --- the pages ----------------------------------------------------------------------------------------------


def test_dataset_page(site: dict[str, bytes]) -> None:
    html = site["r/dataset.customers.html"].decode()
    rows = _cells(html)
    assert ["owner", "@acme/data-eng"] in rows
    assert ["defined in", "specs/datasets/customers.yaml:2"] in rows
    assert ["classification", "confidential"] in rows and ["retention", "2555d"] in rows
    # column, type, required, unique, PII, accepted values, description
    assert ["email", "string", "yes", "yes", "PII", "", "Login and contact e-mail address."] in rows
    assert ["country", "string", "yes", "", "", "US, GB, DE, FR, CA", "ISO 3166-1 alpha-2 billing country."] in rows
    assert '<span class="flag">PII</span>' in html
    # its checks, with their severities and the rule they belong to
    checks = [r for r in rows if len(r) == 7 and r[5].startswith("quality_rule.")]
    assert checks and {r[3] for r in checks} <= {"error", "warn"}
    assert any(r[1] == "regex" and r[2] == "email" and r[3] == "error" for r in checks)
    assert any(r[1] == "not_null" and r[3] == "warn" and "tolerates 10 failing rows" in r[4] for r in checks)
    assert "data/customers.csv" in html  # the source is named, its rows are not


def test_quality_rule_page_lists_checks_and_severities(site: dict[str, bytes]) -> None:
    rows = _cells(site["r/quality_rule.customer_features_checks.html"].decode())
    assert ["few_heavy_support_users", "range", "support_tickets", "warn",
            "max 6; tolerates 1.0% failing rows", "quality_rule.customer_features_checks", ""] in rows
    assert any(r[1] == "sql" and r[0] == "churn_rate_is_plausible" and r[3] == "error" for r in rows)


def test_transform_page_shows_its_sql_and_its_column_lineage(churn: SpecProject, site: dict[str, bytes]) -> None:
    html = site["r/transform.build_customer_activity.html"].decode()
    sql = churn.transforms["build_customer_activity"].sql
    first = next(line for line in sql.splitlines() if line.strip())
    assert first.strip().replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;") in html
    assert "sql/customer_activity.sql" in html
    # the lineage read from the SQL, through its CTEs: one row per output column, none guessed
    rows = {r[0]: r[1] for r in _cells(html) if len(r) == 2}
    assert rows["customer_id"] == "subscriptions.customer_id"
    assert rows["avg_satisfaction"] == "support_tickets.satisfaction_score"
    assert rows["active_subscriptions"] == "subscriptions.status"
    assert set(rows["updated_at"].split(", ")) == {"subscriptions.updated_at", "support_tickets.closed_at",
                                                   "support_tickets.opened_at"}
    assert rows["subscription_count"] == ""  # count(*) derives from no column
    assert "could not be analysed" not in html

    def unknown(_project, _transform):
        return None

    without = _files(churn, lineage=unknown)["r/transform.build_customer_activity.html"].decode()
    assert "could not be analysed" in without and "subscriptions.customer_id" not in without


def test_model_page(site: dict[str, bytes]) -> None:
    rows = _cells(site["r/model.churn.html"].decode())
    assert ["target", "churned"] in rows and ["dataset", "dataset.customer_features"] in rows
    assert ["tenure_months", "integer", ""] in rows  # feature, type, PII
    assert ["roc_auc", "0.7", "", "higher"] in rows and ["log_loss", "", "0.65", "lower"] in rows
    assert ["max regression", "0.02"] in rows and ["alias", "champion"] in rows


def test_deployment_page(site: dict[str, bytes]) -> None:
    rows = _cells(site["r/deployment.churn_api.html"].decode())
    assert ["runtime", "kserve"] in rows
    assert ["replicas", "2-6 (autoscaled at 70% CPU)"] in rows
    assert ["canary", "none (all at once)"] in rows  # the example has no canary
    assert ["environment", "environment.prod"] in rows
    assert ["approval required", "yes"] in rows


def test_user_text_is_escaped(repo, editor) -> None:
    root = repo()
    editor(root).replace("specs/datasets/customers.yaml", "description: One row per customer account, as exported "
                         "from the CRM.", 'description: "<script>alert(1)</script> & <b>bold</b>"')
    html = _files(require_project(root))["r/dataset.customers.html"].decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in html


# --- nothing sensitive -----------------------------------------------------------------------------------------


def test_no_data_values_no_secrets(planned, example_root: Path) -> None:
    _, _, files = planned
    first_row_email = (example_root / "data/customers.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[1]
    assert "@" in first_row_email
    for path, content in files.items():
        text = content.decode("utf-8", "replace")
        assert SECRET_ROW_EMAIL not in text, path  # the row the plan's seed diff carries
        assert first_row_email not in text, path
    plan_html = files["plan.html"].decode()
    assert "dbt/seeds/customers.csv" in plan_html and "a data file: the site never shows its rows" in plan_html
    env_page = files["r/environment.prod.html"].decode()
    assert "WAREHOUSE_PASSWORD" in env_page  # the variable's name, never a value


@pytest.mark.parametrize(("key", "value", "shown"), [
    ("host", "db.internal", "db.internal"),
    ("password", "x", None),
    ("api_key", "x", None),
    ("password_env", "WAREHOUSE_PASSWORD", "WAREHOUSE_PASSWORD"),
    ("tracking_uri", "https://user:pw@mlflow.example/x", "https://mlflow.example/x"),
])
def test_settings_are_shown_without_secrets(key: str, value: str, shown: str | None) -> None:
    assert safe_setting(key, value) == shown


@pytest.mark.parametrize(("path", "data"), [
    ("dbt/seeds/customers.csv", True), ("dbt/seeds/customers.yml", False), ("exports/x.parquet", True),
    ("k8s/dev/x.yaml", False), ("dbt/models/x.sql", False), ("workflows:specops-pr.yml", False),
    ("lineage/dev.jsonl", False), ("exports/lineage/x.jsonl", True), ("data/events.jsonl", True),
])
def test_data_files_are_recognised(path: str, data: bool) -> None:
    assert is_data_file(path) is data


# --- the plan ----------------------------------------------------------------------------------------------------


def test_plan_marks_what_the_plan_says(planned) -> None:
    _, plan, files = planned
    data = _data(files)
    marks = data["plan"]
    ids = data["id"]

    def of(column: str, names: list[str]) -> dict[str, str]:
        return {ids[i]: names[v - 1] for i, v in enumerate(marks[column]) if v}

    changes = {c["address"]: c for c in plan["resource_changes"]}
    assert of("act", marks["actions"]) == {a: c["action"] for a, c in changes.items()}
    assert of("cat", marks["categories"]) == {a: c["category"] for a, c in changes.items()}
    assert of("work", marks["works"]) == {i["address"]: i["work"] for i in plan["impact"]["items"]}
    assert of("act", marks["actions"]) == {"dataset.customers": "update"}
    assert of("work", marks["works"])["model.churn"] == "retrain"
    on_paths = {(a, b) for i in plan["impact"]["items"] for a, b in zip(i["path"], i["path"][1:], strict=False)}
    marked = {(ids[data["edges"][2 * k]], ids[data["edges"][2 * k + 1]]) for k in marks["impact_edges"]}
    assert marked == on_paths and marked
    assert marks["lists"]["rollout"] == plan["impact"]["rollout"]
    assert marks["stale"] is False
    # the plan page: every generated file, its diff one click away (or why not)
    html = files["plan.html"].decode()
    for n, change in enumerate(sorted(plan["artifact_changes"], key=lambda a: a["path"]), start=1):
        assert f'<details id="file-{n}" class="file"><summary><span class="act act-{change["action"]}">' in html
        assert change["path"] in html
    page = files["r/dataset.customers.html"].decode()
    assert "In the plan" in page and 'class="cat cat-breaking">breaking<' in page
    assert "spec.columns[marketing_opt_in]" in page
    assert 'href="../plan.html#file-' in page


def test_a_plan_of_other_specs_is_flagged(planned, churn: SpecProject) -> None:
    _, plan, _ = planned
    files = _files(churn, plan=plan)  # the plan was made from the edited copy, not examples/churn
    assert _data(files)["plan"]["stale"] is True
    assert "The plan was made from other specs" in files["plan.html"].decode()


@pytest.mark.parametrize(("text", "message"), [
    ('{"format_version": "1.0",\n  "resource_changes": [}', "plan.json:2:24: error: not valid JSON"),
    ("[1, 2]", "a specops plan is a JSON object"),
    ('{"format_version": "2.0"}', "format_version 2.0 is not 1.x"),
    ('{"format_version": "1.0", "resource_changes": [{"address": "dataset.x"}], "impact": {"items": []}, '
     '"artifact_changes": [], "summary_line": "x"}', "resource_changes[0] needs an address, an action"),
])
def test_a_bad_plan_file_is_reported_with_its_place(tmp_path: Path, example_root: Path, text: str,
                                                    message: str) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError):
        read_plan(text, "plan.json")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, ["docs", str(example_root), "--out", str(tmp_path / "site"),
                                           "--plan", "plan.json"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and not (tmp_path / "site").exists()


# --- the command ---------------------------------------------------------------------------------------------------


def test_default_folder_and_rerun(repo) -> None:
    root = repo()
    for _ in range(2):  # the second run replaces the first site
        result = CliRunner().invoke(main, ["docs", str(root)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    site = root / ".specops" / "docs"
    assert (site / "index.html").is_file() and (site / "r" / "model.churn.html").is_file()
    assert "wrote the docs site (" in result.output and "index.html" in result.output


def test_refuses_folders_it_must_not_replace(repo, tmp_path: Path) -> None:
    root = repo()
    runner = CliRunner()
    assert runner.invoke(main, ["compile", str(root), "--out", str(tmp_path / "compiled")]).exit_code == 0
    result = runner.invoke(main, ["docs", str(root), "--out", str(tmp_path / "compiled")])
    assert result.exit_code == 2 and "holds `specops compile` output" in result.output
    assert (tmp_path / "compiled" / "dbt").is_dir()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    result = runner.invoke(main, ["docs", str(root), "--out", str(mine)])
    assert result.exit_code == 1 and "was not written by specops" in result.output
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep me"
    result = runner.invoke(main, ["docs", str(root), "--out", str(root / "specs")])
    assert result.exit_code == 2 and "overlaps the spec folder" in result.output


def test_a_missing_plan_file_is_a_usage_error(example_root: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["docs", str(example_root), "--out", str(tmp_path / "s"), "--plan", "nope.json"])
    assert result.exit_code == 2 and "nope.json" in result.output


def test_validate_and_compile_never_import_the_site_code(example_root: Path, tmp_path: Path) -> None:
    """compiler.cli.docs is registered (a thin module); the site backend is imported only when `docs` runs."""
    code = (
        "import sys\nfrom click.testing import CliRunner\nimport compiler.cli.main as m\n"
        f"for args in (['validate', {str(example_root)!r}], ['compile', {str(example_root)!r}, '--out', "
        f"{str(tmp_path / 'out')!r}], ['graph', {str(example_root)!r}]):\n"
        "    assert CliRunner().invoke(m.main, args).exit_code == 0, args\n"
        "print(sorted(n for n in sys.modules if n.startswith(('compiler.emit.site', 'compiler.cli.registry'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_serve_on_loopback(example_root: Path, tmp_path: Path) -> None:
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "compiler", "docs", str(example_root), "--out", str(tmp_path / "s"),
                             "--serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO_ROOT)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        url = re.search(r"http://127\.0\.0\.1:(\d+)/", lines[1])
        assert url, lines
        with urllib.request.urlopen(url.group(0) + "r/model.churn.html", timeout=10) as response:
            assert response.status == 200 and b"model.churn" in response.read()
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the PR workflow publishes the site --------------------------------------------------------------------------


def test_the_pr_workflow_uploads_the_site_beside_its_comment(churn: SpecProject) -> None:
    from compiler.emit.github import SITE_ARTIFACT, SITE_DIR, pr_workflow
    from compiler.emit.github.pins import uses

    job = pr_workflow(churn)["jobs"]["plan"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}  # nothing more for the site
    names = [s["name"] for s in job["steps"]]
    build = job["steps"][names.index("Build the lineage site with the plan")]
    upload = job["steps"][names.index("Upload the lineage site")]
    assert build["run"] == f"specops docs --plan plan.json --out {SITE_DIR}\n"
    assert build["continue-on-error"] is True and build["id"] == "site"  # the comment is posted whatever happens
    assert upload["uses"] == uses("actions/upload-artifact") and upload["if"] == "steps.site.outcome == 'success'"
    assert upload["with"]["name"] == SITE_ARTIFACT and upload["with"]["path"] == f"{SITE_DIR}/\n"
    assert names.index("Plan against the base branch") < names.index("Build the lineage site with the plan") < \
        names.index("Upload the lineage site") < names.index("Post the plan as a sticky PR comment") == len(names) - 2
    assert names[-1] == "Fail when there is no plan"  # after the comment saying so
    comment = job["steps"][-2]["run"]
    assert f"if [ -f {SITE_DIR}/index.html ]; then" in comment and "actions/runs/" in comment


def test_values_of_pii_columns_are_never_in_the_site(tmp_path: Path) -> None:
    """PII is a flag in the site: a PII column's accepted values, and the values or pattern of a check on it, are
    counted or left out (they were listed)."""
    from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    ed = RepoEditor(root)
    ed.replace("specs/datasets/customers.yaml", "      description: First and last name as entered at signup.\n",
               "      description: First and last name as entered at signup.\n"
               "      accepted_values: [Ada Lovelace, Alan Turing]\n")
    ed.replace("specs/quality/sources.yaml", "pattern: '^[a-z0-9._-]+@[a-z0-9-]+(\\.[a-z0-9-]+)+$'",
               "pattern: '^leakypattern'")
    text = b"".join(_files(require_project(root)).values()).decode("utf-8", "replace")
    for secret in ("Ada Lovelace", "Alan Turing", "leakypattern"):
        assert secret not in text
    assert "(2 values, not shown: PII)" in text
    assert "US, GB, DE, FR, CA" in text or "US" in text  # values of other columns are shown as before


def test_derived_pii_is_flagged_where_validate_takes_it_as_pii(tmp_path: Path) -> None:
    """A column copied through SQL from a PII column is PII for validate's rules: the site flags it too, on the
    dataset's columns, the transform's column lineage and the model's features (it showed no flag)."""
    from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    RepoEditor(root).replace("specs/transforms/customer_features.yaml", "cast(c.segment as varchar) as segment",
                             "cast(c.full_name as varchar) as segment")
    files = _files(require_project(root))
    columns = _cells(files["r/dataset.customer_features.html"].decode())
    segment = columns[[r[0] for r in columns].index("segment")]
    assert segment[:5] == ["segment", "string", "yes", "", "PII (from customers.full_name)"]
    lineage = files["r/transform.build_customer_features.html"].decode()
    assert '<tr><td><span class="flag">segment</span></td><td>customers.full_name</td></tr>' in lineage


def test_what_the_baseline_hid_stays_hidden_on_the_site_of_the_plan(tmp_path: Path) -> None:
    """An edit that drops `pii: true` and changes a check on the column: the plan hides the check's pattern (the
    column was PII at the baseline), and so does the site drawn from that plan (it showed it)."""
    from conftest import EXAMPLE_ROOT, RepoEditor, copy_repository

    from tests.site_support import git

    root = copy_repository(EXAMPLE_ROOT, tmp_path / "churn")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    ed = RepoEditor(root)
    ed.replace("specs/datasets/customers.yaml", "      unique: true\n      pii: true\n", "      unique: true\n")
    ed.replace("specs/quality/sources.yaml", "pattern: '^[a-z0-9._-]+@[a-z0-9-]+(\\.[a-z0-9-]+)+$'",
               "pattern: '^leakypattern'")
    plan_file = tmp_path / "plan.json"
    result = CliRunner().invoke(main, ["plan", str(root), "--against", "HEAD", "--out", str(plan_file)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "leakypattern" not in plan_file.read_text(encoding="utf-8")
    plan = read_plan(plan_file.read_text(encoding="utf-8"), "plan.json")
    text = b"".join(_files(require_project(root), plan=plan).values()).decode("utf-8", "replace")
    assert "leakypattern" not in text
    assert "leakypattern" in b"".join(_files(require_project(root)).values()).decode()  # no plan: not PII now
