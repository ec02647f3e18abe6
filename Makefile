# Set-up is two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test test-stand-in test-wire test-faults lint typecheck clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The wire lane's MongoDB server (mongoeco) needs Python 3.13: a side environment of its own.
WIRE_PYTHON_BASE ?= $(shell ls -d $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13 /usr/bin/python3.13 2>/dev/null | head -1)
WIRE_VENV ?= .venv-wire

$(WIRE_VENV)/.ready: requirements-wire.txt
	@test -n "$(WIRE_PYTHON_BASE)" || { echo "error: the wire lane needs Python 3.13 (pyenv install 3.13, or /usr/bin/python3.13; or set WIRE_PYTHON_BASE)" >&2; exit 1; }
	$(WIRE_PYTHON_BASE) -m venv $(WIRE_VENV)
	$(WIRE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-wire.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime  ## install, migrate and serve on 127.0.0.1:8000
	$(PY) manage.py serve

# `make test` runs two lanes, the stand-in lane first; it fails if either fails.
WIRE_PATHS ?= tests/engine tests/repositories tests/api tests/contract

test: $(VENV)/.dev $(WIRE_VENV)/.ready  ## install if needed and run the whole suite, then the wire lane
	$(PY) -m pytest $(PYTEST_ARGS)
	$(PY) -m tests.wire.run_lane $(WIRE_PATHS) -- $(WIRE_PYTEST_ARGS)

test-stand-in: $(VENV)/.dev  ## the whole suite against the in-process MongoDB stand-in only
	$(PY) -m pytest $(PYTEST_ARGS)

test-wire: $(VENV)/.dev $(WIRE_VENV)/.ready  ## only the wire lane: WIRE_PATHS over a wire-protocol MongoDB server
	$(PY) -m tests.wire.run_lane $(WIRE_PATHS) -- $(WIRE_PYTEST_ARGS)

test-faults: $(VENV)/.dev  ## the fault-injection suite over the HTTP API, in its large size
	$(PY) -m pytest tests/faults -m faults --fault-size=large $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy's Django plugin runs django.setup() with todo_project.typecheck_settings: no database starts.
typecheck: $(VENV)/.dev  ## mypy over dualwrite, todo and todo_project (configured in pyproject.toml)
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(WIRE_VENV) .data
