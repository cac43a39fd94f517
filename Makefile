# kedaops.aks — developer entry points. Every target works from a fresh clone.
#   make demo   the add-on, Helm and Arc paths end to end against the local lab
#   make test   everything CI runs
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := $(CURDIR)/.venv
BIN         := $(VENV)/bin
COLLECTIONS := $(VENV)/collections
CACHE       := $(CURDIR)/.cache
LAB_DIR     := $(CURDIR)/.lab
SHARED      ?= $(abspath $(CURDIR)/../shared)

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_PYTHON_INTERPRETER := $(BIN)/python
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# The Azure CLI (~700 MB) lives in its own venv: the contract tests run it, the collection never does.
AZ_VENV     := $(CURDIR)/.venv-az

LAB := PYTHONPATH=$(CURDIR)/tests $(BIN)/python -m lab

.PHONY: help venv az-venv lab-up lab-down demo test pytest molecule sanity lint package core-2.21 clean

help:
	@echo "make demo      run the add-on, Helm and Arc paths end to end against the local lab"
	@echo "make test      unit, contract and integration tests, ansible-test sanity, ansible-lint"
	@echo "make venv      create .venv with every dependency (helm 3 and kubectl included)"
	@echo "make lab-up    start the lab in the background; then: source .lab/env.sh"
	@echo "make lab-down  stop the lab"
	@echo "make docs      the HTML docs site in .build/docs/html (make docs-test adds its browser test)"
	@echo "make live-test both scenarios on your Azure subscription (prints what it needs without one)"
	@echo "make bench     per-task cost of every module (both shells) beside debug and ping, 100 bindings, both seeds by hand vs site.yml, the fleet (~35 min)"
	@echo "make bench-fleet  inventory, converge and re-run of 1 and 25 clusters (docs/fleet.md)"
	@echo "make sanity | lint | package | molecule | core-2.21   one part of make test"

venv: $(VENV)/.stamp

$(VENV)/.stamp: requirements.txt test-requirements.txt hack/fetch_tools.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt -r test-requirements.txt
	mkdir -p $(COLLECTIONS)/ansible_collections/kedaops
	ln -sfn ../../../.. $(COLLECTIONS)/ansible_collections/kedaops/aks
	$(BIN)/python hack/fetch_tools.py $(COLLECTIONS) $(BIN) $(CACHE)
	touch $@

az-venv: $(AZ_VENV)/.stamp

$(AZ_VENV)/.stamp: test-requirements-az.txt
	test -x $(AZ_VENV)/bin/python || $(PYTHON) -m venv $(AZ_VENV)
	$(AZ_VENV)/bin/python -m pip install -q -r test-requirements-az.txt
	touch $@

lab-up: venv
	$(LAB) up --dir $(LAB_DIR) --collections-path $(COLLECTIONS) --python $(BIN)/python --path-prepend $(BIN)

lab-down:
	@if [ -x $(BIN)/python ]; then $(LAB) down --dir $(LAB_DIR); else echo "lab not running"; fi

demo: venv
	hack/demo.sh

# Everything CI runs (.ci/run): the suites, both install paths through molecule, sanity and lint
# on ansible-core 2.19 (Python 3.11), the packaging paths, sanity + unit + integration on 2.21, and one
# round of the benchmark (the figures live in docs/performance.md; no timing is asserted).
test: venv pytest molecule sanity lint package core-2.21 bench-smoke

pytest: venv az-venv
	AZ_CLI=$(AZ_VENV)/bin/az $(BIN)/python -m pytest tests/contract tests/unit tests/integration -q -p no:cacheprovider

molecule: venv
	hack/molecule.sh

sanity: venv
	hack/sanity.sh "$(SHARED)" $(VENV)

package: venv
	hack/package_check.sh

core-2.21: venv
	hack/core_line.sh "$(SHARED)"

lint: venv
	hack/lint.sh

clean: lab-down
	rm -rf $(VENV) $(VENV)-2.21 $(AZ_VENV) $(VENV)-bench $(CACHE) .build .pytest_cache $(LAB_DIR)

# Benchmarks (docs/performance.md). `make bench` is not part of `make test`; bench-smoke (one round of 1
# and 3 tasks, no warm-up, and both seeds' site.yml converge and re-run with their request counts) is.
# `make bench`: the per-task table (1 vs 25 tasks; debug, ping, every module, the module shell column),
# where the time goes, 100 bindings at the realistic profile, both seeds by hand vs site.yml.
# `make bench-scenarios` runs only the seeds: the manual procedure (az, kubectl, helm) beside site.yml,
# at 0 ms and at the realistic latency profile, and writes their tables into docs/performance.md.
.PHONY: bench bench-smoke bench-scenarios bench-fleet
# BENCH_ARGS adds options, e.g. BENCH_ARGS="--rounds 1 --no-azcollection" on a loaded machine.
BENCH_ARGS ?=
bench: venv az-venv
	$(BIN)/python bench/bench.py --profile --scale --scale-profile realistic --scenarios --token-cache --fleet --docs $(BENCH_ARGS)

# The fleet figures alone (docs/fleet.md): inventory, converge and re-run of 1 and 25 clusters, realistic profile.
bench-fleet: venv
	$(BIN)/python bench/fleet.py --docs

bench-smoke: venv
	$(BIN)/python bench/bench.py --smoke

bench-scenarios: venv az-venv
	$(BIN)/python bench/bench.py --no-tasks --scenarios --token-cache --docs

# The docs site (antsibull-docs + Sphinx, offline, warnings as errors) and its browser test, the
# playbooks run by AWX's engine (ansible-runner) against a lab, and the run on real Azure, which is
# not part of `make test` and checks its inputs before it installs anything.
.PHONY: docs docs-test awx live-test
docs: venv
	hack/docs.sh

docs-test: docs
	hack/chromium.sh
	$(BIN)/python -m pytest tests/docs -q -p no:cacheprovider

awx: venv
	$(BIN)/python -m pytest tests/awx -q -p no:cacheprovider

live-test:
	hack/live_test.sh

test: docs-test awx
