"""The confusion-matrix figure: row-normalised values, class names, annotations."""

import os

import matplotlib.pyplot as plt
import numpy as np
import pytest

import fdl
from fdl.viz._confusion import confusion_figure, normalize_rows

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = ("airplane", "automobile", "bird")
# Rows are the true class: 10 airplanes (6 right), 4 automobiles (all right), no birds.
CM = np.array([[6, 1, 3], [0, 4, 0], [0, 0, 0]])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")  # the figures these tests build without saving


def test_rows_are_divided_by_their_sums_and_an_empty_row_stays_zero():
    np.testing.assert_array_equal(normalize_rows(CM), [[0.6, 0.1, 0.3], [0, 1, 0], [0, 0, 0]])


def test_png_written_atomically(tmp_path):
    path = tmp_path / "confusion.png"
    assert fdl.viz.plot_confusion_matrix(CM, path, class_names=NAMES) == path
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    assert os.listdir(tmp_path) == ["confusion.png"]  # no temporary file left behind


def test_figure_shows_the_normalised_matrix_with_names_and_values():
    fig = confusion_figure(CM, class_names=NAMES)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), normalize_rows(CM))
    assert [t.get_text() for t in ax.get_xticklabels()] == list(NAMES)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(NAMES)
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 9 and texts[:3] == ["0.60", "0.10", "0.30"]


def test_counts_and_many_classes():
    counts = confusion_figure(CM, normalize=False).axes[0]
    assert [t.get_text() for t in counts.texts][:3] == ["6", "1", "3"]
    assert [t.get_text() for t in counts.get_xticklabels()] == ["0", "1", "2"]
    big = confusion_figure(np.eye(12, dtype=int)).axes[0]
    assert len(big.texts) == 0  # 12 classes: cells too small for numbers


@pytest.mark.parametrize("cm,names,error,fragment", [
    (np.zeros((2, 3)), None, ValueError, "square"),
    (-np.eye(2), None, ValueError, ">= 0"),
    (np.array([["a", "b"], ["c", "d"]]), None, TypeError, "numbers"),
    (CM, ["a", "b"], ValueError, "class_names must have 3 entries"),
    (CM, "abc", TypeError, "class_names"),
])
def test_bad_input_is_refused_before_anything_is_written(tmp_path, cm, names, error, fragment):
    with pytest.raises(error, match=fragment):
        fdl.viz.plot_confusion_matrix(cm, tmp_path / "c.png", class_names=names)
    assert os.listdir(tmp_path) == []
