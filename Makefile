# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install db db-stop bench clean

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

test: $(STAMP)
	$(PY) -m pytest

bench: db
	$(PY) manage.py migrate --noinput
	$(PY) bench/lineage.py

clean: db-stop
	rm -rf .media
