"""``manual=True`` builds: same params, forward values and gradients as the automatic ones.

Everything runs in float64 so that the hand-written and automatic gradients can be
compared to ``rtol=1e-9``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from programs import compiled_once

from fdl import layers as L
from fdl import losses, manual, models


def _zoo(m):
    """Every remaining op with a manual twin: im2col conv, avg pool, other activations."""
    return L.serial(
        L.Conv(3, 3, padding=1, impl="im2col", manual=m), L.LeakyRelu(0.1, manual=m),
        L.AvgPool(manual=m), L.Conv(4, 3, stride=2, padding=1, manual=m), L.Elu(manual=m),
        L.Flatten(manual=m), L.Dense(6, manual=m), L.Tanh(manual=m), L.Dense(5, manual=m),
        L.Sigmoid(manual=m), L.Dense(3, manual=m),
    )


BUILDS = [
    ("mlp", lambda m: models.mlp([16, 8], 3, batchnorm=True, dropout=0.3, manual=m), (6, 6, 1)),
    ("convnet", lambda m: models.convnet(((4, 4),), hidden=(12,), num_classes=3,
                                         batchnorm=True, dropout=0.3, manual=m), (8, 8, 2)),
    ("lenet5", lambda m: models.lenet5(num_classes=3, manual=m), (28, 28, 1)),
    ("zoo", _zoo, (6, 6, 2)),
]


def _random_like(tree, seed):
    """float64 NumPy values shaped like ``tree`` (no JAX random kernels to compile).

    Weights get a He-like scale; vectors (biases, gamma, beta, running mean) a spread
    around 0 or 1; running variances stay positive.
    """
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        last = getattr(path[-1], "key", None)
        z = rng.standard_normal(leaf.shape)
        if last in ("var", "gamma"):
            return 1.0 + 0.3 * np.abs(z) if last == "var" else 1.0 + 0.3 * z
        if len(leaf.shape) >= 2:
            return z * np.sqrt(2.0 / np.prod(leaf.shape[:-1]))
        return 0.1 * z

    return jax.tree_util.tree_map_with_path(fill, tree)


def _forward_and_grad(model, loss):
    """One compiled program: eval-mode scores, and the training loss with its gradient."""
    def f(params, state, x, y, key):
        scores, new_state = model.apply(params, state, x, train=True, key=key)
        return loss(scores, y), (scores, new_state)

    def run(params, state, x, y, key):
        eval_scores, _ = model.apply(params, state, x, train=False)
        return eval_scores, jax.value_and_grad(f, has_aux=True)(params, state, x, y, key)

    # Run once on a handful of examples: compiled the cheap way fdl gradcheck compiles.
    return lambda *args: compiled_once(run, *args)(*args)


@pytest.mark.parametrize("build, input_shape", [b[1:] for b in BUILDS], ids=[b[0] for b in BUILDS])
def test_manual_build_matches_automatic(build, input_shape, x64):
    auto, hand = build(False), build(True)
    shapes = jax.eval_shape(lambda k: auto.init(k, input_shape, jnp.float64), jax.random.key(0))
    params, state = _random_like(shapes, seed=0)
    x = np.random.default_rng(1).standard_normal((6,) + input_shape)
    y = np.arange(6) % 3

    # Evaluation forward; training forward (batch statistics, dropout with the same key)
    # and gradients.
    key = jax.random.key(2)
    out, ((loss, (scores, st)), grads) = _forward_and_grad(
        auto, losses.softmax_cross_entropy)(params, state, x, y, key)
    out_m, ((loss_m, (scores_m, st_m)), grads_m) = _forward_and_grad(
        hand, manual.softmax_cross_entropy)(params, state, x, y, key)
    np.testing.assert_allclose(out_m, out, rtol=1e-10, atol=1e-12)
    assert scores.dtype == jnp.float64
    np.testing.assert_allclose(loss_m, loss, rtol=1e-12)
    np.testing.assert_allclose(scores_m, scores, rtol=1e-10, atol=1e-12)
    for a, b in zip(jax.tree.leaves(st), jax.tree.leaves(st_m)):
        np.testing.assert_allclose(b, a, rtol=1e-12)
    assert jax.tree.structure(grads_m) == jax.tree.structure(grads)
    for g, g_m in zip(jax.tree.leaves(grads), jax.tree.leaves(grads_m)):
        assert np.max(np.abs(np.asarray(g))) > 0
        np.testing.assert_allclose(g_m, g, rtol=1e-9, atol=1e-12)


def test_manual_forward_float32():
    """The default float32 build: manual and automatic forward agree to float32 precision."""
    auto, hand = (models.convnet(((3,),), hidden=(), num_classes=5, batchnorm=True,
                                 manual=m) for m in (False, True))

    # Compiled, each step as one program (eagerly, each primitive of both builds
    # compiles on its own), the cheap way fdl gradcheck compiles.
    def inits():
        key = jax.random.key(0)  # the same key for both
        return auto.init(key, (4, 4, 2)), hand.init(key, (4, 4, 2))

    def forwards(params, state, x):
        """Both builds, in evaluation and in training mode."""
        return [(auto.apply(params, state, x, train=train),
                 hand.apply(params, state, x, train=train)) for train in (False, True)]

    (params, state), (params_m, state_m) = compiled_once(inits)()
    # Same params from the same key.
    for a, b in zip(jax.tree.leaves((params, state)), jax.tree.leaves((params_m, state_m))):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(1).standard_normal((5, 4, 4, 2)).astype(np.float32)
    for (out, st), (out_m, st_m) in compiled_once(forwards, params, state, x)(params, state, x):
        assert out_m.dtype == jnp.float32
        np.testing.assert_allclose(out_m, out, rtol=1e-5, atol=1e-5)
        for a, b in zip(jax.tree.leaves(st), jax.tree.leaves(st_m)):
            np.testing.assert_allclose(b, a, rtol=1e-6)
