"""adagrad, rmsprop, adam and adamw against NumPy transcriptions of the notes' lines."""

import functools
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
EPS = 1e-7


# The notes' lines, with eps outside the square root and t counted from 1.
def numpy_adagrad(x, dx, cache, *, t, lr):
    cache = cache + dx**2
    x = x + -lr * dx / (np.sqrt(cache) + EPS)
    return x, cache


def numpy_rmsprop(x, dx, cache, *, t, lr, decay_rate=0.9):
    cache = decay_rate * cache + (1 - decay_rate) * dx**2
    x = x + -lr * dx / (np.sqrt(cache) + EPS)
    return x, cache


def numpy_adam(x, dx, m, v, *, t, lr, beta1=0.8, beta2=0.95, weight_decay=0.0):
    m = beta1 * m + (1 - beta1) * dx  # first moment
    v = beta2 * v + (1 - beta2) * dx**2  # second moment
    mb = m / (1 - beta1**t)  # correct bias
    vb = v / (1 - beta2**t)  # correct bias
    x = x + -lr * (mb / (np.sqrt(vb) + EPS) + weight_decay * x)
    return x, m, v


def numpy_adamw(x, dx, m, v, *, t, lr):
    return numpy_adam(x, dx, m, v, t=t, lr=lr, weight_decay=0.3)


# Betas below their defaults make the bias correction matter over 20 steps.
CASES = {
    "adagrad": (lambda lr: optim.adagrad(lr, eps=EPS), numpy_adagrad, 1),
    "rmsprop": (lambda lr: optim.rmsprop(lr, decay_rate=0.9, eps=EPS), numpy_rmsprop, 1),
    "adam": (lambda lr: optim.adam(lr, beta1=0.8, beta2=0.95, eps=EPS), numpy_adam, 2),
    "adamw": (
        lambda lr: optim.adamw(lr, beta1=0.8, beta2=0.95, eps=EPS, weight_decay=0.3),
        numpy_adamw,
        2,
    ),
}


@functools.cache
def _runs(rule, tree):
    """``(fdl's trajectory, its final state, NumPy's trajectory, the noises)`` of ``rule``
    at lr 0.05 on ``TREES[tree]``: computed once, for every test that checks them."""
    make, reference_rule, num_state = CASES[rule]
    with jax.enable_x64(True):
        params = TREES[tree]
        noises = helpers.noise_sequence(params, STEPS)
        got, state = helpers.run_fdl(make(0.05), params, noises)
        want = helpers.run_numpy(reference_rule, params, noises, num_state, lambda _: 0.05)
    return got, state, want, noises


@pytest.mark.parametrize("tree", sorted(TREES))
@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_matches_numpy_notes(rule, tree):
    got, state, want, _ = _runs(rule, tree)
    helpers.assert_trajectories_close(got, want)
    assert int(state.step) == STEPS
    assert all(leaf.dtype == np.float64 for leaf in jax.tree.leaves(got[-1]))


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_with_schedule_matches_numpy(rule):
    make, reference_rule, num_state = CASES[rule]
    with jax.enable_x64(True):
        params = TREES["nested_tuple"]
        noises = helpers.noise_sequence(params, STEPS)
        schedule = optim.inverse_time_decay(0.1, k=0.5)
        got, state = helpers.run_fdl(make(schedule), params, noises)
        want = helpers.run_numpy(
            reference_rule, params, noises, num_state, lambda t: 0.1 / (1 + 0.5 * t)
        )
    helpers.assert_trajectories_close(got, want)
    np.testing.assert_allclose(optim.current_lr(state), 0.1 / (1 + 0.5 * (STEPS - 1)), rtol=1e-6)


def test_adam_state_holds_the_moments():
    params = TREES["dict"]
    _, state, _, noises = _runs("adam", "dict")  # the run checked above, and its state
    moments = {}

    def record(x, dx, m, v, *, t, lr):
        out = numpy_adam(x, dx, m, v, t=t, lr=lr)
        moments[x.shape] = out[1:]
        return out

    helpers.run_numpy(record, params, noises, 2, lambda _: 0.05)
    assert isinstance(state, optim.AdamState)
    assert state._fields == ("step", "m", "v", "lr")
    for name in ("w", "b"):
        m, v = moments[params[name].shape]
        np.testing.assert_allclose(state.m[name], m, rtol=1e-12)
        np.testing.assert_allclose(state.v[name], v, rtol=1e-12)


