"""Newton and dense BFGS against SciPy (Newton-CG, BFGS), NumPy, lbfgs and each other.

Each solver is compiled once per objective and dtype, so the objectives below are
module-level functions shared by every test (a solve with another start, ``max_iters`` or
tolerance reuses the compiled loop).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from programs import compiled_once

from fdl import optim
from fdl.optim import _second_order

TRACES = []  # appended to only while an objective is traced


def rosenbrock(p):
    TRACES.append("rosenbrock")
    return jnp.sum(100.0 * (p[1:] - p[:-1] ** 2) ** 2 + (1.0 - p[:-1]) ** 2)


def rosenbrock_numpy_grad(p):
    x, y = p
    return np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)])


# A positive definite quadratic over a dict of parameters:
# f = 1/2 z^T A z - b^T z with z = ravel(params) = [u (2,), v (3,)].
_rng = np.random.default_rng(0)
_M = _rng.normal(size=(5, 5))
A = _M @ _M.T + 5.0 * np.eye(5)
B = _rng.normal(size=5)


def quadratic(params):
    z = jnp.concatenate([params["u"], params["v"]])
    a, b = jnp.asarray(A, z.dtype), jnp.asarray(B, z.dtype)
    return 0.5 * z @ a @ z - b @ z


# Softmax regression with an L2 penalty on every parameter (strictly convex, so the
# minimiser is unique and every method must find the same one): 60 points, 4 features,
# 3 classes, 15 parameters.
LAMBDA = 1e-2
_X = _rng.normal(size=(60, 4))
_Y = np.argmax(_X @ _rng.normal(size=(4, 3)) + 0.5 * _rng.normal(size=(60, 3)), axis=1)


def softmax_regression(params):
    x = jnp.asarray(_X, params["W"].dtype)
    scores = x @ params["W"] + params["b"]
    log_probs = scores - jax.nn.logsumexp(scores, axis=1, keepdims=True)
    data = -jnp.mean(jnp.take_along_axis(log_probs, jnp.asarray(_Y)[:, None], axis=1))
    return data + LAMBDA * (jnp.sum(params["W"] ** 2) + jnp.sum(params["b"] ** 2))


def softmax_start():
    return {"W": jnp.zeros((4, 3)), "b": jnp.zeros(3)}


def softmax_regression_numpy(z):
    """Loss and gradient of ``softmax_regression`` in NumPy, on the flat ``[W, b]``."""
    w, b = z[:12].reshape(4, 3), z[12:]
    scores = _X @ w + b
    scores = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    n = len(_Y)
    loss = -np.mean(np.log(probs[np.arange(n), _Y])) + LAMBDA * np.sum(z**2)
    dscores = probs.copy()
    dscores[np.arange(n), _Y] -= 1.0
    dscores /= n
    grad = np.concatenate([(_X.T @ dscores).ravel(), dscores.sum(axis=0)]) + 2 * LAMBDA * z
    return loss, grad


def scipy_rosenbrock(start, method, **options):
    extra = {"hess": scipy.optimize.rosen_hess} if method == "Newton-CG" else {}
    result = scipy.optimize.minimize(
        scipy.optimize.rosen, np.asarray(start), jac=scipy.optimize.rosen_der,
        method=method, options=options, **extra,
    )
    assert result.success, result.message
    return result


@functools.lru_cache(maxsize=None)
def softmax_solutions():
    """bfgs's and lbfgs's answers on the softmax problem (float64) and SciPy's BFGS."""
    with jax.enable_x64(True):
        params0 = softmax_start()
        solutions = {
            "bfgs": optim.bfgs(softmax_regression, params0, tol=1e-8),
            "lbfgs": optim.lbfgs(softmax_regression, params0, tol=1e-8, max_iters=500),
        }
        solutions = jax.tree.map(np.asarray, solutions)
    reference = scipy.optimize.minimize(
        softmax_regression_numpy, np.zeros(15), jac=True, method="BFGS",
        options={"gtol": 1e-8},  # 1e-9 is below the line search's resolution here
    )
    assert reference.success, reference.message
    return solutions, reference


# ------------------------------------------------------------------------------ Newton


