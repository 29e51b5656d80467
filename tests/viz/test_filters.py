"""First-layer filters as a PNG grid."""

import numpy as np
import pytest

from fdl import viz
from fdl.viz._filters import filter_tiles

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _only_the_png(directory, name):
    assert sorted(p.name for p in directory.iterdir()) == [name]  # no temporary file left
    assert (directory / name).read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize("c_in", [1, 3, 2])
def test_writes_a_png(tmp_path, c_in):
    w = np.random.default_rng(0).standard_normal((5, 5, c_in, 6))
    assert viz.plot_conv_filters(w, tmp_path / "filters.png") == tmp_path / "filters.png"
    _only_the_png(tmp_path, "filters.png")


def test_rgb_tiles_for_three_channels_each_rescaled_to_unit_range():
    w = np.random.default_rng(1).standard_normal((3, 3, 3, 4)) * np.arange(1, 5)
    tiles = filter_tiles(w)
    assert tiles.shape == (4, 3, 3, 3)
    for k in range(4):
        assert tiles[k].min() == 0.0 and tiles[k].max() == 1.0
        # An affine rescaling of filter k, channels kept together.
        raw = w[..., k]
        np.testing.assert_allclose(tiles[k], (raw - raw.min()) / (raw.max() - raw.min()))


def test_grayscale_tiles_otherwise():
    w = np.arange(2 * 2 * 2 * 3, dtype=float).reshape(2, 2, 2, 3)
    tiles = filter_tiles(w)
    assert tiles.shape == (6, 2, 2)  # 3 filters x 2 input channels
    np.testing.assert_allclose(tiles[1], (w[..., 1, 0] - w[..., 1, 0].min()) / 18.0)
    assert np.all(filter_tiles(np.ones((3, 3, 1, 2))) == 0.5)  # constant: mid-grey


@pytest.mark.parametrize("shape", [(5, 5, 3), (1, 5, 5, 3, 4), (5, 5, 0, 4)])
def test_bad_shapes_raise(tmp_path, shape):
    with pytest.raises(ValueError, match="w must"):
        viz.plot_conv_filters(np.zeros(shape), tmp_path / "f.png")
    assert not any(tmp_path.iterdir())


def test_bad_values_and_options_raise(tmp_path):
    with pytest.raises(ValueError, match="NaN"):
        viz.plot_conv_filters(np.full((3, 3, 1, 2), np.nan), tmp_path / "f.png")
    with pytest.raises(ValueError, match="ncols"):
        viz.plot_conv_filters(np.ones((3, 3, 1, 2)), tmp_path / "f.png", ncols=0)
    with pytest.raises(TypeError, match="w must be a numeric array"):
        viz.plot_conv_filters("not an array", tmp_path / "f.png")
    assert not any(tmp_path.iterdir())
