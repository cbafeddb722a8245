# Insight Desk: every target creates .venv/ on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SHARED ?= ../shared
EVAL_KB ?= /tmp/insight-kb

.PHONY: venv run test lint typecheck eval bench bench-storage fuzz loadtest clean teams-package

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-appinsights.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	$(PY) -m bot serve

test: venv
	$(PY) -m ruff check bot knowledge tests bench services
	$(PY) -m mypy
	$(PY) -m pytest

lint: venv
	$(PY) -m ruff check bot knowledge tests bench services
	$(PY) -m mypy

eval: venv
	$(PY) -m bench.eval --shared $(SHARED) --kb-root $(EVAL_KB) --cv

bench: venv
	$(PY) -m bench --shared $(SHARED) --kb-root $(EVAL_KB)

# Property-based fuzzing with a long budget (make test runs the same tests with FUZZ_EXAMPLES=150).
FUZZ_EXAMPLES ?= 5000
FUZZ_TESTS := tests/bot/test_fuzz_activity.py tests/knowledge/test_fuzz_matcher.py tests/e2e/test_fuzz_endpoint.py \
	tests/bot/feedback/test_redact.py tests/knowledge/test_normalize.py tests/knowledge/test_alternates.py
fuzz: venv
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -s -o timeout=3600 $(FUZZ_TESTS)

# 200 concurrent conversations x 50 messages against `python -m bot serve` on loopback, escalations to an
# agents' channel included; every reply, ticket and relayed line accounted for (bounded, stops itself).
loadtest: venv
	$(PY) -m bench.loadtest --shared $(SHARED)

# State stores (memory, SQLite, Redis, Azure Blob on Azurite) against MemoryStorage in the same run.
bench-storage: venv
	$(PY) -m bench.storage_bench

# The Teams app zip, validated against the manifest's JSON schema (vendored in deploy/teams/schema/):
#   make teams-package MICROSOFT_APP_ID=<app id> BOT_DOMAIN=<bot host name>
# MICROSOFT_APP_ID defaults to the bot's own MicrosoftAppId from the environment.
MICROSOFT_APP_ID ?= $(MicrosoftAppId)
teams-package: venv
	$(PY) deploy/teams/package.py --app-id "$(MICROSOFT_APP_ID)" --bot-domain "$(BOT_DOMAIN)" \
	    $(if $(TEAMS_APP_ID),--teams-app-id "$(TEAMS_APP_ID)") --out build/insight-desk-teams.zip

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
