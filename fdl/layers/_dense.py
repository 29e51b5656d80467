"""The fully connected layer (lecture: "Fully connected layers"), ``s = x W + b``."""

import math

import jax
import jax.numpy as jnp

from fdl import init as _init
from fdl import kernels as _kernels
from fdl._config import configured
from fdl.layers._core import Layer, check_input_shape, check_train, ops, positive_int


def _check_initializer(fn, argname, name):
    if not callable(fn):
        raise TypeError(
            f"{name}: {argname} must be an initialiser (key, shape, dtype) -> array, got {fn!r}"
        )
    return fn


IMPLS = ("auto", "xla")


@configured
def Dense(features, w_init=_init.kaiming_normal, b_init=_init.zeros, *, impl="auto",
          manual=False):
    """Fully connected layer: every output unit sees every input, ``out = x W + b``.

    The input is flattened per example (``fdl.nn.affine``), so ``Dense`` also accepts
    images; ``output_shape`` is ``(features,)``.

    Args:
      features: number of output units (``D_out``), a positive int.
      w_init: initialiser of ``w``, shape ``(D_in, D_out)``. Default
        ``fdl.init.kaiming_normal`` (He: ``std = sqrt(2 / D_in)``), right for ReLU
        networks; use ``fdl.init.xavier_normal`` for tanh/sigmoid.
      b_init: initialiser of ``b``, shape ``(D_out,)``; zeros by default.
      impl: ``"auto"`` computes with the tuned ``fdl.kernels.affine`` (same value and
        derivatives, a faster weight gradient on CPU); ``"xla"`` with the plain reference
        ``fdl.nn.affine``. Ignored with ``manual=True``.
      manual: compute with ``fdl.manual.affine`` (hand-written backward pass).
    Params:
      ``{"w": (D_in, features), "b": (features,)}``; no state.
    """
    name = f"Dense({features})"
    features = positive_int(features, "features", name)
    _check_initializer(w_init, "w_init", name)
    _check_initializer(b_init, "b_init", name)
    if impl not in IMPLS:
        raise ValueError(f"{name}: impl must be one of {', '.join(IMPLS)}, got {impl!r}")
    affine = ops(manual).affine
    if impl == "auto" and not manual:
        affine = _kernels.affine

    def output_shape(input_shape):
        check_input_shape(input_shape, name)
        return (features,)

    def init(key, input_shape, dtype=jnp.float32):
        shape = check_input_shape(input_shape, name)
        d_in = math.prod(shape)
        w_key, b_key = jax.random.split(key)
        return {"w": w_init(w_key, (d_in, features), dtype),
                "b": b_init(b_key, (features,), dtype)}, {}

    def apply(params, state, x, *, train=False, key=None):
        del key
        check_train(train, name)
        return affine(x, params["w"], params["b"]), state

    return Layer(init, apply, output_shape, name)
