"""Linear-classifier weights drawn as templates."""

import os

import jax
import numpy as np
import pytest

import fdl
from fdl.viz._templates import rescale_templates

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("image_shape,classes", [((8, 8, 1), 10), ((8, 8), 3), ((4, 4, 3), 5)])
def test_png_written_atomically(tmp_path, image_shape, classes):
    d = int(np.prod(image_shape))
    classifier = fdl.classic.init_linear_classifier(jax.random.key(0), d, classes)
    path = tmp_path / "templates.png"
    assert fdl.viz.plot_weight_templates(classifier, image_shape, path) == path
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    assert os.listdir(tmp_path) == ["templates.png"]  # no temporary file left behind


def test_accepts_a_weight_matrix_and_class_names(tmp_path):
    w = np.random.default_rng(0).standard_normal((64, 2))
    path = tmp_path / "w.png"
    fdl.viz.plot_weight_templates(w, (8, 8), path, class_names=["cat", "dog"])
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_each_template_is_rescaled_to_the_unit_interval():
    templates = np.stack([np.arange(4.0).reshape(2, 2, 1) * 10 - 7,
                          np.full((2, 2, 1), 3.0)])
    scaled = rescale_templates(templates)
    np.testing.assert_allclose(scaled[0].ravel(), [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(scaled[1], 0.5)  # a constant template: mid-grey


def test_bad_input_leaves_no_file(tmp_path):
    w = np.zeros((64, 10))
    with pytest.raises(ValueError, match="class_names must hold 10 names"):
        fdl.viz.plot_weight_templates(w, (8, 8), tmp_path / "a.png", class_names=["x"])
    with pytest.raises(ValueError, match="1 \\(grey\\) or 3 \\(RGB\\) channels"):
        fdl.viz.plot_weight_templates(w, (4, 8, 2), tmp_path / "b.png")
    with pytest.raises(ValueError, match="holds 49 pixels"):
        fdl.viz.plot_weight_templates(w, (7, 7), tmp_path / "c.png")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("classes", [3, 10, 12])
def test_figure_title_clears_the_class_titles(classes):
    from fdl.viz._templates import weight_templates_figure

    fig = weight_templates_figure(np.random.default_rng(0).standard_normal((64, classes)), (8, 8))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    for ax in fig.axes:
        if ax.get_title():
            assert not title.overlaps(ax.title.get_window_extent(renderer)), ax.get_title()
    fdl.viz._files.pyplot().close(fig)
