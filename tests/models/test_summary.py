"""Parameter counts (the notes' rule) and the summary table."""

import jax
import pytest

from fdl import layers as L
from fdl import models


def _count(model, input_shape):
    params, _ = jax.eval_shape(lambda k: model.init(k, input_shape), jax.random.key(0))
    return models.count_params(params)


def test_count_params_mlp():
    model = models.mlp([100], 10)
    assert _count(model, (64,)) == 64 * 100 + 100 + 100 * 10 + 10
    # Real arrays count the same as shape structs.
    params, _ = models.linear(5).init(jax.random.key(0), (2, 2, 2))
    assert models.count_params(params) == 8 * 5 + 5


def test_conv_count_from_the_notes():
    # 10 filters of 5x5 with padding 2 on a 32x32x3 input: (5*5*3 + 1) * 10 = 760.
    assert _count(L.Conv(10, 5, padding=2), (32, 32, 3)) == 760
    assert L.Conv(10, 5, padding=2).output_shape((32, 32, 3)) == (32, 32, 10)


def test_count_params_lenet5():
    conv1 = 5 * 5 * 1 * 6 + 6
    conv2 = 5 * 5 * 6 * 16 + 16
    fc = (5 * 5 * 16) * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10
    assert _count(models.lenet5(), (28, 28, 1)) == conv1 + conv2 + fc == 61706
    # 32x32 inputs work with the default padding, and give the original sizes without it.
    assert models.lenet5().output_shape((32, 32, 3)) == (10,)
    assert _count(models.lenet5(first_padding=0), (32, 32, 1)) == 61706


def test_count_params_convnet():
    model = models.convnet(((16, 16), (32,)), kernel_size=3, hidden=(128,), num_classes=10,
                           batchnorm=True)
    convs = (3 * 3 * 3 * 16 + 16) + (3 * 3 * 16 * 16 + 16) + (3 * 3 * 16 * 32 + 32)
    bn = 2 * (16 + 16 + 32 + 128)
    fc = (8 * 8 * 32) * 128 + 128 + 128 * 10 + 10  # 32x32 -> 16x16 -> 8x8
    assert _count(model, (32, 32, 3)) == convs + bn + fc


def test_summary_table():
    model = models.convnet(((4,), (8,)), hidden=(16,), num_classes=10, batchnorm=True,
                           dropout=0.5)
    text = models.summary(model, (8, 8, 1))
    for layer, shape in [("Conv(4, 3x3, stride 1, pad 1)", "(8, 8, 4)"), ("BatchNorm", "(8, 8, 4)"),
                         ("MaxPool(2, stride 2)", "(4, 4, 4)"),
                         ("Conv(8, 3x3, stride 1, pad 1)", "(4, 4, 8)"),
                         ("Flatten", "(32,)"), ("Dense(16)", "(16,)"), ("Dropout(0.5)", "(16,)"),
                         ("Dense(10)", "(10,)")]:
        line = next(ln for ln in text.splitlines() if ln.startswith(layer) and shape in ln)
        assert line
    rows = {ln.split("  ")[0]: ln for ln in text.splitlines()}
    assert rows["Conv(4, 3x3, stride 1, pad 1)"].endswith(" 40")
    assert rows["Dense(16)"].endswith(" 528")
    total = 40 + 8 + 296 + 16 + 528 + 32 + 170
    assert f"Total params: {total:,}" in text
    assert "running statistics" in text


def test_summary_nested_and_single_layer():
    model = L.serial(L.serial(L.Dense(3), L.Relu()), L.Dense(2))
    text = models.summary(model, (4,))
    assert "Dense(3)" in text and "Dense(2)" in text and "Total params: 23" in text
    assert "Total params: 760" in models.summary(L.Conv(10, 5, padding=2), (32, 32, 3))
    with pytest.raises(ValueError, match="batch axis"):
        models.summary(models.lenet5(), (1, 28, 28, 1))
    with pytest.raises(TypeError, match="Layer"):
        models.summary(lambda x: x, (3,))
