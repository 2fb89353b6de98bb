# FluentPro — the two commands are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup run test lint format bench soak browser clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

## Serve http://127.0.0.1:8080 (finds or starts PostgreSQL and Redis; no AI key needed).
run: setup
	$(BIN)/python -m server

## Lint (ruff, pinned), then the whole suite on its own database and Redis DB number.
test: setup browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

## Headless Chromium for the browser tests (Debian's package; skipped loudly if unavailable),
## and axe-core from npm for their accessibility scan (injected by the tests, never served).
AXE := tests/browser/node_modules-dir/node_modules/axe-core/axe.min.js
$(AXE):
	npm install --silent --no-save --no-audit --no-fund --prefix tests/browser/node_modules-dir axe-core@4

browser: $(AXE)
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) 2>/dev/null \
	  || echo "WARNING: Chromium could not be installed; browser tests will be skipped."; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Every benchmark against its same-run baseline → bench/results/latest.{json,md}.
bench: setup
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) \
	  || echo "WARNING: wrk unavailable; the REST benchmarks will fail to run."
	$(BIN)/python -m bench.run_all

## The long reliability run (bounded to 20 minutes).
soak: setup
	timeout 1200 $(BIN)/python -m pytest -m slow tests/soak -p no:cacheprovider

clean:
	rm -rf $(VENV) var .pytest_cache
