"""Max and average pooling: validation (automatic and manual twins), and where the
gradient goes -- to each window's argmax for max pooling, evenly for average pooling,
accumulating where windows overlap."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference as ref
from programs import cheap_jit as _jit
from programs import device_array as _array

import fdl

MAX_POOLS = [pytest.param(fdl.nn.max_pool2d, id="nn-max"),
             pytest.param(fdl.manual.max_pool2d, id="manual-max")]
AVG_POOLS = [pytest.param(fdl.nn.avg_pool2d, id="nn-avg"),
             pytest.param(fdl.manual.avg_pool2d, id="manual-avg")]
POOLS = MAX_POOLS + AVG_POOLS






def _distinct(shape, seed=0):
    """Random values with no ties (a permutation, scaled), so every argmax is unique."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 3.0).astype(np.float32)


def _grad_of_sum(pool, x, size, stride):
    return _jit(jax.grad(lambda x: jnp.sum(pool(x, size, stride))))(x)


def _grads_of_sum(pools, x, size, stride):
    """The gradients of several poolings, compiled as one program."""
    return _jit(lambda x: [jax.grad(lambda x, p=p: jnp.sum(p(x, size, stride)))(x) for p in pools])(x)


def _pair(v):
    return (v, v) if isinstance(v, int) else v


