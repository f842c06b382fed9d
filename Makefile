# The two commands of the README: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint

$(BIN)/whatworks: pyproject.toml package-lock.json scripts/setup.sh
	bash scripts/setup.sh $(VENV)
	@touch $@

setup: $(BIN)/whatworks

run: setup
	$(BIN)/whatworks load
	$(BIN)/whatworks validate
	$(BIN)/whatworks stats
	$(BIN)/whatworks serve

test: setup
	bash scripts/setup-test-stores.sh
	$(BIN)/ruff check whatworks ingest server tests scripts benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest
