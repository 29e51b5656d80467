"""``fdl.kernels.matmul``: the value and every derivative equal those of ``a @ b``
(reverse, forward, second order), in float64 against NumPy and plain ``a @ b``; and on
CPU the weight gradient is compiled as an ordinary (non-transposed) product."""

import functools

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


@functools.lru_cache(maxsize=None)
def _derivatives(product):
    """For every shape of SHAPES: ``product``'s value, the gradients of ``<a b, g>`` and the
    forward-mode tangents (both operands', then ``b``'s alone, then ``a``'s alone), in
    float64. One compiled program for all of them: one per shape and derivative, or the
    primitives of eager ones, would be ~60 compilations per product."""

    def one_shape(a, b, g, ta, tb):
        grads = jax.grad(lambda a, b: jnp.sum(product(a, b) * g), argnums=(0, 1))(a, b)
        # a (or b) closed over, not differentiated: its tangent is a symbolic zero.
        return {
            "value": product(a, b), "grads": grads,
            "jvp": jax.jvp(product, (a, b), (ta, tb)),
            "only_b": jax.jvp(lambda b: product(a, b), (b,), (tb,))[1],
            "only_a": jax.jvp(lambda a: product(a, b), (a,), (ta,))[1],
        }  # fmt: skip

    def all_shapes(operands):
        return [one_shape(*ops) for ops in operands]

    operands = [_operands(*s) + _operands(*s, seed=1)[:2] for s in SHAPES]
    with jax.enable_x64(True):
        return dict(zip(SHAPES, jax.device_get(jax.jit(all_shapes)(operands))))


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("m, k, n", SHAPES)
def test_value_and_gradients_match_numpy(product, m, k, n):
    a, b, g = _operands(m, k, n)
    got = _derivatives(product)[m, k, n]
    assert got["value"].dtype == np.float64
    np.testing.assert_allclose(got["value"], a @ b, rtol=1e-12)
    # <a b, g> has gradients g bᵀ (for a) and aᵀ g (for b).
    da, db = got["grads"]
    np.testing.assert_allclose(da, g @ b.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, a.T @ g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("m, k, n", SHAPES)
def test_forward_mode_matches_product_rule(product, m, k, n):
    a, b, _ = _operands(m, k, n)
    ta, tb, _ = _operands(m, k, n, seed=1)
    got = _derivatives(product)[m, k, n]
    value, tangent = got["jvp"]
    np.testing.assert_allclose(value, a @ b, rtol=1e-12)
    np.testing.assert_allclose(tangent, ta @ b + a @ tb, rtol=1e-10, atol=1e-12)
    # One tangent zero: the other term alone (symbolic-zero branches).
    np.testing.assert_allclose(got["only_b"], a @ tb, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got["only_a"], ta @ b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("product", PRODUCTS)
def test_hessian_matches_plain_product(product, x64):
    a, b, _ = _operands(5, 4, 3)

    def loss(product):
        return lambda b: jnp.sum(jnp.tanh(product(a, b)) ** 2)

    # Both Hessians in one compiled program (eagerly, each primitive of the second-order
    # rules would be compiled on its own: ~50 compilations).
    ours, plain = jax.jit(lambda b: (jax.hessian(loss(product))(b),
                                     jax.hessian(loss(lambda a, b: a @ b))(b)))(b)
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
    a, b, g = (jax.device_put(np.ones(s, np.float32), cpu)
               for s in ((128, 300), (300, 10), (128, 10)))

    def compiled_gradient(product):
        return jax.jit(jax.grad(lambda b: jnp.sum(product(a, b) * g))).lower(b).compile().as_text()

    leading = "lhs_contracting_dims={0}"
    assert leading in compiled_gradient(lambda a, b: a @ b)  # what the guard is against
    assert leading not in compiled_gradient(_matmul._matmul_cpu)


def test_cpu_path_only_for_wide_products():
    assert _matmul.TRANSPOSED_COPY_MIN_COLUMNS == 64
    a = np.ones((8, 5), np.float32)  # traced only: NumPy operands compile nothing
    narrow = jax.make_jaxpr(lambda b: jax.grad(lambda b: jnp.sum(matmul(a, b)))(b))(
        np.ones((5, 63), np.float32))
    wide = jax.make_jaxpr(lambda b: jax.grad(lambda b: jnp.sum(matmul(a, b)))(b))(
        np.ones((5, 64), np.float32))
    assert "optimization_barrier" not in str(narrow)
    assert "optimization_barrier" in str(wide)


AFFINE_SHAPES = [(4, 3, 5), (7, 2, 2, 3), (16, 80)]
AFFINE_WIDTHS = [10, 100]  # either side of the CPU path's 64 columns


def _affine_operands(shape, width):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    d = int(np.prod(shape[1:]))
    w, b = rng.standard_normal((d, width)), rng.standard_normal(width)
    return x, w, b, rng.standard_normal((shape[0], width))


@functools.lru_cache(maxsize=None)
def _affine_results():
    """Scores and gradients of fdl.kernels.affine and fdl.nn.affine for every case of
    test_affine_kernel_equals_the_plain_reference, float64, in one compiled program (each
    case on its own compiled ~6 programs)."""

    def values_and_grads(affine, x, w, b, g):
        grads = jax.grad(lambda *a: jnp.sum(affine(*a) * g), argnums=(0, 1, 2))(x, w, b)
        return affine(x, w, b), grads

    def all_cases(operands):
        return [[values_and_grads(affine, *ops) for affine in (fdl.kernels.affine, fdl.nn.affine)]
                for ops in operands]  # fmt: skip

    cases = [(s, n) for s in AFFINE_SHAPES for n in AFFINE_WIDTHS]
    with jax.enable_x64(True):
        results = jax.device_get(jax.jit(all_cases)([_affine_operands(*c) for c in cases]))
    return dict(zip(cases, results))


@pytest.mark.parametrize("shape", AFFINE_SHAPES)
@pytest.mark.parametrize("width", AFFINE_WIDTHS)
def test_affine_kernel_equals_the_plain_reference(shape, width):
    """fdl.kernels.affine and fdl.nn.affine: same scores, same gradients (float64)."""
    (ours, ours_grads), (plain, plain_grads) = _affine_results()[shape, width]
    assert ours.dtype == np.float64 and ours.shape == (shape[0], width)
    np.testing.assert_allclose(ours, plain, rtol=1e-12)
    for ours, plain in zip(ours_grads, plain_grads):
        assert ours.dtype == np.float64
        np.testing.assert_allclose(ours, plain, rtol=1e-12, atol=1e-12)


def test_plain_reference_has_no_custom_rule():
    """fdl.nn.affine is differentiated by plain autodiff: no custom JVP, no barrier."""
    x, w, b = (np.ones(s, np.float32) for s in ((8, 300), (300, 100), (100,)))
    jaxpr = str(jax.make_jaxpr(jax.grad(lambda w: jnp.sum(fdl.nn.affine(x, w, b))))(w))
    assert "custom_jvp" not in jaxpr and "optimization_barrier" not in jaxpr


def test_dense_layer_chooses_the_kernel_or_the_reference():
    x = np.ones((8, 300), np.float32)
    auto, plain = fdl.layers.Dense(100), fdl.layers.Dense(100, impl="xla")
    # Initialised by one compiled program (eagerly, its random draws compile ~7).
    params, state = jax.jit(lambda: auto.init(jax.random.key(0), (300,)))()

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
