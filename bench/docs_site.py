"""The docs site at scale: `specops docs` on a generated repository, its size, and the page in Chromium.

    .venv/bin/python bench/docs_site.py                       # N=10,000, 3 runs, page timings if Chromium is here
    .venv/bin/python bench/docs_site.py --n 2000 --runs 1 --report ''    # quick look, no report

It generates a repository (bench/generate.py) outside the source tree, commits it, then breaks one
contract (a column dropped from a dataset read downstream) and saves `specops plan --against HEAD`, the plan
a pull request would show. Timed, each in a new process: `specops docs` and `specops docs --plan` (wall time,
CPU, peak RSS as bench/run.py measures them). Then the site's size, and, when Chromium and Playwright are
installed, the page opened from disk in headless Chromium: time to the first frame of the default (collapsed)
view, of the all-resources view, and what a click costs (focus a resource, a lineage selector, open a group).

The results replace the section between the docs-site markers in bench/RESULTS.md (bench/run.py keeps
that section when it rewrites the file).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench/ is not a package: its modules import each other by name
from common import base_env, git, progress, specops_argv  # noqa: E402
from generate import generate  # noqa: E402
from measure import Meter, Row, measure  # noqa: E402

BEGIN, END = "<!-- docs-site: bench/docs_site.py -->", "<!-- /docs-site -->"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _break_a_contract(root: Path) -> str:
    """Drop the last column of the first produced dataset that a transform reads, from the dataset and from the
    SQL that produces it (a breaking change that validates); return the dataset's address."""
    import re

    import yaml

    for spec in sorted((root / "specs" / "datasets").glob("*.yaml")):
        doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
        name = doc["metadata"]["name"]
        if "source" in doc["spec"] or len(doc["spec"].get("columns", [])) < 3:
            continue
        readers = [t for t in (root / "specs" / "transforms").glob("*.yaml")
                   if f" {name}" in t.read_text(encoding="utf-8") or f"[{name}" in t.read_text(encoding="utf-8")]
        if not readers:
            continue
        dropped = doc["spec"]["columns"][-1]["name"]
        if dropped in doc["spec"].get("primary_key", []):
            continue
        producer = next((t for t in (root / "specs" / "transforms").glob("*.yaml")
                         if re.search(rf"^  output: {name}$", t.read_text(encoding="utf-8"), re.M)), None)
        if producer is None:
            continue
        sql = producer.read_text(encoding="utf-8")
        edited = re.sub(rf",\n\s*[^\n]* as {re.escape(dropped)}\n", "\n", sql, count=1)
        if edited == sql:
            continue
        producer.write_text(edited, encoding="utf-8")
        doc["spec"]["columns"] = doc["spec"]["columns"][:-1]
        spec.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return f"dataset.{name}"
    raise RuntimeError("no dataset to change")


def _tree_size(folder: Path) -> dict[str, Any]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    on_disk = sum(p.stat().st_blocks * 512 for p in files)
    pages = [p for p in files if p.parent.name == "r"]
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files), "on_disk": on_disk,
            "data_js": (folder / "data.js").stat().st_size, "pages": len(pages),
            "pages_bytes": sum(p.stat().st_size for p in pages),
            "static_bytes": sum(p.stat().st_size for p in files if "static" in p.relative_to(folder).parts)}


