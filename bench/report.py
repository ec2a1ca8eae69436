"""The benchmark's report: the machine, the targets of the performance issue, and the tables."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

from common import ROOT, base_env, dbt_executable, specops_argv
from measure import Meter, Row

# the targets of the performance issue
VALIDATE_MAX_X_FLOOR = 2.0  # with the SQL analysis of every transform included (issue 13)
PR_PLAN_MAX_X_FLOOR = 3.0  # a plan against the base branch on a fresh runner: no cache at all
COMPILE_MAX_X_FLOOR = 4.0
PLAN_MAX_X_FLOOR = 1.0
DBT_MIN_SPEEDUP = 10.0
PEAK_MAX_MIB = 1024.0
LINEAR_SLACK = 1.5  # time per spec at the largest N may be at most this many times that at the smallest


def machine(source: Path | None) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
        mem = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    def first_line(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=base_env(source),
                                 cwd=source or ROOT)
            return out.stdout + out.stderr
        except (OSError, subprocess.TimeoutExpired):
            return ""

    specops_version = first_line([*specops_argv(source), "--version"]).strip() or "unknown"
    dbt = dbt_executable()
    dbt_text = first_line([dbt, "--version"]) if dbt else ""
    core = re.search(r"installed:\s*(\S+)", dbt_text)
    duck = re.search(r"duckdb:\s*(\S+)", dbt_text)
    dbt_version = (f"dbt-core {core.group(1)}" + (f", dbt-duckdb {duck.group(1)}" if duck else "")) if core else "n/a"
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "compiler", "schemas", "templates"], cwd=ROOT,
                           capture_output=True, text=True).stdout
    import yaml

    return {
        "cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "memory": mem,
        "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "pyyaml": f"{yaml.__version__} ({'C LibYAML' if hasattr(yaml, 'CSafeLoader') else 'pure Python'})",
        "specops": specops_version, "dbt": dbt_version,
        "commit": head.strip() + (f" + uncommitted changes in {len(dirty.splitlines())} files" if dirty else ""),
        "source": "a snapshot of compiler/, schemas/ and templates/ taken at the start" if source else
                  "the live checkout (--live)",
    }


def key_of(command: str) -> str:
    if command.startswith("floor"):
        return "floor"
    if command.startswith("dbt"):
        return "dbt"
    if "plan" in command:
        if "--against" in command:
            return "plan_pr"
        return "plan_cold" if "cold" in command else "plan_applied" if "applied" in command else "plan"
    return command.split()[-1]


def targets(rows: list[Row]) -> list[dict[str, Any]]:
    """One entry per target of the issue: the figure at each N and PASS/FAIL (n/a when not measured)."""
    table: dict[int, dict[str, Row]] = {}
    for r in rows:
        if r.ok:
            table.setdefault(r.n, {})[key_of(r.command)] = r
    sizes = sorted(table)
    result = []

    def ratio_target(name: str, key: str, limit: float) -> None:
        vals = {n: table[n][key].wall / table[n]["floor"].wall
                for n in sizes if key in table[n] and "floor" in table[n]}
        cpu = {n: table[n][key].cpu / max(table[n]["floor"].cpu, 1e-3) for n in vals}
        shown = ", ".join(f"N={n}: {v:.1f}x (cpu {cpu[n]:.1f}x)" for n, v in vals.items())
        # the issue sets the targets at N = 10,000: judge the largest size measured, show the others
        verdict = "n/a" if not vals else ("PASS" if vals[max(vals)] <= limit else "FAIL")
        result.append({"target": f"{name} (judged at N={max(vals):,})" if vals else name,
                       "measured": shown or "not measured", "verdict": verdict})

    ratio_target(f"validate <= {VALIDATE_MAX_X_FLOOR:g}x floor", "validate", VALIDATE_MAX_X_FLOOR)
    ratio_target(f"compile <= {COMPILE_MAX_X_FLOOR:g}x floor", "compile", COMPILE_MAX_X_FLOOR)
    ratio_target(f"warm plan, applied state + 1 file changed <= {PLAN_MAX_X_FLOOR:g}x floor", "plan_applied",
                 PLAN_MAX_X_FLOOR)
    ratio_target(f"warm plan, empty state (every resource new) <= {PLAN_MAX_X_FLOOR:g}x floor", "plan",
                 PLAN_MAX_X_FLOOR)
    ratio_target(f"PR plan against the base branch, fresh runner (no cache) <= {PR_PLAN_MAX_X_FLOOR:g}x floor",
                 "plan_pr", PR_PLAN_MAX_X_FLOOR)

    speed = {n: table[n]["dbt"].wall / table[n]["compile"].wall for n in sizes
             if "dbt" in table[n] and "compile" in table[n]}
    result.append({"target": f"compile >= {DBT_MIN_SPEEDUP:g}x faster than dbt parse",
                   "measured": ", ".join(f"N={n}: {v:.1f}x" for n, v in speed.items()) or "not measured (--skip-dbt)",
                   "verdict": "n/a" if not speed else ("PASS" if all(v >= DBT_MIN_SPEEDUP for v in speed.values())
                                                       else "FAIL")})

    ours = ("validate", "compile", "plan", "plan_cold", "plan_applied", "plan_pr")
    peaks = {n: max(r.peak_mib for k, r in table[n].items() if k in ours)
             for n in sizes if any(k in table[n] for k in ("validate", "compile", "plan"))}
    result.append({"target": f"peak memory of specops < {PEAK_MAX_MIB / 1024:g} GiB",
                   "measured": ", ".join(f"N={n}: {v:.0f} MiB" for n, v in peaks.items()) or "not measured",
                   "verdict": "n/a" if not peaks else ("PASS" if max(peaks.values()) < PEAK_MAX_MIB else "FAIL")})

    if len(sizes) >= 2 and sizes[-1] / sizes[0] >= 4:
        lo, hi = sizes[0], sizes[-1]
        parts, ok = [], True
        for key in ("validate", "compile", "plan_applied", "plan"):
            if key in table[lo] and key in table[hi]:
                growth = table[hi][key].wall / table[lo][key].wall
                exponent = math.log(growth) / math.log(hi / lo)
                ok &= growth <= LINEAR_SLACK * hi / lo
                label = {"plan_applied": "plan (applied state)", "plan": "plan (empty state)"}.get(key, key)
                parts.append(f"{label} x{growth:.1f} (exponent {exponent:.2f})")
        result.append({"target": f"near-linear growth {lo:,} -> {hi:,} (time grows <= {LINEAR_SLACK:g} x {hi / lo:g})",
                       "measured": "; ".join(parts), "verdict": "PASS" if ok and parts else "FAIL"})
    else:
        result.append({"target": "near-linear growth 1k -> 10k", "measured": "needs two sizes 4x apart or more",
                       "verdict": "n/a"})
    return result


def results_table(rows: list[Row]) -> list[list[str]]:
    floors = {r.n: r for r in rows if r.ok and key_of(r.command) == "floor"}
    out = []
    for r in rows:
        if not r.ok:
            out.append([f"{r.n:,}", r.command, "0", "FAILED", "", "", "", "", ""])
            continue
        floor = floors.get(r.n)
        ratio = f"{r.wall / floor.wall:.1f}x" if floor else ""
        cpu_ratio = f"{r.cpu / floor.cpu:.1f}x" if floor and floor.cpu > 0 else ""
        out.append([f"{r.n:,}", r.command, str(len(r.samples)), f"{r.wall:.2f}", f"{r.wall_min:.2f}", f"{r.cpu:.2f}",
                    ratio, cpu_ratio, f"{r.peak_mib:.0f}"])
    return out


HEADER = ["N", "command", "runs", "median s", "min s", "cpu s", "x floor", "cpu x floor", "peak MiB"]


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADER)]

    def line(cells: list[str]) -> str:
        padded = zip(cells, widths, strict=True)
        return "  ".join(c.ljust(w) if i == 1 else c.rjust(w) for i, (c, w) in enumerate(padded))

    return "\n".join(line(r) for r in [HEADER, *rows])


def md_table(header: list[str], rows: list[list[str]], align: str = "") -> str:
    align = align or "".join("l" if i < 2 else "r" for i in range(len(header)))
    sep = ["---:" if a == "r" else ":---" for a in align]
    return "\n".join("| " + " | ".join(r) + " |" for r in [header, sep, *rows])


def write_report(path: Path, args: argparse.Namespace, rows: list[Row], infos: list[dict[str, Any]],
                 mach: dict[str, Any], loads: tuple[tuple[float, ...], tuple[float, ...]], meter: Meter,
                 profiles: dict[str, Any], started: dt.datetime, elapsed: float) -> None:
    tg = targets(rows)
    lines = [
        "# specops benchmark results",
        "",
        f"Generated by `bench/run.py {' '.join(args.argv)}`".rstrip() + f" on {started:%Y-%m-%d %H:%M} UTC "
        f"(took {elapsed / 60:.0f} min). Re-run with `make bench` (or `make bench BENCH_ARGS=--quick`).",
        "",
        "## Machine",
        "",
        f"- CPU: {mach['cpu']}, {mach['cores']} cores ({mach['usable_cores']} usable); memory {mach['memory']}; "
        f"{mach['os']}",
        f"- Python {mach['python']}, PyYAML {mach['pyyaml']}; {mach['specops']}; {mach['dbt']}",
        f"- specops source: commit {mach['commit']}; measured: {mach['source']}",
        f"- load average (1, 5, 15 min) at start {', '.join(f'{x:.1f}' for x in loads[0])}, "
        f"at end {', '.join(f'{x:.1f}' for x in loads[1])}"
        + (" - the machine was shared with other work, so wall times are noisy; `cpu s` (user + system) "
           "is the steadier figure" if max(loads[0][0], loads[1][0]) > (mach['usable_cores'] or 1) * 0.5 else ""),
        "",
        "## Method",
        "",
        f"Each size N is a repository from `bench/generate.py --n N --seed {args.seed}` (about 35% datasets, "
        "25% transforms, 25% quality rules, 7% models, 7% deployments, 3 environments; one document per file), "
        "generated outside the source tree and committed to a fresh git repository. Every command runs in a new "
        f"process; `median s` is the median wall time over `runs` runs, `cpu s` the median user + system time, "
        f"`peak MiB` the largest maximum RSS ({meter.method}).",
        "specops uses every usable core (it forks workers for parsing and checking files and for the backends; "
        "`SPECOPS_JOBS=1` turns that off): `cpu s` counts the workers' time too, so it can exceed the wall time.",
        "",
        "- floor: a script that reads every spec file and parses it with `yaml.load_all(CSafeLoader)`, nothing else "
        "(interpreter start and the PyYAML import included, like every other row).",
        "- validate and compile: cold (`.specops/cache` removed before each run); compile writes into a fresh folder.",
        "- plan: `specops plan --env dev`; each warm run follows the previous run with one dataset's description "
        "edited. *applied state*: the dev state is seeded as a completed `specops apply` of the specs would leave it "
        "(resource snapshots, artifact digests and the applied tree, no pending work; dbt, MLflow and kubectl are "
        "not run), so the plan shows the one change and its impact: the everyday case. *empty state*: a fresh "
        "repository's state, so every resource is new: the worst case. The cold row is the first run on an "
        "empty cache, against the empty state.",
        "- PR plan: `specops plan --against main --env dev --no-cache` on a branch `pr` whose one commit edits one "
        "SQL file, as CI runs it for a pull request on a fresh runner: nothing cached, the base branch's files and "
        "artifacts made from git in the same run (reusing what the head made for identical files).",
        "- dbt parse: `dbt parse --no-partial-parse` on the dbt project compile emitted"
        + (f", {args.dbt_runs} run(s) per size (it takes minutes at the larger sizes)" if args.dbt_runs else "") + ".",
        "",
        "## Results",
        "",
        md_table(HEADER, results_table(rows)),
        "",
        "Repositories:",
        "",
    ]
    for info in infos:
        c = info["counts"]
        dbt_nodes = info.get("dbt_nodes")
        lines.append(f"- N={info['n']:,}: {info['files']:,} files ({c['dataset']} datasets, "
                     f"{c['transform']} transforms, "
                     f"{c['quality_rule']} quality rules, {c['model']} models, {c['deployment']} deployments, "
                     f"{c['environment']} environments), DAG depth {info['dag_depth']}, generated in "
                     f"{info['generate_s']} s"
                     + (f"; dbt parsed {dbt_nodes['model']:,} models, {dbt_nodes['test']:,} tests, "
                        f"{dbt_nodes['seed']} seeds" if dbt_nodes else "")
                     + f"; plan cache after the runs: {info.get('plan_cache_files', 0):,} files")
    lines += ["", "## Targets", "", md_table(["target", "measured", "verdict"],
                                             [[t["target"], t["measured"], f"**{t['verdict']}**"] for t in tg], "lll"),
              ""]
    failed = [r for r in rows if not r.ok]
    if failed:
        lines += ["Failed commands:", ""]
        lines += [f"- N={r.n} {r.command}: `{(r.error or '').splitlines()[0]}`" for r in failed]
        lines.append("")
    lines += ["## Where the time goes", ""]
    if profiles:
        n = args.profile
        lines += [
            f"pyinstrument (sampling) over whole runs at N={n:,}, in the same state as the timed runs (validate and "
            "compile cold; plan warm after a one-file change, against the empty state and, as plan-applied, against "
            "the seeded applied state), in one process (`SPECOPS_JOBS=1`, so that the profile sees all the work). "
            "The profiler roughly doubles the run time; the shares are what matters. "
            "`cumulative` is the time with the function on the "
            "stack (recursion counted once), `share` its fraction of the whole run, imports included. Full trees: "
            "`bench/out/profile-<command>-<N>.txt` (not committed; re-run with `--profile N`).",
            "",
        ]
        for name, prof in profiles.items():
            lines += [f"### {name} (N={n:,}, {prof['total_s']} s under the profiler; imports "
                      f"{prof['imports_s']} s = {prof['imports_share']:.0%})", "",
                      "Top specops functions by cumulative time (the CLI entry chain left out):", "",
                      md_table(["function", "where", "cumulative s", "share"],
                               [[f"`{h['function']}`", f"`{h['where']}`", f"{h['seconds']:.2f}",
                                 f"{h['share']:.0%}"] for h in prof["cumulative"]], "llrr"),
                      "", "Top functions by self time (any module):", "",
                      md_table(["function", "where", "self s", "share"],
                               [[f"`{h['function']}`", f"`{h['where']}`", f"{h['seconds']:.2f}",
                                 f"{h['share']:.0%}"] for h in prof["self"]], "llrr"),
                      "", "Self time by package (C built-ins counted in their caller's package):", "",
                      md_table(["package", "self s", "share"],
                               [[f"`{h['package']}`", f"{h['seconds']:.2f}", f"{h['share']:.0%}"]
                                for h in prof["packages"]], "lrr"),
                      ""]
    else:
        lines += ["Not profiled in this run (use `--profile N` with pyinstrument installed).", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = "<!-- docs-site: bench/docs_site.py -->", "<!-- /docs-site -->"
    if begin in old and end in old:  # bench/docs_site.py's section: its own script rewrites it
        lines += ["", begin + old.split(begin, 1)[1].split(end, 1)[0] + end, ""]
    path.write_text("\n".join(lines), encoding="utf-8")
