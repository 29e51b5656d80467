"""Bag of words and spatial pyramid against scikit-learn's patch extraction and
nearest-centre assignment, with the pyramid written out cell by cell."""

import jax
import numpy as np
import pytest
from sklearn.feature_extraction.image import extract_patches_2d
from sklearn.metrics import pairwise_distances_argmin

import fdl.data
import fdl.features

K, SIZE, LEVELS = 6, 3, 2


@pytest.fixture(scope="module")
def digits():
    return fdl.data.load_digits().train.x[:24]


@pytest.fixture(scope="module")
def fitted(digits):
    feature = fdl.features.spatial_pyramid(K, levels=LEVELS, patch_size=SIZE, stride=1)
    return feature, feature.fit(digits, jax.random.key(0))


def reference_words(image, codebook):
    """Each 3x3 patch (stride 1, row by row), contrast-normalised, to its nearest word."""
    patches = extract_patches_2d(image[..., 0].astype(np.float64), (SIZE, SIZE)).reshape(-1, SIZE * SIZE)
    patches -= patches.mean(1, keepdims=True)
    patches /= np.maximum(np.linalg.norm(patches, axis=1, keepdims=True), 1e-3)
    return pairwise_distances_argmin(patches, np.asarray(codebook, np.float64))


def test_pyramid_against_a_cell_by_cell_reference(digits, fitted):
    feature, state = fitted
    out = np.asarray(feature.apply(state, digits[:5]))
    assert out.shape == (5, K * (1 + 4 + 16))
    for image, row in zip(digits[:5], out):
        words = reference_words(image, state.codebook).reshape(6, 6)  # 6x6 patch centres
        centre = np.arange(6) + 1.0  # patch (i, j) is centred on pixel (i + 1, j + 1)
        expected = []
        for level in range(LEVELS + 1):
            cells = 2**level
            weight = 1 / 2**LEVELS if level == 0 else 1 / 2 ** (LEVELS - level + 1)
            band = (centre * cells / 8).astype(int)
            for r in range(cells):
                for c in range(cells):
                    inside = words[np.ix_(band == r, band == c)].ravel()
                    expected.append(weight * np.bincount(inside, minlength=K) / 36)
        # Counts over 36 patches times powers of 2: exact up to float32 rounding.
        np.testing.assert_allclose(row, np.concatenate(expected), atol=1e-7)


def test_bag_of_words_is_the_normalised_level_zero_histogram(digits, fitted):
    _, state = fitted
    bow = fdl.features.bag_of_words(K, patch_size=SIZE, stride=1)
    hist = np.asarray(bow.apply(state, digits[:5]))  # the pyramid's codebook serves both
    assert hist.shape == (5, K)
    np.testing.assert_allclose(hist.sum(1), 1, rtol=1e-6)  # float32 sum of 6 fractions
    for image, h in zip(digits[:5], hist):
        np.testing.assert_allclose(h, np.bincount(reference_words(image, state.codebook), minlength=K) / 36,
                                   atol=1e-7)


def test_codebook_is_kmeans_of_the_training_patches(digits, fitted):
    _, state = fitted
    assert state.codebook.shape == (K, SIZE * SIZE)
    patches = np.concatenate([extract_patches_2d(im[..., 0], (SIZE, SIZE)) for im in digits])
    patches = patches.reshape(-1, SIZE * SIZE).astype(np.float64)
    patches -= patches.mean(1, keepdims=True)
    patches /= np.maximum(np.linalg.norm(patches, axis=1, keepdims=True), 1e-3)
    words = pairwise_distances_argmin(patches, np.asarray(state.codebook, np.float64))
    # Lloyd's fixed point: every word is the mean of its patches (float32 means).
    for c in np.unique(words):
        np.testing.assert_allclose(state.codebook[c], patches[words == c].mean(0), atol=1e-5)


@pytest.mark.parametrize("call,error,match", [
    (lambda f, s, x: fdl.features.bag_of_words(0), ValueError, "k must be >= 1"),
    (lambda f, s, x: fdl.features.spatial_pyramid(4, levels=-1), ValueError, "levels must be >= 0"),
    (lambda f, s, x: fdl.features.bag_of_words(4, patch_size=9).fit(x, jax.random.key(0)),
     ValueError, "patch_size must be <="),
    (lambda f, s, x: f.apply(s, x[:, :7]), ValueError, "images of shape \\(8, 8, 1\\)"),
    (lambda f, s, x: f.apply(s, x[..., 0]), ValueError, "x must have rank 4"),
])
def test_bad_input(digits, fitted, call, error, match):
    feature, state = fitted
    with pytest.raises(error, match=match):
        call(feature, state, digits)
