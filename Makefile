# Everything runs from venv/, (re)built from requirements.lock (every transitive dependency, hash-locked;
# `make lock` compiles it from the top-level pins in requirements.txt) when missing or older than it.
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACK ?= dev
JSON ?=
# POLICY_CONFIG=file: policy pack config (as for pulumi preview --policy-pack-config) over the stack's own
POLICY_CONFIG ?=
# NEW=names: policies/VMs `make adopt` leaves out (they do not exist yet)
NEW ?=
# BASE=<git ref>: what `make diff` (and `make review BASE=...`) compares the working tree with
BASE ?=

.DEFAULT_GOAL := help
.PHONY: help venv plan review diff test shellcheck kql-check clean

## help: this list
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

# pip prints each package as it goes: the first build takes about a minute. --no-deps: the lock is the
# whole closure, so pip installs exactly it and every file must match its hash.
$(STAMP): requirements.lock
	@echo "Building $(VENV)/ from requirements.lock (hash-checked; first run: about a minute)..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check --progress-bar on --require-hashes --no-deps -r requirements.lock
	$(PY) -m pip check
	touch $(STAMP)

## venv: build venv/ from requirements.lock (every target does it when needed)
venv: $(STAMP)

# The policy pack's own virtualenv (policy/PulumiPolicy.yaml), from its own hash lock. The Pulumi CLI
# would create it too, with `pip install -r requirements.txt` in policy/ (hash-checked: the file has hashes).
POLICY_VENV := policy/venv
POLICY_STAMP := $(POLICY_VENV)/.installed
$(POLICY_STAMP): policy/requirements.txt
	$(PYTHON) -m venv $(POLICY_VENV)
	$(POLICY_VENV)/bin/python -m pip install --disable-pip-version-check --require-hashes --no-deps -r policy/requirements.txt
	$(POLICY_VENV)/bin/python -m pip check
	touch $(POLICY_STAMP)

## policy-venv: build policy/venv/, the policy pack's own virtualenv, from policy/requirements.txt (hash-locked)
.PHONY: policy-venv
policy-venv: $(POLICY_STAMP)

# The lock tool runs in a throwaway virtualenv: nothing installs it into venv/ or needs it at install time.
LOCK_TOOL := uv==0.13.8
LOCK_TOOL_VENV ?= /tmp/irisbackup-lock-tool
# The one platform the locks are for (CI, the developers' machines): CPython 3.11 on Linux x86_64.
LOCK_TARGET := --python-version 3.11 --python-platform x86_64-manylinux_2_28
# LOCK_ARGS=...: extra compile options, e.g. --upgrade-package NAME to move a transitive dependency
LOCK_ARGS ?=
LOCK_COMPILE = $(LOCK_TOOL_VENV)/bin/uv pip compile --quiet --generate-hashes $(LOCK_TARGET) --custom-compile-command "make lock" $(LOCK_ARGS)

## lock: recompile requirements.lock (from requirements.txt) and policy/requirements.txt (from policy/requirements.in), with hashes
.PHONY: lock
lock:
	$(PYTHON) -m venv $(LOCK_TOOL_VENV)
	$(LOCK_TOOL_VENV)/bin/python -m pip install --disable-pip-version-check --quiet $(LOCK_TOOL)
	$(LOCK_COMPILE) requirements.txt -o requirements.lock
	$(LOCK_COMPILE) policy/requirements.in -c requirements.lock -o policy/requirements.txt

## plan: offline plan/review of Pulumi.$(STACK).yaml (beside Pulumi.yaml, else examples/) under the mock engine (JSON=file for a copy)
plan: $(STAMP)
	$(PY) -m offline_plan --stack $(STACK) $(if $(JSON),--json $(JSON)) $(if $(POLICY_CONFIG),--policy-config $(POLICY_CONFIG))

## review: policy verdicts of every stack, real and examples/; fails on any mandatory violation (CI runs it on every PR; BASE=ref adds make diff)
review: $(STAMP)
	$(PY) -m offline_plan --all $(if $(POLICY_CONFIG),--policy-config $(POLICY_CONFIG))
	$(if $(BASE),$(PY) -m posture_diff --base $(BASE) $(if $(JSON),--json $(JSON)))

## diff: backup posture of every stack at BASE=<git ref> against the working tree, each change classified (JSON=file)
diff: $(STAMP)
	$(if $(BASE),,$(error make diff needs BASE=<git ref>, e.g. make diff BASE=origin/main))
	$(PY) -m posture_diff --base $(BASE) $(if $(JSON),--json $(JSON))

## adopt: the `pulumi import --file` JSON adopting the existing vault, policies and protected items of Pulumi.$(STACK).yaml (JSON=file, NEW="vm policy": not in Azure yet; docs/adoption.md)
.PHONY: adopt
adopt: $(STAMP)
	@$(PY) -m adopt --stack $(STACK) $(if $(JSON),--out $(JSON)) $(foreach name,$(NEW),--new $(name))

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

## clean: remove venv/, policy/venv/ and the pytest cache
clean:
	rm -rf $(VENV) $(POLICY_VENV) .pytest_cache tools/kql-check/node_modules
