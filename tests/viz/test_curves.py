"""Training curves: the loss and accuracy figures of a ``fit`` history."""

import numpy as np
import pytest

import fdl
from fdl.viz._curves import loss_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _history(epochs=3, steps=40, val=True):
    rng = np.random.default_rng(0)
    loss = np.exp(-np.linspace(0, 2, epochs * steps)) + 0.05 * rng.random(epochs * steps)
    return {
        "loss": loss.tolist(),
        "val_loss": [0.9, 0.5, 0.4][:epochs] if val else [],
        "train_accuracy": [0.5, 0.8, 0.9][:epochs],
        "val_accuracy": [0.45, 0.75, 0.85][:epochs] if val else [],
    }


def _lines(fig):
    return {line.get_label(): line for line in fig.axes[0].get_lines()}


def test_loss_figure_marks_the_validation_loss_at_each_epoch_end():
    fig = loss_figure(_history())
    lines = _lines(fig)
    val = lines["validation data loss (per epoch)"]
    np.testing.assert_array_equal(val.get_xdata(), [40, 80, 120])
    np.testing.assert_array_equal(val.get_ydata(), [0.9, 0.5, 0.4])
    assert len(lines["training loss per step"].get_xdata()) == 120


def test_loss_figure_without_validation_has_no_validation_line():
    assert all("validation" not in label for label in _lines(loss_figure(_history(val=False))))


def test_plot_loss_and_accuracy_write_pngs(tmp_path):
    history = _history()
    for plot, name in ((fdl.viz.plot_loss, "loss.png"), (fdl.viz.plot_accuracy, "acc.png")):
        path = tmp_path / name
        assert plot(history, path) == path
        assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_empty_history_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="no 'loss' values"):
        fdl.viz.plot_loss({"loss": []}, tmp_path / "loss.png")
    with pytest.raises(ValueError, match="no accuracy values"):
        fdl.viz.plot_accuracy({"loss": [1.0]}, tmp_path / "acc.png")
