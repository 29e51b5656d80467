"""L-BFGS against SciPy's L-BFGS-B on softmax regression and Rosenbrock."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from jax.flatten_util import ravel_pytree
from programs import compiled_once
from sklearn.datasets import load_digits

from fdl import optim
from fdl.optim import _lbfgs

LAMBDA = 1e-2


@functools.lru_cache(maxsize=None)
def digits():
    x, y = load_digits(return_X_y=True)
    return x / 16.0, np.eye(10)[y]  # features in [0, 1], one-hot labels


def softmax_regression_loss(params, x, y_onehot):
    """Mean softmax cross-entropy + lambda * sum(W^2) (the notes' R(W), bias unregularised)."""
    scores = x @ params["W"] + params["b"][None, :]
    log_probs = scores - jax.nn.logsumexp(scores, axis=1, keepdims=True)
    return -jnp.mean(jnp.sum(y_onehot * log_probs, axis=1)) + LAMBDA * jnp.sum(params["W"] ** 2)


def scipy_lbfgs(f, params, **options):
    """SciPy's result, and ``f`` at a pytree like ``params`` (the objective compiled for
    SciPy: evaluating ``f`` eagerly would compile each of its operations on its own)."""
    x0, unravel = ravel_pytree(params)
    value_and_grad = jax.jit(jax.value_and_grad(lambda z: f(unravel(z))))

    def fun(z):
        value, grad = value_and_grad(jnp.asarray(z))
        return float(value), np.asarray(grad, dtype=np.float64)

    result = scipy.optimize.minimize(
        fun, np.asarray(x0), jac=True, method="L-BFGS-B", options=options
    )
    # ravel_pytree's order (the leaves'), flattened on the host.
    return result, lambda p: fun(np.concatenate([np.ravel(v) for v in jax.tree.leaves(p)]))[0]


def test_softmax_regression_on_digits_matches_scipy():
    with jax.enable_x64(True):
        x, y = digits()
        params0 = {"W": jnp.zeros((64, 10)), "b": jnp.zeros(10)}
        f = functools.partial(softmax_regression_loss, x=jnp.asarray(x), y_onehot=jnp.asarray(y))
        params, info = optim.lbfgs(f, params0, history=10, max_iters=500, tol=1e-6)
        reference, f_at = scipy_lbfgs(f, params0, maxcor=10, gtol=1e-6, maxiter=500)
        loss = f_at(params)
    assert reference.success, reference.message
    assert bool(info.converged)
    assert float(info.grad_norm) <= 1e-6
    np.testing.assert_allclose(float(info.loss), loss, rtol=1e-12)
    assert abs(loss - reference.fun) / abs(reference.fun) <= 1e-6
    assert int(info.iterations) <= 2 * reference.nit + 10
    assert int(info.function_evals) <= 2 * reference.nfev + 10
    assert params["W"].shape == (64, 10) and params["W"].dtype == jnp.float64


def rosenbrock(p):
    return jnp.sum(100.0 * (p[1:] - p[:-1] ** 2) ** 2 + (1.0 - p[:-1]) ** 2)


@pytest.mark.parametrize("start", [[-1.2, 1.0], [-1.2, 1.0, -0.5, 0.8]])
def test_rosenbrock_matches_scipy(start):
    with jax.enable_x64(True):
        x0 = jnp.asarray(start)
        x, info = optim.lbfgs(rosenbrock, x0, max_iters=500, tol=1e-8)
        reference, _ = scipy_lbfgs(rosenbrock, x0, gtol=1e-8, ftol=0.0, maxiter=500)
    np.testing.assert_allclose(x, np.ones(len(start)), atol=1e-6)
    assert bool(info.converged) and float(info.grad_norm) <= 1e-8
    assert int(info.iterations) <= 2 * reference.nit + 10
    assert info.iterations.dtype == jnp.int32 and info.function_evals.dtype == jnp.int32


def test_pytree_params_in_float32_and_under_jit():
    target = {"a": jnp.array([1.0, -2.0]), "b": (jnp.array(3.0),)}

    def f(p):
        pairs = zip(jax.tree.leaves(p), jax.tree.leaves(target))
        return sum(jnp.sum((u - v) ** 2) for u, v in pairs)

    start = jax.tree.map(np.zeros_like, target)
    # Under jit, compiled the cheap way fdl gradcheck compiles: the whole solve is
    # inlined into this one program, which runs once.
    solve = lambda p: optim.lbfgs(f, p, tol=1e-5)  # noqa: E731
    params, info = compiled_once(solve, start)(start)
    assert jax.tree.structure(params) == jax.tree.structure(target)
    for got, want in zip(jax.tree.leaves(params), jax.tree.leaves(target)):
        assert got.dtype == jnp.float32
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert bool(info.converged)


def test_solve_compiles_once_per_objective():
    traces = []

    def f(p):
        traces.append(None)  # runs only while tracing
        return jnp.sum((p - 1.0) ** 2 * jnp.arange(1.0, 4.0))

    # float32 starts; jnp.full(3, 5.0) alone would be weakly typed, and compile again.
    starts = [jnp.full(3, v, jnp.float32) for v in (0.0, 5.0, -2.0)]
    x, _ = optim.lbfgs(f, starts[0])
    np.testing.assert_allclose(x, 1.0, atol=1e-5)
    traced_first = len(traces)
    for start in starts[1:]:
        x, _ = optim.lbfgs(f, start)
        np.testing.assert_allclose(x, 1.0, atol=1e-5)
    assert len(traces) == traced_first  # other starts reuse the compiled solve


def test_start_at_the_minimum_takes_no_iteration():
    # Rosenbrock's gradient is exactly zero at (1, 1, 1, 1); the solve compiled above.
    with jax.enable_x64(True):
        x, info = optim.lbfgs(rosenbrock, jnp.ones(4))
    assert int(info.iterations) == 0 and int(info.function_evals) == 1
    assert bool(info.converged)
    np.testing.assert_array_equal(x, np.ones(4))


def test_iteration_limit_reports_not_converged():
    with jax.enable_x64(True):
        _, info = optim.lbfgs(rosenbrock, jnp.array([-1.2, 1.0]), max_iters=5, tol=1e-10)
    assert int(info.iterations) == 5 and not bool(info.converged)


def test_ftol_stops_on_small_relative_decrease():
    with jax.enable_x64(True):
        _, strict = optim.lbfgs(rosenbrock, jnp.array([-1.2, 1.0]), tol=0.0, max_iters=200)
        _, loose = optim.lbfgs(rosenbrock, jnp.array([-1.2, 1.0]), tol=0.0, ftol=1e-3)
    assert bool(loose.converged)
    assert int(loose.iterations) < int(strict.iterations)


def test_two_loop_recursion_equals_the_bfgs_inverse_hessian():
    """H g from the recursion equals the dense BFGS update applied to gamma I."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        n, m = 6, 4
        a = rng.normal(size=(n, n))
        hessian = a @ a.T + n * np.eye(n)  # y = A s gives y^T s > 0
        s = rng.normal(size=(m, n))
        y = s @ hessian
        rho = 1.0 / np.sum(s * y, axis=1)
        gamma = s[-1] @ y[-1] / (y[-1] @ y[-1])
        h = gamma * np.eye(n)
        for s_i, y_i, rho_i in zip(s, y, rho):  # oldest first
            left = np.eye(n) - rho_i * np.outer(s_i, y_i)
            h = left @ h @ left.T + rho_i * np.outer(s_i, s_i)
        g = rng.normal(size=n)
        # Before the history fills up, the unused slots hold zeros (rho = 0): no-ops.
        pad = np.zeros((3, n))

        # Both recursions in one program (eagerly, each operation compiles on its own).
        def full_and_padded(g, s, y, rho, gamma):
            return (_lbfgs._two_loop(g, s, y, rho, gamma),
                    _lbfgs._two_loop(g, jnp.concatenate([pad, s]), jnp.concatenate([pad, y]),
                                     jnp.concatenate([jnp.zeros(3), rho]), gamma))

        args = (g, s, y, rho, gamma)
        got, padded = compiled_once(full_and_padded, *args)(*args)
    np.testing.assert_allclose(got, h @ g, rtol=1e-10)
    np.testing.assert_allclose(padded, got, rtol=1e-14)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"history": 0}, "history"),
        ({"max_iters": 0}, "max_iters"),
        ({"max_iters": -3}, "max_iters"),
        ({"tol": -1e-6}, "tol"),
        ({"ftol": -1.0}, "ftol"),
        ({"max_linesearch": 0}, "max_linesearch"),
        ({"c1": 0.0}, "c1"),
        ({"c1": 0.5, "c2": 0.4}, "c2"),
        ({"c2": 1.0}, "c2"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        optim.lbfgs(rosenbrock, jnp.zeros(2), **kwargs)


def test_bad_objective_and_types():
    with pytest.raises(TypeError, match="^f must"):
        optim.lbfgs("rosenbrock", jnp.zeros(2))
    with pytest.raises(ValueError, match="^f must return a scalar"):
        optim.lbfgs(lambda p: p**2, jnp.zeros(2))
    with pytest.raises(TypeError, match="^history must be an int"):
        optim.lbfgs(rosenbrock, jnp.zeros(2), history=2.5)
    with pytest.raises(TypeError, match="floating dtype"):
        optim.lbfgs(lambda p: jnp.sum(p), jnp.arange(3))
