"""Pooling layers (lecture: "Pooling Layer"): downsample each channel independently.

A ``size x size`` window moves with step ``stride`` over every channel of an NHWC
image; max pooling keeps the largest value, average pooling the mean. A window that
cannot tile the (padded) input at that stride raises ``ValueError``, as for conv.

Padding is optional and off by default (the notes: "it is not common to use zero-padding
for pooling layers"), but the classic ImageNet networks need it: GoogLeNet's and
ResNet's 3x3/2 max pools (PyTorch's padding 1 or ``ceil_mode``). Max pooling pads with
``-inf``, so a padded position never wins a window and never receives gradient; average
pooling pads with zeros and still divides by the full window area ``KH * KW`` (PyTorch's
``count_include_pad=True``). Each padding side must be smaller than the window, so that
every window covers at least one input pixel. PyTorch's ceil mode is extra padding after
the input: a 3x3/2 ceil-mode max pool on 112 is ``padding=((0, 1), (0, 1))``.

Both poolings are written on the window's ``KH * KW`` *strided slices*: slice
``(p, q)`` is ``x[:, p::SH, q::SW]`` cropped to the output size, the value at offset
``(p, q)`` of every window at once. Max pooling is the elementwise max of the slices,
average pooling their mean. Their backward passes are written by hand (``custom_vjp``)
as the adjoint of slicing: each slice's gradient is placed back at its offset, and
where windows overlap (``stride < size``) the placed gradients add up.

Why not ``lax.reduce_window``: XLA:CPU differentiates a max ``reduce_window`` with
``select_and_scatter``, measured 6-12x slower than the slice form (2x2/2 max pool of a
128x32x32x32 batch, forward + backward: ~190 ms against ~16 ms), and that one op was
most of a small CNN's training step.

Tie rule (max pooling): a window's gradient goes to exactly one input, the *first*
maximal element in row-major ``(p, q)`` window order -- the same choice as JAX's own
``reduce_window`` gradient and as ``fdl.manual.max_pool2d``. The gradient of every
window therefore sums to its output gradient, ties or not.
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax

from fdl import _checks
from fdl.nn._conv import padding_sides, resolve_padding


def check_pool_padding(padding, size):
    """``((top, bottom), (left, right))`` of a pool's ``padding``, each side < the window."""
    pads = padding_sides(padding)
    for axis in range(2):
        if max(pads[axis]) >= size[axis]:
            raise ValueError(
                f"padding must be smaller than the window on each side (every window must "
                f"cover the input), got {pads[axis]} on the {('height', 'width')[axis]} axis "
                f"for a window of {size[axis]}"
            )
    return pads


def check_pool(x, size, stride, padding=0):
    """Validates pooling arguments; returns ``x``, the window and stride pairs, the
    per-side padding ``((top, bottom), (left, right))`` and the output size."""
    x = _checks.float_array(x, "x")
    _checks.check_rank(x, "x", 4, "(N, H, W, C) -- images are NHWC")
    size = _checks.pair(size, "size")
    stride = _checks.pair(stride, "stride")
    pads = check_pool_padding(padding, size)
    _, out = resolve_padding(x.shape[1:3], size, stride, pads)
    return x, size, stride, pads, out


def is_padded(pads):
    return any(p for side in pads for p in side)


def pad_image(x, pads, value):
    """``x`` with ``pads`` rows/columns of ``value`` around H and W (``lax.pad``; its
    transpose, the crop, is the gradient)."""
    config = ((0, 0, 0), (*pads[0], 0), (*pads[1], 0), (0, 0, 0))
    return lax.pad(x, jnp.asarray(value, x.dtype), config)


def crop_image(dxp, pads, hw):
    """The inverse placement of ``pad_image``: the ``H x W`` input region of ``dxp``."""
    (top, _), (left, _) = pads
    return dxp[:, top:top + hw[0], left:left + hw[1], :]


