"""``add``, ``concatenate``, ``global_avg_pool2d``, ``global_max_pool2d``, ``subsample2d``
and ``pad_channels`` (automatic and manual twins): validation, values against the NumPy
references, and where the gradient goes -- distributed by the add gate, split by the
concat, spread by the average, routed to the first maximum by the max."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference as ref

import fdl

BOTH = [pytest.param(fdl.nn, id="nn"), pytest.param(fdl.manual, id="manual")]


def _rand(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _grads(fns, x, cotangent):
    """``d/dx sum(f(x) * cotangent)`` for several ``f``, compiled as one program."""
    return jax.jit(lambda x: [jax.grad(lambda x, f=f: jnp.sum(f(x) * cotangent))(x)
                              for f in fns])(x)


# -- add --------------------------------------------------------------------------------

@pytest.mark.parametrize("ops", BOTH)
def test_add_rejects_mismatched_shapes_naming_both(ops):
    with pytest.raises(ValueError, match=r"^add needs a and b of the same shape, got a \(2, 3\) "
                                         r"and b \(3, 2\)"):
        ops.add(jnp.ones((2, 3)), jnp.ones((3, 2)))
    # No broadcasting either: a residual branch of the wrong width is a mistake.
    with pytest.raises(ValueError, match=r"got a \(2, 4, 4, 8\) and b \(2, 4, 4, 1\)"):
        ops.add(jnp.ones((2, 4, 4, 8)), jnp.ones((2, 4, 4, 1)))


@pytest.mark.parametrize("ops", BOTH)
def test_add_rejects_integer_or_mixed_dtypes(ops):
    with pytest.raises(TypeError, match=r"^b must have a floating dtype"):
        ops.add(jnp.ones(3), jnp.ones(3, jnp.int32))
    with pytest.raises(TypeError, match=r"^add needs a and b of the same dtype, got a float32 "
                                        r"and b bfloat16"):
        ops.add(jnp.ones(3), jnp.ones(3, jnp.bfloat16))


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4, 2)])
def test_add_values_and_gradient_distributed_to_both(shape):
    a, b, g = _rand(shape, 1), _rand(shape, 2), _rand(shape, 3)

    def program(a, b):
        out = []
        for ops in (fdl.nn, fdl.manual):
            value, vjp = jax.vjp(ops.add, a, b)
            out.append((value, vjp(g)))
        return out

    for value, (da, db) in jax.jit(program)(a, b):
        np.testing.assert_array_equal(value, a + b)  # one rounding, as NumPy's
        np.testing.assert_array_equal(da, g)
        np.testing.assert_array_equal(db, g)


# -- concatenate -------------------------------------------------------------------------

@pytest.mark.parametrize("ops", BOTH)
def test_concatenate_rejects_disagreeing_shapes_naming_the_input(ops):
    xs = [jnp.ones((2, 4, 4, 3)), jnp.ones((2, 4, 4, 1)), jnp.ones((2, 5, 4, 2))]
    with pytest.raises(ValueError, match=r"^xs\[2\] has shape \(2, 5, 4, 2\) but xs\[0\] has "
                                         r"\(2, 4, 4, 3\): every axis except the concatenation "
                                         r"axis 3 must agree"):
        ops.concatenate(xs)
    with pytest.raises(ValueError, match=r"^xs\[1\] has shape \(2, 4, 4\) but xs\[0\] has"):
        ops.concatenate([jnp.ones((2, 4, 4, 3)), jnp.ones((2, 4, 4))])


@pytest.mark.parametrize("ops", BOTH)
@pytest.mark.parametrize("xs, axis, error, pattern", [
    (jnp.ones((2, 3)), -1, TypeError, r"^xs must be a list or tuple of arrays, got ArrayImpl"),
    ([], -1, ValueError, r"^xs must hold at least one array"),
    ([jnp.ones(2), jnp.ones(2, jnp.int32)], -1, TypeError, r"^xs\[1\] must have a floating dtype"),
    ([jnp.ones(2), jnp.ones(2, jnp.float16)], -1, TypeError,
     r"^xs\[1\] has dtype float16 but xs\[0\] has float32"),
    ([jnp.ones((2, 3))], 2, ValueError, r"^axis must lie in \[-2, 2\) for rank-2 inputs, got 2"),
    ([jnp.ones((2, 3))], -3, ValueError, r"^axis must lie in \[-2, 2\)"),
    ([jnp.ones((2, 3))], 1.0, TypeError, r"^axis must be an int, got 1.0"),
    ([jnp.ones(())], 0, ValueError, r"^xs\[0\] must have rank >= 1"),
])
def test_concatenate_rejects_bad_input(ops, xs, axis, error, pattern):
    with pytest.raises(error, match=pattern):
        ops.concatenate(xs, axis=axis)


@pytest.mark.parametrize("shapes, axis", [
    ([(2, 3, 3, 2), (2, 3, 3, 5), (2, 3, 3, 1)], -1),
    ([(2, 1, 3, 2), (2, 4, 3, 2)], 1),
    ([(1, 4), (3, 4)], 0),
    ([(2, 2, 2, 3)], 3),
])
def test_concatenate_values_and_gradient_split_into_pieces(shapes, axis):
    xs = [_rand(s, k) for k, s in enumerate(shapes)]
    expected = ref.concatenate(xs, axis)
    g = _rand(expected.shape, 9)

    def program(xs):
        return [jax.vjp(lambda xs, ops=ops: ops.concatenate(xs, axis=axis), xs)
                for ops in (fdl.nn, fdl.manual)]

    # The vjp functions are closures over tracers; evaluate the gradients inside the jit.
    results = jax.jit(lambda xs, g: [(v, f(g)) for v, f in program(xs)])(xs, g)
    offsets = np.cumsum([0] + [s[axis] for s in shapes])
    for value, (dxs,) in results:
        np.testing.assert_array_equal(value, expected)
        assert isinstance(dxs, list) and len(dxs) == len(xs)
        for k, dx in enumerate(dxs):
            np.testing.assert_array_equal(
                dx, np.take(g, np.arange(offsets[k], offsets[k + 1]), axis=axis))


@pytest.mark.parametrize("ops", BOTH)
def test_concatenate_of_a_tuple_gives_a_tuple_gradient(ops):
    xs = (jnp.ones((1, 2)), jnp.full((1, 3), 2.0))
    dxs = jax.jit(jax.grad(lambda xs: jnp.sum(ops.concatenate(xs) * jnp.arange(5.0))))(xs)
    assert isinstance(dxs, tuple)
    np.testing.assert_array_equal(dxs[0], [[0.0, 1.0]])
    np.testing.assert_array_equal(dxs[1], [[2.0, 3.0, 4.0]])


# -- global pooling ------------------------------------------------------------------------

GLOBAL_POOLS = ["global_avg_pool2d", "global_max_pool2d"]


@pytest.mark.parametrize("ops", BOTH)
@pytest.mark.parametrize("name", GLOBAL_POOLS)
def test_global_pool_rejects_bad_input(ops, name):
    pool = getattr(ops, name)
    with pytest.raises(ValueError, match=r"^x must have rank 4 \(N, H, W, C\)"):
        pool(jnp.ones((4, 4, 3)))
    with pytest.raises(TypeError, match=r"^x must have a floating dtype"):
        pool(jnp.ones((1, 4, 4, 3), jnp.int32))


@pytest.mark.parametrize("shape", [(2, 3, 4, 3), (1, 1, 1, 2), (3, 7, 5, 1)])
def test_global_pools_values_and_average_gradient(shape):
    x = _rand(shape, 4)
    g = _rand((shape[0], shape[3]), 5)
    pools = [getattr(ops, name) for name in GLOBAL_POOLS for ops in (fdl.nn, fdl.manual)]
    outs, grads = jax.jit(lambda x: ([p(x) for p in pools],
                                     [jax.grad(lambda x, p=p: jnp.sum(p(x) * g))(x)
                                      for p in pools[:2]]))(x)
    assert all(out.shape == (shape[0], shape[3]) and out.dtype == jnp.float32 for out in outs)
    # rtol: float32 mean of up to 35 values, summed in another order than the reference.
    np.testing.assert_allclose(outs[0], ref.global_avg_pool2d(x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(outs[2], ref.global_max_pool2d(x))
    np.testing.assert_array_equal(outs[3], outs[2])
    expected = np.broadcast_to((g / (shape[1] * shape[2]))[:, None, None, :], shape)
    for grad in grads:
        np.testing.assert_allclose(grad, expected, rtol=1e-6)  # one division, one rounding


@pytest.mark.parametrize("shape", [(2, 3, 4, 3), (1, 5, 5, 2)])
def test_global_max_gradient_goes_to_first_maximum_on_ties(shape):
    # Few distinct values: most (n, c) hold their maximum several times.
    x = np.random.default_rng(6).integers(0, 3, shape).astype(np.float32)
    x[0, :, :, 0] = 1.0  # every pixel ties: the gradient goes to (0, 0)
    g = _rand((shape[0], shape[3]), 7)
    expected = np.zeros(shape, np.float32)
    for n in range(shape[0]):
        for c in range(shape[3]):
            i, j = np.unravel_index(np.argmax(x[n, :, :, c]), shape[1:3])  # first, row-major
            expected[n, i, j, c] = g[n, c]
    assert expected[0, 0, 0, 0] == g[0, 0]
    for grad in _grads((fdl.nn.global_max_pool2d, fdl.manual.global_max_pool2d), x, g):
        np.testing.assert_array_equal(grad, expected)


def test_global_max_gradient_agrees_with_max_pool2d_over_the_whole_image():
    """One max-pooling window the size of the image: the same routing, ties included."""
    x = np.random.default_rng(8).integers(0, 2, (2, 4, 6, 3)).astype(np.float32)
    g = _rand((2, 3), 9)
    whole = lambda x: fdl.nn.max_pool2d(x, (4, 6), 1)[:, 0, 0, :]  # noqa: E731
    by_pool, *grads = _grads((whole, fdl.nn.global_max_pool2d, fdl.manual.global_max_pool2d), x, g)
    for grad in grads:
        np.testing.assert_array_equal(grad, by_pool)


@pytest.mark.parametrize("ops", BOTH)
def test_global_pools_under_vmap(ops):
    x = _rand((3, 2, 4, 4, 2), 10)
    for pool in (ops.global_avg_pool2d, ops.global_max_pool2d):
        out = jax.vmap(pool)(x)
        assert out.shape == (3, 2, 2)
        np.testing.assert_array_equal(out[1], pool(x[1]))


# -- subsample2d ---------------------------------------------------------------------------

@pytest.mark.parametrize("ops", BOTH)
@pytest.mark.parametrize("x, stride, error, pattern", [
    (jnp.ones((4, 4, 3)), 2, ValueError, r"^x must have rank 4"),
    (jnp.ones((1, 4, 4, 3), jnp.int32), 2, TypeError, r"^x must have a floating dtype"),
    (jnp.ones((1, 4, 4, 3)), 0, ValueError, r"^stride must be >= 1"),
    (jnp.ones((1, 4, 4, 3)), (2, -1), ValueError, r"^stride must be >= 1"),
    (jnp.ones((1, 4, 4, 3)), 2.0, TypeError, r"^stride must be an int or a pair of ints"),
    (jnp.ones((1, 4, 4, 3)), (1, 2, 2), TypeError, r"^stride must be an int or a pair of ints"),
])
def test_subsample2d_rejects_bad_input(ops, x, stride, error, pattern):
    with pytest.raises(error, match=pattern):
        ops.subsample2d(x, stride)


@pytest.mark.parametrize("shape, stride, out_hw", [
    ((2, 4, 4, 3), 2, (2, 2)), ((2, 5, 5, 3), 2, (3, 3)), ((1, 7, 6, 2), (2, 3), (4, 2)),
    ((1, 3, 3, 1), 1, (3, 3)), ((1, 2, 5, 2), 4, (1, 2)),
])
def test_subsample2d_is_what_a_strided_one_by_one_conv_reads(shape, stride, out_hw):
    x = _rand(shape, 11)
    g = _rand((shape[0], *out_hw, shape[3]), 12)
    program = lambda x: [(ops.subsample2d(x, stride),  # noqa: E731
                          jax.grad(lambda x, ops=ops: jnp.sum(ops.subsample2d(x, stride) * g))(x))
                         for ops in (fdl.nn, fdl.manual)]
    eye = np.eye(shape[3])[None, None]
    # PyTorch's 1x1 convolution at this stride floors (H - 1) / S: the NumPy reference does too.
    pytorch_conv = ref.conv2d(x, eye, np.zeros(shape[3]), stride, 0)
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    expected_grad = np.zeros(shape, np.float32)
    expected_grad[:, ::sh, ::sw, :] = g
    for out, grad in jax.jit(program)(x):
        assert out.shape == (shape[0], *out_hw, shape[3])
        np.testing.assert_array_equal(out, ref.subsample2d(x, stride))
        np.testing.assert_array_equal(out, pytorch_conv)
        np.testing.assert_array_equal(grad, expected_grad)


# -- pad_channels --------------------------------------------------------------------------

@pytest.mark.parametrize("ops", BOTH)
@pytest.mark.parametrize("x, before, after, error, pattern", [
    (jnp.ones((2, 3)), -1, 0, ValueError, r"^before must be >= 0, got -1"),
    (jnp.ones((2, 3)), 0, -2, ValueError, r"^after must be >= 0, got -2"),
    (jnp.ones((2, 3)), 1.0, 0, TypeError, r"^before must be an int, got 1.0"),
    (jnp.ones((2, 3)), 0, True, TypeError, r"^after must be an int, got True"),
    (jnp.ones(()), 1, 1, ValueError, r"^x must have rank >= 1"),
    (jnp.ones((2, 3), jnp.int32), 1, 1, TypeError, r"^x must have a floating dtype"),
])
def test_pad_channels_rejects_bad_input(ops, x, before, after, error, pattern):
    with pytest.raises(error, match=pattern):
        ops.pad_channels(x, before, after)


@pytest.mark.parametrize("shape, before, after", [
    ((2, 3, 3, 4), 2, 2), ((2, 2, 2, 3), 0, 5), ((4, 3), 1, 0), ((1, 2, 2, 2), 0, 0),
])
def test_pad_channels_values_and_gradient_cropped(shape, before, after):
    x = _rand(shape, 13)
    width = before + shape[-1] + after
    g = _rand(shape[:-1] + (width,), 14)
    program = lambda x: [  # noqa: E731
        (ops.pad_channels(x, before, after),
         jax.grad(lambda x, ops=ops: jnp.sum(ops.pad_channels(x, before, after) * g))(x))
        for ops in (fdl.nn, fdl.manual)]
    for out, grad in jax.jit(program)(x):
        assert out.shape == shape[:-1] + (width,) and out.dtype == jnp.float32
        np.testing.assert_array_equal(out, ref.pad_channels(x, before, after))
        np.testing.assert_array_equal(grad, g[..., before:before + shape[-1]])


def test_option_a_shortcut_is_subsample_then_zero_channels():
    """He et al.'s option A between stages: half the resolution, twice the channels."""
    x = _rand((2, 8, 8, 16), 15)
    for ops in (fdl.nn, fdl.manual):
        out = ops.pad_channels(ops.subsample2d(x, 2), 8, 8)
        assert out.shape == (2, 4, 4, 32)
        np.testing.assert_array_equal(out[..., 8:24], x[:, ::2, ::2, :])
        assert not np.any(out[..., :8]) and not np.any(out[..., 24:])
