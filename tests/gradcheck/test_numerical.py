import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl.gradcheck import numerical_gradient, rel_error


def test_numerical_gradient_of_a_quadratic(x64):
    a = jnp.array([[2.0, 0.5], [0.5, 1.0]])
    x = jnp.array([0.3, -1.2])
    grad = numerical_gradient(lambda v: v @ a @ v, x)
    np.testing.assert_allclose(grad, 2 * a @ x, rtol=1e-9)


def test_numerical_gradient_over_a_pytree(x64):
    params = {"w": jnp.arange(6.0).reshape(2, 3) / 7, "b": (jnp.array([0.5]), jnp.array(2.0))}

    def f(p):
        return jnp.sum(jnp.sin(p["w"])) + p["b"][0][0] ** 3 + jnp.exp(p["b"][1])

    grad = numerical_gradient(f, params)
    expected = jax.grad(f)(params)
    assert jax.tree_util.tree_structure(grad) == jax.tree_util.tree_structure(params)
    assert rel_error(grad, expected) < 1e-9


def test_numerical_gradient_does_not_mutate_its_input(x64):
    x = np.array([1.0, 2.0, 3.0])
    before = x.copy()
    numerical_gradient(lambda v: jnp.sum(v ** 2), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_rejects_bad_input(x64):
    with pytest.raises(ValueError, match="scalar"):
        numerical_gradient(lambda v: v * 2, jnp.ones(3))
    with pytest.raises(ValueError, match="h must be"):
        numerical_gradient(lambda v: jnp.sum(v), jnp.ones(3), h=0)
    with pytest.raises(TypeError, match="floating"):
        numerical_gradient(lambda v: jnp.sum(v), jnp.arange(3))


def test_rel_error(x64):
    a = jnp.array([1.0, 2.0, 2.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(jnp.zeros(3), jnp.zeros(3)) == 0.0
    assert rel_error(a, 2 * a) == pytest.approx(0.5)
    assert rel_error({"x": a}, {"x": a + 3e-6}) == pytest.approx(np.sqrt(3) * 3e-6 / 3, rel=1e-3)
    # Below the floor the error is measured on the floor's scale, not relatively.
    assert rel_error(jnp.zeros(2), jnp.full(2, 1e-12)) < 1e-3
    with pytest.raises(ValueError, match="same size"):
        rel_error(jnp.ones(2), jnp.ones(3))
