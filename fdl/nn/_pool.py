"""Pooling layers (lecture: "Pooling Layer"): downsample each channel independently.

A ``size x size`` window moves with step ``stride`` over every channel of an NHWC
image; max pooling keeps the largest value, average pooling the mean. No padding;
a window that cannot tile the input at that stride raises ``ValueError`` (as for conv).
"""

import jax.numpy as jnp
from jax import lax

from fdl import _checks
from fdl.nn._conv import resolve_padding


def check_pool(x, size, stride):
    """Validates pooling arguments; returns ``x``, the window and stride pairs, output size."""
    x = _checks.float_array(x, "x")
    _checks.check_rank(x, "x", 4, "(N, H, W, C) -- images are NHWC")
    size = _checks.pair(size, "size")
    stride = _checks.pair(stride, "stride")
    _, out = resolve_padding(x.shape[1:3], size, stride, 0)
    return x, size, stride, out


def _pool(x, size, stride, init, op):
    return lax.reduce_window(
        x, init, op, (1, size[0], size[1], 1), (1, stride[0], stride[1], 1), "VALID"
    )


def max_pool2d(x, size=2, stride=2):
    """Max pooling: ``out[n,i,j,c] = max_{p,q < size} x[n, i*S + p, j*S + q, c]``.

    Args:
      x: ``(N, H, W, C)``.
      size: window, int or pair. stride: step, int or pair.
    Returns:
      ``(N, Ho, Wo, C)`` with ``Ho = (H - size) / stride + 1``.
    """
    x, size, stride, _ = check_pool(x, size, stride)
    return _pool(x, size, stride, -jnp.inf, lax.max)


def avg_pool2d(x, size=2, stride=2):
    """Average pooling: the mean of each ``size x size`` window, per channel.

    Shapes as in ``max_pool2d``.
    """
    x, size, stride, _ = check_pool(x, size, stride)
    total = _pool(x, size, stride, 0.0, lax.add)
    return total / (size[0] * size[1])
