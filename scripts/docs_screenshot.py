"""Refresh docs/img/docs-churn.png, the README's picture of `specops docs` on examples/churn.

    .venv/bin/python scripts/docs_screenshot.py

A copy of examples/churn is committed to a throw-away git repository, one column is dropped from
dataset.customers, and the site is written with `specops plan --against HEAD` drawn on it; headless
Chromium (Debian's, driven by Playwright) takes the picture with the changed dataset focused. The PNG is reduced
to a 256-colour palette when Pillow is installed, to keep the repository small.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img" / "docs-churn.png"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
DROPPED = ("    - name: marketing_opt_in\n      type: boolean\n"
           "      description: Whether the customer agreed to receive marketing e-mail.\n      required: true\n")


def run(*argv: str, cwd: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "docs", "GIT_AUTHOR_EMAIL": "docs@example.invalid",
           "GIT_COMMITTER_NAME": "docs", "GIT_COMMITTER_EMAIL": "docs@example.invalid"}
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)


def main() -> int:
    from playwright.sync_api import sync_playwright

    specops = [sys.executable, "-m", "compiler"]
    with tempfile.TemporaryDirectory() as tmp:
        repo, site = Path(tmp) / "churn", Path(tmp) / "site"
        shutil.copytree(ROOT / "examples" / "churn", repo, ignore=shutil.ignore_patterns(".specops", "build"))
        run("git", "init", "-q", cwd=repo)
        run("git", "add", "-A", cwd=repo)
        run("git", "commit", "-qm", "base", cwd=repo)
        spec = repo / "specs" / "datasets" / "customers.yaml"
        spec.write_text(spec.read_text(encoding="utf-8").replace(DROPPED, ""), encoding="utf-8")
        run(*specops, "plan", "--against", "HEAD", "--out", str(repo / "plan.json"), cwd=repo)
        run(*specops, "docs", "--plan", "plan.json", "--out", str(site), cwd=repo)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 780}, device_scale_factor=1)
            page.goto((site / "index.html").as_uri() + "#focus=dataset.customers")
            page.wait_for_selector("body[data-ready='1']", timeout=60_000)
            page.wait_for_timeout(800)  # the page in the frame, and one more frame after the last layout
            OUT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUT))
            browser.close()
    try:
        from PIL import Image

        Image.open(OUT).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            OUT, optimize=True)
    except ImportError:
        pass
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
