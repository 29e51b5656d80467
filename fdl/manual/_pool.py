"""Hand-written backward passes of max and average pooling.

Both are computed on the im2col windows: max pooling routes each window's gradient to
the position of its maximum (lecture: "max gate = gradient router"); average pooling
spreads it evenly, ``1 / (size*size)`` to each position. ``col2im`` adds the window
gradients back onto the pixels, so overlapping windows (stride < size) accumulate.
"""

import jax.numpy as jnp

from fdl.manual._custom import Cache, custom_op
from fdl.nn import _pool
from fdl.nn._conv import col2im, im2col

_NO_PAD = ((0, 0), (0, 0))


def _windows(x, size, stride, out_hw):
    """``(N, Ho, Wo, size*size, C)``: every pooling window's values."""
    cols = im2col(x, size, stride, _NO_PAD, out_hw)
    return cols.reshape(x.shape[0], out_hw[0], out_hw[1], size[0] * size[1], x.shape[3])


def _unwindow(dwindows, x_shape, size, stride):
    n, ho, wo = dwindows.shape[:3]
    return col2im(dwindows.reshape(n, ho, wo, -1), x_shape, size, stride, _NO_PAD)


def max_pool2d_forward(x, size=2, stride=2):
    x, size_hw, stride_hw, out_hw = _pool.check_pool(x, size, stride)
    out = _pool.max_pool2d(x, size, stride)
    winner = jnp.argmax(_windows(x, size_hw, stride_hw, out_hw), axis=3)
    static = {"x_shape": tuple(x.shape), "size": size_hw, "stride": stride_hw}
    return out, Cache(static, winner=winner)


def max_pool2d_backward(dout, cache):
    """``dx``: each window's gradient lands on its argmax (first one on ties)."""
    window = cache.size[0] * cache.size[1]
    hit = jnp.arange(window)[:, None] == cache.winner[:, :, :, None, :]
    dwindows = hit.astype(dout.dtype) * dout[:, :, :, None, :]
    return _unwindow(dwindows, cache.x_shape, cache.size, cache.stride)


def avg_pool2d_forward(x, size=2, stride=2):
    x, size_hw, stride_hw, _ = _pool.check_pool(x, size, stride)
    out = _pool.avg_pool2d(x, size, stride)
    static = {"x_shape": tuple(x.shape), "size": size_hw, "stride": stride_hw}
    return out, Cache(static)


def avg_pool2d_backward(dout, cache):
    """``dx``: each window's gradient, divided by the window area, to all its positions."""
    window = cache.size[0] * cache.size[1]
    n, ho, wo, c = dout.shape
    dwindows = jnp.broadcast_to(dout[:, :, :, None, :] / window, (n, ho, wo, window, c))
    return _unwindow(dwindows, cache.x_shape, cache.size, cache.stride)


def max_pool2d(x, size=2, stride=2):
    """``fdl.nn.max_pool2d`` with the hand-written backward pass."""
    x = _pool.check_pool(x, size, stride)[0]
    return custom_op(max_pool2d_forward, max_pool2d_backward, (x,), {"size": size, "stride": stride})


def avg_pool2d(x, size=2, stride=2):
    """``fdl.nn.avg_pool2d`` with the hand-written backward pass."""
    x = _pool.check_pool(x, size, stride)[0]
    return custom_op(avg_pool2d_forward, avg_pool2d_backward, (x,), {"size": size, "stride": stride})
