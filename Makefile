# Everything runs from venv/, (re)built from requirements.txt when missing or older than it.
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACK ?= dev
JSON ?=
# POLICY_CONFIG=file: policy pack config (as for pulumi preview --policy-pack-config) over the stack's own
POLICY_CONFIG ?=
# BASE=<git ref>: what `make diff` (and `make review BASE=...`) compares the working tree with
BASE ?=

.DEFAULT_GOAL := help
.PHONY: help venv plan review diff test shellcheck kql-check clean

## help: this list
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

# pip prints each package as it goes: the first build takes about a minute.
$(STAMP): requirements.txt
	@echo "Building $(VENV)/ from requirements.txt (first run: about a minute)..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -r requirements.txt
	touch $(STAMP)

## venv: build venv/ from requirements.txt (every target does it when needed)
venv: $(STAMP)

## plan: offline plan/review of Pulumi.$(STACK).yaml under the mock engine (JSON=file for a copy)
plan: $(STAMP)
	$(PY) -m offline_plan --stack $(STACK) $(if $(JSON),--json $(JSON)) $(if $(POLICY_CONFIG),--policy-config $(POLICY_CONFIG))

## review: policy verdicts of every Pulumi.*.yaml; fails on any mandatory violation (CI runs it on every PR; BASE=ref adds make diff)
review: $(STAMP)
	$(PY) -m offline_plan --all $(if $(POLICY_CONFIG),--policy-config $(POLICY_CONFIG))
	$(if $(BASE),$(PY) -m posture_diff --base $(BASE) $(if $(JSON),--json $(JSON)))

## diff: backup posture of every stack at BASE=<git ref> against the working tree, each change classified (JSON=file)
diff: $(STAMP)
	$(if $(BASE),,$(error make diff needs BASE=<git ref>, e.g. make diff BASE=origin/main))
	$(PY) -m posture_diff --base $(BASE) $(if $(JSON),--json $(JSON))

## bench: benchmarks (program scale, freeze window) with the machine they ran on (JSON=file, QUICK=1: fewer repetitions)
.PHONY: bench
bench: $(STAMP)
	$(PY) -m bench $(if $(QUICK),--quick) $(if $(JSON),--json $(JSON))

## drill: restore drill of Pulumi.$(STACK).yaml (DRY_RUN=1: print every step and resource, no credentials; docs/restore-drill.md)
.PHONY: drill
drill: $(STAMP)
	$(PY) -m drill --stack $(STACK) $(if $(DRY_RUN),--dry-run) $(if $(REPORT_DIR),--report-dir $(REPORT_DIR))

## test: shellcheck of the VM scripts, the KQL checker's pinned npm package, then the whole pytest suite (hook tests on a 4x clock)
# 4 workers on 2 cores: the hook tests mostly wait (polls, budgets); each test has its own tmp VM.
PYTEST_WORKERS ?= 4
test: shellcheck kql-check
	$(PY) -m pytest -q -n $(PYTEST_WORKERS)

## test-slow: the hook fault matrix and the tests that drive installed hooks again, on the real clock
.PHONY: test-slow
test-slow: $(STAMP)
	HOOK_TESTS_CLOCK_SCALE=1 $(PY) -m pytest -q -n $(PYTEST_WORKERS) $(REAL_CLOCK_TESTS)
REAL_CLOCK_TESTS := tests/hooks tests/program/test_hooks_contract.py tests/program/test_run_command_contract.py

## kql-check: install Microsoft's Kusto language service for tests/health (node and npm; exact versions in package-lock.json)
KQL_CHECK := tools/kql-check/node_modules/.installed
kql-check: $(KQL_CHECK)
$(KQL_CHECK): tools/kql-check/package-lock.json
	cd tools/kql-check && npm ci --no-audit --no-fund --loglevel=error
	touch $@

## shellcheck: shellcheck -s sh of the VM scripts
shellcheck: $(STAMP)
	$(VENV)/bin/shellcheck -s sh -x hooks/*.sh drill/vm/*.sh

## clean: remove venv/ and the pytest cache
clean:
	rm -rf $(VENV) .pytest_cache tools/kql-check/node_modules
