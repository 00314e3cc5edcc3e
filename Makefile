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

install: $(BIN)/activate
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/activate
	$(BIN)/pip install --quiet -e ".[test]"

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
