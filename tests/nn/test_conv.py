"""``conv2d``, ``conv_output_size`` and ``im2col``: validation (automatic and manual
twins), the two implementations agreeing over a grid of kernels/strides/paddings,
output sizes, linearity, the hand-written backward pass on a strided SAME case, and
``impl="auto"``: which implementation it picks, and its values and gradients."""

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference as ref
from programs import cheap_jit as _jit
from programs import cheap_options
from programs import device_array as _array

import fdl

CONVS = [pytest.param(fdl.nn.conv2d, id="nn"), pytest.param(fdl.manual.conv2d, id="manual")]






def _rand(shape, seed, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _args(x_shape=(2, 7, 7, 3), w_shape=(3, 3, 3, 4), b_shape=(4,)):
    # jnp.ones would compile a broadcast for every shape.
    return tuple(_array(np.ones(shape, np.float32)) for shape in (x_shape, w_shape, b_shape))


# -- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("conv", CONVS)
@pytest.mark.parametrize(
    "shapes, pattern",
    [
        (((7, 7, 3), (3, 3, 3, 4), (4,)), r"^x must have rank 4"),
        (((1, 2, 7, 7, 3), (3, 3, 3, 4), (4,)), r"^x must have rank 4"),
        (((2, 7, 7, 3), (3, 3, 3), (4,)), r"^w must have rank 4"),
        (((2, 7, 7, 3), (1, 3, 3, 3, 4), (4,)), r"^w must have rank 4"),
        (((2, 7, 7, 3), (3, 3, 3, 4), (1, 4)), r"^b must have rank 1"),
        (((2, 7, 7, 3), (3, 3, 3, 4), (5,)), r"^b must have shape \(4,\) for 4 filters"),
        (((2, 7, 7, 3), (3, 3, 2, 4), (4,)), r"^w has 2 input channels .* x has 3 channels"),
    ],
)
def test_conv2d_rejects_bad_shapes(conv, shapes, pattern):
    with pytest.raises(ValueError, match=pattern):
        conv(*_args(*shapes))


@pytest.mark.parametrize("conv", CONVS)
def test_conv2d_rejects_integer_images(conv):
    x, w, b = _args()
    with pytest.raises(TypeError, match=r"^x must have a floating dtype"):
        conv(x.astype(jnp.int32), w, b)


@pytest.mark.parametrize("conv", CONVS)
def test_conv2d_filter_that_cannot_be_applied(conv):
    # The notes' example: 7x7 input, 3x3 filter, stride 3 -> (7 - 3) / 3 + 1 = 2.33.
    x, w, b = _args()
    with pytest.raises(ValueError, match=r"cannot apply a filter of size 3 .* stride 3"):
        conv(x, w, b, stride=3)
    with pytest.raises(ValueError, match=r"does not fit"):
        conv(np.ones((1, 2, 2, 3), np.float32), w, b)


@pytest.mark.parametrize("conv", CONVS)
@pytest.mark.parametrize("stride", [0, -1, (1, 0), (-2, 1)])
def test_conv2d_rejects_non_positive_stride(conv, stride):
    with pytest.raises(ValueError, match=r"^stride must be >= 1"):
        conv(*_args(), stride=stride)


@pytest.mark.parametrize("conv", CONVS)
@pytest.mark.parametrize("stride", [1.0, True, (1, 2, 1), "2"])
def test_conv2d_rejects_stride_of_wrong_type(conv, stride):
    with pytest.raises(TypeError, match=r"^stride must be an int or a pair of ints"):
        conv(*_args(), stride=stride)


@pytest.mark.parametrize("conv", CONVS)
@pytest.mark.parametrize("padding", [-1, (0, -2)])
def test_conv2d_rejects_negative_padding(conv, padding):
    with pytest.raises(ValueError, match=r"^padding must be >= 0"):
        conv(*_args(), padding=padding)


@pytest.mark.parametrize("conv", CONVS)
@pytest.mark.parametrize("padding", ["FULL", "same-ish", (1, 1, 1)])
def test_conv2d_rejects_unknown_padding(conv, padding):
    with pytest.raises(ValueError, match=r"^padding must be an int, a pair, 'SAME' or 'VALID'"):
        conv(*_args(), padding=padding)


@pytest.mark.parametrize("conv", CONVS)
@pytest.mark.parametrize("padding", [1.5, None, True, (1.0, 0)])
def test_conv2d_rejects_padding_of_wrong_type(conv, padding):
    with pytest.raises(TypeError, match=r"^padding must be an int, a pair, 'SAME' or 'VALID'"):
        conv(*_args(), padding=padding)


@pytest.mark.parametrize("conv", CONVS)
def test_conv2d_rejects_unknown_impl(conv):
    with pytest.raises(ValueError, match=r"^impl must be 'auto', 'xla' or 'im2col', got 'bogus'"):
        conv(*_args(), impl="bogus")


@pytest.mark.parametrize("conv", CONVS)
def test_conv2d_validation_runs_at_trace_time_under_jit(conv):
    x, w, b = _args()
    with pytest.raises(ValueError, match=r"^w has 2 input channels"):
        jax.jit(conv)(x, np.ones((3, 3, 2, 4), np.float32), b)
    with pytest.raises(ValueError, match=r"cannot apply a filter"):
        jax.jit(functools.partial(conv, stride=3))(x, w, b)


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (dict(size=7, kernel=3, stride=3, padding=0), ValueError, r"cannot apply a filter of size 3"),
        (dict(size=3, kernel=5, stride=1, padding=0), ValueError, r"does not fit"),
        (dict(size=7, kernel=3, stride=0, padding=0), ValueError, r"^stride must be >= 1"),
        (dict(size=7, kernel=3, stride=-1, padding=0), ValueError, r"^stride must be >= 1"),
        (dict(size=0, kernel=3, stride=1, padding=0), ValueError, r"^size must be >= 1"),
        (dict(size=7, kernel=0, stride=1, padding=0), ValueError, r"^kernel must be >= 1"),
        (dict(size=7, kernel=3, stride=1, padding=-1), ValueError, r"^padding must be >= 0"),
        (dict(size=7, kernel=3, stride=1, padding="FULL"), ValueError, r"^padding must be"),
        (dict(size=7, kernel=3, stride=1, padding=1.0), TypeError, r"^padding must be"),
        (dict(size=7.0, kernel=3, stride=1, padding=0), TypeError, r"^size must be an int"),
        (dict(size=7, kernel=3, stride=2.0, padding=0), TypeError, r"^stride must be an int"),
    ],
)
def test_conv_output_size_rejects(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        fdl.nn.conv_output_size(**kwargs)


# -- xla vs im2col over a grid --------------------------------------------------------

KERNELS = [(1, 1), (3, 3), (5, 5), (2, 3)]
STRIDES = [1, 2, (1, 2)]
PADDINGS = [0, 1, 2, "SAME", "VALID", (1, 0)]
H, W = 8, 9


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _expected_axis(size, kernel, stride, padding):
    """Independent output length along one axis, or None when the filter cannot be applied."""
    if padding == "SAME":
        return -(-size // stride)
    pad = 0 if padding == "VALID" else padding
    span = size + 2 * pad - kernel
    if span < 0 or span % stride:
        return None
    return span // stride + 1


def _expected_out(kernel, stride, padding):
    strides = _pair(stride)
    pads = [padding, padding] if isinstance(padding, (int, str)) else list(padding)
    return tuple(
        _expected_axis(size, k, s, p) for size, k, s, p in zip((H, W), kernel, strides, pads)
    )


_EXECUTABLES = {}


def _compiled_once(jitted, *args):
    """``jitted`` compiled for ``args`` -- or the executable of an earlier, identical
    program: padding 0 and "VALID" lower to the same module, and so does "SAME" with the
    explicit padding it resolves to. Compiling the same module again would give the same
    executable; reusing it saves a quarter of the grid's compilations."""
    lowered = jitted.lower(*args)
    text = lowered.as_text()
    if text not in _EXECUTABLES:
        _EXECUTABLES[text] = lowered.compile(
            compiler_options=cheap_options())
    return _EXECUTABLES[text]


@pytest.mark.parametrize(
    "kernel, stride, padding", list(itertools.product(KERNELS, STRIDES, PADDINGS)),
    ids=lambda v: str(v).replace(" ", ""),
)
def test_xla_and_im2col_agree_over_grid(kernel, stride, padding):
    x = _rand((2, H, W, 3), 0)
    w = _rand(kernel + (3, 4), 1)
    b = _rand((4,), 2)
    out_hw = _expected_out(kernel, stride, padding)
    both = jax.jit(lambda x, w, b: tuple(
        fdl.nn.conv2d(x, w, b, stride=stride, padding=padding, impl=impl) for impl in ("xla", "im2col")))
    pads = [padding, padding] if isinstance(padding, (int, str)) else list(padding)
    if None in out_hw:
        for conv in (fdl.nn.conv2d, fdl.manual.conv2d):
            for impl in ("xla", "im2col"):
                with pytest.raises(ValueError, match=r"cannot apply a filter|does not fit"):
                    conv(x, w, b, stride=stride, padding=padding, impl=impl)
        axis = out_hw.index(None)
        with pytest.raises(ValueError, match=r"cannot apply a filter|does not fit"):
            fdl.nn.conv_output_size((H, W)[axis], kernel[axis], _pair(stride)[axis], pads[axis])
        return
    # XLA's compile of the KH*KW strided slices dominates this test's runtime.
    out_xla, out_im2col = _compiled_once(both, x, w, b)(x, w, b)
    assert out_xla.shape == (2,) + out_hw + (4,)
    assert out_im2col.shape == out_xla.shape
    # float32 sums of up to 75 products: differences are summation-order rounding.
    np.testing.assert_allclose(out_im2col, out_xla, rtol=1e-5, atol=1e-5)
    for axis in range(2):
        assert fdl.nn.conv_output_size((H, W)[axis], kernel[axis], _pair(stride)[axis], pads[axis]) \
            == out_hw[axis]


def test_same_padding_gives_ceil_of_size_over_stride():
    wrong = {}
    for size, kernel, stride in itertools.product(range(5, 10), range(1, 5), range(1, 4)):
        for mode in ("SAME", "same"):
            try:
                got = fdl.nn.conv_output_size(size, kernel, stride, mode)
            except ValueError as err:
                got = f"ValueError: {err}"
            if got != math.ceil(size / stride):
                wrong[(size, kernel, stride, mode)] = got
    assert not wrong, wrong


@functools.lru_cache(maxsize=None)
def _same_convs(size, kernel, stride):
    """Both implementations' SAME convolution of one input, in one compiled program."""
    x = _rand((1, size, size, 2), 3)
    w = _rand((kernel, kernel, 2, 3), 4)
    b = _rand((3,), 5)
    outs = _jit(lambda x, w, b: {impl: fdl.nn.conv2d(x, w, b, stride=stride, padding="SAME", impl=impl)
                                 for impl in ("xla", "im2col")})(x, w, b)
    return x, w, b, outs


@pytest.mark.parametrize("impl", ["xla", "im2col"])
@pytest.mark.parametrize("size, kernel, stride", [(6, 1, 2), (8, 1, 3), (7, 2, 3), (9, 3, 3)])
def test_conv2d_same_output_is_ceil_and_matches_reference(impl, size, kernel, stride):
    # Includes filters smaller than the stride, e.g. the 1x1 stride-2 projection of
    # residual networks: SAME must still give ceil(size / stride), as XLA's SAME does.
    x, w, b, outs = _same_convs(size, kernel, stride)
    out = outs[impl]
    ho = math.ceil(size / stride)
    assert out.shape == (1, ho, ho, 3)
    np.testing.assert_allclose(out, ref.conv2d(x, w, b, stride, "SAME"), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", ["xla", "im2col"])
def test_one_by_one_conv_is_a_per_pixel_affine(impl, variant):
    x = _rand((2, 4, 5, 3), 6)
    w = _rand((1, 1, 3, 6), 7)
    b = _rand((6,), 8)
    out = variant(functools.partial(fdl.nn.conv2d, impl=impl))(x, w, b)
    expected = np.einsum("nhwc,co->nhwo", x.astype(np.float64), w[0, 0]) + b
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("conv", CONVS)
@pytest.mark.parametrize("impl", ["xla", "im2col"])
def test_conv_is_linear_in_x_and_in_w(conv, impl, x64):
    x1, x2 = (_array(_rand((2, 6, 6, 2), s, np.float64)) for s in (9, 10))
    w1, w2 = (_array(_rand((3, 3, 2, 3), s, np.float64)) for s in (11, 12))
    a, c = 1.7, -0.6
    b = _array([1.0, -2.0, 0.5])

    @_jit  # every side of the three identities, in one compiled program
    def sides(x1, x2, w1, w2, b):
        f = functools.partial(conv, stride=1, padding=1, impl=impl)
        zero = jnp.zeros((3,), b.dtype)
        return [(f(a * x1 + c * x2, w1, zero), a * f(x1, w1, zero) + c * f(x2, w1, zero)),
                (f(x1, a * w1 + c * w2, zero), a * f(x1, w1, zero) + c * f(x1, w2, zero)),
                (f(x1, w1, b) - f(x1, w1, zero), jnp.broadcast_to(b, (2, 6, 6, 3)))]

    for left, right in sides(x1, x2, w1, w2, b):
        np.testing.assert_allclose(left, right, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "kernel, stride, padding", [((3, 3), (1, 1), 1), ((2, 3), (2, 1), 0), ((3, 3), (2, 2), "SAME")]
)
def test_im2col_shape_and_patches_times_filters_is_conv(kernel, stride, padding):
    from fdl.nn._conv import resolve_padding

    x = _rand((2, 6, 7, 3), 13)
    w = _rand(kernel + (3, 5), 14)
    b = _rand((5,), 15)
    pads, out_hw = resolve_padding((6, 7), kernel, stride, padding)
    # The patches, their product with the filters and the convolution: one program.
    cols, product, conv = _jit(lambda x, w, b: (
        fdl.nn.im2col(x, kernel, stride, pads, out_hw),
        fdl.nn.im2col(x, kernel, stride, pads, out_hw).reshape(-1, kernel[0] * kernel[1] * 3)
        @ w.reshape(kernel[0] * kernel[1] * 3, 5) + b,
        fdl.nn.conv2d(x, w, b, stride=stride, padding=padding)))(x, w, b)
    cols, product, conv = np.asarray(cols), np.asarray(product), np.asarray(conv)  # index on the host
    kh, kw = kernel
    assert cols.shape == (2,) + out_hw + (kh * kw * 3,)
    # Row layout: entry (p*KW + q)*C + c is xpad[n, i*S + p, j*S + q, c].
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    i, j = out_hw[0] - 1, out_hw[1] - 1
    window = xp[1, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw, :]
    np.testing.assert_array_equal(cols[1, i, j], window.reshape(-1))
    np.testing.assert_allclose(product.reshape(conv.shape), conv, rtol=1e-5, atol=1e-5)


def _backward_case(dtype):
    x = _array(_rand((2, 7, 8, 3), 16, dtype))
    w = _array(_rand((3, 3, 3, 4), 17, dtype))
    b = _array(_rand((4,), 18, dtype))
    dout = _array(_rand((2, 4, 4, 4), 19, dtype))  # SAME, stride 2: ceil(7/2), ceil(8/2)

    @_jit
    def run(x, w, b, dout):
        out, cache = fdl.manual.conv2d_forward(x, w, b, stride=2, padding="SAME")
        manual = fdl.manual.conv2d_backward(dout, cache)
        _, vjp = jax.vjp(functools.partial(fdl.nn.conv2d, stride=2, padding="SAME"), x, w, b)
        through_custom_vjp = jax.grad(
            lambda x, w, b: jnp.sum(fdl.manual.conv2d(x, w, b, stride=2, padding="SAME") * dout),
            argnums=(0, 1, 2))(x, w, b)
        return out, manual, vjp(dout), through_custom_vjp

    return run(x, w, b, dout)


def test_manual_conv_backward_strided_same_float32():
    out, manual, automatic, through = _backward_case(np.float32)
    assert out.shape == (2, 4, 4, 4)
    for m, a, t in zip(manual, automatic, through):
        assert m.shape == a.shape and m.dtype == jnp.float32
        # float32 sums over up to 32 window contributions in a different order.
        np.testing.assert_allclose(m, a, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(t, m, rtol=1e-6, atol=1e-6)


def test_manual_conv_backward_strided_same_float64(x64):
    _, manual, automatic, through = _backward_case(np.float64)
    for m, a, t in zip(manual, automatic, through):
        assert m.dtype == jnp.float64
        np.testing.assert_allclose(m, a, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(t, m, rtol=1e-12, atol=1e-12)


# -- impl="auto" ----------------------------------------------------------------------

YNN_CONVOLUTIONS = ("--xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,"
                    "LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION")
EIGEN_CONVOLUTIONS = "--xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"


@pytest.mark.parametrize(
    "channels, platform, flags, expected",
    [(1, "cpu", YNN_CONVOLUTIONS, "im2col"), (3, "cpu", YNN_CONVOLUTIONS, "im2col"),
     (4, "cpu", YNN_CONVOLUTIONS, "im2col"), (5, "cpu", YNN_CONVOLUTIONS, "xla"),
     (32, "cpu", YNN_CONVOLUTIONS, "xla"), (3, "gpu", YNN_CONVOLUTIONS, "xla"),
     (3, "tpu", "", "xla"), (1, "cpu", EIGEN_CONVOLUTIONS, "xla"),
     (3, "cpu", EIGEN_CONVOLUTIONS, "xla"), (32, "cpu", EIGEN_CONVOLUTIONS, "xla"),
     # a later flag overrides an earlier one, as in XLA's own parsing
     (3, "cpu", EIGEN_CONVOLUTIONS + " " + YNN_CONVOLUTIONS, "im2col")],
)
def test_choose_impl_uses_im2col_only_for_few_channels_on_ynn_cpu(
        channels, platform, flags, expected, monkeypatch):
    from fdl.nn._conv import choose_impl

    monkeypatch.setenv("XLA_FLAGS", flags)
    assert choose_impl(channels, platform) == expected


def test_import_switched_this_process_to_eigen_convolutions():
    """The test process imports fdl before any computation, as a script would."""
    import fdl

    assert fdl.XLA_FLAGS_TUNED
    assert fdl._compiler.library_convolutions_off()
    assert fdl.nn._conv.choose_impl(3, "cpu") == "xla"


def test_auto_resolves_by_the_filters_input_channels():
    from fdl.nn._conv import choose_impl, resolve_impl

    for channels in (3, 32):
        w = np.ones((3, 3, channels, 8), np.float32)
        assert resolve_impl("auto", w) == choose_impl(channels)
        assert resolve_impl("xla", w) == "xla" and resolve_impl("im2col", w) == "im2col"


def test_auto_is_the_default_everywhere():
    import inspect

    for fn in (fdl.nn.conv2d, fdl.manual.conv2d, fdl.manual.conv2d_forward, fdl.layers.Conv,
               fdl.models.convnet, fdl.models.lenet5):
        assert inspect.signature(fn).parameters["impl"].default == "auto", fn


@pytest.mark.parametrize("channels", [3, 8])  # one layer on each side of the threshold
def test_auto_values_and_gradients_match_xla_and_finite_differences(channels, x64):
    x = _array(_rand((2, 6, 5, channels), 20, np.float64))
    w = _array(_rand((3, 3, channels, 4), 21, np.float64))
    b = _array(_rand((4,), 22, np.float64))
    g = _array(_rand((2, 3, 3, 4), 23, np.float64))  # SAME, stride 2: ceil(6/2), ceil(5/2)

    def objective(impl):
        return lambda x, w, b: jnp.sum(
            fdl.nn.conv2d(x, w, b, stride=2, padding="SAME", impl=impl) * g)

    grads = _jit(lambda x, w, b: {impl: jax.grad(objective(impl), argnums=(0, 1, 2))(x, w, b)
                                  for impl in ("auto", "xla", "im2col")})(x, w, b)
    # The finite differences run a float64 convolution per probe (a lax.map over the
    # probes): unoptimised, that loop runs far slower, so this program keeps XLA's
    # default options. Traced under one jit (numerical_gradient's own flattening would
    # compile an op at a time).
    numerical = jax.jit(lambda x, w, b: fdl.gradcheck.numerical_gradient(
        lambda args: objective("auto")(*args), (x, w, b)))(x, w, b)
    for impl in ("auto", "im2col"):
        for got, want in zip(grads[impl], grads["xla"]):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for got, want in zip(grads["auto"], numerical):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_layer_rejects_unknown_impl_with_the_layer_name():
    with pytest.raises(ValueError, match=r"^Conv\(4, 3\): impl must be 'auto', 'xla' or 'im2col'"):
        fdl.layers.Conv(4, 3, impl="fft")


# -- per-side padding ---------------------------------------------------------------------

@pytest.mark.parametrize("conv", CONVS)
@pytest.mark.parametrize("padding, error, pattern", [
    (((1, 2), (3,)), ValueError, r"^padding must be an int, a pair, 'SAME' or 'VALID' \(or per "
                                 r"side \(\(top, bottom\), \(left, right\)\)\), got \(\(1, 2\), \(3,\)\)"),
    (((1, 2), (3, 4), (5, 6)), ValueError, r"^padding must be an int, a pair"),
    (((1, -1), (0, 0)), ValueError, r"^padding must be >= 0, got \(\(1, -1\), \(0, 0\)\)"),
    (((1.0, 0), (0, 0)), TypeError, r"^padding must be an int, a pair.*got \(\(1.0, 0\), \(0, 0\)\)"),
    (((True, 0), (0, 0)), TypeError, r"^padding must be an int, a pair"),
])
def test_conv2d_rejects_bad_per_side_padding(conv, padding, error, pattern):
    with pytest.raises(error, match=pattern):
        conv(*_args(), padding=padding)


@pytest.mark.parametrize("conv", CONVS)
def test_conv2d_per_side_padding_keeps_the_strict_rule_on_each_axis_total(conv):
    x, w, b = _args((1, 14, 14, 1), (7, 7, 1, 2), (2,))
    # PyTorch's pad 3 on both sides floors (14 + 6 - 7) / 2; fdl refuses the dropped row.
    with pytest.raises(ValueError, match=r"to height 14 with stride 2 and padding \(3, 3\)"):
        conv(x, w, b, stride=2, padding=3)
    with pytest.raises(ValueError, match=r"to width 14 with stride 2 and padding \(3, 3\)"):
        conv(x, w, b, stride=2, padding=((3, 2), (3, 3)))


def test_conv_output_size_keeps_its_scalar_padding():
    with pytest.raises(TypeError, match=r"^padding must be an int, 'SAME' or 'VALID', got \(3, 2\)"):
        fdl.nn.conv_output_size(14, 7, 2, (3, 2))
    assert fdl.nn.conv_output_size(14, 7, 2, "SAME") == 7


# (x shape, kernel, stride, fdl's per-side padding, PyTorch's symmetric padding that floors)
PYTORCH_FLOORS = [
    ((2, 14, 14, 2), (7, 7), 2, ((3, 2), (3, 2)), 3),  # ResNet's stem, scaled down from 224
    ((1, 8, 8, 2), (3, 3), 2, ((1, 0), (1, 0)), 1),  # a stage's first 3x3/2 on an even size
    ((1, 9, 8, 1), (3, 3), 2, (1, (1, 0)), 1),  # odd height: nothing dropped on that axis
    ((1, 7, 6, 2), (1, 1), 1, ((0, 0), (0, 0)), 0),
]


@pytest.mark.parametrize("x_shape, kernel, stride, padding, torch_padding", PYTORCH_FLOORS)
def test_per_side_padding_equals_pytorch_floor_arithmetic(x_shape, kernel, stride, padding,
                                                          torch_padding):
    x = _rand(x_shape, 30)
    w = _rand((*kernel, x_shape[3], 3), 31)
    b = _rand((3,), 32)
    # The NumPy reference pads torch_padding on both sides and floors, as PyTorch does.
    expected = ref.conv2d(x, w, b, stride, torch_padding)
    convs = [functools.partial(fdl.nn.conv2d, impl="xla"),
             functools.partial(fdl.nn.conv2d, impl="im2col"), fdl.manual.conv2d]
    outs = _jit(lambda x, w, b: [c(x, w, b, stride, padding) for c in convs])(x, w, b)
    for out in outs:
        assert out.shape == expected.shape
        # float32 sums of up to 98 products of N(0, 1) values, in another order than NumPy's.
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_resolve_padding_per_side_and_mixed_forms():
    from fdl.nn._conv import resolve_padding

    assert resolve_padding((224, 224), (7, 7), (2, 2), ((3, 2), (3, 2))) == (((3, 2), (3, 2)),
                                                                             (112, 112))
    # A per-side axis next to a symmetric one, and lists for tuples.
    assert resolve_padding((8, 9), (3, 3), (2, 2), ([1, 0], 1)) == (((1, 0), (1, 1)), (4, 5))
