# Two entry points, both self-contained on a machine with python3, pip and make:
#   make run   -- set up a virtual environment and run fdl's main job
#   make test  -- set up the same environment and run the test suite
#   make lint  -- check the code's style with ruff (configured in pyproject.toml)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint clean

$(BIN)/.fdl-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,plot]"
	touch $@

setup: $(BIN)/.fdl-installed

run: setup
	$(BIN)/fdl train

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check fdl tests benchmarks examples

clean:
	rm -rf $(VENV) .pytest_cache
