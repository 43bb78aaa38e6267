# Two commands set everything up on a fresh machine (Python 3.11+ and make are all it needs):
#   make demo   installs into .venv, then loads 14 days from the bundled sandbox API into data/
#   make test   installs into .venv, lints and type-checks (make lint), then runs the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install dev lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/analytics-pipeline demo

test: lint
	$(BIN)/python -m pytest

# Lint, formatting and types (settings in pyproject.toml); `make test` runs this first.
lint: $(STAMP)
	$(BIN)/ruff check analytics_pipeline analytics_pipeline_tests benchmarks docs
	$(BIN)/ruff format --check analytics_pipeline analytics_pipeline_tests benchmarks docs
	$(BIN)/mypy

dev: $(STAMP)
	$(BIN)/dagster dev

# Re-pin every dependency (needs network to PyPI): uv resolves, hashes and writes requirements.lock.
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes -q -o requirements.lock
	@{ printf '%s\n' "$$LOCK_HEADER"; cat requirements.lock; } > requirements.lock.tmp && mv requirements.lock.tmp requirements.lock

# Written at the top of requirements.lock by `make lock`.
define LOCK_HEADER
# DuckDB is pinned to 1.5.5, not the newer 2.0: the DuckLake, postgres and httpfs extensions are
# installed from the PyPI wheels duckdb-extension-* (never downloaded at run time), and those exist up
# to DuckDB 1.5.5 today, none for 2.0. Move duckdb and the three wheels up together when they appear.
# A warehouse file the 2.0 release wrote is moved aside and loaded again from raw (`rebuild`).
endef
export LOCK_HEADER

clean:
	rm -rf $(VENV) .pytest_cache
