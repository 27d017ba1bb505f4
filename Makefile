# TalentProof: `make run` sets up and runs the product; `make test` sets up and runs every test.
# Setup is incremental: a second run reuses the virtual environment and node_modules while
# pyproject.toml and package-lock.json are unchanged.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMPS := .stamps
DATA   ?= data

.PHONY: help setup setup-system run lint test test-fast bench compile slither clean distclean

help:
	@echo "make run    set up what is missing, start the local chain, deploy, run the services"
	@echo "make lint   ruff check, ruff format --check, mypy, import-linter, private imports"
	@echo "make test   set up what is missing (incl. Chromium, PostgreSQL, geth), lint, run every test"
	@echo "make bench  run every benchmark and write bench/results.md"

$(STAMPS):
	@mkdir -p $(STAMPS)

# Python: a virtual environment with the project (editable) and its test dependencies.
# slither (scripts/slither) is installed --no-deps: it asks for web3<8 only for a tool we do not use.
# The C fast paths (credential/*.c) are built by the editable install, so a changed source rebuilds.
$(STAMPS)/python: pyproject.toml scripts/slither-requirements.txt $(wildcard credential/*.c) | $(STAMPS)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version.split()[0]'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools>=75" wheel
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet --no-deps -r scripts/slither-requirements.txt
	@touch $@

# npm: Anvil, Ganache and solc-js exactly as the lock file says.
$(STAMPS)/node: package.json package-lock.json | $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# geth v1.13.15 from the Go module proxy (`talentproof network`, the e2e tests on a Clique
# network): built once into .cache/geth/<version>/ (cold about 2-3 min on 2 cores; 4 s with Go's
# caches warm; reused while cached). Needs Go 1.21+ (`go`), as on the polyglot machines.
$(STAMPS)/geth: ledger/geth.py $(STAMPS)/python | $(STAMPS)
	$(VENV)/bin/talentproof network build
	@touch $@

# Debian packages the tests drive for real: Chromium (web page), PostgreSQL (issuer storage).
$(STAMPS)/system: scripts/setup-system | $(STAMPS)
	scripts/setup-system
	@touch $@

setup: $(STAMPS)/python $(STAMPS)/node $(STAMPS)/geth

setup-system: $(STAMPS)/system

# ARGS: more options of `talentproof run`, e.g. make run ARGS='--issuer-port 8010 --verifier-port 8011'
# run needs no geth (so no Go): `talentproof run --chain network` builds it on demand.
run: $(STAMPS)/python $(STAMPS)/node
	$(VENV)/bin/talentproof run --data-dir $(DATA) $(ARGS)

# Guardrails (issue 13.6, CONTRIBUTING.md): every check runs even if one fails, then the target
# fails if any did. Warm: a few seconds (mypy and ruff cache in .mypy_cache and .ruff_cache).
# scripts/pkgtree lays out pyproject's package-dir mapping as build/pkgtree for mypy and
# import-linter (which runs from build/ so that ./talentproof does not shadow the tree).
lint: setup
	@$(PY) scripts/pkgtree
	@status=0; \
	echo "== ruff check";            $(VENV)/bin/ruff check . || status=1; \
	echo "== ruff format --check";   $(VENV)/bin/ruff format --check . || status=1; \
	echo "== mypy";                  $(VENV)/bin/mypy || status=1; \
	echo "== import-linter";         (cd build && PYTHONPATH=pkgtree ../$(VENV)/bin/lint-imports --config ../pyproject.toml) || status=1; \
	echo "== private imports";       $(PY) scripts/check_private_imports.py || status=1; \
	exit $$status

test: setup setup-system lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup --durations=25

test-fast: setup
	$(VENV)/bin/pytest -n 2 --dist loadgroup -m "not integration and not browser and not postgres"

bench: setup
	$(PY) bench/run_all.py

compile: setup
	$(VENV)/bin/talentproof contracts compile

# Static analysis of contracts/ (fails on any finding not justified in the source).
slither: setup
	scripts/slither

clean:
	rm -rf .pytest_cache .hypothesis bench/out

distclean: clean
	rm -rf $(VENV) node_modules $(STAMPS) .cache/geth
