"""The monorepo-scale benchmark: whole-process wall time and peak memory of specops, against a floor.

    .venv/bin/python bench/run.py                       # sizes 1000,5000,10000, 3 runs each
    .venv/bin/python bench/run.py --quick               # sizes 200,1000, 1 run, no profile
    .venv/bin/python bench/run.py --sizes 2000 --runs 5 --skip-dbt
    make bench BENCH_ARGS="--quick"

For each size N it generates a synthetic repository (bench/generate.py) into a temporary folder
outside the source tree, commits it to a fresh git repository, and times, each in a new process:

  floor     read every spec file and parse it with yaml.load_all(CSafeLoader), nothing else
  validate  `specops validate` (the .specops/cache folder is removed before each run: cold)
  compile   `specops compile --out <fresh folder>` (cold, like validate)
  plan      `specops plan --env dev` after a one-file change, with a warm cache: plan runs once
            untimed, then before each timed run one dataset's description is edited. Twice: against
            the empty state of a fresh repository (every resource is new: the worst case), and
            against a state seeded as if the current specs had just been applied (the everyday case)
  PR plan  `specops plan --against main --no-cache` on a branch that edited one SQL file: the CI case
            (a fresh runner, no cache; the base branch checked out and compiled from git)
  dbt parse `dbt parse --no-partial-parse` on the dbt project that compile emitted (--skip-dbt)

Wall time is measured around the subprocess (median of --runs); CPU time and peak RSS come from
`/usr/bin/time -f "%U %S %M"` when it works, else from a small wrapper process's
getrusage(RUSAGE_CHILDREN) (the wrapper has exactly one child, so the figures are that child's).
It prints a table and writes a Markdown report (default bench/RESULTS.md; bench/out/RESULTS-quick.md
with --quick) with the machine, the targets of the performance issue with PASS/FAIL, and, with
--profile N (default 5000 when measured), the hottest functions of validate, compile and plan from
pyinstrument. Raw figures go to bench/out/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench/ is not a package: its modules import each other by name
from common import (  # noqa: E402
    OUT,
    base_env,
    dbt_executable,
    drop_cache,
    edit_description,
    git,
    progress,
    snapshot_source,
    specops_argv,
)
from generate import generate  # noqa: E402
from measure import Meter, Row, measure  # noqa: E402
from profiling import profile_size  # noqa: E402
from report import machine, results_table, targets, text_table, write_report  # noqa: E402

from scripts import FLOOR_SCRIPT, SEED_STATE_SCRIPT  # noqa: E402


def bench_size(n: int, args: argparse.Namespace, meter: Meter, work: Path) -> tuple[list[Row], dict[str, Any]]:
    size_dir = work / f"n{n}"
    repo_dir = size_dir / "repo"
    size_dir.mkdir(parents=True)
    progress(f"N={n}: generating into {repo_dir}")
    start = time.perf_counter()
    generated = generate(n, repo_dir, args.seed)
    gen_s = time.perf_counter() - start
    git(repo_dir, "init", "-q")
    git(repo_dir, "add", "-A")
    git(repo_dir, "commit", "-q", "-m", f"synthetic repository, N={n}, seed={args.seed}")
    (repo_dir / ".specops").mkdir(exist_ok=True)  # the dev DuckDB file's folder (dbt's profile points there)
    info = {"n": n, "files": len(generated.files), "counts": generated.counts, "dag_depth": generated.depth,
            "generate_s": round(gen_s, 2)}
    progress(f"N={n}: {len(generated.files)} files, DAG depth {generated.depth} (generated in {gen_s:.1f} s)")

    env = {**base_env(args.source_dir), "SPECOPS_CACHE_DIR": str(repo_dir / ".specops" / "cache")}
    log = size_dir / "command.log"
    floor_py = size_dir / "floor.py"
    floor_py.write_text(FLOOR_SCRIPT, encoding="utf-8")
    so = specops_argv(args.source_dir)
    rows: list[Row] = []

    rows.append(measure(meter, Row(n, "floor (read + CSafeLoader)", [sys.executable, str(floor_py), str(repo_dir)]),
                        args.runs, size_dir, env, log))
    rows.append(measure(meter, Row(n, "specops validate", [*so, "validate", str(repo_dir)]),
                        args.runs, size_dir, env, log, before=lambda _: drop_cache(repo_dir)))
    if not rows[-1].ok:
        progress(f"N={n}: the generated repository does not validate; skipping the other commands")
        return rows, info

    compile_out = size_dir / "compile-out"

    def fresh_out(_: int) -> None:
        drop_cache(repo_dir)
        shutil.rmtree(compile_out, ignore_errors=True)

    rows.append(measure(meter, Row(n, "specops compile", [*so, "compile", str(repo_dir), "--out", str(compile_out)]),
                        args.runs, size_dir, env, log, before=fresh_out))

    # plan: one cold run (reported, and it fills the cache), then one changed file before each timed run
    dataset_file = repo_dir / "specs" / "datasets" / sorted(p for p in generated.files
                                                            if p.startswith("specs/datasets/"))[0].split("/")[-1]
    drop_cache(repo_dir)
    edit_description(dataset_file, "cold")
    plan_argv = [*so, "plan", str(repo_dir), "--env", "dev"]
    cold = measure(meter, Row(n, "specops plan --env dev (empty state, cold, 1 run)", plan_argv,
                              note="empty cache; fills it"), 1, size_dir, env, log)
    warm = measure(meter, Row(n, "specops plan --env dev (empty state, warm, 1 file changed)", plan_argv,
                              note="cache warmed by the previous run, then one dataset description edited"),
                   args.runs, size_dir, env, log, before=lambda i: edit_description(dataset_file, f"r{i}"))
    rows += [warm, cold]

    # the realistic case: the environment was applied at the base commit, then one file changed
    seed = size_dir / "seed_state.py"
    seed.write_text(SEED_STATE_SCRIPT, encoding="utf-8")
    edit_description(dataset_file, "applied")
    done = subprocess.run([sys.executable, str(seed), str(repo_dir), "dev"], cwd=size_dir, env=env,
                          capture_output=True, text=True)
    applied_argv = [*so, "plan", str(repo_dir), "--env", "dev"]
    applied = Row(n, "specops plan --env dev (applied state, warm, 1 file changed)", applied_argv,
                  note="dev state as after an apply of the current specs; then one description edited per run")
    if done.returncode != 0:
        applied.error = "could not seed the applied state: " + (done.stdout + done.stderr)[-2000:]
        progress(f"N={n}: {applied.error}")
    else:
        progress(f"N={n}: {done.stdout.strip()}")
        subprocess.run(applied_argv, cwd=size_dir, env=env, capture_output=True)  # warm the cache
        measure(meter, applied, args.runs, size_dir, env, log,
                before=lambda i: edit_description(dataset_file, f"a{i}"))
    rows.insert(len(rows) - 2, applied)
    rows.append(pr_plan(n, repo_dir, generated.files, so, meter, args, size_dir, env, log))
    cache_dir = repo_dir / ".specops" / "cache"
    info["plan_cache_files"] = sum(1 for p in cache_dir.rglob("*") if p.is_file()) if cache_dir.exists() else 0

    dbt = dbt_executable()
    if not args.skip_dbt and dbt is not None:
        project_out = size_dir / "dbt-src"
        progress(f"N={n}: compiling once more for dbt parse")
        done = subprocess.run([*so, "compile", str(repo_dir), "--out", str(project_out)], env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            rows.append(Row(n, "dbt parse --no-partial-parse", [], error="compile failed: " + done.stdout[-2000:]))
            return rows, info
        dbt_dir = project_out / "dbt"
        models = sum(1 for _ in (dbt_dir / "models").glob("*.sql"))
        dbt_env = {**{k: v for k, v in env.items() if k != "PYTHONPATH"}, "SPECOPS_ROOT": str(repo_dir)}
        dbt_runs = args.dbt_runs if args.dbt_runs is not None else args.runs
        dbt_argv = [dbt, "parse", "--no-partial-parse", "--project-dir", str(dbt_dir), "--profiles-dir", str(dbt_dir),
                    "--target", "dev", "--target-path", str(size_dir / "dbt-target"),
                    "--log-path", str(size_dir / "dbt-logs")]
        progress(f"N={n}: dbt parse ({models} models, {dbt_runs} run(s); this can take minutes)")
        row = measure(meter, Row(n, "dbt parse --no-partial-parse", dbt_argv, note=f"{models} dbt models"),
                      dbt_runs, size_dir, dbt_env, log, timeout=args.dbt_timeout)
        manifest = size_dir / "dbt-target" / "manifest.json"
        if manifest.exists():
            nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
            info["dbt_nodes"] = {kind: sum(1 for x in nodes if x["resource_type"] == kind)
                                 for kind in ("model", "test", "seed")}
        rows.append(row)
    elif not args.skip_dbt:
        progress("dbt is not installed: skipping dbt parse")
    return rows, info


def pr_plan(n: int, repo_dir: Path, files: list[str], so: list[str], meter: Meter, args: argparse.Namespace,
            size_dir: Path, env: dict[str, str], log: Path) -> Row:
    """`specops plan --against main` on a branch that changed one transform's SQL, as CI runs it for a pull
    request: a fresh runner, so no cache at all (--no-cache), the base compiled from git."""
    git(repo_dir, "checkout", "-q", "-B", "main")
    git(repo_dir, "commit", "-q", "-am", "edits made by the earlier runs", "--allow-empty")
    git(repo_dir, "checkout", "-q", "-b", "pr")
    sql_file = repo_dir / sorted(p for p in files if p.startswith("sql/"))[0]
    text = sql_file.read_text(encoding="utf-8")
    sql_file.write_text(text.replace("select\n", "select -- reviewed\n", 1) + "-- edited on the branch\n",
                        encoding="utf-8")
    git(repo_dir, "commit", "-q", "-am", "a SQL edit on a branch")
    argv = [*so, "plan", str(repo_dir), "--against", "main", "--env", "dev", "--no-cache"]
    row = measure(meter, Row(n, "specops plan --against main --no-cache (PR plan, fresh runner)", argv,
                             note="one SQL file edited on the branch; base compiled from git, nothing cached"),
                  args.runs, size_dir, env, log)
    git(repo_dir, "checkout", "-q", "main")
    return row


def preflight(args: argparse.Namespace, work: Path) -> None:
    """validate, compile and plan a small repository first: a broken tree fails in seconds, not after an hour."""
    repo = work / "preflight" / "repo"
    generate(60, repo, args.seed)
    env = base_env(args.source_dir)
    for cli_args in (["validate", str(repo)], ["compile", str(repo), "--out", str(work / "preflight" / "out")],
                     ["plan", str(repo), "--env", "dev"]):
        done = subprocess.run([*specops_argv(args.source_dir), *cli_args], env=env, cwd=work, capture_output=True,
                              text=True)
        if done.returncode != 0:
            sys.exit(f"preflight: `specops {' '.join(cli_args)}` failed on a 60-spec repository "
                     f"(is the source tree mid-edit?):\n{(done.stdout + done.stderr)[-3000:]}")
    shutil.rmtree(work / "preflight")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=None, help="comma-separated N (default 1000,5000,10000)")
    p.add_argument("--runs", type=int, default=None, help="runs per command; the median is reported (default 3)")
    p.add_argument("--dbt-runs", type=int, default=None, help="runs of dbt parse (default: --runs)")
    p.add_argument("--dbt-timeout", type=float, default=3600, help="seconds before one dbt parse is abandoned")
    p.add_argument("--skip-dbt", action="store_true", help="do not time dbt parse")
    p.add_argument("--quick", action="store_true", help="sizes 200,1000, 1 run, no profile")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("--profile", type=int, default=None, metavar="N",
                   help="profile validate/compile/plan at this N with pyinstrument "
                        "(default 5000 when measured; 0: off)")
    p.add_argument("--results", type=Path, default=None,
                   help="Markdown report (default bench/RESULTS.md; bench/out/RESULTS-quick.md with --quick)")
    p.add_argument("--raw", type=Path, default=None, help="raw figures as JSON (default bench/out/results.json)")
    p.add_argument("--keep", action="store_true", help="keep the generated repositories (the folder is printed)")
    p.add_argument("--live", action="store_true",
                   help="run the checkout's code as it is at each moment, not a snapshot taken at the start")
    args = p.parse_args(argv)
    args.argv = argv
    quick_sizes, full_sizes = "200,1000", "1000,5000,10000"
    args.sizes = [int(x) for x in (args.sizes or (quick_sizes if args.quick else full_sizes)).split(",") if x]
    args.runs = args.runs or (1 if args.quick else 3)
    if args.profile is None:
        args.profile = 0 if args.quick else (5000 if 5000 in args.sizes else 0)
    if args.results is None:
        args.results = OUT / "RESULTS-quick.md" if args.quick else HERE / "RESULTS.md"
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    load_start = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="specops-bench-"))
    progress(f"working in {work} (sizes {args.sizes}, {args.runs} run(s))")
    rows: list[Row] = []
    infos: list[dict[str, Any]] = []
    profiles: dict[str, Any] = {}
    try:
        meter = Meter(work)
        args.source_dir = None if args.live else snapshot_source(work)
        mach = machine(args.source_dir)  # with the snapshot: the checkout may change while the benchmark runs
        preflight(args, work)
        for n in args.sizes:
            size_rows, info = bench_size(n, args, meter, work)
            rows += size_rows
            infos.append(info)
            print(text_table(results_table(size_rows)), flush=True)
        if args.profile:
            try:
                profiles = profile_size(args.profile, args, work)
            except (subprocess.CalledProcessError, OSError) as exc:
                detail = getattr(exc, "stderr", b"") or b""
                progress(f"profiling failed: {exc}\n{detail[-2000:].decode(errors='replace')}")
    finally:
        if args.keep:
            progress(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    loads = (load_start, os.getloadavg())
    print()
    print(text_table(results_table(rows)))
    print()
    for t in targets(rows):
        print(f"{t['verdict']:>4}  {t['target']}: {t['measured']}")
    write_report(args.results, args, rows, infos, mach, loads, meter, profiles, started, time.perf_counter() - t0)
    raw_path = args.raw or OUT / "results.json"
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    raw = {"args": argv, "machine": mach, "load": loads, "repositories": infos, "profiles": profiles,
           "rows": [{**{k: v for k, v in asdict(r).items() if k != "samples"},
                     "samples": [asdict(s) for s in r.samples]} for r in rows]}
    raw_path.write_text(json.dumps(raw, indent=2), encoding="utf-8")
    print(f"\nwrote {args.results} and {raw_path}")
    return 1 if any(not r.ok for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
