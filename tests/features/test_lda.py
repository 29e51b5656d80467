"""Fisher's LDA against scikit-learn's eigen solver and against its defining properties."""

import numpy as np
import pytest
import scipy.linalg
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

import fdl.features

U32 = float(np.finfo(np.float32).eps)


@pytest.fixture(scope="module")
def data():
    """Four Gaussian classes in 5-D sharing an anisotropic covariance (std 1 to 3)."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    mix = np.diag([1.0, 1.5, 2.0, 2.5, 3.0]) @ q
    y = np.repeat(np.arange(4), 100).astype(np.int32)
    x = rng.normal(scale=1.5, size=(4, 5))[y] + rng.normal(size=(400, 5)) @ mix
    return x.astype(np.float32), y


@pytest.fixture(scope="module")
def reference(data):
    x, y = data
    ref = LinearDiscriminantAnalysis(solver="eigen").fit(x.astype(np.float64), y)
    s_w = ref.covariance_  # the prior-weighted class covariances: our S_W
    s_b = np.cov(x.astype(np.float64).T, bias=True) - s_w  # total = within + between
    ratios = np.sort(scipy.linalg.eigh(s_b, s_w, eigvals_only=True))[::-1]
    w_eigs = np.linalg.eigvalsh(s_w)
    return ref, ratios, w_eigs.max() / w_eigs.min()


@pytest.mark.parametrize("k", [1, 2, 3])
def test_spans_the_subspace_of_scikit_learn(data, reference, k):
    x, y = data
    ref, ratios, cond = reference
    state = fdl.features.lda(k).fit(x, y)
    assert state.components.shape == (k, 5)
    angles = scipy.linalg.subspace_angles(np.asarray(state.components, np.float64).T,
                                          ref.scalings_[:, :k])
    # Davis-Kahan: an eigenspace moves by sin(angle) <= |E| / gap. E is the float32
    # rounding of the Cholesky reduction (about u * cond(S_W) * lambda_1) plus the ridge
    # (eps = 1e-6 relative to S_W, amplified alike); 4x for the constants of the
    # accumulated operations. Measured: 2e-7 .. 5e-6, against bounds of 2e-5 .. 2e-4.
    bound = 4 * (U32 + 1e-6) * cond * ratios[0] / (ratios[k - 1] - ratios[k])
    assert np.max(np.sin(angles)) < bound
    # Weyl: each eigenvalue moves by at most |E|.
    np.testing.assert_allclose(state.ratios, ratios[:k], atol=4 * (U32 + 1e-6) * cond * ratios[0])


def test_projection_whitens_within_and_diagonalises_between(data):
    x, y = data
    feature = fdl.features.lda()
    state = feature.fit(x, y)
    z = np.asarray(feature.apply(state, x), np.float64)
    assert z.shape == (400, 3)  # C - 1 by default
    means = np.stack([z[y == c].mean(0) for c in range(4)])
    within = np.cov((z - means[y]).T, bias=True)
    between = np.cov(z.T, bias=True) - within
    # w^T S_W w = 1 and w_i^T S_B w_j = ratio_i delta_ij, up to float32 rounding of the
    # projection and the 1e-6 ridge.
    np.testing.assert_allclose(within, np.eye(3), atol=1e-4)
    np.testing.assert_allclose(between, np.diag(np.asarray(state.ratios)), atol=1e-4)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-4)  # centred by the training mean


def test_constant_pixel_of_image_shaped_examples(data):
    """A feature constant over the training set (a digit's blank border) makes S_W
    singular; the ridge keeps the fit finite and the directions those of the others."""
    x, y = data
    images = x.copy()
    images[:, 4] = 0.5
    images = images.reshape(400, 5, 1, 1)
    feature = fdl.features.lda(2)
    state = feature.fit(images, y)
    assert state.mean.shape == (5, 1, 1)
    w = np.asarray(state.components, np.float64)
    # The ridge (1e-6 of the mean variance) makes the constant pixel's unit a direction
    # of tiny within-class variance but zero between-class variance: no weight on it,
    # up to float32 rounding of entries of size ~0.4 (measured 3e-10).
    np.testing.assert_allclose(w[:, 4], 0, atol=1e-6)
    ref = LinearDiscriminantAnalysis(solver="eigen").fit(x[:, :4].astype(np.float64), y)
    angles = scipy.linalg.subspace_angles(w[:, :4].T, ref.scalings_[:, :2])
    # The four-feature problem's subspace; measured 1.3e-6, within the bound of the
    # test above for this gap (about 2e-5).
    assert np.max(np.sin(angles)) < 1e-4
    assert feature.apply(state, images[:7]).shape == (7, 2)


@pytest.mark.parametrize("make,args,error,match", [
    (lambda: fdl.features.lda(4), "data", ValueError, "n_components must be <= min\\(C - 1, D\\) = 3"),
    (lambda: fdl.features.lda(0), None, ValueError, "n_components must be >= 1"),
    (lambda: fdl.features.lda(1.5), None, TypeError, "n_components must be an int"),
    (lambda: fdl.features.lda(), "float labels", TypeError, "y must hold integer class labels"),
    (lambda: fdl.features.lda(), "short labels", ValueError, "y must have shape \\(400,\\)"),
    (lambda: fdl.features.lda(), "missing class", ValueError, "missing \\[1\\]"),
    (lambda: fdl.features.lda(), "one class", ValueError, "at least 2 classes"),
])
def test_bad_input(data, make, args, error, match):
    x, y = data
    ys = {"data": y, "float labels": y.astype(np.float32), "short labels": y[:5],
          "missing class": np.where(y == 1, 0, y), "one class": np.zeros_like(y)}
    with pytest.raises(error, match=match):
        make().fit(x, ys[args])


def test_apply_checks_the_example_shape(data):
    x, y = data
    feature = fdl.features.lda()
    state = feature.fit(x, y)
    with pytest.raises(ValueError, match="examples of shape \\(5,\\)"):
        feature.apply(state, x[:, :4])
