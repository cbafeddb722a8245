# Insight Desk: every target creates .venv/ on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SHARED ?= ../shared
EVAL_KB ?= /tmp/insight-kb

.PHONY: venv run test lint typecheck eval bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	$(PY) -m bot serve

test: venv
	$(PY) -m ruff check bot knowledge tests bench
	$(PY) -m mypy
	$(PY) -m pytest

lint: venv
	$(PY) -m ruff check bot knowledge tests bench
	$(PY) -m mypy

eval: venv
	$(PY) -m bench.eval --shared $(SHARED) --kb-root $(EVAL_KB)

bench: venv
	$(PY) -m bench --shared $(SHARED) --kb-root $(EVAL_KB)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
