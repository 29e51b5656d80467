"""Test programs compiled cheaply, and device arrays made without compiling.

Most test programs run once on a few hundred values, so they are compiled the way ``fdl
gradcheck`` compiles its checks (``fdl._compiler.cheap_jit``: no LLVM optimisation
passes on CPU; the same HLO and IEEE arithmetic). Other tests run the same ops compiled
with default options (fit's steps, the models' gradient checks, the examples).
"""

import jax
import numpy as np

from fdl._compiler import cheap_jit, cheap_options

__all__ = ["cheap_jit", "cheap_options", "compiled_once", "device_array"]


def compiled_once(fn, *args):
    """``fn`` compiled cheaply for ``args`` (an executable: call it with such args)."""
    return cheap_jit(fn).lower(*args).compile()


def device_array(values, dtype=None):
    """``jnp.array(values, dtype)`` without compiling: ``jnp.asarray`` of host data
    compiles a small program per shape and dtype, ``jax.device_put`` does not."""
    return jax.device_put(np.asarray(values, dtype))
