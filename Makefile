# All set-up happens here: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: build test check-generated lint bench rehearse clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## build: generate and lint every template into templates/ and launch/
build: $(STAMP)
	$(BIN)/studio-factory build

## test: lint the code, check generated files, run the test suite
test: $(STAMP)
	$(BIN)/ruff check factory tests bench
	$(BIN)/python -m pytest

## check-generated: fail when committed templates differ from the generators
check-generated: $(STAMP)
	$(BIN)/studio-factory build --check

lint: $(STAMP)
	$(BIN)/ruff check factory tests bench
	$(BIN)/ruff format --check factory tests bench

## bench: print the build (and publish) benchmark figures
bench: $(STAMP)
	$(BIN)/python bench/build.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
