"""Global pooling (GoogLeNet, ResNet): one window over the whole feature map.

Instead of flattening the last ``H x W x C`` volume into large fully connected layers,
GoogLeNet and ResNet average each channel over the image, ``(H, W, C) -> (C,)``, which
removes most of the parameters and makes the network accept any image size.
"""

from fdl._config import configured
from fdl.layers._core import check_input_shape, ops, parameter_free


def _global_pool(kind, manual):
    name = kind
    op = ops(manual)

    def output_shape(input_shape):
        shape = check_input_shape(input_shape, name, rank=3, what="(H, W, C)")
        return (shape[2],)

    fn = op.global_avg_pool2d if kind == "GlobalAvgPool" else op.global_max_pool2d
    return parameter_free(name, output_shape, fn)


@configured
def GlobalAvgPool(*, manual=False):
    """Global average pooling, ``out[n, c] = 1/(H W) sum_{i,j} x[n, i, j, c]``.

    Per example ``(H, W, C) -> (C,)``; batched ``(N, H, W, C) -> (N, C)``
    (``fdl.nn.global_avg_pool2d``). No parameters. Its gradient spreads ``dout / (H W)``
    evenly over the map.

    Args:
      manual: compute with ``fdl.manual.global_avg_pool2d`` (hand-written backward pass).
    """
    return _global_pool("GlobalAvgPool", manual)


@configured
def GlobalMaxPool(*, manual=False):
    """Global max pooling, ``out[n, c] = max_{i,j} x[n, i, j, c]``.

    Per example ``(H, W, C) -> (C,)``; batched ``(N, H, W, C) -> (N, C)``
    (``fdl.nn.global_max_pool2d``). No parameters. Its gradient goes to the first
    maximum of each channel (the max gate routes the gradient).

    Args:
      manual: compute with ``fdl.manual.global_max_pool2d`` (hand-written backward pass).
    """
    return _global_pool("GlobalMaxPool", manual)
