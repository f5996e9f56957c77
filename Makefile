# Two commands do all set-up: `make run` (migrate, seed demo data, serve) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: install run test test-pg lint sdl bench bench-pg bench-hot bench-hot-pg clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The demo server runs the worker's jobs itself and has the admin test clock.
DEMO_ENV ?= TEST_CLOCK=true WORKER_IN_PROCESS=true

run: $(STAMP)
	$(BIN)/fulfillment migrate
	$(BIN)/fulfillment seed-demo
	$(DEMO_ENV) $(BIN)/fulfillment serve

test: $(STAMP)
	$(BIN)/pytest

test-pg: $(STAMP)
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

sdl: $(STAMP)
	$(BIN)/python -m schema.export

# About a minute; prints req/s, p50/p99 per case and writes bench/results/. Extra options:
# make bench BENCH_ARGS="--subscriptions 200 --case-seconds 15"
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m bench.run --subscriptions 50 --requests 2000 $(BENCH_ARGS)

bench-pg: $(STAMP)
	$(BIN)/python -m bench.run --subscriptions 50 --requests 2000 --database-url $(PG_TEST_URL) $(BENCH_ARGS)

# Orders on one hot subscription at concurrency 1, 8 and 32 (a few minutes).
bench-hot: $(STAMP)
	$(BIN)/python -m bench.hot_orders $(BENCH_ARGS)

bench-hot-pg: $(STAMP)
	$(BIN)/python -m bench.hot_orders --database-url $(PG_TEST_URL) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) fulfillment.db
