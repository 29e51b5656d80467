"""Convolution (lecture: "Convolutional Layer") in two implementations that agree.

A conv layer slides each ``KH x KW x C`` filter over the image and takes a dot product
with every window it covers, plus a bias. fdl computes it two ways:

* ``impl="xla"``: XLA's native convolution, ``lax.conv_general_dilated``.
* ``impl="im2col"``: the lecture's description made explicit. ``im2col`` gathers every
  window into a row, so the whole layer is ONE matrix product of the
  ``(N*Ho*Wo, KH*KW*C)`` patch matrix with the ``(KH*KW*C, O)`` reshaped filters.
* ``impl="auto"`` (default): whichever of the two is faster for the layer, chosen by
  ``choose_impl`` from measurements (see there): im2col for a CPU layer with few input
  channels (the first layer of an image network), XLA's convolution otherwise.

Layouts: images NHWC, kernels HWIO. Like every deep-learning library this is
cross-correlation (the filter is not flipped).

Output size, per spatial axis: ``(size - kernel + 2*padding) / stride + 1``. When that
is not an integer the filter "cannot be applied" at that stride and fdl raises
``ValueError`` instead of silently dropping the last rows (``"VALID"`` is padding 0 and
follows the same rule; ``"SAME"`` pads so the output is ``ceil(size / stride)``).

Padding may also be given per side, ``((top, bottom), (left, right))``; the rule then
reads ``(size - kernel + before + after) % stride == 0``. That is how fdl states the
arithmetic of libraries that floor instead (PyTorch): their ``padding=P`` whose last
``r = (size - kernel + 2P) % stride`` padded rows are never read is exactly
``(P, P - r)``, the same windows at the same offsets (7x7/2 pad 3 on 224 is
``((3, 2), (3, 2))``, 112 outputs). Where ``r > P`` (a 1x1/2 convolution of an even
size) the unread rows are input rows: ``fdl.nn.subsample2d`` then a stride-1 1x1
convolution reads the same pixels.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from fdl import _checks, _compiler


def conv_output_size(size, kernel, stride=1, padding=0):
    """Output length of a conv or pool along one axis: ``(size - kernel + 2 P) / S + 1``.

    Args:
      size: input length (int >= 1).
      kernel: filter length (int >= 1).
      stride: step ``S`` (int >= 1).
      padding: zero padding ``P`` on each side (int >= 0), ``"VALID"`` (0) or
        ``"SAME"`` (output ``ceil(size / S)``).
    Raises:
      ValueError: when the filter cannot be applied, i.e. ``(size - kernel + 2P) % S != 0``
        (the notes' 7x7 input, 3x3 filter, stride 3), or it is larger than the padded input.
    """
    for name, value, low in (("size", size, 1), ("kernel", kernel, 1), ("stride", stride, 1)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    if isinstance(padding, (tuple, list)):
        # One axis, one number: a pair here would read as (before, after) to some and as
        # (rows, columns) to others; per-side padding belongs to conv2d/resolve_padding.
        raise TypeError(f"padding must be {_SCALAR_FORMS}, got {padding!r}")
    return axis_output(size, kernel, stride, padding, _SCALAR_FORMS)


def _is_same(padding):
    return isinstance(padding, str) and padding.upper() == "SAME"


_CONV_FORMS = "an int, a pair, 'SAME' or 'VALID' (or per side ((top, bottom), (left, right)))"
_SCALAR_FORMS = "an int, 'SAME' or 'VALID'"
_NUMERIC_FORMS = "an int, a pair (rows, columns) or per side ((top, bottom), (left, right))"


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _sides(entry, whole, forms):
    """One axis' numeric padding, an int or ``(before, after)``, as a pair of ints >= 0."""
    if isinstance(entry, (tuple, list)):
        if len(entry) != 2:
            raise ValueError(f"padding must be {forms}, got {whole!r}")
        if not all(_is_int(p) for p in entry):
            raise TypeError(f"padding must be {forms}, got {whole!r}")
        before, after = int(entry[0]), int(entry[1])
    elif _is_int(entry):
        before = after = int(entry)
    else:
        raise TypeError(f"padding must be {forms}, got {whole!r}")
    if min(before, after) < 0:
        raise ValueError(f"padding must be >= 0, got {whole!r}")
    return before, after


def _per_axis(padding, forms):
    """``(rows spec, columns spec)``: a pair is per axis, anything else applies to both."""
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2:
            raise ValueError(f"padding must be {forms}, got {padding!r}")
        return tuple(padding)
    return padding, padding


def padding_sides(padding):
    """``((top, bottom), (left, right))`` of a numeric padding spec (pools, layers).

    ``padding``: an int (every side), a pair ``(PH, PW)``, or per side ``((top, bottom),
    (left, right))`` (an axis' entry may be an int or a ``(before, after)`` pair); every
    count an int >= 0.
    """
    return tuple(_sides(entry, padding, _NUMERIC_FORMS)
                 for entry in _per_axis(padding, _NUMERIC_FORMS))


def _axis_padding(size, kernel, stride, padding, forms, whole=None):
    """Resolves one axis' padding spec (an int, ``(before, after)`` or a mode string) to
    ``(before, after)`` zero counts; errors show ``whole``, the spec the caller gave."""
    whole = padding if whole is None else whole
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return 0, 0
        if mode == "SAME":
            out = math.ceil(size / stride)
            total = max((out - 1) * stride + kernel - size, 0)
            return total // 2, total - total // 2
        raise ValueError(f"padding must be {forms}, got {whole!r}")
    return _sides(padding, whole, forms)


def axis_output(size, kernel, stride, padding, forms=_CONV_FORMS):
    """Output length along one axis for one axis' padding spec (an int, ``(before, after)``,
    ``"SAME"`` or ``"VALID"``); the strict tiling rule unless ``"SAME"``. ``forms``: the
    accepted forms, as a bad spec's error states them."""
    before, after = _axis_padding(size, kernel, stride, padding, forms)
    return _checked_output(size, kernel, stride, before, after, "input", strict=not _is_same(padding))


def _checked_output(size, kernel, stride, before, after, what, strict=True):
    """Output length; ``strict`` refuses a stride that leaves input uncovered. "SAME"
    is not strict: a kernel smaller than the stride skips pixels by design."""
    span = size + before + after - kernel
    if span < 0:
        raise ValueError(
            f"a filter of size {kernel} does not fit the {what} of size {size} "
            f"with padding ({before}, {after})"
        )
    if strict and span % stride:
        raise ValueError(
            f"cannot apply a filter of size {kernel} to {what} {size} with "
            f"stride {stride} and padding ({before}, {after}): "
            f"(size - filter + padding) = {span} is not a multiple of the stride"
        )
    return span // stride + 1


def resolve_padding(hw, kernel, stride, padding):
    """``((top, bottom), (left, right))`` and the output ``(Ho, Wo)`` for an NHWC image of
    spatial size ``hw``.

    ``padding`` is an int, a pair of ints (rows, columns), ``"SAME"``, ``"VALID"``, or
    per side ``((top, bottom), (left, right))``. The tiling rule applies to each axis'
    total: ``(size - kernel + before + after) % stride == 0``.
    """
    per_axis = _per_axis(padding, _CONV_FORMS)
    pads = tuple(
        _axis_padding(hw[a], kernel[a], stride[a], per_axis[a], _CONV_FORMS, padding)
        for a in range(2)
    )
    out = tuple(
        _checked_output(hw[a], kernel[a], stride[a], *pads[a], ("height", "width")[a],
                        strict=not _is_same(per_axis[a]))
        for a in range(2)
    )
    return pads, out


def check_conv(x, w, b, stride, padding):
    """Validates conv2d arguments; returns arrays, stride pair, pads and output size."""
    x = _checks.float_array(x, "x")
    w = _checks.float_array(w, "w")
    b = _checks.float_array(b, "b")
    _checks.check_rank(x, "x", 4, "(N, H, W, C) -- images are NHWC")
    _checks.check_rank(w, "w", 4, "(KH, KW, C_in, C_out) -- kernels are HWIO")
    _checks.check_rank(b, "b", 1, "(C_out,)")
    if w.shape[2] != x.shape[3]:
        raise ValueError(
            f"w has {w.shape[2]} input channels (shape {tuple(w.shape)}, HWIO) but x has "
            f"{x.shape[3]} channels (shape {tuple(x.shape)}, NHWC)"
        )
    if b.shape[0] != w.shape[3]:
        raise ValueError(
            f"b must have shape ({w.shape[3]},) for {w.shape[3]} filters, got {tuple(b.shape)}"
        )
    stride = _checks.pair(stride, "stride")
    pads, out = resolve_padding(x.shape[1:3], w.shape[:2], stride, padding)
    return x, w, b, stride, pads, out


IMPLS = ("auto", "xla", "im2col")

# Which convolution is faster on CPU depends on the path XLA:CPU takes (fdl/_compiler.py).
# Measured forward + backward at batch 128, 3x3 filters, padding 1 on a 2-core AVX-512
# CPU (jax 0.10.2), im2col vs XLA, in ms:
#                                     Eigen path (fdl's default)   YNNPACK (jaxlib's)
# 32x32x3 -> 32 (no input gradient)          6.5 vs 2.7                 5.8 vs 16.2
# 28x28x1 -> 6 (no input gradient)           2.1 vs 0.7                 1.1 vs 0.8
# 32x32x8 -> 32                             24.5 vs 16.5               18.7 vs 18.8
# 16x16x32 -> 64                            32.4 vs 17.9               28.5 vs 31.7
# On the Eigen path XLA's convolution always wins. YNNPACK's is slow when the input has
# very few channels, where the im2col product has K = KH*KW*C rows to work with.
IM2COL_MAX_CHANNELS = 4


def check_impl(impl):
    """Raises ``ValueError`` unless ``impl`` is one of ``IMPLS``."""
    if not isinstance(impl, str) or impl not in IMPLS:
        raise ValueError(f"impl must be 'auto', 'xla' or 'im2col', got {impl!r}")
    return impl


def choose_impl(in_channels, platform=None):
    """The implementation ``impl="auto"`` uses for a layer with ``in_channels`` inputs.

    ``"xla"``, except on a CPU whose XLA convolves through YNNPACK (jaxlib's default,
    which ``import fdl`` switches off where it can: ``fdl._compiler``) for a layer with
    ``in_channels <= IM2COL_MAX_CHANNELS``: ``"im2col"``. On GPU and TPU XLA's
    convolution runs on the vendor's kernels. ``platform`` defaults to JAX's default
    backend.
    """
    platform = platform or jax.default_backend()
    if (platform == "cpu" and in_channels <= IM2COL_MAX_CHANNELS
            and not _compiler.library_convolutions_off()):
        return "im2col"
    return "xla"


def conv2d(x, w, b, stride=1, padding=0, *, impl="auto"):
    """2-D convolution layer: ``out[n,i,j,o] = sum_{p,q,c} xpad[n, iS+p, jS+q, c] w[p,q,c,o] + b[o]``.

    Args:
      x: ``(N, H, W, C)`` images.
      w: ``(KH, KW, C, O)`` filters; each extends the full depth ``C`` of the input.
      b: ``(O,)`` biases, one per filter.
      stride: int or ``(SH, SW)``, >= 1.
      padding: zeros on each border: int, ``(PH, PW)``, ``"SAME"``, ``"VALID"``, or per
        side ``((top, bottom), (left, right))``. Per-side padding expresses frameworks
        that floor the output size within the tiling rule: PyTorch's 7x7/2 pad 3 on 224
        reads the same windows as ``((3, 2), (3, 2))`` (its last padded row is never read).
      impl: ``"auto"`` (the faster of the two for this layer, see ``choose_impl``),
        ``"xla"`` (native convolution) or ``"im2col"`` (patches times one matrix).
    Returns:
      ``(N, Ho, Wo, O)`` feature maps, ``Ho = (H - KH + top + bottom) / SH + 1`` (likewise
      ``Wo``).
    Raises:
      ValueError: ranks, channel counts, negative padding, or a filter that cannot be
      applied at the stride.
    """
    impl = resolve_impl(impl, w)
    if impl == "xla":
        return conv2d_xla(x, w, b, stride, padding)
    return conv2d_im2col(x, w, b, stride, padding)


def resolve_impl(impl, w):
    """``impl`` with ``"auto"`` replaced by ``choose_impl``'s pick for the filters ``w``."""
    check_impl(impl)
    if impl != "auto":
        return impl
    shape = getattr(w, "shape", ())
    in_channels = shape[2] if len(shape) == 4 else None
    # A malformed w is reported by check_conv; any implementation gives that error.
    return choose_impl(in_channels) if in_channels is not None else "xla"


def conv2d_xla(x, w, b, stride=1, padding=0):
    """``conv2d`` through XLA's convolution (``lax.conv_general_dilated``)."""
    x, w, b, stride, pads, _ = check_conv(x, w, b, stride, padding)
    out = lax.conv_general_dilated(
        x, w, window_strides=stride, padding=pads,
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )
    return out + b


def im2col(x, kernel, stride, pads, out_hw):
    """Gathers every filter window into a row: ``(N, H, W, C) -> (N, Ho, Wo, KH*KW*C)``.

    Row entry ``(p*KW + q)*C + c`` holds ``xpad[n, i*SH + p, j*SW + q, c]``, the order of
    an HWIO kernel reshaped to ``(KH*KW*C, O)``. The ``KH*KW`` strided slices are static,
    so XLA fuses them into one gather-free copy.
    """
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_hw
    xp = jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    cols = [
        xp[:, p : p + sh * (ho - 1) + 1 : sh, q : q + sw * (wo - 1) + 1 : sw, :]
        for p in range(kh)
        for q in range(kw)
    ]
    patches = jnp.stack(cols, axis=3)  # (N, Ho, Wo, KH*KW, C)
    return patches.reshape(x.shape[0], ho, wo, kh * kw * x.shape[3])


def col2im(cols, x_shape, kernel, stride, pads):
    """Adjoint of ``im2col``: adds every row entry back onto the pixel it came from.

    ``(N, Ho, Wo, KH*KW*C) -> (N, H, W, C)``; overlapping windows accumulate, which is
    exactly the backward pass of patch extraction.

    The entries of window offset ``(p, q)`` land on the strided grid ``p::SH, q::SW`` of
    the padded image: an interior-padded ``lax.pad`` (zeros between the strided entries)
    places them, and the ``KH*KW`` placed grids are added in ``(p, q)`` order. XLA fuses
    the pads and the sum into one pass; ``.at[...].add`` (the same sums in the same
    order) is a scatter per offset on CPU, several times slower to compile (a 7x7
    filter's backward pass: ~3x) and to run (as measured for pooling, ``fdl.nn._pool``).
    """
    n, h, w, c = x_shape
    (kh, kw), (sh, sw) = kernel, stride
    ho, wo = cols.shape[1], cols.shape[2]
    cols = cols.reshape(n, ho, wo, kh, kw, c)
    hp, wp = h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]
    zero = jnp.zeros((), cols.dtype)
    out = None
    for p in range(kh):
        for q in range(kw):
            config = ((0, 0, 0), (p, hp - p - (ho - 1) * sh - 1, sh - 1),
                      (q, wp - q - (wo - 1) * sw - 1, sw - 1), (0, 0, 0))
            placed = lax.pad(cols[:, :, :, p, q, :], zero, config)
            out = placed if out is None else out + placed
    return out[:, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + w, :]


def conv2d_im2col(x, w, b, stride=1, padding=0):
    """``conv2d`` as im2col followed by one ``(N*Ho*Wo, KH*KW*C) @ (KH*KW*C, O)`` product."""
    x, w, b, stride, pads, out = check_conv(x, w, b, stride, padding)
    kh, kw, c, o = w.shape
    patches = im2col(x, (kh, kw), stride, pads, out)
    y = patches.reshape(-1, kh * kw * c) @ w.reshape(kh * kw * c, o) + b
    return y.reshape(x.shape[0], out[0], out[1], o)
