# catalogue_svc — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5000
export FLASK_APP := catalogue_svc
export CATALOGUE_BASE_URL ?= http://127.0.0.1:$(PORT)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

# Two installs, each with its stamp: `make run` needs only the service's own dependencies; the test,
# lint and type tools come with the dev install, made by the targets that use them. Each installs
# the exact versions of its lock file (`make lock` writes them from pyproject.toml's ranges), then
# the service itself without resolving anything more (--no-deps): every machine gets the same set.
LOCK_RUNTIME := requirements/runtime.txt
LOCK_DEV := requirements/dev.txt

$(VENV)/.installed-runtime: $(LOCK_RUNTIME) pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(LOCK_RUNTIME)
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.installed-dev: $(LOCK_DEV) pyproject.toml $(VENV)/.installed-runtime
	$(PY) -m pip install --quiet -r $(LOCK_DEV)
	@touch $@

.PHONY: install
install: $(VENV)/.installed-runtime ## Create .venv and install the service (runtime dependencies only)

.PHONY: install-dev
install-dev: $(VENV)/.installed-dev ## Install the service with its dev tools (pytest, ruff, mypy…)

# pip-compile (pip-tools, a dev tool): the runtime lock from [project] dependencies, then the dev
# lock from the dev extra held to the runtime's versions (-c), so the two never disagree. Existing
# pins are kept unless pyproject.toml's ranges exclude them: LOCK_ARGS=--upgrade takes the newest
# allowed, LOCK_ARGS="--upgrade-package flask" one package.
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

.PHONY: lock
lock: install-dev ## Rewrite the lock files requirements/runtime.txt and dev.txt (exact versions) from pyproject.toml
	$(PIP_COMPILE) --output-file $(LOCK_RUNTIME) pyproject.toml
	$(PIP_COMPILE) --allow-unsafe --extra dev --constraint $(LOCK_RUNTIME) --output-file $(LOCK_DEV) \
	pyproject.toml

.PHONY: run
run: install ## Install, migrate, load the demo data and serve on 127.0.0.1:PORT (default 5000: make run PORT=8000), embedded mode
	$(VENV)/bin/flask migrate
	$(VENV)/bin/flask load-demo
	$(VENV)/bin/flask run --host 127.0.0.1 --port $(PORT) --no-reload --with-threads

.PHONY: servers
servers: ## Install redis-server and chromium if missing (PostgreSQL 15 binaries are expected in /usr/lib/postgresql/15/bin)
	@bash scripts/ensure-servers.sh

.PHONY: test
test: install-dev servers ## Install and run the whole suite, on SQLite then on PostgreSQL, with real Redis and SMTP
	CATALOGUE_TEST_DB=sqlite $(PY) -m pytest -q --ignore=tests/browser $(PYTEST_ARGS)
	CATALOGUE_TEST_DB=postgresql $(PY) -m pytest -q --ignore=tests/browser $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-browser

.PHONY: test-browser
test-browser: install-dev servers ## The portal in Chromium (tests/browser), once, on PostgreSQL + Redis + real workers; screenshots in build/screenshots/
	CATALOGUE_TEST_DB=postgresql $(PY) -m pytest -q -p no:logging tests/browser $(PYTEST_ARGS)

.PHONY: test-faults
test-faults: install-dev servers ## The long reliability runs: fault nemesis (300 requests, 120 s), 10,000 linking guesses, 300 requests under SIGKILL, 500 stateful examples, 200 agent races, 100 fuzz examples
	CATALOGUE_FAULT_REQUESTS=300 CATALOGUE_FAULT_SECONDS=120 \
	CATALOGUE_S3_GUESSES=10000 CATALOGUE_R1_REQUESTS=300 CATALOGUE_R1_KILLS=30 \
	CATALOGUE_STATEFUL_EXAMPLES=500 CATALOGUE_R8_TRIALS=200 CATALOGUE_FUZZ_EXAMPLES=100 \
	CATALOGUE_TEST_DB=postgresql \
	$(PY) -m pytest -q tests/integration/test_faults.py tests/integration/test_attack.py \
	tests/integration/test_workers.py tests/integration/test_stateful_workflow.py \
	tests/integration/test_concurrency.py tests/integration/test_fuzz_api.py

BENCH_ARGS ?= --contacts 100000

.PHONY: bench
bench: install-dev servers ## Benchmarks: one table of figures, same-run baselines, goals (BENCH_ARGS="--contacts 1000000" for the full import)
	$(PY) -m bench.run $(BENCH_ARGS)

.PHONY: lint
lint: install-dev ## ruff (lint and format check) and the import contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

.PHONY: types
types: install-dev ## mypy
	$(VENV)/bin/mypy forms workflows catalogue_svc

.PHONY: check
check: lint types test ## Lint, types and tests: run before every commit

.PHONY: format
format: install-dev ## Format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
