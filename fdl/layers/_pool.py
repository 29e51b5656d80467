"""Pooling layers (lecture: "Pooling layer"): downsample each channel, no parameters.

An ``F x F`` window with step ``S`` gives ``(W1 - F) / S + 1`` per side, depth
unchanged; no padding (the notes: "it is not common to use zeroing for pooling").
"""

from fdl import _checks
from fdl._config import configured
from fdl.layers._conv import spatial_output
from fdl.layers._core import Layer, check_train, ops


def _pool_layer(kind, size, stride, manual):
    pre = f"{kind}({size!r}, {stride!r})"
    try:
        size = _checks.pair(size, "size")
        stride = _checks.pair(stride, "stride")
    except (TypeError, ValueError) as err:
        raise type(err)(f"{pre}: {err}") from None
    sz = size[0] if size[0] == size[1] else f"{size[0]}x{size[1]}"
    st = stride[0] if stride[0] == stride[1] else f"{stride[0]}x{stride[1]}"
    name = f"{kind}({sz}, stride {st})"
    op = ops(manual)
    fn = op.max_pool2d if kind == "MaxPool" else op.avg_pool2d

    def output_shape(input_shape):
        shape, (ho, wo) = spatial_output(input_shape, size, stride, 0, name)
        return (ho, wo, shape[2])

    def init(key, input_shape, dtype=None):
        del key, dtype
        output_shape(input_shape)
        return {}, {}

    def apply(params, state, x, *, train=False, key=None):
        del params, key
        check_train(train, name)
        return fn(x, size, stride), state

    return Layer(init, apply, output_shape, name)


@configured
def MaxPool(size=2, stride=2, *, manual=False):
    """Max pooling over ``size x size`` windows with step ``stride`` (``fdl.nn.max_pool2d``).

    ``size`` and ``stride`` are ints or pairs; input ``(H, W, C)`` per example, output
    ``((H - size) / stride + 1, ..., C)``; a window that does not tile raises at init.
    """
    return _pool_layer("MaxPool", size, stride, manual)


@configured
def AvgPool(size=2, stride=2, *, manual=False):
    """Average pooling over ``size x size`` windows with step ``stride`` (``fdl.nn.avg_pool2d``)."""
    return _pool_layer("AvgPool", size, stride, manual)
