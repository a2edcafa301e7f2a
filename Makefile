# make run: the whole product on the embedded default (SQLite, in-memory layer, in-process tasks).
# make test: lint, the import contract, the whole suite on SQLite, then again on a throwaway PostgreSQL.
# make check: the quick loop: lint, the import contract, the SQLite suite without browser tests.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test check lint install install-dev clean

$(VENV)/.installed: pyproject.toml client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	$(PY) -m pip install --quiet -e ./client
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	$(PY) manage.py up

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

check: lint
	$(PY) -m pytest tests -q -m "not browser"

test: lint
	$(PY) -m pytest tests
	TEST_DB=postgres $(PY) -m pytest tests

clean:
	rm -rf $(VENV) var
