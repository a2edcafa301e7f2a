# make run: the whole product on the embedded default (SQLite, in-memory layer, in-process tasks).
# make test: the whole suite on SQLite, then again on a throwaway PostgreSQL.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install install-dev clean

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

test: install-dev
	$(PY) -m pytest tests
	TEST_DB=postgres $(PY) -m pytest tests

clean:
	rm -rf $(VENV) var
