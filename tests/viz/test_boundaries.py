"""Decision regions of a 2-D classifier drawn under its data."""

import os

import jax
import numpy as np
import pytest

import fdl
from fdl.viz._boundaries import decision_grid

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def half_plane(points):
    """Class 1 right of the line x = 0.25, class 0 left of it."""
    return (np.asarray(points)[:, 0] > 0.25).astype(np.int32)


def test_grid_is_one_batched_call_covering_the_data():
    calls = []

    def predict(points):
        calls.append(points.shape)
        return half_plane(points)

    x = np.array([[0.0, 0.0], [1.0, 2.0]], np.float32)
    gx, gy, labels = decision_grid(predict, x, resolution=11, margin=0.1)
    assert calls == [(121, 2)]
    np.testing.assert_allclose(gx, np.linspace(-0.1, 1.1, 11), atol=1e-12)
    np.testing.assert_allclose(gy, np.linspace(-0.2, 2.2, 11), atol=1e-12)
    assert labels.shape == (11, 11)
    # labels[i, j] is the class at (gx[j], gy[i]): every row is the same step function.
    expected = (gx > 0.25).astype(int)
    np.testing.assert_array_equal(labels, np.broadcast_to(expected, (11, 11)))


def test_scores_are_reduced_by_argmax():
    w = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)  # (2, 3) linear scores
    x = np.array([[-1.0, -1.0], [1.0, 1.0]], np.float32)
    _, _, from_scores = decision_grid(lambda p: p @ w, x, resolution=7)
    _, _, from_labels = decision_grid(lambda p: np.argmax(p @ w, axis=1), x, resolution=7)
    np.testing.assert_array_equal(from_scores, from_labels)
    assert set(np.unique(from_scores)) == {0, 1, 2}


def test_png_written_atomically(tmp_path):
    x, y = fdl.data.blobs(jax.random.key(0), 60, centers=np.array([[-1.0, 0.0], [1.0, 0.0]]), std=0.3)
    path = tmp_path / "boundary.png"
    returned = fdl.viz.plot_decision_boundary(half_plane, x, y, path, resolution=50,
                                              title="half plane", class_names=["left", "right"])
    assert returned == path
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    assert os.listdir(tmp_path) == ["boundary.png"]


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(x=np.zeros((4, 3))), ValueError, "x must be \\(N, 2\\) points"),
    (dict(y=np.zeros(4)), TypeError, "y must hold integer class labels"),
    (dict(y=np.zeros(3, np.int32)), ValueError, "y must have shape \\(4,\\)"),
    (dict(predict_fn=lambda p: p[:, 0]), TypeError, "labels must be integers"),
    (dict(predict_fn=lambda p: p[:5]), ValueError, "predict_fn must return labels"),
    (dict(predict_fn=3), TypeError, "predict_fn must be callable"),
    (dict(resolution=1), ValueError, "resolution must be >= 2"),
    (dict(class_names=["only one"]), ValueError, "class_names must name all 2 classes"),
])
def test_bad_input_leaves_no_file(tmp_path, kwargs, error, match):
    args = dict(predict_fn=half_plane, x=np.array([[0.0, 0], [1, 1], [0, 1], [1, 0]]),
                y=np.array([0, 1, 0, 1]), resolution=5)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        fdl.viz.plot_decision_boundary(args.pop("predict_fn"), args.pop("x"), args.pop("y"),
                                       tmp_path / "a.png", **args)
    assert os.listdir(tmp_path) == []
