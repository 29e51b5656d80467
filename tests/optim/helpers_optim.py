"""Shared by the fdl.optim tests: parameter trees, a gradient sequence, and two drivers.

A rule is checked by running it for several steps twice, once through ``fdl.optim``
(jitted, on JAX arrays) and once through a NumPy transcription of the notes' lines, on
the same sequence of gradients ``dx_t = 0.5 * x_t + noise_t`` (the gradient of a
quadratic plus fixed noise, so the iterates feed back into the gradients). Load with::

    helpers = load_helpers()  # see the top of each test module
"""

import jax
import jax.numpy as jnp
import numpy as np

CURVATURE = 0.5


def trees():
    """Parameter trees of float64 NumPy arrays: a dict, nested tuples, a bare scalar."""
    rng = np.random.default_rng(0)
    return {
        "dict": {"w": rng.normal(size=(3, 4)), "b": rng.normal(size=(4,))},
        "nested_tuple": (
            rng.normal(size=(2,)),
            (rng.normal(size=(3, 2)), np.asarray(rng.normal())),
        ),
        "scalar": np.asarray(rng.normal()),
    }


def noise_sequence(params, steps, seed=1):
    """One noise tree like ``params`` per step."""
    rng = np.random.default_rng(seed)
    return [
        jax.tree.map(lambda x: rng.normal(size=np.shape(x)), params) for _ in range(steps)
    ]


def run_fdl(optimizer, params, noises):
    """Runs ``optimizer`` (its ``update`` jitted) on the gradient sequence.

    Returns the list of parameter trees after each step (NumPy) and the final state.
    """
    params = jax.tree.map(jnp.asarray, params)
    state = optimizer.init(params)
    update = jax.jit(optimizer.update)
    trajectory = []
    for noise in noises:
        grads = jax.tree.map(lambda x, n: CURVATURE * x + n, params, noise)
        params, state = update(params, grads, state)
        trajectory.append(jax.tree.map(np.asarray, params))
    return trajectory, state


def run_numpy(rule, params, noises, num_state, lr_at):
    """Runs a NumPy rule ``rule(x, dx, *state, t=t, lr=lr) -> (x, *state)`` leaf by leaf.

    ``num_state`` state arrays per leaf start at zero; ``t`` counts updates from 1 and
    ``lr = lr_at(t - 1)``.
    """
    leaves, treedef = jax.tree.flatten(params)
    leaves = [np.array(x, dtype=np.float64) for x in leaves]
    states = [[np.zeros_like(x) for _ in range(num_state)] for x in leaves]
    trajectory = []
    for t, noise in enumerate(noises, start=1):
        noise_leaves = treedef.flatten_up_to(noise)
        for i, (x, n) in enumerate(zip(leaves, noise_leaves)):
            dx = CURVATURE * x + n
            x, *states[i] = rule(x, dx, *states[i], t=t, lr=lr_at(t - 1))
            leaves[i] = x
        trajectory.append(jax.tree.unflatten(treedef, [x.copy() for x in leaves]))
    return trajectory


def max_differences(trajectory, reference):
    """Max absolute and max relative difference over all steps and leaves."""
    worst_abs, worst_rel = 0.0, 0.0
    for got, want in zip(trajectory, reference):
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            diff = np.abs(np.asarray(a) - np.asarray(b))
            worst_abs = max(worst_abs, float(np.max(diff, initial=0.0)))
            rel = diff / np.maximum(np.abs(b), 1e-300)
            worst_rel = max(worst_rel, float(np.max(rel, initial=0.0)))
    return worst_abs, worst_rel


def assert_trajectories_close(trajectory, reference, rtol=1e-12, atol=1e-14):
    """Structure first, then every leaf of every step (float64 tolerances)."""
    assert len(trajectory) == len(reference)
    for got, want in zip(trajectory, reference):
        assert jax.tree.structure(got) == jax.tree.structure(want)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
