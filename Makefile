# Set-up is two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test test-faults lint clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime  ## install, migrate and serve on 127.0.0.1:8000
	$(PY) manage.py serve

test: $(VENV)/.dev  ## install if needed and run the whole suite
	$(PY) -m pytest $(PYTEST_ARGS)

test-faults: $(VENV)/.dev  ## the fault-injection suite over the HTTP API, in its large size
	$(PY) -m pytest tests/faults -m faults --fault-size=large $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) .data
