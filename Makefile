# All set-up happens here: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

TASKCAT_VENV := .venv-taskcat
TASKCAT_STAMP := $(TASKCAT_VENV)/.installed
# make integration: which taskcat tests, in which regions (README, Testing in a sandbox account).
TESTS ?= launch-path
REGIONS ?= us-east-1
KEEP_FAILED ?=

.PHONY: help build test check-generated lint bench rehearse serve schema audit checkov-env clean taskcat-env taskcat-lint integration

# `make` alone lists the targets: each documented by a `## target: description` line above it.
.DEFAULT_GOAL := help

## help: list the targets
help:
	@sed -n 's/^## \([a-z-]*\): \(.*\)/  \1|\2/p' $(MAKEFILE_LIST) | awk -F'|' '{printf "%-19s %s\n", $$1, $$2}'

# uv installs the same requirements as pip, about twice as fast on this 2-core machine
# (measured: .venv 26 s -> 15 s, .venv-checkov 22 s -> 11 s). --compile-bytecode, as pip does
# by default: without it every process (checkov, the lint workers, CLI tests) compiled its
# imports again where PYTHONDONTWRITEBYTECODE is set, and the suite took 25% longer. uv is
# pip-installed into .venv first; when that fails, pip does it all.
UV := $(BIN)/uv
UV_VERSION := uv>=0.5,<1
# $(call install,PYTHON,ARGS): install ARGS into the virtualenv of PYTHON.
install = if [ -x $(UV) ]; then $(UV) pip install --compile-bytecode --python $(1) $(2); \
	else $(1) -m pip install --quiet --upgrade pip && $(1) -m pip install --progress-bar on $(2); fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet '$(UV_VERSION)' >/dev/null 2>&1 || echo "uv could not be installed: installing with pip (slower)"
	$(call install,$(BIN)/python,-e '.[dev]')
	touch $(STAMP)

## build: generate and lint every template into templates/ and launch/
build: $(STAMP)
	$(BIN)/studio-factory build

# checkov pins boto3 exactly, so it gets its own virtualenv (see requirements/checkov.txt).
# .venv first (order only): its uv installs this one.
$(CHECKOV_STAMP): requirements/checkov.txt | $(STAMP)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(call install,$(CHECKOV_VENV)/bin/python,--quiet -r requirements/checkov.txt)
	touch $(CHECKOV_STAMP)

## checkov-env: create .venv-checkov, checkov's own virtualenv (make test does)
checkov-env: $(CHECKOV_STAMP)

## test: lint and format-check the code, run the test suite (checkov included)
test: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/ruff check factory tests bench
	$(BIN)/ruff format --check factory tests bench
	$(BIN)/python -m pytest

## check-generated: fail when committed templates, portfolios/schema.json or the taskcat files differ from the code
check-generated: $(STAMP)
	$(BIN)/studio-factory build --check
	$(BIN)/studio-factory schema --check
	$(BIN)/python -m factory.launch --check
	$(BIN)/python -m factory.testing.taskcat --check

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

# taskcat pins jsonschema<4 and urllib3<2, so it gets its own virtualenv (requirements/taskcat.txt).
$(TASKCAT_STAMP): requirements/taskcat.txt | $(STAMP)
	$(PYTHON) -m venv $(TASKCAT_VENV)
	$(call install,$(TASKCAT_VENV)/bin/python,--quiet -r requirements/taskcat.txt)
	touch $(TASKCAT_STAMP)

## taskcat-env: create .venv-taskcat, taskcat's own virtualenv (taskcat-lint and integration do)
taskcat-env: $(TASKCAT_STAMP)

# One `taskcat lint` per test: taskcat lints every test's template in every test's regions
# (factory/testing/taskcat.py explains). Runs in .venv-taskcat alone: no AWS credentials needed.
## taskcat-lint: taskcat lint over .taskcat.yml, each test in its derived regions (offline)
taskcat-lint: $(TASKCAT_STAMP)
	$(TASKCAT_VENV)/bin/python -m factory.testing.taskcat --lint $(TASKCAT_VENV)/bin/taskcat

# Exit 3 from the check means "no credentials": skip. Any other failure is an error.
## integration: deploy taskcat TESTS (launch-path) in REGIONS (us-east-1) of a sandbox account; KEEP_FAILED=1 keeps failed stacks
integration: $(TASKCAT_STAMP)
	@rc=0; $(TASKCAT_VENV)/bin/python -c 'import boto3, sys; sys.exit(3 if boto3.Session().get_credentials() is None else 0)' || rc=$$?; \
	if [ $$rc -eq 3 ]; then \
	  echo "integration: skipped: no AWS credentials (set AWS_PROFILE to a sandbox account's profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; README, Testing in a sandbox account: taskcat)"; \
	  exit 0; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi; \
	$(TASKCAT_VENV)/bin/python -m factory.testing.taskcat --selection '$(TESTS)' '$(REGIONS)' && \
	$(TASKCAT_VENV)/bin/taskcat test run -t '$(TESTS)' --regions '$(REGIONS)' $(if $(filter 1,$(KEEP_FAILED)),--keep-failed)

## clean: remove the virtualenvs and the tool caches
clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(TASKCAT_VENV) .pytest_cache .ruff_cache
