# Two commands do all set-up: `make run` (migrate, seed demo data, serve) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: install run reset test test-pg test-browser lint sdl portal portal-check bench bench-pg \
	bench-validation bench-hot bench-hot-pg bench-compiled bench-compiled-pg clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The demo server runs the worker's jobs itself and has the admin test clock.
DEMO_ENV ?= TEST_CLOCK=true WORKER_IN_PROCESS=true
# make run PORT=8001 (or PORT=8001 make run); HOST only from the command line, since some
# shells export HOST as the machine's name: make run HOST=0.0.0.0
PORT ?= 8000
HOST = 127.0.0.1
# The demo database: DATABASE_URL's default, relative to this folder (app/config.py).
DEMO_DB := fulfillment.db
DEMO_DB_FILES := $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB)-journal

run: $(STAMP)
	$(BIN)/fulfillment migrate
	$(BIN)/fulfillment seed-demo
	$(BIN)/fulfillment documents register documents > /dev/null
	@echo "GraphiQL: http://$(HOST):$(PORT)/graphql  (bearer tokens: $(BIN)/fulfillment demo-tokens)"
	@echo "Portal:   http://$(HOST):$(PORT)/portal/  (pick a demo user)"
	$(DEMO_ENV) $(BIN)/fulfillment serve --host $(HOST) --port $(PORT)

# A fresh demo, seeded as of today (the demo's dates are relative to the day it was seeded).
reset: $(STAMP)
	@case "$${DATABASE_URL:-}" in "" | "sqlite+aiosqlite:///./$(DEMO_DB)") ;; \
	  *) echo "make reset resets the default SQLite demo ($(DEMO_DB)) only; DATABASE_URL is set" >&2; exit 2;; esac
	rm -f $(DEMO_DB_FILES)
	$(BIN)/fulfillment migrate
	$(BIN)/fulfillment seed-demo

test: $(STAMP)
	$(BIN)/pytest

test-pg: $(STAMP)
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

# The portal's browser tests alone (Debian's chromium; docs/portal.md).
test-browser: $(STAMP)
	$(BIN)/pytest tests/browser

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

sdl: $(STAMP)
	$(BIN)/python -m schema.export

# Rebuild the portal (portal/, TypeScript) into app/http/static/portal/, which is committed:
# `make run` and the tests need no npm. Needs node and npm; pinned by portal/package-lock.json.
portal:
	cd portal && npm ci --no-audit --no-fund && npm run build

# Whether the committed build matches portal/src and documents/portal/.
portal-check:
	cd portal && npm ci --no-audit --no-fund && npm run check

# About a minute; prints req/s, p50/p99 per case and writes bench/results/. Extra options:
# make bench BENCH_ARGS="--subscriptions 200 --case-seconds 15"
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m bench.run --subscriptions 50 --requests 2000 $(BENCH_ARGS)

bench-pg: $(STAMP)
	$(BIN)/python -m bench.run --subscriptions 50 --requests 2000 --database-url $(PG_TEST_URL) $(BENCH_ARGS)

# What checking a document costs (parse, size limits, validation) and the fragment bomb.
bench-validation: $(STAMP)
	$(BIN)/python -m bench.validation --bomb-levels 10 16 20 30

# Orders on one hot subscription at concurrency 1, 8 and 32 (a few minutes).
bench-hot: $(STAMP)
	$(BIN)/python -m bench.hot_orders $(BENCH_ARGS)

bench-hot-pg: $(STAMP)
	$(BIN)/python -m bench.hot_orders --database-url $(PG_TEST_URL) $(BENCH_ARGS)

# The README dashboard document at N = 10, 50, 200, 1000: app, compiled path (by documentId),
# graphql-core floor and hand-written endpoint, with a byte-for-byte check (a few minutes).
bench-compiled: $(STAMP)
	$(BIN)/python -m bench.compiled $(BENCH_ARGS)

bench-compiled-pg: $(STAMP)
	$(BIN)/python -m bench.compiled --database-url $(PG_TEST_URL) $(BENCH_ARGS)

# Everything `make install`, `make run`, `make test`, `make lint` and `make portal` leave behind.
clean:
	rm -rf $(VENV) $(DEMO_DB_FILES) *.egg-info build .pytest_cache .mypy_cache .ruff_cache \
	  .import_linter_cache .hypothesis portal/node_modules test-artifacts
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
