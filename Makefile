# FluentPro — the two commands are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
LOCKS := requirements
# One stamp per lock: the environment is reinstalled when its lock or the metadata changes.
stamp = $(VENV)/.installed-$(1)-$(shell cat $(LOCKS)/$(1).txt setup.cfg pyproject.toml | cksum | cut -d' ' -f1)
RUNTIME_ENV := $(call stamp,runtime)
TEST_ENV := $(call stamp,test)
BENCH_ENV := $(call stamp,bench)

.PHONY: setup run test lint format lock docs bench soak browser redis-server node-tools vendor clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exactly the locked versions, every file checked against its hash; then the project
# itself, editable, with no dependency resolution of its own.
define install_lock
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCKS)/$(1).txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@
endef

$(RUNTIME_ENV): $(LOCKS)/runtime.txt setup.cfg pyproject.toml | $(BIN)/python
	$(call install_lock,runtime)

$(TEST_ENV): $(LOCKS)/test.txt setup.cfg pyproject.toml | $(BIN)/python
	$(call install_lock,test)

$(BENCH_ENV): $(LOCKS)/bench.txt setup.cfg pyproject.toml | $(BIN)/python
	$(call install_lock,bench)

## The developer environment: runtime + test + dev tools (requirements/test.txt).
setup: $(TEST_ENV)

## Serve http://127.0.0.1:8080 (finds or starts PostgreSQL and Redis; no AI key needed).
run: $(RUNTIME_ENV)
	$(BIN)/python -m server

## Lint (ruff, pinned), then the whole suite on its own database and Redis DB number.
test: $(TEST_ENV) browser redis-server node-tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy server handlers services db
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

## redis-server and redis-cli for the Cluster and Sentinel tests (Debian's package).
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null) 2>/dev/null \
	  || echo "WARNING: redis-server could not be installed; topology tests will be skipped."; }

## Regenerate docs/configuration.md from the config schema (tests/test_docs.py checks it).
docs: $(TEST_ENV)
	$(BIN)/python -m server.config_reference > docs/configuration.md

## The AsyncAPI validator the tests run (@asyncapi/parser, exact versions from the lock).
NODE_TOOLS := tools/node/node_modules/.package-lock.json
$(NODE_TOOLS): tools/node/package.json tools/node/package-lock.json
	npm ci --prefix tools/node --no-audit --no-fund --loglevel=error
	touch $(NODE_TOOLS)

node-tools: $(NODE_TOOLS)

## Refresh the vendored Swagger UI (static/vendor/swagger-ui/) from tools/node's pinned
## swagger-ui-dist: bump its version in tools/node/package.json, `npm install --prefix
## tools/node`, then `make vendor` and commit.
vendor: node-tools
	mkdir -p static/vendor/swagger-ui
	cd tools/node/node_modules/swagger-ui-dist && cp swagger-ui-bundle.js swagger-ui.css \
	  swagger-ui-bundle.js.LICENSE.txt LICENSE NOTICE ../../../../static/vendor/swagger-ui/

lint: $(TEST_ENV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy server handlers services db

## Re-resolve the lock files from setup.cfg after a dependency changed (existing pins are
## kept where they still fit); `make lock UPGRADE=1` takes the newest allowed versions.
UV_COMPILE = UV_NATIVE_TLS=1 $(BIN)/uv pip compile setup.cfg --quiet --generate-hashes \
	--universal --python-version 3.11 $(if $(UPGRADE),--upgrade)
lock: $(TEST_ENV)
	$(UV_COMPILE) -o $(LOCKS)/runtime.txt
	$(UV_COMPILE) --extra test --extra dev -c $(LOCKS)/runtime.txt -o $(LOCKS)/test.txt
	$(UV_COMPILE) --extra test --extra dev --extra bench -c $(LOCKS)/test.txt -o $(LOCKS)/bench.txt

format: $(TEST_ENV)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Every benchmark against its same-run baseline → bench/results/latest.{json,md}.
bench: $(BENCH_ENV)
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) \
	  || echo "WARNING: wrk unavailable; the REST benchmarks will fail to run."
	$(BIN)/python -m bench.run_all

## The long reliability run (bounded to 20 minutes).
soak: $(TEST_ENV)
	timeout 1200 $(BIN)/python -m pytest -m slow tests/soak -p no:cacheprovider

clean:
	rm -rf $(VENV) var .pytest_cache
