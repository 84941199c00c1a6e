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

# Translation catalogues are compiled in the build (Babel: no GNU gettext needed), again only
# when a catalogue changed (a suite already running keeps reading the compiled files).
MESSAGES_STAMP := locale/.compiled-stamp
messages: $(MESSAGES_STAMP)
$(MESSAGES_STAMP): $(STAMP) $(wildcard locale/*/LC_MESSAGES/*.po)
	$(VENV)/bin/pybabel compile --domain=django --directory=locale --statistics 2>&1 | tail -n 1
	touch $@

# The site, and beside it the demo order history (analytics/demo.py: a few thousand orders over
# 30 days, through the services). The history waits until the site answers (migrated, demo data
# loaded), prints its progress here, and is skipped once loaded; Ctrl-C stops both, and the next
# `make run` adds only what is missing.
HOST ?= 127.0.0.1
PORT ?= 8000
run: install
	HOST=$(HOST) PORT=$(PORT) $(PY) manage.py run_marketplace

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: install lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf .local $(VENV)
