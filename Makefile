# The two commands of the README: `make run` and `make test`. Each installs what it needs first.
PYTHON := .venv/bin/python
STACK := $(PYTHON) -m deploy.local.stack
SYSTEM := $(PYTHON) -m deploy.local.system
PYTEST_ARGS ?=

.PHONY: install run test lint down status bench schemas helm deploy-check k8s-summary

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

## regenerate the published contracts: JSON Schemas, AsyncAPI, each service's OpenAPI (tests fail while stale)
schemas: install
	@$(PYTHON) -m shared.contracts.schemas
	@$(PYTHON) -m shared.contracts.asyncapi
	@$(PYTHON) -m shared.contracts.openapi

## the pinned helm, built once from the Go module proxy into .cache/tools (deploy/k8s/install-helm.sh)
helm:
	@bash deploy/k8s/install-helm.sh

## the offline checks of the image, compose file and Helm chart (tests/deploy)
deploy-check: install
	@$(PYTHON) -m pytest tests/deploy -q -p no:cacheprovider $(PYTEST_ARGS)

## replicas, partitions and resources of the chart rendered with VALUES (SIZING.md quotes it)
k8s-summary: install
	@$(PYTHON) -m tests.deploy.chart $(VALUES)
