# All set-up happens here: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: help build test check-generated lint bench rehearse serve schema audit checkov-env clean

# `make` alone lists the targets: each documented by a `## target: description` line above it.
.DEFAULT_GOAL := help

## help: list the targets
help:
	@sed -n 's/^## \([a-z-]*\): \(.*\)/  \1|\2/p' $(MAKEFILE_LIST) | awk -F'|' '{printf "%-19s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	touch $(STAMP)

## build: generate and lint every template into templates/ and launch/
build: $(STAMP)
	$(BIN)/studio-factory build

# checkov pins boto3 exactly, so it gets its own virtualenv (see requirements/checkov.txt).
$(CHECKOV_STAMP): requirements/checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements/checkov.txt
	touch $(CHECKOV_STAMP)

## checkov-env: create .venv-checkov, checkov's own virtualenv (make test does)
checkov-env: $(CHECKOV_STAMP)

## test: lint and format-check the code, run the test suite (checkov included)
test: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/ruff check factory tests bench
	$(BIN)/ruff format --check factory tests bench
	$(BIN)/python -m pytest

## check-generated: fail when committed templates or portfolios/schema.json differ from the code
check-generated: $(STAMP)
	$(BIN)/studio-factory build --check
	$(BIN)/studio-factory schema --check

## lint: ruff check and ruff format --check (no tests)
lint: $(STAMP)
	$(BIN)/ruff check factory tests bench
	$(BIN)/ruff format --check factory tests bench

## bench: print the build and audit benchmark figures (bench/publish.py for the publisher)
bench: $(STAMP)
	$(BIN)/python bench/build.py
	$(BIN)/python bench/audit.py

## audit: policy hygiene and separation-of-duties proofs
audit: $(STAMP)
	$(BIN)/studio-factory audit

## rehearse: build, then publish and plan against local AWS (moto + Service Catalog stand-in)
rehearse: build
	$(BIN)/studio-factory local rehearse dev

## serve: run local AWS in the foreground with the bootstrap's bucket and SSM parameters; print its exports
serve: $(STAMP)
	$(BIN)/studio-factory local serve

## schema: regenerate portfolios/schema.json from the portfolio models
schema: $(STAMP)
	$(BIN)/studio-factory schema

## clean: remove both virtualenvs and the tool caches
clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .ruff_cache
