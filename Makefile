# The two commands of the README: `make run` and `make test`. Each installs what it needs first.
PYTHON := .venv/bin/python
STACK := $(PYTHON) -m deploy.local.stack
SYSTEM := $(PYTHON) -m deploy.local.system
PYTEST_ARGS ?=

.PHONY: install run test lint down status bench schemas

install:
	@bash deploy/local/bootstrap.sh

## run the system: the local stack, the four services, a sample agency's first quarter
run: install
	@$(SYSTEM) up

## run the test suite against a real Kafka and PostgreSQL (found or started by the fixtures)
test: install
	@$(PYTHON) -m pytest $(PYTEST_ARGS)

lint: install
	@$(PYTHON) -m ruff check .
	@$(PYTHON) -m ruff format --check .
	@$(PYTHON) -m mypy .

down:
	@$(SYSTEM) down

status:
	@$(SYSTEM) status

## benchmarks of the event-sourcing kit against its baselines (see tests/bench/README.md)
bench: install
	@$(PYTHON) -m tests.bench $(BENCH_ARGS)

## regenerate the JSON Schemas of the event catalog (a test fails while they are stale)
schemas: install
	@$(PYTHON) -m shared.contracts.schemas
