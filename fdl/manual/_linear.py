"""Hand-written backward passes of the affine layer and flatten.

For ``s = x W + b`` with upstream gradient ``ds`` (N, M): ``dx = ds W^T`` reshaped to
``x``'s shape, ``dW = x^T ds``, ``db = sum_n ds`` (lecture: backprop through ``Wx``).
"""

import jax.numpy as jnp

from fdl import _checks
from fdl.manual._custom import Cache, custom_op
from fdl.nn import _linear


def affine_forward(x, w, b):
    """``(x W + b, cache)``; ``x`` is flattened to ``(N, D)``."""
    x_shape = jnp.shape(x)
    x2, w, b = _linear.check_affine(x, w, b)
    return x2 @ w + b, Cache({"x_shape": tuple(x_shape)}, x=x2, w=w)


def affine_backward(dout, cache):
    """``(dx, dw, db)`` from ``dout`` of shape ``(N, M)``."""
    dx = (dout @ cache.w.T).reshape(cache.x_shape)
    dw = cache.x.T @ dout
    db = jnp.sum(dout, axis=0)
    return dx, dw, db


def affine(x, w, b):
    """``fdl.nn.affine`` with the hand-written backward pass."""
    x = _checks.float_array(x, "x")
    _, w, b = _linear.check_affine(x, w, b)
    return custom_op(affine_forward, affine_backward, (x, w, b))


def flatten_forward(x):
    """``(x.reshape(N, -1), cache)``."""
    x = _checks.as_array(x, "x")
    return _linear.flatten(x), Cache({"x_shape": tuple(x.shape)})


def flatten_backward(dout, cache):
    """Flatten only moves numbers around: ``dx = dout.reshape(x.shape)``."""
    return dout.reshape(cache.x_shape)


def flatten(x):
    """``fdl.nn.flatten`` with the hand-written backward pass."""
    x = _checks.float_array(x, "x")
    _linear.flatten(x)
    return custom_op(flatten_forward, flatten_backward, (x,))
