# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test reliability install db db-stop bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

db: $(STAMP)
	$(PY) -m config.localpg up

db-stop:
	$(PY) -m config.localpg down

demo: db
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo

# Lint and format checks first (ruff, configured in pyproject.toml), then the suite. The browser tests drive
# Debian's chromium; as root the set-up installs it when missing.
test: $(STAMP)
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || { apt-get update -q >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } || \
	  echo "chromium could not be installed: the browser tests will be skipped"
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

# The full fault suite: 500 jobs and 20 kill -9s, the database outage (`make test` runs a short version).
reliability: $(STAMP)
	SEED_RELIABILITY=full $(PY) -m pytest -m reliability -s

# Each benchmark starts its own throwaway Postgres; bench/run.py prints one table of the ratios.
# The load benchmark drives the API with Debian's wrk; as root the set-up installs it when missing.
bench: $(STAMP)
	@command -v wrk >/dev/null || [ "$$(id -u)" != 0 ] || { apt-get update -q >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; } || echo "wrk could not be installed"
	$(PY) bench/run.py

clean: db-stop
	rm -rf .media
