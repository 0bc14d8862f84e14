# All set-up happens here: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: build test check-generated lint bench rehearse serve audit checkov-env clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
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

checkov-env: $(CHECKOV_STAMP)

## test: lint and format-check the code, run the test suite (checkov included)
test: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/ruff check factory tests bench
	$(BIN)/ruff format --check factory tests bench
	$(BIN)/python -m pytest

## check-generated: fail when committed templates differ from the generators
check-generated: $(STAMP)
	$(BIN)/studio-factory build --check

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
	$(BIN)/python -m factory.testing.rehearse dev

## serve: run local AWS in the foreground and print its AWS_ENDPOINT_URL exports
serve: $(STAMP)
	$(BIN)/python -m factory.testing serve

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .ruff_cache
