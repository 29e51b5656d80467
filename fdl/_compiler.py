"""XLA compiler options for fdl's own compiled loops on CPU, and ``jit`` that applies them.

jaxlib's XLA:CPU hands convolutions to the YNNPACK library by default. On the machines
fdl is measured on (x86-64, AVX-512) that is about 2x slower than XLA's other
convolution path (Eigen's), forward and backward: for W3's second layer (16x16x32 -> 64,
3x3, batch 128) the forward pass takes 12.5 ms against 7.0, the input gradient 12.4
against 7.8 and the filter gradient 28 against 11. Matrix products stay with YNNPACK,
which is the faster of the two for them. So fdl compiles its training steps, epochs and
evaluation with YNNPACK limited to individual dot products.

Two mechanisms, both off with ``FDL_TUNE_XLA=0`` in the environment:

* ``import fdl`` appends the option to ``XLA_FLAGS`` (process-wide, so a user's own
  ``jax.jit`` of fdl ops benefits too) when JAX has not initialised its backends yet,
  ``XLA_FLAGS`` does not set it already, and jaxlib is a release known to have the flag
  (an unknown flag in ``XLA_FLAGS`` aborts the process).
* fdl's own compiled loops (``fit``'s steps and epochs, ``evaluate``, ``predict``) pass
  it as ``compiler_options`` on CPU, after a probe compile shows the jaxlib accepts it:
  this covers a process whose backend was already running when fdl was imported.
"""

import functools
import os

import jax
import jax.numpy as jnp

CPU_COMPILER_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT",
}
OPT_OUT_VARIABLE = "FDL_TUNE_XLA"
# jaxlib releases (major, minor) whose XLA:CPU has the option and was measured with it.
_FLAG_RELEASES = {(0, 10)}


def jaxlib_release():
    """jaxlib's ``(major, minor)`` version, or ``None`` if it cannot be read."""
    try:
        from jaxlib import version as jaxlib_version

        return tuple(int(part) for part in jaxlib_version.__version__.split(".")[:2])
    except (ImportError, AttributeError, ValueError):
        return None


def _opted_out():
    return os.environ.get(OPT_OUT_VARIABLE, "1").strip().lower() in ("0", "false", "no")


def tune_on_import():
    """Adds ``CPU_COMPILER_OPTIONS`` to ``XLA_FLAGS``; returns whether it did.

    Does nothing (returns False) when opted out, when ``XLA_FLAGS`` already names the
    option, when JAX's backends are already initialised (the flags were read), or when
    jaxlib is not a release in ``_FLAG_RELEASES``.
    """
    if _opted_out():
        return False
    flags = os.environ.get("XLA_FLAGS", "")
    if any(name in flags for name in CPU_COMPILER_OPTIONS):
        return False
    try:
        from jax._src import xla_bridge

        if xla_bridge.backends_are_initialized():
            return False
    except (ImportError, AttributeError):  # cannot tell: leave the flags alone
        return False
    if jaxlib_release() not in _FLAG_RELEASES:
        return False
    extra = " ".join(f"--{name}={value}" for name, value in CPU_COMPILER_OPTIONS.items())
    os.environ["XLA_FLAGS"] = f"{flags} {extra}".strip()
    return True


def library_convolutions_off(flags=None):
    """Whether ``XLA_FLAGS`` (default: this process's) keep convolutions out of YNNPACK.

    True after ``tune_on_import`` applied the option, or when the user's own flags set the
    library fusion types without convolutions; then XLA:CPU convolves on Eigen's path.
    """
    flags = os.environ.get("XLA_FLAGS", "") if flags is None else flags
    off = False
    for token in flags.split():  # XLA applies flags in order: the last setting counts
        for name in CPU_COMPILER_OPTIONS:
            if token.startswith(f"--{name}="):
                off = "CONVOLUTION" not in token.split("=", 1)[1]
    return off


def compiler_options():
    """The options fdl compiles with on the default backend: a dict, or ``None``."""
    if _opted_out() or jax.default_backend() != "cpu":
        return None
    return dict(CPU_COMPILER_OPTIONS) if _cpu_options_accepted() else None


@functools.cache
def _cpu_options_accepted():
    try:
        probe = jax.jit(lambda v: v + 1, compiler_options=CPU_COMPILER_OPTIONS)
        probe.lower(jnp.zeros((), jnp.float32)).compile()
    except Exception:  # noqa: BLE001 - any rejection means: compile without them
        return False
    return True


def jit(fun, **kwargs):
    """``jax.jit(fun, **kwargs)`` with ``compiler_options()`` added."""
    return jax.jit(fun, compiler_options=compiler_options(), **kwargs)


# ------------------------------------------------------------------ programs run once

# A program that runs once on a handful of numbers (a gradient check's probes, a test's
# comparison) is compiled on CPU for compile time, not speed: without XLA's backend
# (LLVM) optimisation passes, and with XLA:CPU's older loop emitter for fused elementwise
# code where the jaxlib still has it (with its newer MLIR fusion emitters, fdl
# gradcheck's registry and model checks took 4x the compile time). No fast-math either
# way: the same HLO, IEEE arithmetic, values equal up to the rounding of reordered sums.
CHEAP_CPU_OPTIONS = {"xla_backend_optimization_level": 0,
                     "xla_llvm_disable_expensive_passes": True}
_LEGACY_EMITTER = {"xla_cpu_use_fusion_emitters": False}


@functools.cache
def _cheap_cpu_options():
    """``CHEAP_CPU_OPTIONS``, plus ``_LEGACY_EMITTER`` if this jaxlib accepts it (an
    unknown option fails the compilation)."""
    options = dict(CHEAP_CPU_OPTIONS, **_LEGACY_EMITTER)
    try:
        jax.jit(lambda v: v + 1, compiler_options=options).lower(jnp.zeros(())).compile()
    except Exception:  # noqa: BLE001 - any rejection means: compile without it
        return dict(CHEAP_CPU_OPTIONS)
    return options


def cheap_options():
    """The compiler options of ``cheap_jit`` on the default backend: a dict, or ``None``
    off CPU (where compilation is left as it is)."""
    return _cheap_cpu_options() if jax.default_backend() == "cpu" else None


def cheap_jit(fn, **kwargs):
    """``jax.jit(fn, **kwargs)`` compiled for compile time on CPU, for programs that run
    once (``CHEAP_CPU_OPTIONS``)."""
    return jax.jit(fn, compiler_options=cheap_options(), **kwargs)


def cheap_compiled(fn, *args):
    """``fn`` compiled cheaply (``cheap_jit``) for ``args``: an executable to call with
    arguments of their shapes and dtypes."""
    return cheap_jit(fn).lower(*args).compile()
