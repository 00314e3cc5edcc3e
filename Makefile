# Công Chức Số — the two commands a new machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-test translations setup clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installing again only when the dependencies change: a second `make run` starts at once.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/activate
	@echo "Installing (log in $(VENV)/pip.log)…"
	@$(BIN)/pip install --disable-pip-version-check -e . > $(VENV)/pip.log 2>&1 || (tail -30 $(VENV)/pip.log; exit 1)
	@touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(BIN)/activate
	@echo "Installing with the test tools (log in $(VENV)/pip.log)…"
	@$(BIN)/pip install --disable-pip-version-check -e ".[test]" > $(VENV)/pip.log 2>&1 || (tail -30 $(VENV)/pip.log; exit 1)
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

translations: install
	$(BIN)/pybabel compile -d training/translations --statistics

setup: install
	$(BIN)/flask --app training setup --demo

## Install everything, load the demo on SQLite, and serve on http://127.0.0.1:5000
run: setup
	$(BIN)/flask --app training run --host $(HOST) --port $(PORT)

## Install the test dependencies and run the whole suite (TEST_DATABASE_URL selects PostgreSQL)
test: install-test
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) instance *.egg-info .pytest_cache
