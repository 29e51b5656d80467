"""Global-norm clipping and the max-norm projection, against NumPy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import optim


def random_tree(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return {
        "dense": {"w": scale * rng.normal(size=(5, 4)), "b": scale * rng.normal(size=(4,))},
        "conv": (scale * rng.normal(size=(3, 3, 2, 6)), scale * rng.normal(size=(6,))),
        "scale": np.asarray(scale * rng.normal()),
    }


def numpy_global_norm(tree):
    return np.sqrt(sum(np.sum(np.asarray(x) ** 2) for x in jax.tree.leaves(tree)))


def test_global_norm_matches_numpy():
    with jax.enable_x64(True):
        tree = jax.tree.map(jnp.asarray, random_tree())
        got = optim.global_norm(tree)
    np.testing.assert_allclose(got, numpy_global_norm(random_tree()), rtol=1e-14)


def test_global_norm_of_empty_tree_is_zero():
    assert float(optim.global_norm({})) == 0.0


def test_global_norm_does_not_overflow_in_half_precision():
    # 300^2 * 1000 = 9e7 overflows float16 (max 65504); the sum is taken in float32.
    tree = jnp.full((1000,), 300.0, jnp.float16)
    np.testing.assert_allclose(optim.global_norm(tree), 300.0 * np.sqrt(1000), rtol=1e-3)


@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_clip_by_global_norm(scale):
    with jax.enable_x64(True):
        grads = jax.tree.map(jnp.asarray, random_tree(scale=scale))
        norm_before = numpy_global_norm(random_tree(scale=scale))
        clipped, norm = optim.clip_by_global_norm(grads, max_norm=1.0)
    np.testing.assert_allclose(norm, norm_before, rtol=1e-14)
    factor = min(1.0, 1.0 / norm_before)
    for got, want in zip(jax.tree.leaves(clipped), jax.tree.leaves(random_tree(scale=scale))):
        np.testing.assert_allclose(got, factor * want, rtol=1e-14)
    np.testing.assert_allclose(numpy_global_norm(clipped), min(norm_before, 1.0), rtol=1e-14)


def test_clip_leaves_small_gradients_bit_identical_and_zero_gradients_finite():
    grads = {"w": jnp.array([0.1, -0.2], jnp.float32)}
    clipped, _ = optim.clip_by_global_norm(grads, 5.0)
    np.testing.assert_array_equal(clipped["w"], grads["w"])
    zeros, norm = optim.clip_by_global_norm({"w": jnp.zeros(3)}, 1.0)
    assert float(norm) == 0.0 and np.all(np.isfinite(zeros["w"]))


def test_clip_keeps_dtypes_and_works_under_jit():
    grads = {"w": jnp.full((3,), 100.0, jnp.bfloat16), "b": jnp.ones(2, jnp.float32)}
    clipped, _ = jax.jit(optim.clip_by_global_norm, static_argnums=1)(grads, 1.0)
    assert clipped["w"].dtype == jnp.bfloat16 and clipped["b"].dtype == jnp.float32


def numpy_max_norm(w, c):
    if w.ndim < 2:
        return w
    units = w.reshape(-1, w.shape[-1])  # one column per output unit
    norms = np.sqrt(np.sum(units**2, axis=0))
    factor = np.where(norms > c, c / norms, 1.0)
    return (units * factor).reshape(w.shape)


def test_max_norm_project_matches_numpy():
    with jax.enable_x64(True):
        params = random_tree(scale=2.0)
        projected = optim.max_norm_project(jax.tree.map(jnp.asarray, params), c=3.0)
    for got, want in zip(jax.tree.leaves(projected), jax.tree.leaves(params)):
        np.testing.assert_allclose(got, numpy_max_norm(want, 3.0), rtol=1e-14)


def test_max_norm_project_bounds_each_unit_and_skips_biases():
    params = {
        "dense": jnp.array([[3.0, 0.3], [4.0, 0.4]]),  # column norms 5 and 0.5
        "conv": jnp.ones((2, 2, 3, 4)),  # each filter's norm is sqrt(12)
        "bias": jnp.full((4,), 10.0),
    }
    out = optim.max_norm_project(params, 1.0)
    np.testing.assert_allclose(out["dense"], [[0.6, 0.3], [0.8, 0.4]], rtol=1e-6)
    filter_norms = jnp.sqrt(jnp.sum(out["conv"] ** 2, axis=(0, 1, 2)))
    np.testing.assert_allclose(filter_norms, 1.0, rtol=1e-6)
    np.testing.assert_array_equal(out["bias"], params["bias"])


def test_chain_clip_equals_clip_then_update():
    params = {"w": jnp.ones((2, 2)), "b": jnp.zeros(2)}
    grads = {"w": jnp.full((2, 2), 30.0), "b": jnp.full((2,), -40.0)}
    inner = optim.momentum(0.1)
    wrapped = optim.chain_clip(inner, max_norm=2.0)
    state = wrapped.init(params)
    assert isinstance(state, optim.MomentumState)
    got, got_state = wrapped.update(params, grads, state)
    clipped, _ = optim.clip_by_global_norm(grads, 2.0)
    want, want_state = inner.update(params, clipped, inner.init(params))
    for a, b in zip(jax.tree.leaves((got, got_state)), jax.tree.leaves((want, want_state))):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_with_max_norm_projects_after_every_update():
    opt = optim.with_max_norm(optim.sgd(1.0), c=2.0)
    params = {"w": jnp.zeros((3, 2)), "b": jnp.zeros(2)}
    state = opt.init(params)
    update = jax.jit(opt.update)
    for _ in range(5):
        grads = {"w": -jnp.ones((3, 2)), "b": -jnp.ones(2)}
        params, state = update(params, grads, state)
        assert float(jnp.max(jnp.linalg.norm(params["w"], axis=0))) <= 2.0 + 1e-6
    # Biases are not projected: five steps of +1 each.
    np.testing.assert_allclose(params["b"], 5.0)
    assert int(state.step) == 5 and float(optim.current_lr(state)) == 1.0


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: optim.clip_by_global_norm({"w": jnp.ones(2)}, 0.0), "max_norm"),
        (lambda: optim.max_norm_project({"w": jnp.ones((2, 2))}, -1.0), "c"),
        (lambda: optim.chain_clip(optim.sgd(0.1), -1.0), "max_norm"),
        (lambda: optim.with_max_norm(optim.sgd(0.1), 0.0), "c"),
    ],
)
def test_bad_norms_raise_value_error(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must be > 0"):
        call()


def test_wrappers_need_an_optimizer():
    with pytest.raises(TypeError, match="optimizer"):
        optim.with_max_norm(lambda p: p, 3.0)
    with pytest.raises(TypeError, match="optimizer"):
        optim.chain_clip("adam", 1.0)