def _out_hw(hw, size, stride):
    return tuple((hw[a] - size[a]) // stride[a] + 1 for a in range(2))


def window_slices(x, size, stride):
    """The ``KH * KW`` strided slices of ``x``, row-major in the window offset ``(p, q)``.

    ``slices[p * KW + q][n, i, j, c] = x[n, i*SH + p, j*SW + q, c]``, each
    ``(N, Ho, Wo, C)``: the value at offset ``(p, q)`` of every window.
    """
    (kh, kw), (sh, sw) = size, stride
    n, _, _, c = x.shape
    ho, wo = _out_hw(x.shape[1:3], size, stride)
    return [
        lax.slice(x, (0, p, q, 0), (n, p + (ho - 1) * sh + 1, q + (wo - 1) * sw + 1, c),
                  (1, sh, sw, 1))
        for p in range(kh) for q in range(kw)
    ]


def unslice_windows(parts, x_shape, size, stride):
    """Adjoint of ``window_slices``: ``dx[n, i*SH + p, j*SW + q, c] += parts[p*KW + q][n, i, j, c]``.

    Where windows overlap (``stride < size``) a pixel collects from several windows.
    """
    (kh, kw), (sh, sw) = size, stride
    n, ho, wo, c = parts[0].shape
    if size == stride:
        # The windows tile the image exactly: interleaving is a stack and a reshape,
        # one copy (measured fastest, ~2x the padding form below).
        stacked = jnp.stack(parts, axis=3).reshape(n, ho, wo, kh, kw, c)
        return stacked.transpose(0, 1, 3, 2, 4, 5).reshape(x_shape)
    # General stride: place slice (p, q) with an interior-padded ``lax.pad`` (zeros
    # between the strided entries, offset p, q) and add. XLA fuses the pads and the
    # sum into one pass; measured faster than ``.at[...].add`` (a scatter on CPU) and
    # than ``reduce_window``'s own gradient.
    zero = jnp.zeros((), parts[0].dtype)
    height, width = x_shape[1:3]
    dx = None
    for k, part in enumerate(parts):
        p, q = divmod(k, kw)
        config = ((0, 0, 0), (p, height - p - (ho - 1) * sh - 1, sh - 1),
                  (q, width - q - (wo - 1) * sw - 1, sw - 1), (0, 0, 0))
        placed = lax.pad(part, zero, config)
        dx = placed if dx is None else dx + placed
    return dx


def first_max_masks(slices, out):
    """One-hot window masks: ``masks[k]`` is True where slice ``k`` is its window's *first*
    maximum in row-major ``(p, q)`` order (``out`` is the window max).

    ``taken`` marks the windows whose maximum was already claimed by an earlier offset,
    so a tie routes to one position only.
    """
    masks, taken = [], None
    for s in slices:
        hit = s == out
        if taken is not None:
            hit = hit & ~taken
            taken = taken | hit
        else:
            taken = hit
        masks.append(hit)
    return masks


def max_pool_grad(x, out, dout, size, stride):
    """``dx`` of max pooling: ``dout`` of each window to its first maximum, zero elsewhere."""
    zero = jnp.zeros((), dout.dtype)
    routed = [jnp.where(m, dout, zero) for m in first_max_masks(window_slices(x, size, stride), out)]
    return unslice_windows(routed, x.shape, size, stride)


def avg_pool_grad(dout, x_shape, size, stride):
    """``dx`` of average pooling: ``dout / (KH * KW)`` to every position of each window."""
    share = dout / (size[0] * size[1])
    return unslice_windows([share] * (size[0] * size[1]), x_shape, size, stride)


def _max_forward(x, size, stride):
    return functools.reduce(lax.max, window_slices(x, size, stride))


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def _max_pool(x, size, stride):
    return _max_forward(x, size, stride)


def _max_pool_fwd(x, size, stride):
    out = _max_forward(x, size, stride)
    return out, (x, out)


def _max_pool_bwd(size, stride, residual, dout):
    x, out = residual
    return (max_pool_grad(x, out, dout, size, stride),)


_max_pool.defvjp(_max_pool_fwd, _max_pool_bwd)


def _avg_forward(x, size, stride):
    return functools.reduce(lax.add, window_slices(x, size, stride)) / (size[0] * size[1])


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def _avg_pool(x, size, stride):
    return _avg_forward(x, size, stride)


def _avg_pool_fwd(x, size, stride):
    # The shape is static; an empty array carries it across the custom_vjp boundary.
    return _avg_forward(x, size, stride), jnp.zeros((0,) + x.shape[1:], x.dtype)


def _avg_pool_bwd(size, stride, residual, dout):
    return (avg_pool_grad(dout, (dout.shape[0],) + residual.shape[1:], size, stride),)


_avg_pool.defvjp(_avg_pool_fwd, _avg_pool_bwd)


def max_pool2d(x, size=2, stride=2, padding=0):
    """Max pooling: ``out[n,i,j,c] = max_{p<KH, q<KW} xpad[n, i*SH + p, j*SW + q, c]``.

    ``xpad`` is ``x`` with ``padding`` rows/columns of ``-inf`` around it. Gradient
    ("max gate = gradient router"): ``dout[n,i,j,c]`` goes to the first maximal
    ``(p, q)`` of its window in row-major order and nowhere else, so ties give one
    position the whole gradient; overlapping windows add up; a padded position never
    is the maximum, so none reaches the padding.

    Args:
      x: ``(N, H, W, C)``.
      size: window, int or pair. stride: step, int or pair.
      padding: ``-inf`` borders: an int, ``(PH, PW)`` or per side ``((top, bottom),
        (left, right))``, each side smaller than the window; 0 by default.
    Returns:
      ``(N, Ho, Wo, C)`` with ``Ho = (H - KH + top + bottom) / SH + 1`` (likewise
      ``Wo``), ``x``'s dtype.
    """
    x, size, stride, pads, _ = check_pool(x, size, stride, padding)
    if is_padded(pads):
        x = pad_image(x, pads, -jnp.inf)
    return _max_pool(x, size, stride)


def avg_pool2d(x, size=2, stride=2, padding=0):
    """Average pooling: ``out[n,i,j,c] = 1/(KH KW) sum_{p<KH, q<KW} xpad[n, i*SH + p, j*SW + q, c]``.

    ``xpad`` is ``x`` with ``padding`` rows/columns of zeros around it; the divisor is
    the full window area even where the window overlaps the padding (PyTorch's
    ``count_include_pad=True``). Gradient: ``dout / (KH * KW)`` to every position of the
    window (the padded ones' shares are dropped). Shapes and ``padding`` as in
    ``max_pool2d``.
    """
    x, size, stride, pads, _ = check_pool(x, size, stride, padding)
    if is_padded(pads):
        x = pad_image(x, pads, 0)
    return _avg_pool(x, size, stride)