def _browser(site: Path, runs: int) -> dict[str, Any] | None:
    """Page timings in headless Chromium, or None when it is not installed."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not os.access(CHROMIUM, os.X_OK):
        return None
    found: dict[str, list[float]] = {}

    def add(key: str, ms: float) -> None:
        found.setdefault(key, []).append(ms)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(runs):
            for view, suffix in (("collapsed", ""), ("all", "#view=none")):
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                start = time.perf_counter()
                page.goto((site / "index.html").as_uri() + suffix)
                page.wait_for_selector("body[data-ready='1']", timeout=600_000)
                if view == "all":  # the hash route rebuilds after the collapsed view drew: wait for that frame
                    _until(page, "specops.visible().length === specops.select('').length")
                    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                add(f"{view}: page open to first frame", (time.perf_counter() - start) * 1000)
                if view == "collapsed":
                    add("collapsed: nodes shown", page.evaluate("specops.visible().length"))
                    model = page.evaluate("specops.select('kind:model')[0]")
                    add("focus a model (open its group, highlight its lineage)",
                        _clock(page, f"specops.reveal({json.dumps(model)})"))
                    add("selector +model+ (lineage, dagre layout)",
                        _clock(page, f"document.querySelector('#select').value = {json.dumps('+' + model + '+')};"
                                     "document.querySelector('#select').dispatchEvent("
                                     "new KeyboardEvent('keydown', {key: 'Enter'}))"))
                    page.click("#reset")
                    group = page.evaluate("specops.cy.nodes('.group').sort((a, b) => b.width() - a.width())"
                                          ".map(n => n.id())[0] || null")
                    if group is not None:  # a small repository opens uncollapsed: no groups
                        add("open the largest group",
                            _clock(page, f"specops.cy.$id({json.dumps(group)}).emit('tap')"))
                if errors:
                    raise RuntimeError(f"page errors: {errors}")
                page.close()
        version = browser.version
        browser.close()
    return {"chromium": version, "ms": {k: statistics.median(v) for k, v in found.items()}}


def _until(page, expression: str, timeout: float = 600) -> None:
    """Poll until the expression is true (page.wait_for_function would eval it in the page: the CSP forbids that)."""
    end = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > end:
            raise TimeoutError(expression)
        time.sleep(0.02)


def _clock(page, script: str) -> float:
    """Milliseconds from running `script` to the next painted frame."""
    return page.evaluate(  # built here, not eval'd in the page: the site's CSP forbids eval
        "async () => { const t = performance.now(); " + script + ";"
        " await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));"
        " return performance.now() - t; }")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--report", default=str(HERE / "RESULTS.md"), help="report to update ('' for none)")
    args = parser.parse_args(argv)
    started = time.time()
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="specops-docs-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        repo = generate(args.n, work / "repo", seed=args.seed)
        progress(f"generated N={args.n:,} in {time.perf_counter() - t0:.1f} s")
        git(repo.root, "init", "-q")
        git(repo.root, "add", "-A")
        git(repo.root, "commit", "-qm", "generated")
        changed = _break_a_contract(repo.root)
        env = base_env()
        plan = work / "plan.json"
        meter = Meter(work)
        log = work / "log.txt"
        specops = specops_argv(None)
        plan_row = measure(meter, Row(args.n, "specops plan --against HEAD --out plan.json",
                                      [*specops, "plan", "--against", "HEAD", "--out", str(plan)]),
                           1, repo.root, env, log)
        rows = [
            measure(meter, Row(args.n, "specops docs", [*specops, "docs", "--out", str(work / "site")]),
                    args.runs, repo.root, env, log),
            measure(meter, Row(args.n, "specops docs --plan plan.json",
                               [*specops, "docs", "--plan", str(plan), "--out", str(work / "site-plan")]),
                    args.runs, repo.root, env, log),
        ]
        failed = [r for r in [plan_row, *rows] if not r.ok]
        if failed:
            print(failed[0].error, file=sys.stderr)
            return 1
        sizes = _tree_size(work / "site-plan")
        plan_data = json.loads(plan.read_text(encoding="utf-8"))
        progress("site written; timing the page in Chromium")
        page = _browser(work / "site-plan", args.runs)
        result = {"n": args.n, "counts": repo.counts, "changed": changed, "plan_bytes": plan.stat().st_size,
                  "plan_summary": plan_data["summary_line"], "sizes": sizes, "page": page,
                  "rows": [{"command": r.command, "runs": len(r.samples), "median_s": r.wall, "min_s": r.wall_min,
                            "cpu_s": r.cpu, "peak_mib": r.peak_mib} for r in rows],
                  "load": (load_start, os.getloadavg()), "cores": len(os.sched_getaffinity(0))}
    text = report(result, args, time.time() - started)
    print(text)
    if args.report:
        write_section(Path(args.report), text)
        progress(f"updated {args.report}")
    return 0


def report(r: dict[str, Any], args: argparse.Namespace, elapsed: float) -> str:
    s = r["sizes"]
    mib = 1024 * 1024
    lines = [
        BEGIN,
        "## The docs site (`specops docs`)",
        "",
        f"Generated by `bench/docs_site.py --n {args.n} --runs {args.runs}` on "
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC (took {elapsed / 60:.0f} min), on the machine "
        f"above ({r['cores']} usable cores; load average at start {r['load'][0][0]:.1f}, at end "
        f"{r['load'][1][0]:.1f}: other work shared the machine when it is over the core count, so wall times are "
        "noisy and `cpu s` is the steadier figure). The repository is `bench/generate.py` at that N, committed; "
        "then one contract is broken "
        f"({r['changed']} loses a column) and `specops plan --against HEAD --out plan.json` saves the pull request's "
        f"plan ({r['plan_bytes'] / mib:.1f} MiB: {r['plan_summary']}).",
        "",
        "| command | runs | median s | min s | cpu s | peak MiB |",
        "| :--- | ---: | ---: | ---: | ---: | ---: |",
        *(f"| {row['command']} | {row['runs']} | {row['median_s']:.2f} | {row['min_s']:.2f} | {row['cpu_s']:.2f} | "
          f"{row['peak_mib']:.0f} |" for row in r["rows"]),
        "",
        f"The site (with the plan): {s['files']:,} files, {s['bytes'] / mib:.1f} MiB ({s['on_disk'] / mib:.1f} MiB on "
        f"disk): `data.js` {s['data_js'] / 1024:.0f} KiB, {s['pages']:,} resource pages {s['pages_bytes'] / mib:.1f} "
        f"MiB, the page's code and the vendored JavaScript {s['static_bytes'] / 1024:.0f} KiB.",
        "",
    ]
    page = r["page"]
    if page is None:
        lines += ["The page was not timed: Chromium or Playwright is not installed here.", ""]
    else:
        lines += [f"The page, opened from disk in headless Chromium {page['chromium']} (1400x900; median of "
                  f"{args.runs} runs; a click is timed from the event to the next painted frame):", "",
                  "| measure | value |", "| :--- | ---: |"]
        for key, value in page["ms"].items():
            unit = "" if key.endswith("nodes shown") else " ms"
            lines.append(f"| {key} | {value:,.0f}{unit} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    """Replace the docs-site section of the report (or append it)."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        new = head + text + rest.split(END, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
