"""sgd, momentum and nesterov against NumPy transcriptions of the notes' update lines."""

import importlib.util
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import optim


def _load_helpers():
    path = pathlib.Path(__file__).with_name("helpers_optim.py")
    spec = importlib.util.spec_from_file_location("helpers_optim", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


helpers = _load_helpers()
STEPS = 20
TREES = helpers.trees()


# The notes' lines, verbatim but for the learning-rate name.
def numpy_sgd(x, dx, *, t, lr):
    x = x + -lr * dx
    return (x,)


def numpy_momentum(x, dx, v, *, t, lr, mu=0.8):
    v = mu * v - lr * dx  # integrate velocity
    x = x + v  # integrate position
    return x, v


def numpy_nesterov(x, dx, v, *, t, lr, mu=0.8):
    v_prev = v
    v = mu * v - lr * dx
    x = x + -mu * v_prev + (1 + mu) * v
    return x, v


CASES = {
    "sgd": (lambda lr: optim.sgd(lr), numpy_sgd, 0),
    "momentum": (lambda lr: optim.momentum(lr, mu=0.8), numpy_momentum, 1),
    "nesterov": (lambda lr: optim.nesterov(lr, mu=0.8), numpy_nesterov, 1),
}


@pytest.mark.parametrize("tree", sorted(TREES))
@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_matches_numpy_notes(rule, tree):
    make, reference_rule, num_state = CASES[rule]
    with jax.enable_x64(True):
        params = TREES[tree]
        noises = helpers.noise_sequence(params, STEPS)
        got, state = helpers.run_fdl(make(0.1), params, noises)
        want = helpers.run_numpy(reference_rule, params, noises, num_state, lambda _: 0.1)
    helpers.assert_trajectories_close(got, want)
    assert int(state.step) == STEPS
    assert jax.tree.structure(got[-1]) == jax.tree.structure(params)
    assert all(leaf.dtype == np.float64 for leaf in jax.tree.leaves(got[-1]))


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_with_schedule_matches_numpy(rule):
    make, reference_rule, num_state = CASES[rule]
    with jax.enable_x64(True):
        params = TREES["dict"]
        noises = helpers.noise_sequence(params, STEPS)
        got, state = helpers.run_fdl(make(optim.exponential_decay(0.2, k=0.1)), params, noises)
        want = helpers.run_numpy(
            reference_rule, params, noises, num_state, lambda t: 0.2 * np.exp(-0.1 * t)
        )
    helpers.assert_trajectories_close(got, want)
    # The state reports the lr of the last update, taken at step STEPS - 1.
    np.testing.assert_allclose(
        optim.current_lr(state), 0.2 * np.exp(-0.1 * (STEPS - 1)), rtol=1e-6
    )
    assert optim.current_lr(state).dtype == jnp.float32


def quadratic_grad(x):
    """Gradient of 0.5 x^T A x - b^T x with a fixed, ill-conditioned A."""
    a = jnp.array([[3.0, 0.5], [0.5, 1.0]])
    b = jnp.array([1.0, -2.0])
    return a @ x - b


def test_nesterov_rewrite_matches_look_ahead_definition():
    """The notes' rewrite tracks phi = theta + mu v of the look-ahead definition."""
    lr, mu = 0.1, 0.9
    with jax.enable_x64(True):
        theta = jnp.array([2.0, -1.0])
        v = jnp.zeros(2)
        opt = optim.nesterov(lr, mu)
        phi = theta  # v_0 = 0, so both variables start at the same point
        state = opt.init(phi)
        for _ in range(100):
            # Definition: the gradient is taken at the look-ahead point theta + mu v.
            v = mu * v - lr * quadratic_grad(theta + mu * v)
            theta = theta + v
            # Rewrite: the gradient is taken at the parameters, phi.
            phi, state = opt.update(phi, quadratic_grad(phi), state)
            np.testing.assert_allclose(state.v, v, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(phi, theta + mu * v, rtol=1e-12, atol=1e-14)
        # Both converge to the minimiser A^{-1} b.
        minimiser = np.linalg.solve([[3.0, 0.5], [0.5, 1.0]], [1.0, -2.0])
        np.testing.assert_allclose(theta, minimiser, atol=1e-2)


def test_nesterov_differs_from_momentum():
    """The look-ahead changes the iterates: guard against nesterov silently being momentum."""
    params = jnp.array([2.0, -1.0])
    a, b = params, params
    opt_n, opt_m = optim.nesterov(0.1, 0.9), optim.momentum(0.1, 0.9)
    state_n, state_m = opt_n.init(params), opt_m.init(params)
    for _ in range(3):
        a, state_n = opt_n.update(a, quadratic_grad(a), state_n)
        b, state_m = opt_m.update(b, quadratic_grad(b), state_m)
    assert float(jnp.max(jnp.abs(a - b))) > 1e-3


def test_momentum_equals_velocity_accumulating_form_for_constant_lr():
    """v = mu v - lr dx; x += v  is  u = mu u + dx; x -= lr u  with v = -lr u."""
    lr, mu = 0.05, 0.9
    with jax.enable_x64(True):
        x_other = jnp.array([2.0, -1.0])
        u = jnp.zeros(2)
        opt = optim.momentum(lr, mu)
        x = x_other
        state = opt.init(x)
        for _ in range(25):
            u = mu * u + quadratic_grad(x_other)
            x_other = x_other - lr * u
            x, state = opt.update(x, quadratic_grad(x), state)
            np.testing.assert_allclose(x, x_other, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(state.v, -lr * u, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("make", [optim.sgd, optim.momentum, optim.nesterov])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
def test_parameter_dtype_is_kept(make, dtype):
    opt = make(0.1)
    params32 = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
    grads = {"w": jnp.ones((2, 3)), "b": jnp.ones(3)}  # float32 grads, cast to dtype
    params = jax.tree.map(lambda x: x.astype(dtype), params32)
    new, state = opt.update(params, grads, opt.init(params))
    assert all(leaf.dtype == dtype for leaf in jax.tree.leaves(new))
    # The state is kept in at least float32: half precision cannot hold it.
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(state[1:-1]))
    want, _ = opt.update(params32, grads, opt.init(params32))
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(want)):
        # Half-precision types keep about 3 significant digits.
        np.testing.assert_allclose(np.asarray(a, np.float32), b, rtol=1e-2)
