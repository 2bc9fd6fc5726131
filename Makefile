# citehub: everything starts from a fresh clone with Python 3.11+, make and git.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint bench fixtures clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/citehub demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --timeout 600 -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check spiders flows schema warehouse samplesite tests bench

fixtures: $(STAMP)
	$(BIN)/python -m tests.fixtures.regenerate

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf data .pytest_cache