def _window_counts(h, w, size, stride):
    """How many pooling windows cover each pixel."""
    (kh, kw), (sh, sw) = size, stride
    counts = np.zeros((h, w))
    for i in range((h - kh) // sh + 1):
        for j in range((w - kw) // sw + 1):
            counts[i * sh:i * sh + kh, j * sw:j * sw + kw] += 1
    return counts


# -- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("shape", [(4, 4, 3), (4, 4), (1, 1, 4, 4, 3)])
def test_pool_rejects_wrong_rank(pool, shape):
    with pytest.raises(ValueError, match=r"^x must have rank 4"):
        pool(np.ones(shape, np.float32))


@pytest.mark.parametrize("pool", POOLS)
def test_pool_rejects_integer_input(pool):
    with pytest.raises(TypeError, match=r"^x must have a floating dtype"):
        pool(_array(np.ones((1, 4, 4, 1)), np.int32))


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("name, kwargs", [
    ("size", dict(size=0)), ("size", dict(size=(2, -1))),
    ("stride", dict(stride=0)), ("stride", dict(stride=-1)), ("stride", dict(stride=(1, 0))),
])
def test_pool_rejects_non_positive_size_or_stride(pool, name, kwargs):
    with pytest.raises(ValueError, match=rf"^{name} must be >= 1"):
        pool(_array(np.ones((1, 4, 4, 1))), **kwargs)


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("name, kwargs", [
    ("size", dict(size=2.0)), ("size", dict(size=(2, 2, 2))), ("stride", dict(stride="2")),
    ("stride", dict(stride=None)),
])
def test_pool_rejects_size_or_stride_of_wrong_type(pool, name, kwargs):
    with pytest.raises(TypeError, match=rf"^{name} must be an int or a pair of ints"):
        pool(_array(np.ones((1, 4, 4, 1))), **kwargs)


@pytest.mark.parametrize("pool", POOLS)
def test_pool_window_that_cannot_tile(pool):
    with pytest.raises(ValueError, match=r"cannot apply a filter of size 3 .* stride 3"):
        pool(_array(np.ones((1, 7, 7, 1))), 3, 3)
    with pytest.raises(ValueError, match=r"does not fit"):
        pool(_array(np.ones((1, 2, 5, 1))), 3, 1)
    with pytest.raises(ValueError, match=r"cannot apply a filter"):
        jax.jit(functools.partial(pool, size=3, stride=3))(np.ones((1, 7, 7, 1), np.float32))


# -- gradients --------------------------------------------------------------------------

@pytest.mark.parametrize("pool", MAX_POOLS)
@pytest.mark.parametrize("size", [2, (2, 3)])
def test_max_pool_gradient_routes_to_argmax_only(pool, size):
    size = (size, size) if isinstance(size, int) else size
    x = _distinct((2, 4, 6, 3))
    grad = np.asarray(_grad_of_sum(pool, x, size, size))
    # Non-overlapping windows tile the input: exactly one 1 per window, at its max.
    kh, kw = size
    windows = grad.reshape(2, 4 // kh, kh, 6 // kw, kw, 3)
    np.testing.assert_array_equal(windows.sum(axis=(2, 4)), 1.0)
    assert set(np.unique(grad)) == {0.0, 1.0}
    xw = x.reshape(2, 4 // kh, kh, 6 // kw, kw, 3)
    is_max = xw == xw.max(axis=(2, 4), keepdims=True)
    np.testing.assert_array_equal(windows, is_max.astype(np.float32))


@pytest.mark.parametrize("pool", MAX_POOLS)
def test_max_pool_gradient_with_ties_still_sums_to_one_per_window(pool):
    x = np.ones((1, 4, 4, 2), np.float32)
    grad = np.asarray(_grad_of_sum(pool, x, 2, 2))
    np.testing.assert_array_equal(grad.reshape(1, 2, 2, 2, 2, 2).sum(axis=(2, 4)), 1.0)


@pytest.mark.parametrize("pool", MAX_POOLS)
def test_max_pool_gradient_scales_with_upstream(pool):
    x = _distinct((1, 4, 4, 1), seed=1)
    g = np.array([[2.0, -3.0], [0.5, 7.0]], np.float32).reshape(1, 2, 2, 1)
    grad = _jit(jax.grad(lambda x: jnp.sum(pool(x) * g)))(x)
    xw = x.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4)
    expected = np.zeros((2, 2, 4))
    for i in range(2):
        for j in range(2):
            expected[i, j, np.argmax(xw[i, j])] = g[0, i, j, 0]
    np.testing.assert_array_equal(
        np.asarray(grad)[0, :, :, 0], expected.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4))


@pytest.mark.parametrize("pool", AVG_POOLS)
@pytest.mark.parametrize("size", [3, (1, 2)])
def test_avg_pool_gradient_is_uniform_for_tiling_windows(pool, size):
    pair = (size, size) if isinstance(size, int) else size
    x = _distinct((2, 6, 6, 2))
    grad = _grad_of_sum(pool, x, size, size)
    np.testing.assert_allclose(grad, np.full(x.shape, 1.0 / (pair[0] * pair[1])), rtol=1e-6)


@pytest.mark.parametrize("size, stride", [(3, 1), ((3, 2), (2, 2))])
def test_avg_pool_overlapping_windows_accumulate(size, stride):
    x = _distinct((1, 7, 6, 2))
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    counts = _window_counts(7, 6, pair(size), pair(stride))
    if ((7 - pair(size)[0]) % pair(stride)[0]) or ((6 - pair(size)[1]) % pair(stride)[1]):
        pytest.fail("test case must tile the input")  # guards the parameter list itself
    expected = np.broadcast_to((counts / np.prod(pair(size)))[None, :, :, None], x.shape)
    for grad in _grads_of_sum((fdl.nn.avg_pool2d, fdl.manual.avg_pool2d), x, size, stride):
        np.testing.assert_allclose(grad, expected, rtol=1e-6)


@pytest.mark.parametrize("size, stride", [(3, 1), ((3, 2), (1, 2))])
def test_max_pool_overlapping_windows_accumulate(size, stride):
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    (kh, kw), (sh, sw) = pair(size), pair(stride)
    x = _distinct((1, 5, 6, 1), seed=3)
    expected = np.zeros((5, 6))
    for i in range((5 - kh) // sh + 1):
        for j in range((6 - kw) // sw + 1):
            window = x[0, i * sh:i * sh + kh, j * sw:j * sw + kw, 0]
            p, q = np.unravel_index(np.argmax(window), window.shape)
            expected[i * sh + p, j * sw + q] += 1
    assert expected.max() > 1  # some pixel wins several windows
    for grad in _grads_of_sum((fdl.nn.max_pool2d, fdl.manual.max_pool2d), x, size, stride):
        np.testing.assert_array_equal(grad[0, :, :, 0], expected)


@pytest.mark.parametrize("pool", POOLS)
def test_pair_size_and_stride_shapes_and_values(pool):
    x = _distinct((2, 4, 9, 3))
    # An int is the same as the pair (int, int); one program for both checks.
    out, by_int, by_pair = _jit(lambda x, x8: (pool(x, size=(2, 3), stride=(2, 3)),
                                               pool(x8, 2, 2), pool(x8, (2, 2), (2, 2))))(
        x, x[:, :, :8])
    assert out.shape == (2, 2, 3, 3)
    windows = x.reshape(2, 2, 2, 3, 3, 3).astype(np.float64)
    reduce = np.max if "max" in pool.__name__ else np.mean
    np.testing.assert_allclose(out, reduce(windows, axis=(2, 4)), rtol=1e-6)
    np.testing.assert_array_equal(by_int, by_pair)


@pytest.mark.parametrize("pool", POOLS)
def test_pool_is_per_channel(pool):
    x = _distinct((1, 4, 4, 3))
    out, *singles = _jit(lambda x: [pool(x)] + [pool(x[..., c:c + 1]) for c in range(3)])(x)
    for c in range(3):
        # rtol: the vectorised reduction may sum a window in a different order.
        np.testing.assert_allclose(out[..., c:c + 1], singles[c], rtol=1e-6)


# -- the strided-slice formulation against lax.reduce_window ----------------------------
# max_pool2d/avg_pool2d are written on strided slices with a hand-written gradient (fast
# on CPU); these pin them to the reference formulation, lax.reduce_window and its VJP.

SIZE_STRIDES = [(2, 2), (3, 3), ((2, 3), (2, 3)), (3, 1), (3, 2), ((3, 2), (1, 2)), (2, 3), (1, 1)]


def _reference(kind, x, size, stride):
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    (kh, kw), (sh, sw) = pair(size), pair(stride)
    init, op = (-jnp.inf, jax.lax.max) if kind == "max" else (0.0, jax.lax.add)
    out = jax.lax.reduce_window(x, init, op, (1, kh, kw, 1), (1, sh, sw, 1), "VALID")
    return out if kind == "max" else out / (kh * kw)


def _shape_for(size, stride, n=2, c=3):
    """An input that the windows tile exactly (three windows per axis)."""
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    (kh, kw), (sh, sw) = pair(size), pair(stride)
    return (n, kh + 2 * sh, kw + 2 * sw, c)


_POOLS_OF = {"max": (fdl.nn.max_pool2d, fdl.manual.max_pool2d),
             "avg": (fdl.nn.avg_pool2d, fdl.manual.avg_pool2d)}
DTYPES = (jnp.bfloat16, jnp.float32, jnp.float64)


@functools.lru_cache(maxsize=None)
def _forward_program(size, stride):
    """For each input of a list (one per dtype) and each kind, fdl.nn's and fdl.manual's
    pools and reduce_window's: one compiled program per window, shared by the max and the
    average tests."""
    def one(x):
        return {kind: ([p(x, size, stride) for p in pools], _reference(kind, x, size, stride))
                for kind, pools in _POOLS_OF.items()}
    return _jit(lambda xs: [one(x) for x in xs])


@pytest.mark.parametrize("size, stride", SIZE_STRIDES)
def test_max_pool_forward_equals_reduce_window_exactly(size, stride, x64):
    x = np.random.default_rng(5).standard_normal(_shape_for(size, stride))
    results = _forward_program(size, stride)([x.astype(dtype) for dtype in DTYPES])
    for dtype, result in zip(DTYPES, results):
        outs, expected = result["max"]
        for out in outs:
            assert out.dtype == dtype
            np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("size, stride", SIZE_STRIDES)
def test_avg_pool_forward_matches_reduce_window(size, stride, x64):
    x = np.random.default_rng(6).standard_normal(_shape_for(size, stride))
    results = _forward_program(size, stride)([x.astype(dtype) for dtype in DTYPES])
    for dtype, result in zip(DTYPES, results):
        # The window sum may be added in a different order: a few ulps of the dtype
        # relative to the summands (inputs ~N(0, 1)), so the floor is absolute as well: a
        # mean near zero has no relative accuracy to speak of (one float32 case had
        # |mean| ~ 1e-8).
        eps = float(jnp.finfo(dtype).eps)
        tol = {"rtol": 8 * eps, "atol": 8 * eps}
        outs, expected = result["avg"]
        for out in outs:
            assert out.dtype == dtype
            np.testing.assert_allclose(np.asarray(out, np.float64),
                                       np.asarray(expected, np.float64), **tol)


@functools.lru_cache(maxsize=None)
def _gradient_program(size, stride):
    """``program(x, g)``: for max and average pooling (``g[kind]``), the gradients of
    ``sum(pool(x) * g)`` by reduce_window's VJP, fdl.nn and fdl.manual. One compiled
    program per window, shared by the gradient and the tie tests."""
    def grads(kind, x, g):
        reference = lambda x, size, stride: _reference(kind, x, size, stride)  # noqa: E731
        return [jax.grad(lambda x, p=p: jnp.sum(p(x, size, stride) * g))(x)
                for p in (reference, *_POOLS_OF[kind])]
    return _jit(lambda x, g: {kind: grads(kind, x, g[kind]) for kind in _POOLS_OF})


def _upstream(size, stride, seed):
    """Random output gradients for both kinds, shaped like the pool of a
    ``_shape_for(size, stride)`` input (no compilation: ``eval_shape`` only traces)."""
    out = jax.eval_shape(lambda x: _reference("max", x, size, stride),
                         jax.ShapeDtypeStruct(_shape_for(size, stride), jnp.float32)).shape
    rng = np.random.default_rng(seed)
    return {kind: rng.standard_normal(out).astype(np.float32) for kind in _POOLS_OF}


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("size, stride", SIZE_STRIDES)
def test_pool_gradient_equals_reduce_window_gradient(kind, size, stride):
    x = _distinct(_shape_for(size, stride), seed=7)
    ref, *grads = _gradient_program(size, stride)(x, _upstream(size, stride, seed=8))[kind]
    for grad in grads:
        # atol: where windows overlap, a pixel's gradient is a sum of several O(1)
        # upstream values, added in a different order than reduce_window's VJP (float32
        # rounding, which cancellation can make large relative to a small sum).
        np.testing.assert_allclose(grad, ref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("size, stride", [(2, 2), (3, 1), ((3, 2), (2, 3))])
def test_pool_gradient_matches_finite_differences_float64(kind, size, stride, x64):
    x = _distinct(_shape_for(size, stride, n=1, c=2), seed=9).astype(np.float64)
    pool = fdl.nn.max_pool2d if kind == "max" else fdl.nn.avg_pool2d
    out_shape = jax.eval_shape(lambda x: pool(x, size, stride), x).shape
    g = np.random.default_rng(10).standard_normal(out_shape)
    f = lambda x: jnp.sum(pool(x, size, stride) * g)  # noqa: E731
    eps = 1e-6  # distinct values are 1/7 apart, so a step this small crosses no kink
    steps = (eps * np.eye(x.size)).reshape((x.size,) + x.shape)
    # The gradient and every central difference (one per input entry, vmapped) in one
    # compiled program.
    grad, numeric = _jit(lambda x: (
        jax.grad(f)(x), jax.vmap(lambda e: (f(x + e) - f(x - e)) / (2 * eps))(steps)))(x)
    np.testing.assert_allclose(np.asarray(grad).ravel(), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("size, stride", SIZE_STRIDES)
def test_max_pool_ties_go_to_first_maximum_in_row_major_order(size, stride):
    """The documented tie rule, for fdl.nn, fdl.manual and reduce_window's own VJP alike."""
    (kh, kw), (sh, sw) = _pair(size), _pair(stride)
    shape = _shape_for(size, stride)
    n, _, _, c = shape
    # Few distinct values: many windows hold their maximum more than once.
    x = np.random.default_rng(11).integers(0, 3, shape).astype(np.float32)
    g = _upstream(size, stride, seed=12)
    ho, wo = g["max"].shape[1:3]
    expected = np.zeros(shape, np.float32)
    for b in range(n):
        for k in range(c):
            for i in range(ho):
                for j in range(wo):
                    window = x[b, i * sh:i * sh + kh, j * sw:j * sw + kw, k]
                    p, q = np.unravel_index(np.argmax(window), window.shape)  # first max, row-major
                    expected[b, i * sh + p, j * sw + q, k] += g["max"][b, i, j, k]
    for grad in _gradient_program(size, stride)(x, g)["max"]:  # reduce_window, nn, manual
        np.testing.assert_allclose(grad, expected, rtol=1e-6)


@functools.lru_cache(maxsize=None)
def _gradients_in(dtype):
    """Every pool's gradient for two windows, of one input in ``dtype``: one compiled
    program for all the parametrisations of the test below."""
    pools = [p.values[0] for p in POOLS]

    def program(x):
        return [[jax.grad(lambda x, p=p, size=size, stride=stride: jnp.sum(
                    p(x, size, stride).astype(jnp.float32)))(x)
                 for size, stride in [(2, 2), (2, 1)]] for p in pools]
    return dict(zip(pools, _jit(program)(_distinct((1, 4, 6, 2)).astype(dtype))))


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float64])
def test_pool_gradient_keeps_dtype(pool, dtype, x64):
    for grad in _gradients_in(dtype)[pool]:
        assert grad.dtype == dtype


@functools.lru_cache(maxsize=None)
def _vmapped_and_looped(size, stride):
    """For every pool, ``value_and_grad`` of ``sum(pool(x) ** 2)`` over a batch of inputs:
    vmapped, and one input at a time (``lax.map``: a loop around the unbatched program).
    One compiled program per window."""
    pools = [p.values[0] for p in POOLS]

    def program(x):
        results = []
        for pool in pools:
            loss = lambda x, pool=pool: jnp.sum(pool(x, size, stride) ** 2)  # noqa: E731
            results.append((jax.vmap(jax.value_and_grad(loss))(x),
                            jax.lax.map(jax.value_and_grad(loss), x)))
        return results
    return dict(zip(pools, _jit(program)(_distinct((3, 2, 6, 6, 2), seed=13))))


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("size, stride", [(2, 2), (3, 1)])
def test_pool_under_vmap_matches_batch(pool, size, stride):
    (out, grad), (out_single, grad_single) = _vmapped_and_looped(size, stride)[pool]
    for k in range(3):
        np.testing.assert_allclose(out[k], out_single[k], rtol=1e-6)
        np.testing.assert_allclose(grad[k], grad_single[k], rtol=1e-6)


# -- padding -------------------------------------------------------------------------------

@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("kwargs, error, pattern", [
    (dict(size=3, stride=1, padding=3), ValueError,
     r"^padding must be smaller than the window on each side .* got \(3, 3\) on the height axis"),
    (dict(size=(3, 2), stride=1, padding=((0, 0), (0, 2))), ValueError,
     r"^padding must be smaller than the window .* \(0, 2\) on the width axis for a window of 2"),
    (dict(padding=-1), ValueError, r"^padding must be >= 0, got -1"),
    (dict(padding="SAME"), TypeError,
     r"^padding must be an int, a pair \(rows, columns\) or per side \(\(top, bottom\), "
     r"\(left, right\)\), got 'SAME'"),
    (dict(padding=((0, 1), (0, 1), (0, 1))), ValueError, r"^padding must be an int, a pair"),
    (dict(padding=1.0), TypeError, r"^padding must be an int, a pair"),
    # 3x3/2 on 6 does not tile unpadded: PyTorch floors (or ceils) it, fdl asks for padding.
    (dict(size=3, stride=2), ValueError, r"cannot apply a filter of size 3 to height 6"),
    (dict(size=3, stride=2, padding=1), ValueError, r"padding \(1, 1\)"),
])
def test_pool_rejects_bad_padding(pool, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        pool(_array(np.ones((1, 6, 6, 1))), **kwargs)


def _ceil_mode_max_pool(x, size, stride):
    """PyTorch's ceil_mode=True max pool, written out: ceil((H - K) / S) + 1 windows per
    axis, the last one cut off at the border of the input."""
    n, h, w, c = x.shape
    ho, wo = -(-(h - size) // stride) + 1, -(-(w - size) // stride) + 1
    out = np.zeros((n, ho, wo, c))
    for i in range(ho):
        for j in range(wo):
            window = x[:, i * stride:i * stride + size, j * stride:j * stride + size, :]
            out[:, i, j, :] = window.max(axis=(1, 2))
    return out


def _padded_pools(x, size, stride, padding, kind="max", g=None, extra=None):
    """fdl.nn's and fdl.manual's pools (and their gradients of ``sum(out * g)``, and
    ``extra(x)`` if given) in one compiled program."""
    pools = _POOLS_OF[kind]

    def program(x):
        outs = [p(x, size, stride, padding) for p in pools]
        if g is None:
            return outs
        grads = [jax.grad(lambda x, p=p: jnp.sum(p(x, size, stride, padding) * g))(x)
                 for p in pools]
        return outs, grads, None if extra is None else extra(x)
    return _jit(program)(x)


@pytest.mark.parametrize("shape", [(1, 6, 6, 2), (2, 8, 10, 1)])
def test_ceil_mode_max_pool_is_padding_after_with_minus_infinity(shape):
    # All negative: a zero-padded border would win every border window.
    x = -np.abs(_distinct(shape, seed=20)) - 1.0
    expected = _ceil_mode_max_pool(x, 3, 2)
    for out in _padded_pools(x, 3, 2, ((0, 1), (0, 1))):
        np.testing.assert_array_equal(out, expected)
    assert expected.max() < 0


@pytest.mark.parametrize("shape, padding", [((1, 8, 8, 2), ((1, 0), (1, 0))),
                                            ((1, 7, 5, 2), 1)])
def test_resnet_max_pool_3x3_s2_p1_equals_pytorch_floor(shape, padding):
    """PyTorch's maxpool(3, 2, padding=1) floors; on an even size fdl states it per side."""
    x = -np.abs(_distinct(shape, seed=21))
    expected = ref.max_pool2d(x, 3, 2, 1)  # -inf borders of 1, output size floored
    for out in _padded_pools(x, 3, 2, padding):
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("shape, size, stride, padding", [
    ((1, 5, 5, 2), 3, 2, 1), ((1, 6, 6, 2), 3, 2, ((0, 1), (0, 1))),
    ((1, 5, 5, 2), (2, 3), 1, ((1, 0), (0, 2))),
])
def test_padded_max_pool_gradient_never_reaches_the_padding(shape, size, stride, padding):
    pads = fdl.nn._conv.padding_sides(padding)
    # Few distinct values, all negative: ties everywhere, and zero padding would win.
    x = -np.random.default_rng(22).integers(1, 4, shape).astype(np.float32)
    (kh, kw), (sh, sw) = _pair(size), _pair(stride)
    xp = np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=-np.inf)
    ho, wo = (xp.shape[1] - kh) // sh + 1, (xp.shape[2] - kw) // sw + 1
    g = np.random.default_rng(23).standard_normal((1, ho, wo, 2)).astype(np.float32)
    expected = np.zeros(xp.shape, np.float32)
    for c in range(2):
        for i in range(ho):
            for j in range(wo):
                window = xp[0, i * sh:i * sh + kh, j * sw:j * sw + kw, c]
                p, q = np.unravel_index(np.argmax(window), window.shape)  # first max, row-major
                expected[0, i * sh + p, j * sw + q, c] += g[0, i, j, c]
    inside = expected[:, pads[0][0]:pads[0][0] + shape[1], pads[1][0]:pads[1][0] + shape[2], :]
    # Every window's gradient lands inside the image: none is lost to the padding.
    np.testing.assert_allclose(inside.sum(), g.sum(), rtol=1e-5, atol=1e-5)  # float32 sums
    reduce_window = lambda x: jax.lax.reduce_window(  # noqa: E731
        x, -jnp.inf, jax.lax.max, (1, kh, kw, 1), (1, sh, sw, 1), ((0, 0), *pads, (0, 0)))
    outs, grads, by_reduce_window = _padded_pools(
        x, size, stride, padding, g=g, extra=jax.grad(lambda x: jnp.sum(reduce_window(x) * g)))
    for out in outs:
        np.testing.assert_array_equal(out, ref.max_pool2d(x, size, stride, pads))
    for grad in [*grads, by_reduce_window]:
        np.testing.assert_allclose(grad, inside, rtol=1e-6)  # the same g values placed


@pytest.mark.parametrize("shape, size, stride, padding", [((1, 5, 5, 2), 3, 2, 1),
                                                           ((2, 5, 6, 1), 2, 2, ((0, 1), 0))])
def test_padded_avg_pool_counts_the_padding_in_the_divisor(shape, size, stride, padding):
    x = _distinct(shape, seed=24)
    pads = fdl.nn._conv.padding_sides(padding)
    (kh, kw), (sh, sw) = _pair(size), _pair(stride)
    hp, wp = shape[1] + sum(pads[0]), shape[2] + sum(pads[1])
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    g = np.ones((shape[0], ho, wo, shape[3]), np.float32)
    counts = np.zeros((hp, wp))  # windows covering each padded position
    for i in range(ho):
        for j in range(wo):
            counts[i * sh:i * sh + kh, j * sw:j * sw + kw] += 1
    inside = counts[pads[0][0]:pads[0][0] + shape[1], pads[1][0]:pads[1][0] + shape[2]]
    # A corner window of ones overlapping the padding averages to (covered pixels) / area.
    corner_of_ones = lambda x: fdl.nn.avg_pool2d(jnp.ones_like(x), size, stride, padding)[0, 0, 0, 0]  # noqa: E731
    outs, grads, corner = _padded_pools(x, size, stride, padding, kind="avg", g=g,
                                        extra=corner_of_ones)
    for out in outs:
        # rtol: float32 window sums in another order than the float64 reference.
        np.testing.assert_allclose(out, ref.avg_pool2d(x, size, stride, pads), rtol=1e-5,
                                   atol=1e-6)
    for grad in grads:
        np.testing.assert_allclose(grad, np.broadcast_to(inside[None, :, :, None] / (kh * kw),
                                                         shape), rtol=1e-6)
    covered = (kh - pads[0][0]) * (kw - pads[1][0])
    np.testing.assert_allclose(corner, covered / (kh * kw), rtol=1e-6)


@pytest.mark.parametrize("pool", POOLS)
def test_unpadded_pool_emits_no_pad_and_padded_one_does(pool):
    x = np.ones((1, 6, 6, 1), np.float32)
    assert " pad[" not in str(jax.make_jaxpr(lambda x: pool(x, 2, 2))(x))
    assert " pad[" not in str(jax.make_jaxpr(lambda x: pool(x, 2, 2, ((0, 0), (0, 0))))(x))
    assert " pad[" in str(jax.make_jaxpr(lambda x: pool(x, 3, 2, ((0, 1), (0, 1))))(x))
