"""Toy 2-D data: spirals, circles and blobs against their defining formulas and scikit-learn."""

import jax
import numpy as np
import pytest
from sklearn.datasets import make_circles

import fdl


def sorted_rows(x):
    """Rows in lexicographic order of their values rounded to 1e-4, so that float32
    and float64 copies of the same points (and signed zeros) sort alike."""
    key = np.round(x, 4) + 0.0
    return x[np.lexsort(key.T[::-1])]


def cs231n_spiral(n, k):
    """The course notes' noiseless spiral, written as the notes write it."""
    x = np.zeros((n * k, 2))
    y = np.zeros(n * k, dtype=int)
    for j in range(k):
        ix = range(n * j, n * (j + 1))
        r = np.linspace(0.0, 1, n)
        t = np.linspace(j * 4, (j + 1) * 4, n)
        x[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return x, y


@pytest.mark.parametrize("make", [
    lambda key: fdl.data.spirals(key, 50),
    lambda key: fdl.data.circles(key, 101),
    lambda key: fdl.data.blobs(key, 100, centers=4),
])
def test_types_shapes_and_determinism(make):
    x, y = make(jax.random.key(0))
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert x.ndim == 2 and x.shape[1] == 2 and y.shape == (x.shape[0],)
    again = make(jax.random.key(0))
    other = make(jax.random.key(1))
    np.testing.assert_array_equal(again.x, x)
    np.testing.assert_array_equal(again.y, y)
    assert not np.array_equal(other.x, x)
    # Shuffled: the first half is not a single class (as generation order would give).
    assert len(set(y[: len(y) // 2].tolist())) > 1


def test_noiseless_spirals_are_the_notes_spirals():
    x, y = fdl.data.spirals(jax.random.key(3), 40, num_classes=4, noise=0.0)
    ref_x, ref_y = cs231n_spiral(40, 4)
    for c in range(4):
        # float32 storage of values of magnitude <= 1: rounding below 1e-7.
        np.testing.assert_allclose(sorted_rows(x[y == c]), sorted_rows(ref_x[ref_y == c]), atol=1e-6)


def test_spiral_angle_noise_has_the_requested_spread():
    noise = 0.2
    x, y = fdl.data.spirals(jax.random.key(1), 2000, noise=noise)
    r = np.hypot(x[:, 0], x[:, 1])
    keep = r > 0.05  # the angle of a point at the centre is meaningless
    angle = np.arctan2(x[:, 0], x[:, 1])
    residual = np.angle(np.exp(1j * (angle - 4 * (y + r))))[keep]
    assert np.all(r <= 1 + 1e-6)
    assert abs(np.mean(residual)) < 4 * noise / np.sqrt(keep.sum())  # 4 standard errors
    # The sample std of ~6,000 normals is within 5% of the truth with overwhelming odds.
    assert np.std(residual) == pytest.approx(noise, rel=0.05)


@pytest.mark.parametrize("n", [100, 101])
def test_noiseless_circles_match_scikit_learn(n):
    x, y = fdl.data.circles(jax.random.key(0), n, factor=0.3, noise=0.0)
    ref_x, ref_y = make_circles(n, shuffle=False, noise=None, factor=0.3)
    for c in (0, 1):
        # float32 storage of values of magnitude <= 1.
        np.testing.assert_allclose(sorted_rows(x[y == c]), sorted_rows(ref_x[ref_y == c]), atol=1e-6)


def test_circle_noise_is_gaussian_with_the_requested_std():
    x, y = fdl.data.circles(jax.random.key(2), 4000, factor=0.5, noise=0.02)
    r = np.hypot(x[:, 0], x[:, 1])
    # Radial deviation of small isotropic noise is ~N(0, noise^2); 2,000 samples per ring
    # put the sample std within 6% of the truth with overwhelming odds.
    for label, radius in ((0, 1.0), (1, 0.5)):
        assert np.std(r[y == label] - radius) == pytest.approx(0.02, rel=0.06)
        assert abs(np.mean(r[y == label]) - radius) < 0.003  # 6 standard errors


def test_blobs_around_given_centres():
    centres = np.array([[0.0, 0.0], [5.0, -3.0], [-4.0, 8.0]])
    x, y = fdl.data.blobs(jax.random.key(4), 3001, centers=centres, std=0.5)
    assert np.bincount(y).tolist() == [1001, 1000, 1000]
    for c in range(3):
        # 5 standard errors of a mean of ~1,000 draws of std 0.5.
        np.testing.assert_allclose(x[y == c].mean(0), centres[c], atol=5 * 0.5 / np.sqrt(1000))
        assert np.std(x[y == c] - centres[c]) == pytest.approx(0.5, rel=0.05)


def test_random_blob_centres_lie_in_the_box():
    x, y = fdl.data.blobs(jax.random.key(5), 600, centers=3, std=0.1, box=(2.0, 3.0))
    means = np.stack([x[y == c].mean(0) for c in range(3)])
    assert np.all((means > 1.95) & (means < 3.05))  # the box, widened by the noise's mean error


@pytest.mark.parametrize("call,error,match", [
    (lambda: fdl.data.spirals(0, 10), TypeError, "key must be a JAX random key"),
    (lambda: fdl.data.spirals(jax.random.key(0), 1), ValueError, "n_per_class must be >= 2"),
    (lambda: fdl.data.spirals(jax.random.key(0), 10, 1), ValueError, "num_classes must be >= 2"),
    (lambda: fdl.data.spirals(jax.random.key(0), 10, noise=-1), ValueError, "noise must be"),
    (lambda: fdl.data.circles(jax.random.key(0), 10.0), TypeError, "n must be an int"),
    (lambda: fdl.data.circles(jax.random.key(0), 10, factor=1.5), ValueError, "factor must lie"),
    (lambda: fdl.data.blobs(jax.random.key(0), 10, centers=np.zeros((3, 3))), ValueError,
     "centers must be an int or a \\(C, 2\\) array"),
    (lambda: fdl.data.blobs(jax.random.key(0), 10, std=0), ValueError, "std must be"),
    (lambda: fdl.data.blobs(jax.random.key(0), 10, box=(1, 0)), ValueError, "box must have low < high"),
])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
