"""The benchmark script runs end to end on a tiny size and writes its report (speed is not judged here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bench_runs_and_reports(tmp_path: Path) -> None:
    report = tmp_path / "RESULTS.md"
    done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "run.py"), "--sizes", "40", "--runs", "1",
                           "--skip-dbt", "--profile", "0", "--results", str(report), "--raw", str(tmp_path / "raw.json")],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = report.read_text(encoding="utf-8")
    for row in ("floor (read + CSafeLoader)", "specops validate", "specops compile",
                "specops plan --env dev (applied state, warm, 1 file changed)"):
        assert f"| 40 | {row} |" in text
    assert "## Targets" in text and "## Machine" in text
    raw = json.loads((tmp_path / "raw.json").read_text(encoding="utf-8"))
    assert {r["command"] for r in raw["rows"]} >= {"specops validate", "specops compile"}
