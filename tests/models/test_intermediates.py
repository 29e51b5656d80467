"""``fdl.models.intermediates``: every leaf layer's output, the last one the model's."""

import jax
import numpy as np
import pytest
from programs import compiled_once

from fdl import layers as L
from fdl import models


def _init(model, input_shape):
    """float32 NumPy parameters and state shaped as ``model.init`` makes them.

    Drawn on the host: an eager ``init`` compiles each random and arithmetic operation
    on its own. Running variances stay positive.
    """
    shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), input_shape))
    rng = np.random.default_rng(0)

    def fill(path, leaf):
        z = rng.standard_normal(leaf.shape).astype(np.float32)
        return 1 + 0.3 * np.abs(z) if getattr(path[-1], "key", None) == "var" else 0.5 * z

    return jax.tree_util.tree_map_with_path(fill, shapes)


def _apply(model, params, state, x, train=False, key=None):
    """``model.apply``, compiled the cheap way fdl gradcheck compiles (it runs once)."""
    def run(params, state, x, key):
        return model.apply(params, state, x, train=train, key=key)

    return compiled_once(run, params, state, x, key)(params, state, x, key)


def test_mlp_with_dropout_and_batchnorm_in_training():
    model = models.mlp([8, 6], 3, batchnorm=True, dropout=0.5)
    params, state = _init(model, (4, 4, 1))
    x = np.random.default_rng(0).standard_normal((5, 4, 4, 1)).astype(np.float32)
    key = jax.random.key(1)
    acts = models.intermediates(model, params, state, x, train=True, key=key)
    assert len(acts) == len(model.sublayers)  # one per leaf layer
    assert [label for label, _ in acts][:3] == ["0:Flatten", "1:Dense(8)", "2:" + model.sublayers[2].name]
    out, _ = _apply(model, params, state, x, train=True, key=key)
    np.testing.assert_allclose(acts[-1][1], out, rtol=1e-6, atol=1e-6)  # same dropout masks
    assert acts[1][1].shape == (5, 8) and acts[0][1].shape == (5, 16)


def test_nested_models_are_listed_leaf_by_leaf():
    inner = L.serial(L.Conv(3, 3, padding=1), L.Relu())
    model = L.serial(inner, L.MaxPool(), L.Flatten(), L.Dense(2))
    params, state = _init(model, (4, 4, 1))
    x = np.ones((2, 4, 4, 1), np.float32)
    acts = models.intermediates(model, params, state, x)
    assert [label for label, _ in acts] == [
        "0.0:" + inner.sublayers[0].name, "0.1:Relu", "1:" + model.sublayers[1].name,
        "2:Flatten", "3:Dense(2)"]
    assert [a.shape for _, a in acts] == [(2, 4, 4, 3), (2, 4, 4, 3), (2, 2, 2, 3), (2, 12), (2, 2)]
    out, _ = _apply(model, params, state, x)
    np.testing.assert_allclose(acts[-1][1], out, rtol=1e-6)
    assert models.layer_labels(model) == [label for label, _ in acts]


def test_bad_arguments_raise():
    model = models.linear(3)
    params, state = _init(model, (4,))
    with pytest.raises(TypeError, match="model"):
        models.intermediates("mlp", params, state, np.ones((2, 4), np.float32))
    with pytest.raises(TypeError, match="train"):
        models.intermediates(model, params, state, np.ones((2, 4), np.float32), train=1)


def test_branches_are_followed_with_the_keys_apply_uses():
    # Dropout inside a residual block and inside a concat branch, batch norm in a branch:
    # intermediates must split keys exactly as apply does, so the last entry is the output.
    block = L.serial(L.Dense(4), L.BatchNorm(), L.Relu(), L.Dropout(0.5))
    model = L.serial(
        L.residual(block),
        L.concat(L.Dropout(0.5), L.serial(L.Dense(3), L.Tanh()), L.Identity()),
        L.Dense(2),
    )
    params, state = _init(model, (4,))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    key = jax.random.key(3)
    acts = models.intermediates(model, params, state, x, train=True, key=key)
    labels = [label for label, _ in acts]
    assert labels == [
        "0.0.0:Dense(4)", "0.0.1:BatchNorm(momentum=0.9)", "0.0.2:Relu", "0.0.3:Dropout(0.5)",
        "0.1:Identity", "0:residual",
        "1.0:Dropout(0.5)", "1.1.0:Dense(3)", "1.1.1:Tanh", "1.2:Identity", "1:concat",
        "2:Dense(2)"]
    assert labels == models.layer_labels(model)
    out, _ = _apply(model, params, state, x, train=True, key=key)
    # Same program up to fusion: float32 rounding only.
    np.testing.assert_allclose(acts[-1][1], out, rtol=1e-6, atol=1e-6)
    acts = {label: np.asarray(a) for label, a in acts}  # checked on the host
    # The residual entry is the block's output plus the shortcut's.
    np.testing.assert_allclose(acts["0:residual"], acts["0.0.3:Dropout(0.5)"] + x, rtol=1e-6,
                               atol=1e-6)  # one float32 addition, recomputed
    assert acts["1:concat"].shape == (5, 4 + 3 + 4)
    np.testing.assert_array_equal(acts["1:concat"][:, 4:7], acts["1.1.1:Tanh"])
    # Masks were drawn: some units of the block's dropout are zero, survivors doubled.
    relu, dropped = acts["0.0.2:Relu"], acts["0.0.3:Dropout(0.5)"]
    kept = dropped != 0
    np.testing.assert_allclose(dropped[kept], 2 * relu[kept], rtol=1e-6)  # x / (1 - 0.5)
    assert not kept[relu != 0].all()
