"""fit/evaluate check the data against the model on the host, before compiling."""

import jax
import numpy as np
import pytest

from fdl import losses, models, optim, train

CE = losses.softmax_cross_entropy


def _data(n=40, d=6, classes=4):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, d)).astype(np.float32), (np.arange(n) % classes).astype(np.int32)


MODEL = models.mlp([8], 4)


def _fit(data, **options):
    return train.fit(MODEL, data, loss=CE, optimizer=optim.sgd(0.1), epochs=1, batch_size=8,
                     key=jax.random.key(0), progress=False, **options)


@pytest.mark.parametrize("shift, index, value", [(-1, 0, -1), (4, 0, 4)])
def test_labels_outside_the_models_classes_are_refused(shift, index, value):
    x, y = _data()
    # y - 1 holds -1 (the silent case: it used to train to a loss of 2.2), y + 4 holds 4..7.
    with pytest.raises(ValueError, match=rf"data: y\[{index}\] = {value} .*4 classes"):
        _fit((x, y + shift))


def test_a_single_bad_label_is_found_by_index():
    x, y = _data()
    y[17] = 9
    with pytest.raises(ValueError, match=r"y\[17\] = 9"):
        _fit((x, y))


def test_non_finite_pixels_are_refused_naming_the_example():
    x, y = _data()
    x[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"data: x\[5\] holds a non-finite value \(nan\)"):
        _fit((x, y))
    x[5, 2], x[9, 0] = 0.0, np.inf
    with pytest.raises(ValueError, match=r"x\[9\] .*\(inf\)"):
        _fit((x, y))


def test_bad_validation_data_is_blamed_on_val_data():
    x, y = _data()
    with pytest.raises(ValueError, match=r"val_data: examples of shape \(5,\), but the training"):
        _fit((x, y), val_data=(x[:, :5], y))
    with pytest.raises(ValueError, match=r"val_data: y\[0\] = 7"):
        _fit((x, y), val_data=(x, y + 7))


def test_training_data_the_model_cannot_take_is_blamed_on_data():
    x, y = _data()
    conv = models.convnet(blocks=((4,),), hidden=(), num_classes=4)
    with pytest.raises(ValueError, match=r"^data: examples of shape \(6,\) do not fit the model"):
        train.fit(conv, (x, y), loss=CE, optimizer=optim.sgd(0.1), epochs=1, batch_size=8,
                  key=jax.random.key(0))


def test_evaluate_checks_its_data_too():
    x, y = _data()
    params, state = MODEL.init(jax.random.key(0), (6,))
    with pytest.raises(ValueError, match=r"y\[0\] = -1"):
        train.evaluate(MODEL, params, state, (x, y - 1))


def test_one_output_models_take_any_labels():
    """A single score is a binary decision (labels -1/+1 for the binary hinge)."""
    x, y = _data()
    model = models.mlp([8], 1)
    y_pm1 = np.where(y % 2 == 0, -1, 1).astype(np.int32)

    def hinge(scores, labels):
        return losses.binary_hinge(scores[:, 0], labels)

    params, _, history = train.fit(model, (x, y_pm1), loss=hinge, optimizer=optim.sgd(0.01),
                                   epochs=1, batch_size=8, key=jax.random.key(0))
    assert np.isfinite(history["loss"]).all()
