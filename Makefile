# Two entry points, both self-contained on a machine with python3, pip and make:
#   make run   -- set up a virtual environment and run fdl's main job
#   make test  -- set up the same environment and run the test suite
#   make lint  -- check the code's style with ruff (configured in pyproject.toml)
#   make wheel-check -- build the wheel, install it without extras into a fresh virtual
#                 environment and run fdl from another directory (.ci/wheel_check)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Test processes: the suite is dominated by XLA compilations, which run on one core each.
# Files stay whole on one process (--dist loadfile) so that their tests share compiled
# programs. SERIAL_TESTS run afterwards, alone: they start processes that train on
# several (simulated) devices, whose all-reduce can stall when other tests take the cores.
TEST_WORKERS ?= auto
SERIAL_TESTS := tests/train/test_parallel.py

.PHONY: setup run test lint wheel-check clean

$(BIN)/.fdl-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,plot]"
	touch $@

setup: $(BIN)/.fdl-installed

run: setup
	$(BIN)/fdl train

test: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --ignore=$(SERIAL_TESTS)
	$(BIN)/python -m pytest -q $(SERIAL_TESTS)

lint: setup
	$(BIN)/ruff check fdl tests benchmarks examples

# The wheel is built with the set-up environment's pip; the fresh environment comes from
# $(PYTHON) and never reuses $(VENV).
wheel-check: setup
	VENV_PYTHON=$(PYTHON) .ci/wheel_check $(BIN)/python

clean:
	rm -rf $(VENV) .pytest_cache
