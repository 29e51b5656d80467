"""Hand-written backward passes of max and average pooling.

Both work on the window's ``KH * KW`` strided slices (``x[:, p::SH, q::SW]``, the
value at offset ``(p, q)`` of every window at once; see ``fdl.nn._pool``). Max pooling
routes each window's gradient to the position of its maximum (lecture: "max gate =
gradient router"); average pooling spreads it evenly, ``1 / (KH*KW)`` to each
position. The slice gradients are placed back at their offsets, so overlapping windows
(stride < size) accumulate.

Tie rule: a window's gradient goes to its *first* maximum in row-major ``(p, q)``
order, as in ``jax.grad`` of ``fdl.nn.max_pool2d``.

The slice form replaces im2col/col2im windows here for speed: on CPU it is one fused
pass over the image, where the window copies cost several.
"""

import jax.numpy as jnp

from fdl.manual._custom import Cache, custom_op
from fdl.nn import _pool


def max_pool2d_forward(x, size=2, stride=2):
    x, size_hw, stride_hw, _ = _pool.check_pool(x, size, stride)
    out = _pool.max_pool2d(x, size, stride)
    static = {"size": size_hw, "stride": stride_hw}
    return out, Cache(static, x=x, out=out)


def max_pool2d_backward(dout, cache):
    """``dx``: each window's gradient lands on its first maximum, row-major ``(p, q)``.

    For each offset ``(p, q)`` in order: ``hit = (x[:, p::SH, q::SW] == out) & ~taken``
    (the window's max is here and no earlier offset claimed it), ``taken |= hit``, and
    that slice's gradient is ``where(hit, dout, 0)``; the slice gradients are then
    placed back at their offsets (adding where windows overlap).
    """
    slices = _pool.window_slices(cache.x, cache.size, cache.stride)
    zero = jnp.zeros((), dout.dtype)
    taken = jnp.zeros(dout.shape, bool)
    dslices = []
    for s in slices:
        hit = (s == cache.out) & ~taken
        taken = taken | hit
        dslices.append(jnp.where(hit, dout, zero))
    return _pool.unslice_windows(dslices, cache.x.shape, cache.size, cache.stride)


def avg_pool2d_forward(x, size=2, stride=2):
    x, size_hw, stride_hw, _ = _pool.check_pool(x, size, stride)
    out = _pool.avg_pool2d(x, size, stride)
    static = {"x_shape": tuple(x.shape), "size": size_hw, "stride": stride_hw}
    return out, Cache(static)


def avg_pool2d_backward(dout, cache):
    """``dx``: each window's gradient, divided by the window area, to all its positions."""
    window = cache.size[0] * cache.size[1]
    share = dout / window
    return _pool.unslice_windows([share] * window, cache.x_shape, cache.size, cache.stride)


def max_pool2d(x, size=2, stride=2):
    """``fdl.nn.max_pool2d`` with the hand-written backward pass."""
    x = _pool.check_pool(x, size, stride)[0]
    return custom_op(max_pool2d_forward, max_pool2d_backward, (x,), {"size": size, "stride": stride})


def avg_pool2d(x, size=2, stride=2):
    """``fdl.nn.avg_pool2d`` with the hand-written backward pass."""
    x = _pool.check_pool(x, size, stride)[0]
    return custom_op(avg_pool2d_forward, avg_pool2d_backward, (x,), {"size": size, "stride": stride})
