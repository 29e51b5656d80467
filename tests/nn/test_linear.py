"""``affine`` and ``flatten``: argument validation (automatic and manual twins alike),
flattening of image inputs, and the hand-written gradient's shapes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fdl

AFFINES = [pytest.param(fdl.nn.affine, id="nn"), pytest.param(fdl.manual.affine, id="manual")]
FLATTENS = [pytest.param(fdl.nn.flatten, id="nn"), pytest.param(fdl.manual.flatten, id="manual")]


def _arrays(n=3, d=4, m=5, seed=0):
    rng = np.random.default_rng(seed)
    return (jnp.asarray(rng.standard_normal((n, d)), jnp.float32),
            jnp.asarray(rng.standard_normal((d, m)), jnp.float32),
            jnp.asarray(rng.standard_normal((m,)), jnp.float32))


# -- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("affine", AFFINES)
@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, name",
    [
        ((3, 4), (4, 5, 1), (5,), "w"),        # w rank 3
        ((3, 4), (20,), (5,), "w"),            # w rank 1
        ((3, 4), (4, 5), (5, 1), "b"),         # b rank 2
        ((3, 4), (4, 5), (), "b"),             # b rank 0
        ((4,), (4, 5), (5,), "x"),             # x without a batch axis
        ((3, 4), (6, 5), (5,), "w"),           # w rows != features
        ((3, 2, 2), (3, 5), (5,), "w"),        # flattened features (4) != w rows
        ((3, 4), (4, 5), (6,), "b"),           # b size != outputs
    ],
)
def test_affine_rejects_bad_shapes(affine, x_shape, w_shape, b_shape, name):
    x, w, b = (jnp.ones(s, jnp.float32) for s in (x_shape, w_shape, b_shape))
    with pytest.raises(ValueError, match=rf"^{name} must"):
        affine(x, w, b)


@pytest.mark.parametrize("affine", AFFINES)
@pytest.mark.parametrize("position, name", [(0, "x"), (1, "w"), (2, "b")])
def test_affine_rejects_integer_arrays(affine, position, name):
    args = [jnp.ones((3, 4)), jnp.ones((4, 5)), jnp.ones((5,))]
    args[position] = args[position].astype(jnp.int32)
    with pytest.raises(TypeError, match=rf"^{name} must have a floating dtype"):
        affine(*args)


@pytest.mark.parametrize("affine", AFFINES)
def test_affine_rejects_non_arrays(affine):
    with pytest.raises(TypeError, match=r"^w must be an array"):
        affine(jnp.ones((3, 4)), "weights", jnp.ones((5,)))


@pytest.mark.parametrize("affine", AFFINES)
def test_affine_shape_errors_raise_at_trace_time_under_jit(affine):
    x, _, b = _arrays()
    with pytest.raises(ValueError, match=r"^w must have shape \(4, D_out\)"):
        jax.jit(affine)(x, jnp.ones((6, 5)), b)
    with pytest.raises(ValueError, match=r"^b must have shape \(5,\)"):
        jax.jit(affine)(x, jnp.ones((4, 5)), jnp.ones((7,)))


@pytest.mark.parametrize("flatten", FLATTENS)
def test_flatten_rejects_a_scalar(flatten):
    with pytest.raises(ValueError, match=r"^x must have rank >= 1"):
        flatten(jnp.float32(1.0))


# -- behaviour ------------------------------------------------------------------------

@pytest.mark.parametrize("affine", AFFINES)
@pytest.mark.parametrize("x_shape", [(2, 12), (2, 3, 4), (2, 2, 3, 2)])
def test_affine_flattens_images_and_equals_matmul(affine, x_shape, variant):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((12, 3)).astype(np.float32)
    b = rng.standard_normal((3,)).astype(np.float32)
    out = variant(affine)(x, w, b)
    assert out.shape == (2, 3) and out.dtype == jnp.float32
    np.testing.assert_allclose(out, x.reshape(2, 12).astype(np.float64) @ w + b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("affine", AFFINES)
def test_affine_gradients_have_input_shapes_and_closed_form(affine, x64):
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.standard_normal((3, 2, 2)))
    w = jnp.asarray(rng.standard_normal((4, 5)))
    b = jnp.asarray(rng.standard_normal((5,)))
    g = jnp.asarray(rng.standard_normal((3, 5)))
    dx, dw, db = jax.jit(jax.grad(lambda x, w, b: jnp.sum(affine(x, w, b) * g), argnums=(0, 1, 2)))(x, w, b)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    np.testing.assert_allclose(dx, (g @ w.T).reshape(x.shape), rtol=1e-12)
    np.testing.assert_allclose(dw, x.reshape(3, 4).T @ g, rtol=1e-12)
    np.testing.assert_allclose(db, g.sum(0), rtol=1e-12)


@pytest.mark.parametrize("flatten", FLATTENS)
@pytest.mark.parametrize("shape, expected", [((5,), (5, 1)), ((2, 3), (2, 3)), ((2, 3, 4, 5), (2, 60))])
def test_flatten_shapes_and_order(flatten, shape, expected):
    x = jnp.arange(np.prod(shape), dtype=jnp.float32).reshape(shape)
    out = flatten(x)
    assert out.shape == expected
    np.testing.assert_array_equal(out, np.arange(np.prod(shape)).reshape(expected))


def test_manual_flatten_gradient_restores_shape():
    x = jnp.ones((2, 3, 4))
    g = jax.grad(lambda x: jnp.sum(fdl.manual.flatten(x) * jnp.arange(12.0)))(x)
    assert g.shape == (2, 3, 4)
    np.testing.assert_array_equal(g[1], np.arange(12.0).reshape(3, 4))
