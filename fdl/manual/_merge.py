"""Hand-written backward passes of the merge, global-pooling and shortcut ops.

* ``add``: the add gate distributes, ``da = db = dout``.
* ``concatenate``: ``dout`` cut back into the pieces, at the offsets they were joined at.
* ``global_avg_pool2d``: ``dout / (H W)`` broadcast to every pixel.
* ``global_max_pool2d``: the max gate routes, ``dout`` to the first maximum in
  row-major order (the tie rule of ``fdl.nn.global_max_pool2d`` and ``max_pool2d``).
* ``subsample2d``: ``dout`` placed back at the kept pixels, zeros between them.
* ``pad_channels``: ``dout`` cropped to the original channels.
"""

import itertools

import jax.numpy as jnp
from jax import lax

from fdl.manual._custom import Cache, custom_op
from fdl.nn import _merge


def add_forward(a, b):
    a, b = _merge.check_add(a, b)
    return a + b, Cache()


def add_backward(dout, cache):
    """``(da, db) = (dout, dout)``: d(a + b)/da = d(a + b)/db = 1."""
    del cache
    return dout, dout


def add(a, b):
    """``fdl.nn.add`` with the hand-written backward pass."""
    a, b = _merge.check_add(a, b)
    return custom_op(add_forward, add_backward, (a, b))


def concatenate_forward(xs, axis=-1):
    xs, axis = _merge.check_concatenate(xs, axis)
    sizes = tuple(x.shape[axis] for x in xs)
    return jnp.concatenate(xs, axis=axis), Cache({"axis": axis, "sizes": sizes})


def concatenate_backward(dout, cache):
    """``[dx_0, dx_1, ...]``: piece ``k`` is ``dout[o_k : o_k + size_k]`` along the axis,
    ``o_k`` the sum of the earlier pieces' sizes (a list, like the input sequence)."""
    starts = itertools.accumulate(cache.sizes, initial=0)
    return [lax.slice_in_dim(dout, start, start + size, axis=cache.axis)
            for start, size in zip(starts, cache.sizes)]


def concatenate(xs, axis=-1):
    """``fdl.nn.concatenate`` with the hand-written backward pass."""
    xs, axis = _merge.check_concatenate(xs, axis)
    return custom_op(concatenate_forward, concatenate_backward, (xs,), {"axis": axis})


def global_avg_pool2d_forward(x):
    x = _merge.check_image(x)
    return _merge.global_avg_pool2d(x), Cache({"x_shape": tuple(x.shape)})


def global_avg_pool2d_backward(dout, cache):
    """``dx[n, i, j, c] = dout[n, c] / (H W)``: each pixel had weight ``1/(H W)`` in the mean."""
    _, h, w, _ = cache.x_shape
    return jnp.broadcast_to((dout / (h * w))[:, None, None, :], cache.x_shape)


def global_avg_pool2d(x):
    """``fdl.nn.global_avg_pool2d`` with the hand-written backward pass."""
    x = _merge.check_image(x)
    return custom_op(global_avg_pool2d_forward, global_avg_pool2d_backward, (x,))


def global_max_pool2d_forward(x):
    x = _merge.check_image(x)
    return jnp.max(x, axis=(1, 2)), Cache(x=x)


def global_max_pool2d_backward(dout, cache):
    """``dx``: ``dout[n, c]`` at the first maximal ``(i, j)`` of ``x[n, :, :, c]`` in
    row-major order (the index ``argmax`` returns), zero at every other pixel."""
    x = cache.x
    n, h, w, c = x.shape
    first = _merge.first_max_index(x)  # (N, C) flat index i * W + j
    positions = lax.broadcasted_iota(first.dtype, (1, h * w, 1), 1)
    dx = jnp.where(positions == first[:, None, :], dout[:, None, :], jnp.zeros((), dout.dtype))
    return dx.reshape(x.shape)


def global_max_pool2d(x):
    """``fdl.nn.global_max_pool2d`` with the hand-written backward pass."""
    x = _merge.check_image(x)
    return custom_op(global_max_pool2d_forward, global_max_pool2d_backward, (x,))


def subsample2d_forward(x, stride):
    x, stride_hw = _merge.check_subsample(x, stride)
    out = _merge.subsample2d(x, stride_hw)
    return out, Cache({"x_shape": tuple(x.shape), "stride": stride_hw})


def subsample2d_backward(dout, cache):
    """``dx[n, i SH, j SW, c] = dout[n, i, j, c]``, zero at the skipped pixels.

    One interior-padded ``lax.pad``: ``SH - 1`` zeros between kept rows (``SW - 1``
    between columns), and zeros after the last kept row up to ``H``.
    """
    _, h, w, _ = cache.x_shape
    (sh, sw), (ho, wo) = cache.stride, dout.shape[1:3]
    config = ((0, 0, 0), (0, h - (ho - 1) * sh - 1, sh - 1), (0, w - (wo - 1) * sw - 1, sw - 1),
              (0, 0, 0))
    return lax.pad(dout, jnp.zeros((), dout.dtype), config)


def subsample2d(x, stride):
    """``fdl.nn.subsample2d`` with the hand-written backward pass."""
    x, stride_hw = _merge.check_subsample(x, stride)
    return custom_op(subsample2d_forward, subsample2d_backward, (x,), {"stride": stride_hw})


def pad_channels_forward(x, before, after):
    x, before, after = _merge.check_pad_channels(x, before, after)
    out = _merge.pad_channels(x, before, after)
    return out, Cache({"before": before, "channels": x.shape[-1]})


def pad_channels_backward(dout, cache):
    """``dx = dout[..., before : before + C]``: the zero channels depend on nothing."""
    return lax.slice_in_dim(dout, cache.before, cache.before + cache.channels,
                             axis=dout.ndim - 1)


def pad_channels(x, before, after):
    """``fdl.nn.pad_channels`` with the hand-written backward pass."""
    x, before, after = _merge.check_pad_channels(x, before, after)
    return custom_op(pad_channels_forward, pad_channels_backward, (x,),
                     {"before": before, "after": after})
