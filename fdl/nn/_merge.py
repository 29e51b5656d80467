"""Ops that join, reduce or reshape whole feature maps: the pieces of residual networks
(He et al.), GoogLeNet's Inception modules and the global pooling that ends them.

* ``add(a, b)``: the residual connection ``F(x) + x``. Lecture: the add gate
  *distributes* its gradient, both inputs receive ``dout`` unchanged, which is why a
  residual block's shortcut carries the gradient to earlier layers undiminished.
* ``concatenate(xs, axis=-1)``: Inception's channel concat; its gradient is ``dout``
  split back into the pieces.
* ``global_avg_pool2d(x)`` / ``global_max_pool2d(x)``: one window covering the whole
  ``H x W`` image, ``(N, H, W, C) -> (N, C)`` (GoogLeNet and ResNet replace the big fully
  connected layers with the average). The max gate *routes* its gradient to the first
  maximum in row-major order, the tie rule of ``max_pool2d``.
* ``subsample2d(x, stride)``: ``x[:, ::SH, ::SW, :]``, the pixels a 1x1 convolution with
  that stride reads (a strided identity shortcut); its gradient places ``dout`` back
  among zeros.
* ``pad_channels(x, before, after)``: zero channels on the last axis (He et al.'s
  "option A" shortcut, identity plus zero channels when the width grows); its gradient
  crops them off again.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from fdl import _checks


def check_add(a, b):
    """Validates ``add``'s inputs: floating arrays of one shape and one dtype."""
    a = _checks.float_array(a, "a")
    b = _checks.float_array(b, "b")
    if a.shape != b.shape:
        raise ValueError(
            f"add needs a and b of the same shape, got a {tuple(a.shape)} and b {tuple(b.shape)}"
        )
    if a.dtype != b.dtype:
        raise TypeError(f"add needs a and b of the same dtype, got a {a.dtype} and b {b.dtype}")
    return a, b


def add(a, b):
    """Elementwise sum ``out = a + b`` (the residual connection ``F(x) + x``).

    Gradient (lecture: "add gate = gradient distributor"): ``da = db = dout``.

    Args:
      a, b: floating arrays of the same shape and dtype.
    Returns:
      ``a + b``, same shape and dtype.
    Raises:
      ValueError: the shapes differ (both are named). TypeError: non-floating input or
      two different dtypes.
    """
    a, b = check_add(a, b)
    return a + b


def check_concatenate(xs, axis):
    """Validates ``concatenate``'s inputs; returns the arrays (a list) and ``axis`` >= 0."""
    if not isinstance(xs, (list, tuple)):
        raise TypeError(f"xs must be a list or tuple of arrays, got {type(xs).__name__}")
    if not xs:
        raise ValueError("xs must hold at least one array, got an empty sequence")
    xs = [_checks.float_array(x, f"xs[{i}]") for i, x in enumerate(xs)]
    first = xs[0]
    if first.ndim < 1:
        raise ValueError(f"xs[0] must have rank >= 1 to be concatenated, got shape {tuple(first.shape)}")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if not -first.ndim <= axis < first.ndim:
        raise ValueError(
            f"axis must lie in [{-first.ndim}, {first.ndim}) for rank-{first.ndim} inputs, got {axis}"
        )
    axis = int(axis) % first.ndim
    for i, x in enumerate(xs[1:], start=1):
        others_agree = x.ndim == first.ndim and all(
            x.shape[a] == first.shape[a] for a in range(first.ndim) if a != axis
        )
        if not others_agree:
            raise ValueError(
                f"xs[{i}] has shape {tuple(x.shape)} but xs[0] has {tuple(first.shape)}: every "
                f"axis except the concatenation axis {axis} must agree"
            )
        if x.dtype != first.dtype:
            raise TypeError(f"xs[{i}] has dtype {x.dtype} but xs[0] has {first.dtype}")
    return xs, axis


def concatenate(xs, axis=-1):
    """Joins arrays along ``axis``: ``out = [x_0 | x_1 | ... ]`` (Inception's filter concat).

    Gradient: ``dout`` split along ``axis`` into pieces of the inputs' sizes,
    ``dx_k = dout[..., o_k : o_k + size_k, ...]``.

    Args:
      xs: a list or tuple of floating arrays of one rank and dtype, whose shapes agree on
        every axis except ``axis``.
      axis: int, negative counts from the end (default: the channel axis of NHWC).
    Returns:
      The joined array; ``out.shape[axis] = sum_k xs[k].shape[axis]``.
    Raises:
      ValueError: an empty ``xs``, ``axis`` out of range, or shapes that disagree off the
      axis (the offending input's index and both shapes are named). TypeError: ``xs`` not
      a sequence, non-floating inputs, mixed dtypes.
    """
    xs, axis = check_concatenate(xs, axis)
    return jnp.concatenate(xs, axis=axis)


