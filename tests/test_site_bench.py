"""bench/docs_site.py runs end to end on a tiny repository and writes its section of the report, which
bench/run.py keeps when it rewrites the report (speed is not judged here: bench/RESULTS.md is for that)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.site_support import REPO_ROOT, browser_missing


@pytest.mark.slow
def test_docs_bench_writes_its_section_and_run_py_keeps_it(tmp_path: Path) -> None:
    report = tmp_path / "RESULTS.md"
    report.write_text("# earlier results\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "docs_site.py"), "--n", "60", "--runs", "1",
                           "--report", str(report)], capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# earlier results\n")
    section = text[text.index("<!-- docs-site: bench/docs_site.py -->"):]
    assert "| specops docs | 1 |" in section and "| specops docs --plan plan.json | 1 |" in section
    assert "resource pages" in section and section.rstrip().endswith("<!-- /docs-site -->")
    if browser_missing() is None:
        assert "| collapsed: page open to first frame |" in section
    done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "run.py"), "--sizes", "40", "--runs", "1",
                           "--skip-dbt", "--profile", "0", "--results", str(report), "--raw", str(tmp_path / "raw.json")],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rewritten = report.read_text(encoding="utf-8")
    assert "## Targets" in rewritten and section.strip() in rewritten
