"""Builder structure, shapes and argument errors."""

import jax
import jax.numpy as jnp
import pytest

from fdl import layers as L
from fdl import models


def _names(model):
    return [layer.name for layer in model.sublayers]


def test_mlp_structure():
    assert _names(models.mlp([8, 4], 3)) == ["Flatten", "Dense(8)", "Relu", "Dense(4)", "Relu",
                                             "Dense(3)"]
    names = _names(models.mlp([8], 3, activation="tanh", batchnorm=True, dropout=0.5))
    assert names == ["Flatten", "Dense(8)", "BatchNorm(momentum=0.9)", "Tanh", "Dropout(0.5)",
                     "Dense(3)"]
    assert _names(models.mlp((), 3)) == ["Flatten", "Dense(3)"]
    assert models.mlp([8], 3).output_shape((4, 4, 1)) == (3,)


def test_convnet_structure():
    model = models.convnet(((4, 4), (8,)), hidden=(16,), num_classes=5, pool=(True, False))
    assert _names(model) == [
        "Conv(4, 3x3, stride 1, pad 1)", "Relu", "Conv(4, 3x3, stride 1, pad 1)", "Relu",
        "MaxPool(2, stride 2)", "Conv(8, 3x3, stride 1, pad 1)", "Relu", "Flatten",
        "Dense(16)", "Relu", "Dense(5)"]
    assert model.output_shape((8, 8, 3)) == (5,)
    assert models.convnet((4, 8), kernel_size=5).sublayers[0].name.endswith("pad 2)")
    assert "pad SAME" in models.convnet(((4,),), kernel_size=2).sublayers[0].name


def test_lenet5_and_linear_shapes():
    model = models.lenet5()
    shapes = []
    shape = (28, 28, 1)
    for layer in model.sublayers:
        shape = layer.output_shape(shape)
        shapes.append(shape)
    assert shapes[:7] == [(28, 28, 6), (28, 28, 6), (14, 14, 6), (10, 10, 16), (10, 10, 16),
                          (5, 5, 16), (400,)]
    lin = models.linear(5)
    params, state = lin.init(jax.random.key(0), (2, 2, 2))
    x = jnp.ones((2, 2, 2, 2))
    scores, _ = lin.apply(params, state, x)
    assert scores.shape == (2, 5)
    assert float(jnp.std(params[1]["w"])) < 0.02  # small init: loss ~ ln C at start


def test_builder_errors():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        models.mlp([10], 3, activation="swish")
    with pytest.raises(ValueError, match="unknown activation"):
        models.convnet(activation="gelu")
    with pytest.raises(ValueError, match="hidden_sizes"):
        models.mlp([10, 0], 3)
    with pytest.raises(ValueError, match="num_classes"):
        models.mlp([10], 0)
    with pytest.raises(ValueError, match="dropout"):
        models.mlp([10], 3, dropout=1.0)
    with pytest.raises(ValueError, match="pool"):
        models.convnet(((4,), (8,)), pool=(True,))
    with pytest.raises(TypeError, match="blocks"):
        models.convnet(blocks=None)
    # A pool that cannot halve the map is reported at init, naming the layer.
    with pytest.raises(ValueError, match="MaxPool"):
        models.convnet(((4,), (8,)), hidden=()).init(jax.random.key(0), (6, 6, 1))
    with pytest.raises(ValueError, match="unknown activation"):
        L.activation("swish")
