# Two entry points, both self-contained on a machine with python3, pip and make:
#   make run   -- set up a virtual environment and run fdl's main job
#   make test  -- set up the same environment and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test clean

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

clean:
	rm -rf $(VENV) .pytest_cache