def test_adam_first_step_has_length_lr():
    """With bias correction the first step is lr * sign(dx) (up to eps), whatever |dx|."""
    opt = optim.adam(0.01)
    params = jnp.zeros(3)
    grads = jnp.array([1e-3, -5.0, 2e2])
    new, _ = opt.update(params, grads, opt.init(params))
    np.testing.assert_allclose(new, -0.01 * jnp.sign(grads), rtol=1e-4)


def test_adamw_mask_skips_biases():
    """Masked-out leaves follow plain Adam exactly; decayed leaves shrink by lr*wd*x more."""
    params = {"w": jnp.full((2, 3), 2.0), "b": jnp.full((3,), 2.0)}
    grads = {"w": jnp.full((2, 3), 0.5), "b": jnp.full((3,), 0.5)}
    lr, wd = 0.1, 0.2
    plain, _ = optim.adam(lr).update(params, grads, optim.adam(lr).init(params))
    for mask in (optim.decay_mask_skip_biases, {"w": True, "b": False}):
        opt = optim.adamw(lr, weight_decay=wd, mask=mask)
        decayed, _ = opt.update(params, grads, opt.init(params))
        np.testing.assert_array_equal(decayed["b"], plain["b"])
        np.testing.assert_allclose(decayed["w"], plain["w"] - lr * wd * 2.0, rtol=1e-6)


def test_adamw_without_mask_decays_every_leaf():
    params = {"w": jnp.full((2, 3), 2.0), "b": jnp.full((3,), 2.0)}
    grads = jax.tree.map(jnp.zeros_like, params)
    opt = optim.adamw(0.1, weight_decay=0.5)
    new, _ = opt.update(params, grads, opt.init(params))
    for leaf in jax.tree.leaves(new):
        # Zero gradients: the Adam step is 0, only the decay x -= lr * wd * x remains.
        np.testing.assert_allclose(leaf, 2.0 * (1 - 0.1 * 0.5), rtol=1e-6)


def test_adamw_decay_follows_the_schedule():
    params = jnp.ones((2, 2))  # strongly typed: a weak float32 would be traced twice
    opt = optim.adamw(optim.step_decay(0.1, every=1, factor=0.5), weight_decay=1.0)
    state = opt.init(params)
    x = params
    update = jax.jit(opt.update)  # one program (eagerly, each operation compiles)
    for _ in range(3):
        x, state = update(x, jnp.zeros((2, 2)), state)
    # Decay factors (1 - lr_t * wd) with lr_t = 0.1, 0.05, 0.025.
    np.testing.assert_allclose(x, 0.9 * 0.95 * 0.975, rtol=1e-6)


def test_adamw_mask_with_wrong_structure_names_both_trees():
    params = {"w": jnp.ones((2, 2)), "b": jnp.ones(2)}
    opt = optim.adamw(0.1, mask={"w": True})
    with pytest.raises(ValueError, match=r"mask.*params: .*mask: "):
        opt.update(params, params, opt.init(params))


def test_adamw_mask_leaf_must_be_bool():
    params = {"w": jnp.ones((2, 2))}
    opt = optim.adamw(0.1, mask={"w": 1.0})
    with pytest.raises(TypeError, match=r"mask leaf \['w'\] must be a bool"):
        opt.update(params, params, opt.init(params))


def test_adamw_mask_string_is_rejected_at_construction():
    with pytest.raises(TypeError, match="mask"):
        optim.adamw(0.1, mask="biases")


@pytest.mark.parametrize("make", [optim.adagrad, optim.rmsprop, optim.adam, optim.adamw])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_parameter_dtype_is_kept(make, dtype):
    opt = make(0.1)
    params32 = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
    grads = {"w": jnp.full((2, 3), 0.5), "b": jnp.ones(3)}  # float32 grads
    params = jax.tree.map(lambda x: x.astype(dtype), params32)
    new, state = opt.update(params, grads, opt.init(params))
    assert all(leaf.dtype == dtype for leaf in jax.tree.leaves(new))
    # The state is kept in at least float32: half precision cannot hold it.
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(state[1:-1]))
    want, _ = opt.update(params32, grads, opt.init(params32))
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(want)):
        # bfloat16 keeps about 3 significant digits.
        np.testing.assert_allclose(np.asarray(a, np.float32), b, rtol=1e-2)