def test_newton_on_rosenbrock_from_the_classic_start():
    with jax.enable_x64(True):
        x, info = optim.newton(rosenbrock, jnp.array([-1.2, 1.0]), tol=1e-10)
    reference = scipy_rosenbrock([-1.2, 1.0], "Newton-CG", xtol=1e-12)
    # Quadratic convergence ends with the gradient at rounding level: x* to ~1e-12.
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-10)
    np.testing.assert_allclose(reference.x, [1.0, 1.0], atol=1e-6)  # the reference agrees
    assert bool(info.converged) and float(info.grad_norm) <= 1e-10
    # Nocedal & Wright (section 3.3) report ~21 iterations for line-search Newton from
    # here; SciPy's Newton-CG (inexact CG steps) needs 86.
    assert int(info.iterations) <= 25
    assert int(info.iterations) <= reference.nit
    # Gradient descent at lr 1e-3 (2e-3 already oscillates across the valley, where
    # the largest curvature is ~1e3), given 40x Newton's iteration budget, is nowhere near.
    p = np.array([-1.2, 1.0])
    for _ in range(40 * 25):
        p = p - 1e-3 * rosenbrock_numpy_grad(p)
    assert np.linalg.norm(p - 1.0) > 0.1


def test_newton_from_an_indefinite_hessian_and_compiled_once():
    with jax.enable_x64(True):
        optim.newton(rosenbrock, jnp.array([-1.2, 1.0]), max_iters=3)
        traced = len(TRACES)
        # At (0, 1) the Hessian is diag(-398, 200): plain Newton's model has no minimum,
        # so the shifted Hessian H + tau I (tau > 0) gives the direction.
        x, info = optim.newton(rosenbrock, jnp.array([0.0, 1.0]), tol=1e-10)
        _, stopped = optim.newton(rosenbrock, jnp.array([-1.2, 1.0]), max_iters=4, tol=0.0)
    assert len(TRACES) == traced  # other starts and limits reuse the compiled solve
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-10)  # as above: quadratic convergence
    assert bool(info.converged)
    assert int(stopped.iterations) == 4 and not bool(stopped.converged)


def test_modified_newton_direction_shifts_an_indefinite_hessian():
    indefinite = np.array([[-398.0, 30.0], [30.0, 200.0]])
    definite = indefinite.T @ indefinite
    g = np.array([-2.0, 200.0])
    with jax.enable_x64(True):
        direction = jax.vmap(_second_order.modified_newton_direction, in_axes=(0, None, None))
        args = (np.stack([indefinite, definite]), g, 1e-3)
        d, tau = compiled_once(direction, *args)(*args)
        d, tau = np.asarray(d), np.asarray(tau)
    shifted = indefinite + tau[0] * np.eye(2)
    assert tau[0] > 398.0 and np.all(np.linalg.eigvalsh(shifted) > 0)
    # float64 solves with condition numbers <= ~1e5: ~1e-11 relative at worst.
    np.testing.assert_allclose(d[0], -np.linalg.solve(shifted, g), rtol=1e-10)
    assert g @ d[0] < 0  # a descent direction
    # A positive definite H is not shifted: the plain Newton step.
    assert tau[1] == 0.0
    np.testing.assert_allclose(d[1], -np.linalg.solve(definite, g), rtol=1e-10)


@pytest.mark.parametrize("solver", [optim.newton, optim.bfgs])
def test_quadratic_in_float32_pytree_under_jit(solver):
    start = {"u": np.array([3.0, -1.0], np.float32), "v": np.array([0.5, 2.0, -4.0], np.float32)}
    # Under jit, compiled the cheap way fdl gradcheck compiles: the whole solve is
    # inlined into this one program, which runs once.
    solve = lambda p: solver(quadratic, p, tol=1e-4)  # noqa: E731
    params, info = compiled_once(solve, start)(start)
    assert jax.tree.structure(params) == jax.tree.structure(start)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(params))
    assert info.loss.dtype == jnp.float32 and bool(info.converged)
    z = np.concatenate([params["u"], params["v"]])
    # The minimiser A^{-1} b; float32 rounding on a condition number ~10 is ~1e-6
    # relative, 1e-5 leaves margin.
    np.testing.assert_allclose(z, np.linalg.solve(A, B), rtol=1e-5, atol=1e-5)
    if solver is optim.newton:
        # theta* = theta0 - H^{-1} grad J(theta0) is exact on a quadratic: one step, one
        # evaluation at the start and one in the line search (the full step accepted).
        assert int(info.iterations) == 1 and int(info.function_evals) == 2


# -------------------------------------------------------------------------------- BFGS


