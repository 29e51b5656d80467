"""``fdl.kernels.matmul``: the value and every derivative equal those of ``a @ b``
(reverse, forward, second order), in float64 against NumPy and plain ``a @ b``; and on
CPU the weight gradient is compiled as an ordinary (non-transposed) product."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fdl
from fdl.kernels import _matmul, matmul

# Degenerate, narrow (below the CPU path's 64 columns) and wide products.
SHAPES = [(1, 1, 1), (3, 4, 5), (16, 33, 64), (32, 70, 100)]
# matmul itself, and its CPU path forced whatever the width (matmul takes it for N >= 64).
PRODUCTS = [pytest.param(matmul, id="matmul"), pytest.param(_matmul._matmul_cpu, id="cpu_path")]


def _operands(m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, k)), rng.standard_normal((k, n)), rng.standard_normal((m, n))


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("m, k, n", SHAPES)
def test_value_and_gradients_match_numpy(product, m, k, n, x64):
    a, b, g = _operands(m, k, n)
    np.testing.assert_allclose(product(jnp.asarray(a), jnp.asarray(b)), a @ b, rtol=1e-12)
    # <a b, g> has gradients g bᵀ (for a) and aᵀ g (for b).
    # Compiled: an eager grad compiles each primitive of the rule on its own.
    da, db = jax.jit(jax.grad(lambda a, b: jnp.sum(product(a, b) * g), argnums=(0, 1)))(a, b)
    np.testing.assert_allclose(da, g @ b.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, a.T @ g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("m, k, n", SHAPES)
def test_forward_mode_matches_product_rule(product, m, k, n, x64):
    a, b, _ = _operands(m, k, n)
    ta, tb, _ = _operands(m, k, n, seed=1)
    value, tangent = jax.jvp(product, (a, b), (ta, tb))
    np.testing.assert_allclose(value, a @ b, rtol=1e-12)
    np.testing.assert_allclose(tangent, ta @ b + a @ tb, rtol=1e-10, atol=1e-12)
    # One tangent zero: the other term alone (symbolic-zero branches).
    _, only_b = jax.jvp(lambda b: product(a, b), (b,), (tb,))
    np.testing.assert_allclose(only_b, a @ tb, rtol=1e-10, atol=1e-12)
    _, only_a = jax.jvp(lambda a: product(a, b), (a,), (ta,))
    np.testing.assert_allclose(only_a, ta @ b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("product", PRODUCTS)
def test_hessian_matches_plain_product(product, x64):
    a, b, _ = _operands(5, 4, 3)

    def loss(product):
        return lambda b: jnp.sum(jnp.tanh(product(a, b)) ** 2)

    ours = jax.hessian(loss(product))(b)
    plain = jax.hessian(loss(lambda a, b: a @ b))(b)
    np.testing.assert_allclose(ours, plain, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("product", PRODUCTS)
def test_jit_and_vmap(product, x64):
    a, b, _ = _operands(6, 5, 4)
    batch = np.stack([a, 2 * a, -a])
    out = jax.jit(jax.vmap(product, in_axes=(0, None)))(batch, b)
    np.testing.assert_allclose(out, batch @ b, rtol=1e-12)


def test_cpu_weight_gradient_contracts_no_leading_axis():
    """The CPU path's compiled gradient has no product contracting the batch (leading)
    axis of ``a``: XLA:CPU runs those through a slower generic contraction."""
    cpu = jax.devices("cpu")[0]
    a, b, g = (jax.device_put(jnp.ones(s, jnp.float32), cpu)
               for s in ((128, 300), (300, 10), (128, 10)))

    def compiled_gradient(product):
        return jax.jit(jax.grad(lambda b: jnp.sum(product(a, b) * g))).lower(b).compile().as_text()

    leading = "lhs_contracting_dims={0}"
    assert leading in compiled_gradient(lambda a, b: a @ b)  # what the guard is against
    assert leading not in compiled_gradient(_matmul._matmul_cpu)


def test_cpu_path_only_for_wide_products():
    assert _matmul.TRANSPOSED_COPY_MIN_COLUMNS == 64
    a = jnp.ones((8, 5), jnp.float32)
    narrow = jax.make_jaxpr(lambda b: jax.grad(lambda b: jnp.sum(matmul(a, b)))(b))(jnp.ones((5, 63)))
    wide = jax.make_jaxpr(lambda b: jax.grad(lambda b: jnp.sum(matmul(a, b)))(b))(jnp.ones((5, 64)))
    assert "optimization_barrier" not in str(narrow)
    assert "optimization_barrier" in str(wide)


@pytest.mark.parametrize("shape", [(4, 3, 5), (7, 2, 2, 3), (16, 80)])
@pytest.mark.parametrize("width", [10, 100])  # either side of the CPU path's 64 columns
def test_affine_kernel_equals_the_plain_reference(shape, width, x64):
    """fdl.kernels.affine and fdl.nn.affine: same scores, same gradients (float64)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    d = int(np.prod(shape[1:]))
    w, b = rng.standard_normal((d, width)), rng.standard_normal(width)
    g = rng.standard_normal((shape[0], width))

    def grads(affine):
        return jax.jit(jax.grad(lambda *a: jnp.sum(affine(*a) * g), argnums=(0, 1, 2)))(x, w, b)

    np.testing.assert_allclose(fdl.kernels.affine(x, w, b), fdl.nn.affine(x, w, b), rtol=1e-12)
    for ours, plain in zip(grads(fdl.kernels.affine), grads(fdl.nn.affine)):
        np.testing.assert_allclose(ours, plain, rtol=1e-12, atol=1e-12)


def test_plain_reference_has_no_custom_rule():
    """fdl.nn.affine is differentiated by plain autodiff: no custom JVP, no barrier."""
    x, w, b = jnp.ones((8, 300)), jnp.ones((300, 100)), jnp.ones(100)
    jaxpr = str(jax.make_jaxpr(jax.grad(lambda w: jnp.sum(fdl.nn.affine(x, w, b))))(w))
    assert "custom_jvp" not in jaxpr and "optimization_barrier" not in jaxpr


def test_dense_layer_chooses_the_kernel_or_the_reference():
    x = jnp.ones((8, 300))
    auto, plain = fdl.layers.Dense(100), fdl.layers.Dense(100, impl="xla")
    params, state = auto.init(jax.random.key(0), (300,))

    def jaxpr(layer):
        return str(jax.make_jaxpr(jax.grad(
            lambda p: jnp.sum(layer.apply(p, state, x)[0])))(params))

    on_cpu = jax.default_backend() == "cpu"
    assert ("optimization_barrier" in jaxpr(auto)) == on_cpu
    assert "optimization_barrier" not in jaxpr(plain)
    np.testing.assert_allclose(auto.apply(params, state, x)[0], plain.apply(params, state, x)[0],
                               rtol=1e-6)  # float32: one product, the same summation
    with pytest.raises(ValueError, match="impl must be one of auto, xla"):
        fdl.layers.Dense(10, impl="fast")
