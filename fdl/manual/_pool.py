"""Hand-written backward passes of max and average pooling.

Both work on the window's ``KH * KW`` strided slices (``x[:, p::SH, q::SW]``, the
value at offset ``(p, q)`` of every window at once; see ``fdl.nn._pool``). Max pooling
routes each window's gradient to the position of its maximum (lecture: "max gate =
gradient router"); average pooling spreads it evenly, ``1 / (KH*KW)`` to each
position. The slice gradients are placed back at their offsets, so overlapping windows
(stride < size) accumulate.

Tie rule: a window's gradient goes to its *first* maximum in row-major ``(p, q)``
order, as in ``jax.grad`` of ``fdl.nn.max_pool2d``.

Padding: the backward pass works on the padded image (``-inf`` borders for max pooling,
zeros for average pooling) and crops its gradient back to ``H x W``. A padded position
never is a window's maximum, and the average's shares that fall on padding go nowhere.

The slice form replaces im2col/col2im windows here for speed: on CPU it is one fused
pass over the image, where the window copies cost several.
"""

import jax.numpy as jnp

from fdl.manual._custom import Cache, custom_op
from fdl.nn import _pool


def max_pool2d_forward(x, size=2, stride=2, padding=0):
    x, size_hw, stride_hw, pads, _ = _pool.check_pool(x, size, stride, padding)
    out = _pool.max_pool2d(x, size, stride, padding)
    static = {"size": size_hw, "stride": stride_hw, "pads": pads}
    return out, Cache(static, x=x, out=out)


def max_pool2d_backward(dout, cache):
    """``dx``: each window's gradient lands on its first maximum, row-major ``(p, q)``.

    On the padded image ``xp`` (``-inf`` borders), for each offset ``(p, q)`` in order:
    ``hit = (xp[:, p::SH, q::SW] == out) & ~taken`` (the window's max is here and no
    earlier offset claimed it), ``taken |= hit``, and that slice's gradient is
    ``where(hit, dout, 0)``; the slice gradients are then placed back at their offsets
    (adding where windows overlap) and the padding is cropped off.
    """
    x, pads = cache.x, cache.pads
    padded = _pool.is_padded(pads)
    xp = _pool.pad_image(x, pads, -jnp.inf) if padded else x
    slices = _pool.window_slices(xp, cache.size, cache.stride)
    zero = jnp.zeros((), dout.dtype)
    taken = jnp.zeros(dout.shape, bool)
    dslices = []
    for s in slices:
        hit = (s == cache.out) & ~taken
        taken = taken | hit
        dslices.append(jnp.where(hit, dout, zero))
    dxp = _pool.unslice_windows(dslices, xp.shape, cache.size, cache.stride)
    return _pool.crop_image(dxp, pads, x.shape[1:3]) if padded else dxp


def avg_pool2d_forward(x, size=2, stride=2, padding=0):
    x, size_hw, stride_hw, pads, _ = _pool.check_pool(x, size, stride, padding)
    out = _pool.avg_pool2d(x, size, stride, padding)
    static = {"x_shape": tuple(x.shape), "size": size_hw, "stride": stride_hw, "pads": pads}
    return out, Cache(static)


def avg_pool2d_backward(dout, cache):
    """``dx``: each window's gradient, divided by the window area, to all its positions
    (of the padded image; the shares on the padding are cropped off)."""
    n, h, w, c = cache.x_shape
    (top, bottom), (left, right) = cache.pads
    padded_shape = (n, h + top + bottom, w + left + right, c)
    window = cache.size[0] * cache.size[1]
    share = dout / window
    dxp = _pool.unslice_windows([share] * window, padded_shape, cache.size, cache.stride)
    return _pool.crop_image(dxp, cache.pads, (h, w)) if _pool.is_padded(cache.pads) else dxp


def max_pool2d(x, size=2, stride=2, padding=0):
    """``fdl.nn.max_pool2d`` with the hand-written backward pass."""
    x = _pool.check_pool(x, size, stride, padding)[0]
    return custom_op(max_pool2d_forward, max_pool2d_backward, (x,),
                     {"size": size, "stride": stride, "padding": padding})


def avg_pool2d(x, size=2, stride=2, padding=0):
    """``fdl.nn.avg_pool2d`` with the hand-written backward pass."""
    x = _pool.check_pool(x, size, stride, padding)[0]
    return custom_op(avg_pool2d_forward, avg_pool2d_backward, (x,),
                     {"size": size, "stride": stride, "padding": padding})
