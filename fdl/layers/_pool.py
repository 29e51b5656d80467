"""Pooling layers (lecture: "Pooling layer"): downsample each channel, no parameters.

An ``F x F`` window with step ``S`` gives ``(W1 - F) / S + 1`` per side, depth
unchanged. No padding by default (the notes: "it is not common to use zeroing for
pooling"); the ImageNet networks' pools take ``padding`` (``-inf`` for max pooling,
zeros counted in the average), per side for PyTorch's ``ceil_mode``: a 3x3/2 ceil-mode
max pool on 112 is ``MaxPool(3, 2, padding=((0, 1), (0, 1)))``.
"""

from fdl import _checks
from fdl._config import configured
from fdl.layers._conv import describe_padding, spatial_output
from fdl.layers._core import ops, parameter_free
from fdl.nn import _pool as _pool_impl


def _pool_layer(kind, size, stride, padding, manual):
    pre = f"{kind}({size!r}, {stride!r})"
    try:
        size = _checks.pair(size, "size")
        stride = _checks.pair(stride, "stride")
        padding = _pool_impl.check_pool_padding(padding, size)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{pre}: {err}") from None
    sz = size[0] if size[0] == size[1] else f"{size[0]}x{size[1]}"
    st = stride[0] if stride[0] == stride[1] else f"{stride[0]}x{stride[1]}"
    pad = f", pad {describe_padding(padding)}" if _pool_impl.is_padded(padding) else ""
    name = f"{kind}({sz}, stride {st}{pad})"
    op = ops(manual)
    fn = op.max_pool2d if kind == "MaxPool" else op.avg_pool2d

    def output_shape(input_shape):
        shape, (ho, wo) = spatial_output(input_shape, size, stride, padding, name)
        return (ho, wo, shape[2])

    return parameter_free(name, output_shape, lambda x: fn(x, size, stride, padding))


@configured
def MaxPool(size=2, stride=2, padding=0, *, manual=False):
    """Max pooling over ``size x size`` windows with step ``stride`` (``fdl.nn.max_pool2d``).

    ``size`` and ``stride`` are ints or pairs; ``padding`` (``-inf`` borders, none by
    default) an int, a pair or per side ``((top, bottom), (left, right))``, each side
    smaller than the window. Input ``(H, W, C)`` per example, output
    ``((H - size + top + bottom) / stride + 1, ..., C)``; a window that does not tile
    raises at init.
    """
    return _pool_layer("MaxPool", size, stride, padding, manual)


@configured
def AvgPool(size=2, stride=2, padding=0, *, manual=False):
    """Average pooling over ``size x size`` windows with step ``stride`` (``fdl.nn.avg_pool2d``).

    ``padding`` as in ``MaxPool``, with zeros that count in the average (the divisor is
    always ``size * size``).
    """
    return _pool_layer("AvgPool", size, stride, padding, manual)
