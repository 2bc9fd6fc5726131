# citehub: everything starts from a fresh clone with Python 3.11+, make and git.
# Installs are reproducible: uv installs exactly what uv.lock pins (the ranges stay in pyproject.toml;
# `make lock` re-resolves them after a change there).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
# --inexact: keep pip and uv themselves in the venv; --frozen: never re-resolve, install the lock as it is;
# --compile-bytecode: as pip does (uv does not by default), or every process compiles its imports anew
# wherever PYTHONDONTWRITEBYTECODE is set
SYNC := $(BIN)/uv sync --frozen --inexact --compile-bytecode --quiet --python $(BIN)/python
CHECKED := spiders flows schema warehouse samplesite tests bench

.PHONY: install demo test test-loaded test-fast lint format typecheck lock bench fixtures clean

$(STAMP): pyproject.toml uv.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(SYNC) --extra dev
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/citehub demo

# The whole suite: lint and types first, then every test (CI=true: PostgreSQL and Redis tests must run).
# TESTS narrows it (`make test-loaded TESTS="tests/flows/test_schedule.py"`); default: every test.
PYTEST := $(BIN)/python -m pytest -n 2 --dist loadfile --timeout 600 -q --durations=15
TESTS ?=
test: lint typecheck
	$(PYTEST) $(TESTS)

# The same pytest on a loaded machine: two busy loops take the cores for as long as it runs (a slow Prefect
# server start or a slow flow must not fail a test). The loops are this recipe's own, killed by their pids.
test-loaded: $(STAMP)
	@$(BIN)/python -c 'while True: pass' & one=$$!; \
	$(BIN)/python -c 'while True: pass' & two=$$!; \
	trap 'kill $$one $$two 2>/dev/null' EXIT INT TERM; \
	echo "busy loops $$one $$two running"; \
	status=0; $(PYTEST) $(TESTS) || status=$$?; \
	exit $$status

# Everything but the crawl- and Prefect-heavy tests (marked slow).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not slow" --durations=15

lint: $(STAMP)
	$(BIN)/ruff check $(CHECKED)
	$(BIN)/ruff format --check $(CHECKED)

format: $(STAMP)
	$(BIN)/ruff check --fix $(CHECKED)
	$(BIN)/ruff format $(CHECKED)

typecheck: $(STAMP)
	$(BIN)/mypy

lock: $(STAMP)
	$(BIN)/uv lock

fixtures: $(STAMP)
	$(BIN)/python -m tests.fixtures.regenerate

bench: $(STAMP)
	$(SYNC) --extra dev --extra bench
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf data .pytest_cache .mypy_cache .ruff_cache
