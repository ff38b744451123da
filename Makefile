# Two entry points do all set-up: `make demo` and `make test` (see README).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DATA_DIR ?= var

.PHONY: demo test install system-deps build serve lint clean

demo: install build serve  ## install everything, build the bundled demo release, serve it

test: install system-deps  ## install everything (Chromium included) and run the whole suite
	scripts/test

install: $(STAMP)

$(STAMP): pyproject.toml
	scripts/install
	@touch $(STAMP)

system-deps:
	scripts/install-system

build: install
	$(VENV)/bin/lantian build --demo --data-dir $(DATA_DIR)

serve: install
	$(VENV)/bin/lantian serve --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

lint: install
	scripts/lint

clean:
	rm -rf $(VENV) $(DATA_DIR) .typecheck .mypy_cache .ruff_cache .pytest_cache
