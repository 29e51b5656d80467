"""Every optimizer converges on a quadratic and on Rosenbrock, and compiles once.

Settings (float32, start (-1.2, 1) for Rosenbrock, minimum at (1, 1)), chosen so each
optimizer gets within 1e-3 of the minimum; the adaptive ones use a decaying schedule
since with a constant lr they keep hopping around the minimum at a distance ~ lr:

| optimizer | Rosenbrock lr                 | steps  | quadratic lr | steps |
|-----------|-------------------------------|--------|--------------|-------|
| sgd       | 1e-3                          | 20000  | 0.1          | 500   |
| momentum  | 1e-3, mu 0.9                  | 5000   | 0.05         | 500   |
| nesterov  | 1e-3, mu 0.9                  | 5000   | 0.05         | 500   |
| adagrad   | 0.5                           | 20000  | 0.5          | 500   |
| rmsprop   | cosine 1e-2 -> 0 over 10000   | 10000  | cosine 0.05  | 500   |
| adam      | cosine 5e-2 -> 0 over 5000    | 5000   | cosine 0.1   | 500   |
| adamw     | as adam, weight_decay 1e-4    | 5000   | as adam      | 500   |
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from fdl import optim


def rosenbrock(p):
    x, y = p["xy"][0], p["xy"][1]
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


QUADRATIC_A = jnp.array([1.0, 10.0, 3.0])
QUADRATIC_B = jnp.array([1.0, -2.0, 0.5])


def quadratic(p):
    """0.5 sum(a x^2) - b.x over a nested tree, minimum at x = b / a (condition 10)."""
    x = jnp.concatenate([p["first"], p["rest"][0]])
    return 0.5 * jnp.sum(QUADRATIC_A * x**2) - jnp.dot(QUADRATIC_B, x)


ROSENBROCK = {
    "sgd": (lambda: optim.sgd(1e-3), 20000),
    "momentum": (lambda: optim.momentum(1e-3, mu=0.9), 5000),
    "nesterov": (lambda: optim.nesterov(1e-3, mu=0.9), 5000),
    "adagrad": (lambda: optim.adagrad(0.5), 20000),
    "rmsprop": (lambda: optim.rmsprop(optim.cosine_decay(1e-2, 10000)), 10000),
    "adam": (lambda: optim.adam(optim.cosine_decay(5e-2, 5000)), 5000),
    "adamw": (lambda: optim.adamw(optim.cosine_decay(5e-2, 5000), weight_decay=1e-4), 5000),
}

QUADRATIC = {
    "sgd": lambda: optim.sgd(0.1),
    "momentum": lambda: optim.momentum(0.05),
    "nesterov": lambda: optim.nesterov(0.05),
    "adagrad": lambda: optim.adagrad(0.5),
    "rmsprop": lambda: optim.rmsprop(optim.cosine_decay(0.05, 500)),
    "adam": lambda: optim.adam(optim.cosine_decay(0.1, 500)),
    "adamw": lambda: optim.adamw(optim.cosine_decay(0.1, 500), weight_decay=1e-4),
}


def minimise(opt, f, params, steps):
    """``steps`` updates on the full gradient, as one compiled loop."""

    @jax.jit
    def run(params):
        def body(_, carry):
            params, state = carry
            return opt.update(params, jax.grad(f)(params), state)

        return lax.fori_loop(0, steps, body, (params, opt.init(params)))

    return run(params)


@pytest.mark.parametrize("name", sorted(ROSENBROCK))
def test_converges_on_rosenbrock(name):
    make, steps = ROSENBROCK[name]
    params, state = minimise(make(), rosenbrock, {"xy": jnp.array([-1.2, 1.0])}, steps)
    np.testing.assert_allclose(params["xy"], [1.0, 1.0], atol=1e-3)
    assert float(rosenbrock(params)) < 1e-5
    assert int(state.step) == steps


@pytest.mark.parametrize("name", sorted(QUADRATIC))
def test_converges_on_quadratic(name):
    params = {"first": jnp.zeros(1), "rest": (jnp.zeros(2),)}
    params, _ = minimise(QUADRATIC[name](), quadratic, params, 500)
    x = jnp.concatenate([params["first"], params["rest"][0]])
    np.testing.assert_allclose(x, QUADRATIC_B / QUADRATIC_A, atol=1e-3)


ALL = {name: make for name, (make, _) in ROSENBROCK.items()}
ALL["adam_clipped_max_norm"] = lambda: optim.with_max_norm(
    optim.chain_clip(optim.adam(1e-2), max_norm=1.0), c=3.0
)


@pytest.mark.parametrize("name", sorted(ALL))
def test_second_update_does_not_retrace(name):
    opt = ALL[name]()
    traces = []

    @jax.jit
    def update(params, grads, state):
        traces.append(None)  # runs only while tracing
        return opt.update(params, grads, state)

    params = {"w": jnp.ones((3, 2)), "b": (jnp.zeros(2), jnp.asarray(0.5, jnp.float32))}
    state = opt.init(params)
    grads = jax.tree.map(lambda x: 0.1 * jnp.ones_like(x), params)
    for _ in range(3):
        new_params, new_state = update(params, grads, state)
        # The state keeps its structure, dtypes and shapes from one step to the next.
        assert jax.tree.structure(new_state) == jax.tree.structure(state)
        for a, b in zip(jax.tree.leaves(new_state), jax.tree.leaves(state)):
            assert (a.dtype, a.shape) == (b.dtype, b.shape)
        params, state = new_params, new_state
    assert len(traces) == 1
    assert state.step.dtype == jnp.int32 and int(state.step) == 3
    assert state.lr.dtype == jnp.float32


@pytest.mark.parametrize("name", sorted(ALL))
def test_runs_eagerly_on_python_scalar_and_list_trees(name):
    opt = ALL[name]()
    params = [1.5, {"x": 2.0}]
    state = opt.init(params)
    new, state = opt.update(params, [1.0, {"x": -1.0}], state)
    assert jax.tree.structure(new) == jax.tree.structure(params)
    assert float(new[0]) < 1.5 and float(new[1]["x"]) > 2.0
