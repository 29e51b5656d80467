"""Shared test setup: the tests directory on sys.path (for ``reference``/``registry``),
float32 matmul precision pinned (GPUs would otherwise use TF32), and fixtures."""

import os
import sys

import jax
import pytest

sys.path.insert(0, os.path.dirname(__file__))

jax.config.update("jax_default_matmul_precision", "float32")


@pytest.fixture
def x64():
    """Runs the test body with float64 enabled (gradient checks need it)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def without_matplotlib(monkeypatch):
    """``import matplotlib`` fails in the test, so fdl's commands skip their plots (and say
    so). For runs whose plots are tested elsewhere: drawing them takes seconds a run."""
    for name in ("matplotlib", "matplotlib.pyplot"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture(params=["eager", "jit"])
def variant(request):
    """Each numerical test runs twice: eagerly and under ``jax.jit``."""
    return (lambda f: f) if request.param == "eager" else jax.jit
