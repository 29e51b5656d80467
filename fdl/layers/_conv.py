"""The convolutional layer (lecture: "Convolution Layer").

``K`` filters of size ``F x F x D1`` slide over an ``H x W x D1`` input with step ``S``
and ``P`` zeros of padding; each output side is ``(W1 - F + 2P) / S + 1`` and the depth
is ``K``. Parameters: ``F * F * D1 * K`` weights plus ``K`` biases (the notes' 10
filters of 5x5 on a 32x32x3 input: ``(5*5*3 + 1) * 10 = 760``); without the biases when a
batch norm follows (its ``beta`` would cancel them), as in ResNet and GoogLeNet.

Padding may be given per side, ``((top, bottom), (left, right))``: the way fdl's strict
tiling rule states the windows of a library that floors the output size (PyTorch's
7x7/2 pad 3 on 224 is ``padding=((3, 2), (3, 2))``, see ``fdl.nn.conv2d``).
"""

import jax
import jax.numpy as jnp

from fdl import _checks
from fdl import init as _init
from fdl._config import configured
from fdl.layers._core import Layer, check_input_shape, check_train, ops, positive_int
from fdl.layers._dense import _check_initializer
from fdl.nn import _conv as _conv_impl


def _padding_spec(padding, name):
    """``"SAME"``/``"VALID"``, or the per-side ``((top, bottom), (left, right))`` of a
    numeric spec; errors are prefixed with the layer's ``name``."""
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise ValueError(
                f"{name}: padding must be an int, a pair, 'SAME' or 'VALID', got {padding!r}"
            )
        return padding.upper()
    try:
        return _conv_impl.padding_sides(padding)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{name}: {err}") from None


def spatial_output(input_shape, kernel, stride, padding, name, what="(H, W, C)"):
    """``(Ho, Wo)`` of a window op on an ``(H, W, C)`` example, or a ValueError naming ``name``.

    ``padding``: ``"SAME"``/``"VALID"`` or per side ``((top, bottom), (left, right))``.
    """
    shape = check_input_shape(input_shape, name, rank=3, what=what)
    pads = (padding, padding) if isinstance(padding, str) else padding
    out = []
    for axis in range(2):
        try:
            out.append(_conv_impl.axis_output(shape[axis], kernel[axis], stride[axis], pads[axis]))
        except ValueError as err:
            raise ValueError(
                f"{name} cannot be applied to input_shape {shape} ({('height', 'width')[axis]} "
                f"axis): {err}"
            ) from None
    return shape, tuple(out)


def _pair_text(pair):
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def describe_padding(padding):
    """``1`` (every side), ``1x2`` (rows x columns), ``(3,2)`` (per side, both axes alike)
    or ``(3,2)x(1,0)``; a mode string as is."""
    if isinstance(padding, str):
        return padding
    rows, cols = padding
    if rows[0] == rows[1] and cols[0] == cols[1]:
        return _pair_text((rows[0], cols[0]))
    side = [f"({before},{after})" for before, after in padding]
    return side[0] if side[0] == side[1] else f"{side[0]}x{side[1]}"


def _describe(features, kernel, stride, padding, bias):
    extra = "" if bias else ", no bias"
    return (f"Conv({features}, {kernel[0]}x{kernel[1]}, stride {_pair_text(stride)}, "
            f"pad {describe_padding(padding)}{extra})")


@configured
def Conv(features, kernel_size, stride=1, padding=0, w_init=_init.kaiming_normal,
         b_init=_init.zeros, *, bias=True, impl="auto", manual=False):
    """2-D convolution on NHWC images with HWIO filters (``fdl.nn.conv2d``).

    Args:
      features: number of filters ``K`` (output channels).
      kernel_size: ``F``, an int or a pair ``(KH, KW)``.
      stride: ``S``, an int or a pair.
      padding: zeros on each border: an int, a pair ``(PH, PW)``, ``"SAME"``,
        ``"VALID"``, or per side ``((top, bottom), (left, right))``.
      w_init: initialiser of ``w`` ``(KH, KW, C_in, K)``; default Kaiming normal
        (``std = sqrt(2 / (KH*KW*C_in))``).
      b_init: initialiser of ``b`` ``(K,)``; zeros by default (unused without a bias).
      bias: False leaves out ``b`` (a conv followed by batch norm, whose shift ``beta``
        plays its part); the layer then convolves with a zero bias.
      impl: ``"auto"`` (default: the faster of the two for this layer's shapes, see
        ``fdl.nn.conv2d``), ``"xla"`` (native convolution) or ``"im2col"`` (one matrix
        product).
      manual: compute with ``fdl.manual.conv2d`` (hand-written backward pass).
    Params:
      ``{"w": (KH, KW, C_in, K), "b": (K,)}``, or ``{"w"}`` without a bias; no state.
    Raises:
      ValueError at ``init``/``output_shape`` when ``input_shape`` is not ``(H, W, C)``
      or the filter cannot be applied to it (too large, or not tiling at the stride).
    """
    pre = f"Conv({features}, {kernel_size!r})"
    features = positive_int(features, "features", pre)
    try:
        kernel = _checks.pair(kernel_size, "kernel_size")
        stride = _checks.pair(stride, "stride")
    except (TypeError, ValueError) as err:
        raise type(err)(f"{pre}: {err}") from None
    padding = _padding_spec(padding, pre)
    try:
        _conv_impl.check_impl(impl)
    except ValueError as err:
        raise ValueError(f"{pre}: {err}") from None
    if not isinstance(bias, bool):
        raise TypeError(f"{pre}: bias must be True or False, got {bias!r}")
    name = _describe(features, kernel, stride, padding, bias)
    _check_initializer(w_init, "w_init", name)
    _check_initializer(b_init, "b_init", name)
    op = ops(manual)

    def output_shape(input_shape):
        _, (ho, wo) = spatial_output(input_shape, kernel, stride, padding, name)
        return (ho, wo, features)

    def init(key, input_shape, dtype=jnp.float32):
        shape, _ = spatial_output(input_shape, kernel, stride, padding, name)
        w_key, b_key = jax.random.split(key)
        w = w_init(w_key, (kernel[0], kernel[1], shape[2], features), dtype)
        if not bias:
            return {"w": w}, {}
        return {"w": w, "b": b_init(b_key, (features,), dtype)}, {}

    def apply(params, state, x, *, train=False, key=None):
        del key
        check_train(train, name)
        w = params["w"]
        # A constant zero bias: no parameter, so jax.grad has no "b" entry, and XLA
        # folds the addition of zeros away.
        b = params["b"] if bias else jnp.zeros((w.shape[-1],), w.dtype)
        return op.conv2d(x, w, b, stride, padding, impl=impl), state

    return Layer(init, apply, output_shape, name)
