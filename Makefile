# Every target does its own idempotent set-up: a fresh machine with python3 and
# node/npm needs nothing else (no AWS account, no Docker).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := .make
# jsii (the bridge behind aws-cdk-lib) prints a large banner on Node releases it
# no longer supports; the variable takes the Node major version(s) to silence.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 18,20,21,23
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_CLI_NOTICES := false
CDK := npx --no-install cdk --no-notices

.PHONY: setup synth plan test lint docs typecheck diff deploy destroy bench demo clean

setup: $(STAMP)/python $(STAMP)/node

$(STAMP)/python: pyproject.toml
	@mkdir -p $(STAMP)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(STAMP)/node: package.json package-lock.json
	@mkdir -p $(STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Synthesize the reference app (cdk-nag runs as a validation plugin during synth
# and fails it on any unacknowledged finding), then lint every template and print
# the plan: resources by type, security findings and the idle monthly cost.
synth: setup
	rm -rf cdk.out
	$(CDK) synth --quiet
	$(PY) -m cdk_batchkit.plan cdk.out

plan: setup
	$(PY) -m cdk_batchkit.plan cdk.out

# pytest exits 5 when it collects nothing: that is a failure, not a pass. Whole work units per worker
# (--dist loadfile: a module, or the modules sharing a fixture, tests/conftest.py): each synthesizes its
# stacks once, not once on each worker; the slowest units start first (CONTRIBUTING.md, "Tests").
test: setup
	$(PY) -m pytest -n 2 --dist loadfile -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy cdk_batchkit

# The documentation site in site/ (open site/index.html): guides, rules, features, comparison and the API
# reference from the docstrings. --strict: a broken link, a missing anchor or an API reference that does
# not resolve fails the build. NO_MKDOCS_2_WARNING silences the Material theme's banner about MkDocs 2.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

# Real-account targets: credentials from the usual AWS environment/profile.
# Once per account/region: npx cdk bootstrap aws://ACCOUNT/REGION
diff: setup
	$(CDK) diff

deploy: setup
	$(CDK) deploy --all

destroy: setup
	$(CDK) destroy --all

# Submitter benchmark against a local moto server (no AWS account); prints measured figures.
bench: setup
	$(PY) benchmarks/submitter.py

# The reference pipeline running locally: a moto server on 127.0.0.1 (stopped at the end), the reference
# stack built in it by the testing kit, uploads -> array jobs -> states, the workflow, the metrics.
# DEMO_OBJECTS=50 make demo for a smaller run. No AWS account, no Docker.
DEMO_OBJECTS ?= 300
demo: setup
	$(PY) -m cdk_batchkit.testing.demo --objects $(DEMO_OBJECTS)

clean:
	rm -rf $(VENV) node_modules $(STAMP) cdk.out build dist site *.egg-info
