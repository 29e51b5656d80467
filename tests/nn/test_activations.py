"""Activations, softmax and maxout: validation, the defining formulas, and numerical
stability at extreme inputs (values AND gradients), for ``fdl.nn`` and ``fdl.manual``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from programs import cheap_jit
from programs import device_array as _array

import fdl

MODULES = [pytest.param(fdl.nn, id="nn"), pytest.param(fdl.manual, id="manual")]
UNARY = ["relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax", "log_softmax"]


def _jit(fn):
    """``jax.jit(fn)``, compiled cheaply on CPU; the results come back as NumPy arrays."""
    jitted = cheap_jit(fn)
    return lambda *args: jax.tree.map(np.asarray, jitted(*args))



def _value_and_grad(fn, x, g=None):
    """``fn(x)`` and the gradient of ``sum(fn(x) * g)`` (``g`` = 1 by default), one program."""
    weighted = (lambda x: jnp.sum(fn(x))) if g is None else (lambda x: jnp.sum(fn(x) * g))
    return _jit(lambda x: (fn(x), jax.grad(weighted)(x)))(x)


EXTREME = _array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, 3.0]], np.float32)


# -- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("name", UNARY)
def test_integer_input_is_rejected(module, name):
    fn = getattr(module, name)
    with pytest.raises(TypeError, match=r"^(x|s) must have a floating dtype"):
        fn(_array(np.arange(6).reshape(2, 3), np.int32))


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_rejects_a_scalar(module, name):
    with pytest.raises(ValueError, match=r"^s must have rank >= 1"):
        getattr(module, name)(jnp.float32(1.0))


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("slope", [-0.1, 1.0, 2.0])
def test_leaky_relu_rejects_slope_outside_unit_interval(module, slope):
    with pytest.raises(ValueError, match=r"^negative_slope must be"):
        module.leaky_relu(_array(np.ones(3)), negative_slope=slope)


@pytest.mark.parametrize("module", MODULES)
def test_elu_rejects_negative_alpha(module):
    with pytest.raises(ValueError, match=r"^alpha must be >= 0"):
        module.elu(_array(np.ones(3)), alpha=-1.0)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize(
    "w_shape, b_shape, name",
    [
        ((4, 3), (2, 3), "w"),        # w not (pieces, D_in, D_out)
        ((2, 5, 3), (2, 3), "w"),     # w's D_in != features of x
        ((2, 4, 3), (3,), "b"),       # b rank 1
        ((2, 4, 3), (3, 3), "b"),     # b pieces != w pieces
        ((2, 4, 3), (2, 2), "b"),     # b outputs != w outputs
    ],
)
def test_maxout_rejects_mismatched_shapes(module, w_shape, b_shape, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        module.maxout(*(np.ones(shape, np.float32) for shape in ((5, 4), w_shape, b_shape)))


@pytest.mark.parametrize("module", MODULES)
def test_maxout_shape_error_raises_under_jit(module):
    with pytest.raises(ValueError, match=r"^w must have shape \(pieces, 4, D_out\)"):
        jax.jit(module.maxout)(*(np.ones(shape, np.float32) for shape in ((5, 4), (2, 6, 3), (2, 3))))


# -- formulas -------------------------------------------------------------------------

@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_leaky_relu_slope_in_value_and_gradient(module, slope):
    x = _array([-3.0, -0.5, 0.5, 2.0])
    out, grad = _value_and_grad(lambda x: module.leaky_relu(x, negative_slope=slope), x)
    np.testing.assert_allclose(out, [-3.0 * slope, -0.5 * slope, 0.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(grad, [slope, slope, 1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_elu_negative_branch_is_alpha_expm1(module, alpha, x64):
    x = _array([-20.0, -2.0, -1e-3, -1e-9, 0.5, 3.0])
    out, grad = _value_and_grad(lambda x: module.elu(x, alpha=alpha), x)
    xs = np.asarray(x)
    expected = np.where(xs > 0, xs, alpha * np.expm1(xs))
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    # atol: both implementations form alpha*e^x as out + alpha, which cancels in the
    # saturated tail (x = -20: 2e-9 from 1 - 1e-9), leaving ~1e-16 absolute error.
    np.testing.assert_allclose(grad, np.where(xs > 0, 1.0, alpha * np.exp(xs)), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("name", ["elu", "sigmoid", "tanh", "leaky_relu", "relu"])
def test_elementwise_finite_at_extremes(module, name):
    fn = getattr(module, name)
    x = _array([-1e4, -80.0, 0.0, 80.0, 1e4], np.float32)
    out, grad = _value_and_grad(fn, x)
    assert np.all(np.isfinite(out)), out
    assert np.all(np.isfinite(grad)), grad


@pytest.mark.parametrize("module", MODULES)
def test_sigmoid_saturates_cleanly(module):
    out, grad = _value_and_grad(module.sigmoid, _array([-1e4, 1e4], np.float32))
    np.testing.assert_array_equal(out, [0.0, 1.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0])


@pytest.mark.parametrize("module", MODULES)
def test_elu_saturates_to_minus_alpha(module):
    x = _array([-1e4, 1e4], np.float32)
    out, grad = _value_and_grad(lambda x: module.elu(x, alpha=1.5), x)
    np.testing.assert_array_equal(out, [-1.5, 1e4])
    np.testing.assert_array_equal(grad, [0.0, 1.0])


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("shape", [(5,), (2, 3, 6)])
def test_softmax_rows_sum_to_one_and_shift_invariant(module, shape):
    s = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 3
    shift = np.random.default_rng(1).standard_normal(shape[:-1] + (1,)).astype(np.float32) * 50
    p, shifted = _jit(lambda s: (module.softmax(s), module.softmax(s + shift)))(s)
    assert p.shape == shape
    assert np.all(p > 0)
    np.testing.assert_allclose(np.sum(p, axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(shifted, p, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_stable_at_extremes(module, name):
    fn = getattr(module, name)
    g = np.random.default_rng(0).standard_normal(EXTREME.shape).astype(np.float32)
    out, grad = _value_and_grad(fn, EXTREME, g)
    assert np.all(np.isfinite(out)), out
    assert np.all(np.isfinite(grad)), grad
    if name == "softmax":
        np.testing.assert_allclose(out, [[1, 0, 0], [1 / 3] * 3, [0.5, 0.5, 0]], atol=1e-6)
    else:
        np.testing.assert_allclose(out[0], [0.0, -2e4, -1e4], rtol=1e-6)
        np.testing.assert_allclose(out[1], [-np.log(3.0)] * 3, rtol=1e-6)


@pytest.mark.parametrize("module", MODULES)
def test_log_softmax_equals_log_of_softmax(module, x64):
    s = _array(np.random.default_rng(3).standard_normal((6, 5)) * 2)
    g = _array(np.random.default_rng(4).standard_normal((6, 5)))
    log_p, p, grad_a, grad_b = _jit(lambda s: (
        module.log_softmax(s), module.softmax(s),
        jax.grad(lambda s: jnp.sum(module.log_softmax(s) * g))(s),
        jax.grad(lambda s: jnp.sum(jnp.log(module.softmax(s)) * g))(s)))(s)
    np.testing.assert_allclose(log_p, np.log(p), rtol=1e-12)
    np.testing.assert_allclose(grad_a, grad_b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("module", MODULES)
def test_maxout_with_a_zero_piece_is_relu(module, x64):
    rng = np.random.default_rng(5)
    x = _array(rng.standard_normal((6, 2, 2)))
    w1 = rng.standard_normal((4, 3))
    b1 = rng.standard_normal((3,))
    w = _array(np.stack([w1, np.zeros_like(w1)]))
    b = _array(np.stack([b1, np.zeros_like(b1)]))
    out, dw = _jit(lambda x, w, b: (module.maxout(x, w, b),
                                    jax.grad(lambda w: jnp.sum(module.maxout(x, w, b)))(w)))(x, w, b)
    expected = np.maximum(np.asarray(x).reshape(6, 4) @ w1 + b1, 0)
    assert out.shape == (6, 3)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)
    # The gradient reaches only the live piece, and only where it wins.
    active = (expected > 0).astype(np.float64)
    np.testing.assert_allclose(dw[0], np.asarray(x).reshape(6, 4).T @ active, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(dw[1], np.asarray(x).reshape(6, 4).T @ (1 - active))


@pytest.mark.parametrize("module", MODULES)
def test_maxout_takes_the_max_over_pieces(module):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2)).astype(np.float32)
    b = rng.standard_normal((3, 2)).astype(np.float32)
    pieces = np.einsum("nd,kdm->knm", x.astype(np.float64), w) + b[:, None, :]
    np.testing.assert_allclose(_jit(module.maxout)(x, w, b), pieces.max(0), rtol=1e-5, atol=1e-6)


# -- kinks: automatic and hand-written gradients take the same subgradient -------------
# At a tie (x = 0 exactly, equal maxout pieces) the derivative is not unique; fdl takes
# the notes' choice everywhere (1[x > 0], the first winner), so that jax.grad of fdl.nn
# and the hand-written backward pass agree exactly. x = 0 is common in practice: a zero
# pixel times any weight plus a zero-initialised bias.

@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("name,expected", [("relu", 0.0), ("leaky_relu", 0.01), ("elu", 1.0)])
def test_derivative_at_zero_is_the_left_branch(module, name, expected):
    x = _array([-1.0, 0.0, 2.0], np.float32)
    grad = _jit(jax.grad(lambda x: jnp.sum(getattr(module, name)(x))))(x)
    left = {"relu": 0.0, "leaky_relu": 0.01, "elu": float(np.exp(-1.0))}[name]
    np.testing.assert_allclose(grad, [left, expected, 1.0], rtol=1e-6)


@pytest.mark.parametrize("module", MODULES)
def test_relu_keeps_nan_and_zeroes_minus_inf(module):
    out = _jit(module.relu)(_array([np.nan, -np.inf, np.inf], np.float32))
    assert np.isnan(out[0]) and out[1] == 0 and out[2] == jnp.inf


@pytest.mark.parametrize("module", MODULES)
def test_maxout_tie_routes_the_gradient_to_the_first_piece(module):
    x = _array(np.zeros((2, 3)), np.float32)  # every piece scores its bias, all equal: a tie
    w = _array(np.random.default_rng(0).standard_normal((3, 3, 4)), np.float32)
    b = _array(np.zeros((3, 4)), np.float32)
    db = _jit(jax.grad(lambda b: jnp.sum(module.maxout(x, w, b))))(b)
    np.testing.assert_array_equal(db, np.stack([np.full((4,), 2.0), np.zeros(4), np.zeros(4)]))
