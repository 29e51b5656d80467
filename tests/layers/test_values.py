"""Layer values against the ``fdl.nn`` ops; batch norm state, dropout keys, serial plumbing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import layers as L
from fdl import nn


def _x(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_dense_equals_affine_and_default_init():
    layer = L.Dense(100)
    params, state = layer.init(jax.random.key(0), (8, 8, 1))
    assert params["w"].shape == (64, 100) and state == {}
    np.testing.assert_array_equal(params["b"], 0.0)
    # Kaiming/He normal: std = sqrt(2 / fan_in).
    assert abs(float(np.std(np.asarray(params["w"]))) / np.sqrt(2 / 64) - 1) < 0.05
    x = _x((3, 8, 8, 1))
    # Layer and reference in one compiled program (eagerly, each op compiles on its own).
    out, expected = jax.jit(lambda p, x: (layer.apply(p, state, x)[0],
                                          nn.affine(x, p["w"], p["b"])))(params, x)
    np.testing.assert_array_equal(out, expected)


def test_dense_custom_initialisers():
    layer = L.Dense(3, w_init=lambda k, s, d: jnp.full(s, 0.5, d),
                    b_init=lambda k, s, d: jnp.ones(s, d))
    params, _ = layer.init(jax.random.key(0), (2,))
    np.testing.assert_array_equal(params["w"], 0.5)
    np.testing.assert_array_equal(params["b"], 1.0)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((1, 2), "SAME")])
def test_conv_equals_conv2d(stride, padding):
    layer = L.Conv(3, (3, 3), stride=stride, padding=padding)
    params, _ = layer.init(jax.random.key(0), (7, 7, 2))
    assert params["w"].shape == (3, 3, 2, 3) and params["b"].shape == (3,)
    x = _x((2, 7, 7, 2))
    params = {"w": params["w"], "b": _x((3,), seed=5)}
    im2col = L.Conv(3, 3, stride=stride, padding=padding, impl="im2col")
    # Both layers and the reference in one compiled program.
    out, expected, out2 = jax.jit(lambda p, x: (
        layer.apply(p, {}, x)[0], nn.conv2d(x, p["w"], p["b"], stride, padding),
        im2col.apply(p, {}, x)[0]))(params, x)  # fmt: skip
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out2, out, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("manual", [False, True])
def test_conv_without_bias_has_no_b_and_no_b_gradient(manual):
    layer = L.Conv(3, 3, stride=2, padding=((1, 0), (1, 0)), bias=False, manual=manual)
    params, _ = layer.init(jax.random.key(0), (6, 6, 2))
    assert set(params) == {"w"} and params["w"].shape == (3, 3, 2, 3)
    x = _x((2, 6, 6, 2))

    def loss(params):
        return jnp.sum(layer.apply(params, {}, x)[0] ** 2)

    out, grads, expected = jax.jit(lambda p: (
        layer.apply(p, {}, x)[0], jax.grad(loss)(p),
        nn.conv2d(x, p["w"], jnp.zeros(3), 2, ((1, 0), (1, 0)))))(params)  # fmt: skip
    assert set(grads) == {"w"} and np.any(np.asarray(grads["w"]) != 0)
    assert out.shape == (2, 3, 3, 3)
    # The same convolution, possibly written differently (the manual twin): float32
    # rounding may differ slightly.
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def _layers_and_ops(pairs, x):
    """``[(layer(x), op(x)) ...]`` for ``(layer, op)`` pairs, one compiled program (eagerly,
    the pools' window slices compile one by one: ~14 programs a test)."""
    return jax.jit(lambda x: [(layer.apply({}, {}, x)[0], op(x)) for layer, op in pairs])(x)


def test_padded_pools_equal_ops():
    x = _x((2, 6, 6, 3))
    ceil_mode = ((0, 1), (0, 1))
    pairs = [(L.MaxPool(3, 2, padding=ceil_mode), lambda x: nn.max_pool2d(x, 3, 2, ceil_mode)),
             (L.AvgPool(3, 2, padding=ceil_mode, manual=True),
              lambda x: nn.avg_pool2d(x, 3, 2, ceil_mode))]  # fmt: skip
    for out, expected in _layers_and_ops(pairs, x):
        assert out.shape == (2, 3, 3, 3)
        # The manual twin's forward is the automatic one: the same operations, bit for bit.
        np.testing.assert_array_equal(out, expected)


def test_pools_equal_ops():
    x = _x((2, 6, 6, 3))
    pairs = [(L.MaxPool(), lambda x: nn.max_pool2d(x, 2, 2)),
             (L.AvgPool(3, 3), lambda x: nn.avg_pool2d(x, 3, 3))]
    for out, expected in _layers_and_ops(pairs, x):
        np.testing.assert_array_equal(out, expected)


def test_batchnorm_train_eval_and_state_through_serial():
    model = L.serial(L.Dense(5), L.BatchNorm(momentum=0.9), L.Relu())
    params, state = model.init(jax.random.key(0), (8,))
    assert set(params[1]) == {"gamma", "beta"}
    np.testing.assert_array_equal(state[1]["mean"], 0.0)
    np.testing.assert_array_equal(state[1]["var"], 1.0)
    x = _x((32, 8)) * 3.0 + 2.0
    bn_only = L.serial(L.Dense(5), L.BatchNorm())

    @jax.jit
    def run(params, state, x):
        """Everything the test looks at, from one compiled program (statistics in NumPy:
        eager, every op would compile on its own; batch_norm's eager and jitted values
        agree in tests/test_registry.py)."""
        h = nn.affine(x, params[0]["w"], params[0]["b"])
        y, _ = bn_only.apply(params[:2], state[:2], x, train=True)
        out, new_state = model.apply(params, state, x, train=True)
        out_eval, same = model.apply(params, new_state, x, train=False)
        # One example on its own in eval mode: no batch statistics to depend on.
        single, _ = model.apply(params, new_state, x[:1], train=False)
        return h, y, out, new_state, out_eval, same, single

    h, y, out, new_state, out_eval, same, single = jax.device_get(run(params, state, x))

    # Training: batch statistics normalise (before the ReLU) and the state moves.
    np.testing.assert_allclose(np.mean(y, axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.var(y, axis=0), 1.0, rtol=1e-3)
    np.testing.assert_allclose(out, np.maximum(y, 0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(new_state[1]["mean"], 0.1 * np.mean(h, axis=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new_state[1]["var"], 0.9 + 0.1 * np.var(h, axis=0), rtol=1e-5)
    assert new_state[0] == {} and new_state[2] == {}

    # Evaluation: running statistics, state returned unchanged.
    mean, var = new_state[1]["mean"], new_state[1]["var"]
    expected = (h - mean) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(out_eval, np.maximum(expected, 0), rtol=1e-4, atol=1e-5)
    for a, b in zip(jax.tree.leaves(same), jax.tree.leaves(new_state)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(single, out_eval[:1], rtol=1e-5, atol=1e-6)


def test_dropout_eval_identity_train_needs_key_and_keys_differ():
    layer = L.Dropout(0.5)
    params, state = layer.init(jax.random.key(0), (4000,))
    x = jnp.ones((1, 4000))  # the shape of the next test: one compiled mask draw
    out, _ = layer.apply(params, state, x)
    assert out is x
    with pytest.raises(ValueError, match="Dropout.*key"):
        layer.apply(params, state, x, train=True)
    a, _ = layer.apply(params, state, x, train=True, key=jax.random.key(1))
    b, _ = layer.apply(params, state, x, train=True, key=jax.random.key(2))
    a2, _ = layer.apply(params, state, x, train=True, key=jax.random.key(1))
    assert set(np.unique(np.asarray(a)).tolist()) <= {0.0, 2.0}
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(a, nn.dropout(x, jax.random.key(1), rate=0.5, train=True))


def test_serial_splits_keys_between_dropout_layers():
    model = L.serial(L.Dropout(0.5), L.Relu(), L.Dropout(0.5))
    params, state = model.init(jax.random.key(0), (4000,))
    x = jnp.ones((1, 4000))
    key = jax.random.key(3)
    out, _ = model.apply(params, state, x, train=True, key=key)
    # One sub-key per layer that needs one, in order.
    k1, k2 = jax.random.split(key, 2)
    first = nn.dropout(x, k1, rate=0.5, train=True)
    np.testing.assert_array_equal(out, nn.dropout(first, k2, rate=0.5, train=True))
    # Independent masks keep ~1/4 of the units (the same mask twice would keep ~1/2).
    assert 0.2 < float(np.mean(np.asarray(out) > 0)) < 0.3
    with pytest.raises(ValueError, match="key"):
        model.apply(params, state, x, train=True)
    # Without training no key is needed and nothing is dropped.
    np.testing.assert_array_equal(model.apply(params, state, x)[0], x)


def test_nested_serial_threads_state_and_keys():
    inner = L.serial(L.BatchNorm(), L.Dropout(0.5))
    model = L.serial(L.Dense(5), inner, L.Dropout(0.5))
    assert model.needs_key and inner.needs_key and not L.serial(L.Relu()).needs_key
    params, state = model.init(jax.random.key(0), (8,))
    # Compiled: eagerly, each op of the batch norm and dropouts would compile on its own.
    apply = jax.jit(model.apply, static_argnames="train")
    out, new_state = apply(params, state, _x((16, 8)), train=True, key=jax.random.key(4))
    assert out.shape == (16, 5)
    assert not np.allclose(new_state[1][0]["mean"], state[1][0]["mean"])
