# okto88 — the two commands a newcomer runs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install messages lint test-fast integration clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) messages

# Translation catalogues are compiled in the build (Babel: no GNU gettext needed).
messages: $(STAMP)
	$(VENV)/bin/pybabel compile --domain=django --directory=locale --statistics 2>&1 | tail -n 1

run: install
	$(PY) manage.py run_marketplace

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: install lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf .local $(VENV)
