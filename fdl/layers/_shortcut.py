"""The parameter-free pieces of ResNet shortcuts (He et al. 2015, "option A").

When a residual stage halves the resolution and widens the channels, the identity
shortcut no longer matches the block's output. Option A keeps it parameter-free:
``Subsample(2)`` keeps every second pixel (what a stride-2 convolution's windows start
on) and ``PadChannels(p, p)`` adds zero channels; option B projects with a 1x1
convolution of stride 2, which is ``serial(Subsample(2), Conv(C, 1))`` -- the same values,
since a 1x1 window at stride 2 reads exactly the subsampled pixels.
"""

import math

import numpy as np

from fdl import _checks
from fdl._config import configured
from fdl.layers._core import check_input_shape, ops, parameter_free


@configured
def Subsample(stride, *, manual=False):
    """Keeps every ``S``-th row and column: ``out[n, i, j, c] = x[n, i SH, j SW, c]``.

    Per example ``(H, W, C) -> (ceil(H / SH), ceil(W / SW), C)``
    (``fdl.nn.subsample2d``): the pixels a 1x1 convolution of stride ``S`` reads. No
    parameters; the gradient puts ``dout`` back at the kept pixels, zero elsewhere.

    Args:
      stride: an int or a pair ``(SH, SW)``, >= 1.
      manual: compute with ``fdl.manual.subsample2d`` (hand-written backward pass).
    """
    try:
        stride = _checks.pair(stride, "stride")
    except (TypeError, ValueError) as err:
        raise type(err)(f"Subsample: {err}") from None
    st = stride[0] if stride[0] == stride[1] else f"{stride[0]}x{stride[1]}"
    name = f"Subsample({st})"
    op = ops(manual)

    def output_shape(input_shape):
        h, w, c = check_input_shape(input_shape, name, rank=3, what="(H, W, C)")
        return (math.ceil(h / stride[0]), math.ceil(w / stride[1]), c)

    return parameter_free(name, output_shape, lambda x: op.subsample2d(x, stride))


def _count(value, argname):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"PadChannels: {argname} must be an int >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"PadChannels: {argname} must be an int >= 0, got {value!r}")
    return int(value)


@configured
def PadChannels(before, after, *, manual=False):
    """Adds zero channels on the last axis: ``out = [0 (before) | x | 0 (after)]``.

    Per example ``(..., C) -> (..., before + C + after)`` (``fdl.nn.pad_channels``):
    option A's widening of the identity shortcut (``PadChannels(C // 2, C // 2)``
    doubles ``C``). No parameters; the gradient is ``dout`` with the added channels
    cropped off.

    Args:
      before, after: zero channels to add in front of and behind ``x``'s, ints >= 0.
      manual: compute with ``fdl.manual.pad_channels`` (hand-written backward pass).
    """
    before, after = _count(before, "before"), _count(after, "after")
    name = f"PadChannels({before}, {after})"
    op = ops(manual)

    def output_shape(input_shape):
        shape = check_input_shape(input_shape, name)
        return shape[:-1] + (before + shape[-1] + after,)

    return parameter_free(name, output_shape, lambda x: op.pad_channels(x, before, after))
