"""Test programs compiled cheaply, and device arrays made without compiling.

Most test programs run once on a few hundred values, so they are compiled the way ``fdl
gradcheck`` compiles its checks (``fdl._compiler.cheap_jit``: no LLVM optimisation
passes on CPU; the same HLO and IEEE arithmetic). Other tests run the same ops compiled
with default options (some of fit's runs, the wheel check's ``fdl train``).
"""

import jax
import numpy as np

from fdl import _compiler
from fdl._compiler import cheap_compiled as compiled_once
from fdl._compiler import cheap_jit, cheap_options

__all__ = ["cheap_jit", "cheap_loop_options", "cheap_options", "compiled_once",
           "device_array"]


def device_array(values, dtype=None):
    """``jnp.array(values, dtype)`` without compiling: ``jnp.asarray`` of host data
    compiles a small program per shape and dtype, ``jax.device_put`` does not."""
    return jax.device_put(np.asarray(values, dtype))


def cheap_loop_options():
    """A stand-in for ``fdl._compiler.compiler_options`` that compiles fdl's own loops
    (fit's epochs and steps, evaluate, predict) cheaply, or None off CPU (left as is)."""
    if jax.default_backend() != "cpu":
        return None
    options = dict(_compiler.compiler_options() or {}, **_compiler.cheap_options())
    return lambda: options
