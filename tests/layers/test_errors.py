"""Bad input to layers raises clear errors naming the layer and the argument."""

import jax
import pytest

from fdl import layers as L

KEY = jax.random.key(0)


def test_dense_zero_features():
    with pytest.raises(ValueError, match=r"Dense\(0\): features must be a positive int"):
        L.Dense(0)


def test_conv_kernel_larger_than_input():
    message = r"Conv\(4, 5x5.*cannot be applied.*\(3, 3, 1\).*does not fit"
    with pytest.raises(ValueError, match=message):
        L.Conv(4, 5).init(KEY, (3, 3, 1))
    with pytest.raises(ValueError, match=r"Conv\(4, 5x5"):
        L.Conv(4, 5).output_shape((3, 3, 1))


def test_conv_stride_does_not_tile():
    with pytest.raises(ValueError, match=r"Conv\(2, 3x3, stride 2.*not a multiple of the stride"):
        L.Conv(2, 3, stride=2).init(KEY, (8, 8, 1))


def test_conv_batch_axis_included():
    with pytest.raises(ValueError, match="excludes the batch axis.*x.shape\\[1:\\]"):
        L.Conv(4, 3).init(KEY, (2, 8, 8, 1))
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        L.Conv(4, 3).init(KEY, (8, 8))


def test_pool_errors():
    with pytest.raises(ValueError, match=r"MaxPool\(2, stride 2\).*\(7, 7, 3\)"):
        L.MaxPool().init(KEY, (7, 7, 3))
    with pytest.raises(ValueError, match="batch axis"):
        L.AvgPool().output_shape((1, 4, 4, 3))


def test_dropout_rate():
    for rate in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"Dropout.*rate"):
            L.Dropout(rate)


def test_other_bad_arguments():
    with pytest.raises(TypeError, match="kernel_size"):
        L.Conv(4, 2.5)
    with pytest.raises(ValueError, match="padding"):
        L.Conv(4, 3, padding="FULL")
    with pytest.raises(ValueError, match="impl"):
        L.Conv(4, 3, impl="fft")
    with pytest.raises(ValueError, match="momentum"):
        L.BatchNorm(momentum=1.5)
    with pytest.raises(ValueError, match="negative_slope"):
        L.LeakyRelu(-1.0)
    with pytest.raises(TypeError, match="input_shape"):
        L.Dense(3).init(KEY, "64")
    with pytest.raises(ValueError, match="positive sizes"):
        L.Dense(3).init(KEY, (0, 4))
    with pytest.raises(TypeError, match="manual"):
        L.Relu(manual="yes")


def test_serial_errors():
    with pytest.raises(ValueError, match="at least one layer"):
        L.serial()
    with pytest.raises(TypeError, match=r"forget the parentheses"):
        L.serial(L.Dense(3), L.Relu)
    model = L.serial(L.Dense(3), L.Relu())
    params, state = model.init(KEY, (2,))
    with pytest.raises(ValueError, match="params must be a tuple of 2"):
        model.apply(params[:1], state, jax.numpy.ones((1, 2)))
    with pytest.raises(TypeError, match="train must be True or False"):
        model.apply(params, state, jax.numpy.ones((1, 2)), train="yes")


def test_apply_errors_name_the_layer():
    model = L.serial(L.Dense(5), L.Relu(), L.Dense(3))
    params, state = model.init(KEY, (8,))
    with pytest.raises(ValueError, match=r"layer 0 \(Dense\(5\)\): w must have shape \(9, D_out\)"):
        model.apply(params, state, jax.numpy.ones((2, 9)))
    with pytest.raises(ValueError, match="padding must be >= 0"):
        L.Conv(3, 3, padding=-1)


def test_conv_bias_and_per_side_padding_errors():
    with pytest.raises(TypeError, match=r"^Conv\(4, 3\): bias must be True or False, got 0"):
        L.Conv(4, 3, bias=0)
    with pytest.raises(ValueError, match=r"^Conv\(4, 3\): padding must be an int, a pair"):
        L.Conv(4, 3, padding=((1, 2), (3,)))
    with pytest.raises(ValueError, match=r"^Conv\(4, 3\): padding must be >= 0"):
        L.Conv(4, 3, padding=((1, -2), (0, 0)))
    # The strict rule on the padded total: PyTorch's 7x7/2 pad 3 on 224 floors.
    with pytest.raises(ValueError, match=r"Conv\(4, 7x7, stride 2, pad 3\) cannot be applied to "
                                         r"input_shape \(224, 224, 3\) \(height axis\)"):
        L.Conv(4, 7, stride=2, padding=3).init(KEY, (224, 224, 3))
    assert L.Conv(4, 7, stride=2, padding=((3, 2), (3, 2))).output_shape((224, 224, 3)) == (
        112, 112, 4)


def test_pool_padding_errors():
    with pytest.raises(ValueError, match=r"^MaxPool\(3, 2\): padding must be smaller than the window"):
        L.MaxPool(3, 2, padding=3)
    with pytest.raises(TypeError, match=r"^AvgPool\(2, 2\): padding must be an int, a pair"):
        L.AvgPool(padding="SAME")
    with pytest.raises(ValueError, match=r"MaxPool\(3, stride 2, pad 1\) cannot be applied.*"
                                         r"\(112, 112, 64\)"):
        L.MaxPool(3, 2, padding=1).init(KEY, (112, 112, 64))
    assert L.MaxPool(3, 2, padding=((1, 0), (1, 0))).output_shape((112, 112, 64)) == (56, 56, 64)