def check_image(x, name="x"):
    """A floating ``(N, H, W, C)`` array."""
    x = _checks.float_array(x, name)
    _checks.check_rank(x, name, 4, "(N, H, W, C) -- images are NHWC")
    return x


def global_avg_pool2d(x):
    """Global average pooling: ``out[n, c] = 1/(H W) sum_{i,j} x[n, i, j, c]``.

    One average-pooling window over the whole image (GoogLeNet, ResNet: it replaces the
    large fully connected layers). Gradient: ``dout[n, c] / (H W)`` to every position.

    Args:
      x: ``(N, H, W, C)``.
    Returns:
      ``(N, C)``, ``x``'s dtype.
    """
    x = check_image(x)
    return jnp.mean(x, axis=(1, 2))


def first_max_index(x):
    """``(N, C)`` index ``i * W + j`` of the first maximum of each ``x[n, :, :, c]``, row-major.

    ``argmax`` returns the first occurrence of the maximum, which fixes the tie rule.
    """
    n, h, w, c = x.shape
    return jnp.argmax(x.reshape(n, h * w, c), axis=1)


def route_to_first_max(x, dout):
    """``dx``: ``dout[n, c]`` at the first maximum of ``x[n, :, :, c]``, zero elsewhere."""
    n, h, w, c = x.shape
    positions = lax.broadcasted_iota(jnp.int32, (1, h * w, 1), 1)
    hit = positions == first_max_index(x)[:, None, :]
    return jnp.where(hit, dout[:, None, :], jnp.zeros((), dout.dtype)).reshape(x.shape)


# jax.grad of a max reduction shares the gradient among tied maxima; this VJP sends it to
# the first one instead, the rule of max_pool2d and of fdl.manual.global_max_pool2d.
@jax.custom_vjp
def _global_max(x):
    return jnp.max(x, axis=(1, 2))


def _global_max_fwd(x):
    return _global_max(x), x


def _global_max_bwd(x, dout):
    return (route_to_first_max(x, dout),)


_global_max.defvjp(_global_max_fwd, _global_max_bwd)


def global_max_pool2d(x):
    """Global max pooling: ``out[n, c] = max_{i,j} x[n, i, j, c]``.

    Gradient (lecture: "max gate = gradient router"): ``dout[n, c]`` goes to the first
    maximal ``(i, j)`` in row-major order and nowhere else, so ties give one position the
    whole gradient (the tie rule of ``max_pool2d``).

    Args:
      x: ``(N, H, W, C)``.
    Returns:
      ``(N, C)``, ``x``'s dtype.
    """
    x = check_image(x)
    return _global_max(x)


def check_subsample(x, stride):
    """Validates ``subsample2d``'s inputs; returns ``x`` and the stride pair."""
    x = check_image(x)
    return x, _checks.pair(stride, "stride")


def subsample_output(hw, stride):
    """``(ceil(H / SH), ceil(W / SW))``: rows ``0, SH, 2 SH, ...`` that lie inside ``H``."""
    return tuple(math.ceil(hw[a] / stride[a]) for a in range(2))


def subsample2d(x, stride):
    """Keeps every ``SH``-th row and ``SW``-th column: ``out[n, i, j, c] = x[n, i SH, j SW, c]``.

    The pixels a 1x1 convolution with stride ``(SH, SW)`` reads, so a strided identity
    shortcut (He et al.) lines up with the strided convolutions of its block. Gradient:
    ``dout`` placed back at the kept pixels, zero at the skipped ones.

    Args:
      x: ``(N, H, W, C)``.
      stride: int or ``(SH, SW)``, >= 1.
    Returns:
      ``(N, ceil(H / SH), ceil(W / SW), C)``.
    """
    x, (sh, sw) = check_subsample(x, stride)
    return x[:, ::sh, ::sw, :]


def check_pad_channels(x, before, after):
    """Validates ``pad_channels``'s inputs: a floating array and two ints >= 0."""
    x = _checks.float_array(x, "x")
    _checks.check_min_rank(x, "x", 1, "(..., C) -- channels on the last axis")
    for name, value in (("before", before), ("after", after)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    return x, int(before), int(after)


def pad_channels(x, before, after):
    """Adds zero channels: ``out = [0 (before) | x | 0 (after)]`` along the last axis.

    He et al.'s "option A" shortcut: where a stage widens from ``C`` to ``C + before +
    after`` channels, the identity is kept and the new channels are zero, adding no
    parameters. Gradient: ``dout[..., before : before + C]`` (the padded channels feed
    nothing back).

    Args:
      x: ``(..., C)``, channels last (NHWC images or ``(N, D)`` vectors).
      before, after: zero channels to add on each side, ints >= 0.
    Returns:
      ``(..., before + C + after)``, ``x``'s dtype.
    """
    x, before, after = check_pad_channels(x, before, after)
    if before == after == 0:
        return x
    pads = [(0, 0)] * (x.ndim - 1) + [(before, after)]
    return jnp.pad(x, pads)
