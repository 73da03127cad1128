# The few verbs people type. Each one installs what it needs into .venv first.
# .venv runs the functions on the Python that template.yaml deploys them on (Runtime); a unit test
# holds the two equal. Another interpreter would answer differently (limits, status phrases).
PYTHON_VERSION := 3.13
# The first python$(PYTHON_VERSION) that runs: on PATH, else pyenv's (whose shim fails outside its version).
PYTHON ?= $(shell for p in python$(PYTHON_VERSION) $$(pyenv root 2>/dev/null)/versions/$(PYTHON_VERSION)*/bin/python$(PYTHON_VERSION); do \
	$$p -c '' 2>/dev/null && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# Named for the version, so a .venv made by another Python is made again.
STAMP := $(VENV)/.installed-python$(PYTHON_VERSION)
DEV_STAMP := $(VENV)/.installed-dev
NPM_STAMP := node_modules/.installed
NPM_RUN_STAMP := node_modules/.installed-runtime
# Each function folder (and the shared layer) is an import root, as in Lambda: the scripts and the
# bench import their modules from this path, as pytest does from pyproject's `pythonpath`.
FUNCTION_PATH := functions/shared:functions/math_durable:functions/api:functions/status_projector:functions/reconciler:functions/webhook_delivery

.PHONY: install install-dev test-tools system-packages test unit lint format clean bench run openapi deploy repair listen

# What running the product needs: a virtual environment with requirements-local.txt, and
# dynalite (package.json "dependencies"), the table's twin, which needs Node.js 20 or newer.
install: $(STAMP) $(NPM_RUN_STAMP)

# What the tests and tools need on top: requirements-dev.txt.
install-dev: $(DEV_STAMP)

# What the whole test suite needs: the dev tools, newman (npm), chromium and the AWS CLI v2 (Debian).
test-tools: install-dev $(NPM_STAMP) system-packages

# Reinstall whenever a pinned requirement changes.
$(STAMP): requirements-local.txt functions/*/requirements.txt
	@[ -n "$(PYTHON)" ] || { echo "make needs Python $(PYTHON_VERSION) (template.yaml Runtime: python$(PYTHON_VERSION)) on PATH as python$(PYTHON_VERSION), or PYTHON=/path/to/python$(PYTHON_VERSION)"; exit 1; }
	@[ ! -e $(BIN)/python ] || $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(PYTHON_VERSION)".split("."))))' \
		|| { echo "$(VENV) was made by another Python: making it again with $(PYTHON)"; rm -rf $(VENV); }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-local.txt
	touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# newman, pinned in package-lock.json, runs the Postman collection in the integration tests.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The runtime's npm packages only; nothing to do when node_modules is already up to date with
# the lock, whether `make` or `npm ci` installed it (npm's own record, node_modules/.package-lock.json,
# is then newer), so that a full install's dev tools are never removed.
$(NPM_RUN_STAMP): package.json package-lock.json
	@command -v node >/dev/null || { echo "make run needs Node.js 20 or newer on PATH (the table's twin, dynalite)"; exit 1; }
	if [ ! node_modules/.package-lock.json -nt package.json ] || [ ! node_modules/.package-lock.json -nt package-lock.json ]; then \
		npm ci --omit=dev --no-audit --no-fund --loglevel=error; fi
	touch $@

system-packages:
	@scripts/install-system-packages.sh

# Regenerate openapi.yaml from the API's resolver (a unit test fails when it drifts).
openapi: install-dev
	PYTHONPATH=$(FUNCTION_PATH) $(BIN)/python -m scripts.generate_openapi

# The whole product on this machine: API on :3000, Lambda endpoint on :3001, DynamoDB on :3002
# (`python -m local --help`).
run: install
	$(BIN)/python -m local $(ARGS)

# A receiver on 127.0.0.1 that prints the webhook events it verifies (README "Webhooks"), e.g.
# make listen ARGS="--secret whsec_... --port 4000"
listen: install-dev
	$(BIN)/python -m scripts.listen_webhooks $(ARGS)

test: test-tools
	$(BIN)/python -m pytest

unit: install-dev
	$(BIN)/python -m pytest tests/unit

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Figures beside their baselines, one table; the JSON goes to bench-results.json.
bench: install-dev system-packages
	PYTHONPATH=$(FUNCTION_PATH) $(BIN)/python -m bench $(ARGS)

# Repair or rebuild the calculations table from Lambda (README "Repairing the table"), e.g.
# make repair ARGS="--function-name <MathFunctionName> --table <CalculationsTableName> --dry-run"
repair: install
	PYTHONPATH=$(FUNCTION_PATH) $(BIN)/python -m scripts.repair_table $(ARGS)

# Build and deploy with SAM CLI 1.151.0 or newer (not installed by make; README "Deploy to AWS").
# BUILD_ARGS=--use-container when this machine has no Python $(PYTHON_VERSION).
BUILD_ARGS ?=
DEPLOY_ARGS ?= --guided
deploy:
	@command -v sam >/dev/null || { echo "deploy needs SAM CLI 1.151.0 or newer on PATH (pip install aws-sam-cli)"; exit 1; }
	sam build $(BUILD_ARGS)
	sam deploy $(DEPLOY_ARGS)

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
