"""Per-example features: polar coordinates, raw pixels, pixels with their positions."""

import numpy as np
import pytest

import fdl.features


def test_polar_against_numpy():
    x = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    x[0] = [-1.0, 0.0]  # theta = pi exactly, the top of the range
    out = np.asarray(fdl.features.polar(x))
    reference = np.stack([np.abs(x[:, 0] + 1j * x[:, 1]), np.angle(x[:, 0] + 1j * x[:, 1])], 1)
    np.testing.assert_allclose(out, reference, rtol=1e-6, atol=1e-6)  # float32 rounding
    assert out[0, 1] == pytest.approx(np.pi)
    # And back: r (cos theta, sin theta) is the point.
    back = out[:, :1] * np.stack([np.cos(out[:, 1]), np.sin(out[:, 1])], 1)
    np.testing.assert_allclose(back, x, atol=1e-6)  # float32 trigonometry of |x| < 4


def test_raw_pixels_flattens_row_by_row():
    x = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)
    out = np.asarray(fdl.features.raw_pixels(x))
    assert out.shape == (2, 24)
    np.testing.assert_array_equal(out[1], np.arange(24, 48))  # C order: (h, w, c) fastest last


def test_with_coordinates_appends_the_normalised_position():
    x = np.random.default_rng(1).random((2, 3, 5, 1)).astype(np.float32)
    out = np.asarray(fdl.features.with_coordinates(x))
    assert out.shape == (2, 3, 5, 3)
    np.testing.assert_array_equal(out[..., :1], x)
    for i in range(3):
        for j in range(5):
            # u = -1 + 2 j / (W - 1), v = -1 + 2 i / (H - 1); exact in float32 for these.
            assert out[1, i, j, 1] == pytest.approx(-1 + 2 * j / 4, abs=1e-7)
            assert out[1, i, j, 2] == pytest.approx(-1 + 2 * i / 2, abs=1e-7)
    single = np.asarray(fdl.features.with_coordinates(np.zeros((1, 1, 4, 2), np.float32)))
    np.testing.assert_array_equal(single[0, 0, :, 3], 0)  # one row: v = 0


@pytest.mark.parametrize("call,error,match", [
    (lambda: fdl.features.polar(np.zeros((4, 3), np.float32)), ValueError, "x must be \\(N, 2\\)"),
    (lambda: fdl.features.polar(np.zeros((4, 2), np.int32)), TypeError, "floating dtype"),
    (lambda: fdl.features.raw_pixels(np.zeros(4)), ValueError, "x must have rank >= 2"),
    (lambda: fdl.features.with_coordinates(np.zeros((4, 8, 8))), ValueError, "x must have rank 4"),
    (lambda: fdl.features.with_coordinates("image"), TypeError, "x must be an array"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_pca_is_fdl_data_pca():
    assert fdl.features.pca is fdl.data.pca
