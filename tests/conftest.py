"""Shared test setup: the tests directory on sys.path (for ``reference``/``registry``),
float32 matmul precision pinned (GPUs would otherwise use TF32), and fixtures."""

import os
import sys

# Before JAX starts its CPU backend (it reads XLA_FLAGS once). The suite keeps every core
# busy with one test process each, so XLA's parallel code generation (an LLVM module
# split into pieces compiled on several threads) only adds the cost of splitting:
# one piece cut the CPU time of compile-bound test files by 12-15%. Code generation
# only, not the compiled program's arithmetic. A user's own XLA_FLAGS setting wins.
if "xla_cpu_parallel_codegen_split_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_cpu_parallel_codegen_split_count=1").strip()

import jax  # noqa: E402
import pytest  # noqa: E402

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


def _forget_compiled_programs():
    """Empties fdl's caches of compiled training and evaluation programs."""
    from fdl.train import _loop, _steps

    for cache in (_loop._compiled_epoch, _steps.make_eval_batch, _steps.make_predict_batch):
        cache.cache_clear()


@pytest.fixture(scope="module")
def quick_compiles():
    """fdl's own compiled loops (fit's epochs and steps, evaluate, predict) compiled the
    way run-once programs are (``fdl._compiler.cheap_options``: no LLVM optimisation
    passes on CPU; the same HLO, IEEE arithmetic), for a test module that trains a few
    tiny runs to check what comes out, never how fast: a ResNet-8 training step compiles
    in half the time (3.9 s -> 2.0 s), the training examples' file in 9 s instead of 22.
    fdl's program caches are emptied before and after, so no program compiled one way
    serves a test that expects the other (bit-equality tests compare two programs)."""
    from programs import cheap_loop_options

    from fdl import _compiler

    with pytest.MonkeyPatch.context() as patch:
        options = cheap_loop_options()
        if options is not None:
            _forget_compiled_programs()
            patch.setattr(_compiler, "compiler_options", options)
        yield
    _forget_compiled_programs()