@pytest.mark.parametrize("start", [[-1.2, 1.0], [0.0, 1.0]])
def test_bfgs_on_rosenbrock_matches_scipy(start):
    with jax.enable_x64(True):
        x, info = optim.bfgs(rosenbrock, jnp.array(start), tol=1e-8)
    reference = scipy_rosenbrock(start, "BFGS", gtol=1e-8)
    # ||g||_inf <= 1e-8 near a minimum with Hessian eigenvalues in [0.4, 1000] puts x
    # within ~2.5e-8 of x*.
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(reference.x, [1.0, 1.0], atol=1e-7)
    assert bool(info.converged)
    # Same method, same line-search conditions: comparable work (SciPy: 34 iterations
    # from the classic start; fdl: 38, its first update rescales H_0).
    assert int(info.iterations) <= 1.5 * reference.nit + 5
    assert int(info.function_evals) <= 1.5 * reference.nfev + 5


def test_softmax_regression_bfgs_and_lbfgs_find_scipys_minimum():
    solutions, reference = softmax_solutions()
    for name, (params, info) in solutions.items():
        assert bool(info.converged), name
        # Strictly convex with curvature >= 2 * LAMBDA = 0.02: gradients below 1e-8 (ours,
        # SciPy's in the 2-norm) put each within ~5e-7 of the minimiser.
        got = np.concatenate([params["W"].ravel(), params["b"]])
        np.testing.assert_allclose(got, reference.x, atol=1e-6, err_msg=name)
        # f is flat at the minimum: the loss agrees to the square of that distance.
        np.testing.assert_allclose(float(info.loss), reference.fun, rtol=1e-12, err_msg=name)
    # Comparable work for the same method (SciPy's BFGS: 41 iterations, 42 evals).
    bfgs_info = solutions["bfgs"][1]
    assert int(bfgs_info.iterations) <= 1.5 * reference.nit + 5
    assert int(bfgs_info.function_evals) <= 1.5 * reference.nfev + 5


def test_bfgs_inverse_update_satisfies_the_secant_equation():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(4, 4))
    h = m @ m.T + np.eye(4)
    s = rng.normal(size=4)
    y = s + 0.1 * rng.normal(size=4)  # y^T s > 0
    with jax.enable_x64(True):
        update = jax.jit(_second_order.bfgs_inverse_update)
        h_new = np.asarray(update(*map(jnp.asarray, (h, s, y))))
    rho = 1.0 / (s @ y)
    left = np.eye(4) - rho * np.outer(s, y)  # the product form, N&W eq. 6.17
    # float64, a few flops deep on O(1) entries.
    np.testing.assert_allclose(h_new, left @ h @ left.T + rho * np.outer(s, s), rtol=1e-12)
    np.testing.assert_allclose(h_new @ y, s, rtol=1e-12)
    np.testing.assert_allclose(h_new, h_new.T, rtol=1e-14)


# ------------------------------------------------------------------------ argument checks


@pytest.mark.parametrize(("solver", "matrix"), [(optim.newton, "Hessian"), (optim.bfgs, "inverse-Hessian")])
def test_too_many_parameters_says_why(solver, matrix):
    f = lambda p: jnp.sum(p["w"] ** 2)  # noqa: E731
    big = {"w": jnp.zeros((101, 100))}  # 10,100 float32 entries
    with pytest.raises(ValueError, match="max_params") as caught:
        solver(f, big)
    message = str(caught.value)
    assert "N = 10,100" in message and matrix in message
    assert "102,010,000 entries" in message and "408,040,000 bytes" in message
    assert "O(N^" in message and "lbfgs" in message
    with pytest.raises(ValueError, match="max_params = 4"):
        solver(f, {"w": jnp.zeros(5)}, max_params=4)


@pytest.mark.parametrize("solver", [optim.newton, optim.bfgs])
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_iters": 0}, "max_iters"),
        ({"tol": -1.0}, "tol"),
        ({"ftol": -1.0}, "ftol"),
        ({"max_params": 0}, "max_params"),
        ({"max_linesearch": 0}, "max_linesearch"),
        ({"c1": 0.0}, "c1"),
        ({"c1": 0.5, "c2": 0.4}, "c2"),
    ],
)
def test_bad_arguments_raise_value_error(solver, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        solver(rosenbrock, jnp.zeros(2), **kwargs)


def test_bad_damping_objective_and_types():
    with pytest.raises(ValueError, match="^damping must"):
        optim.newton(rosenbrock, jnp.zeros(2), damping=0.0)
    with pytest.raises(TypeError, match="^f must"):
        optim.bfgs("rosenbrock", jnp.zeros(2))
    with pytest.raises(ValueError, match="^f must return a scalar"):
        optim.newton(lambda p: p**2, jnp.zeros(2))
    with pytest.raises(TypeError, match="floating dtype"):
        optim.bfgs(lambda p: jnp.sum(p), jnp.arange(3))
    with pytest.raises(TypeError, match="^max_params must be an int"):
        optim.newton(rosenbrock, jnp.zeros(2), max_params=1e4)
