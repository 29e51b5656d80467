"""Preprocessing fitted on train and applied to held-out data, against NumPy and
scikit-learn."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.decomposition import PCA

from fdl import data

SHAPE = (4, 3, 2)  # H, W, C: D = 24 features
K = 8  # kept axes of the float32 PCA and whitening tests: one compiled principal_axes


def images(n, seed, shift=0.0):
    """Correlated Gaussian images ``(n, 4, 3, 2)`` with well-separated principal
    variances (so the principal axes are unique up to sign)."""
    rng = np.random.default_rng(seed)
    d = int(np.prod(SHAPE))
    basis = np.linalg.qr(np.random.default_rng(99).normal(size=(d, d)))[0]
    scales = 3.0 * 0.8 ** np.arange(d)
    z = rng.normal(size=(n, d)) * scales
    x = z @ basis.T + np.linspace(-1, 1, d) + shift
    return x.reshape(n, *SHAPE)


@pytest.fixture
def split():
    return images(400, 0).astype(np.float32), images(100, 1).astype(np.float32)


def numpy_cov(z):
    zc = z - z.mean(0)
    return zc.T @ zc / len(z)


def fit_apply(pre, variant, train, *others):
    """``state`` fitted on ``train`` and ``pre.apply(state, x)`` for ``train`` and each
    of ``others``, as NumPy arrays. Under ``variant=jax.jit`` one compiled program fits
    and applies (separately jitted, fit and each input shape of apply compile their own).
    The checks then run in NumPy: eager jnp checks would compile op by op."""

    def run(train, *others):
        state = pre.fit(train)
        return state, [pre.apply(state, x) for x in (train,) + others]

    state, outs = jax.device_get(variant(run)(train, *others))
    return (state, *outs)


def test_mean_image_centres_train_not_val(variant, split):
    train, val = split
    pre = data.mean_image()
    state, out_train, out_val = fit_apply(pre, variant, train, val)
    assert state.mean.shape == SHAPE
    np.testing.assert_allclose(state.mean, train.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.mean(out_train, 0), 0, atol=1e-5)
    np.testing.assert_allclose(out_val, val - train.mean(0), rtol=1e-5, atol=1e-5)
    # Val is centred by the training mean, not its own, so its mean is not zero.
    assert float(np.abs(np.mean(out_val, 0)).max()) > 0.05
    np.testing.assert_allclose(pre.inverse(state, out_val), val, rtol=1e-5, atol=1e-5)


def test_channel_mean_is_one_value_per_channel(variant, split):
    train, val = split
    pre = data.channel_mean()
    # Any image size with the same channels.
    other = val[:, :2, :1]
    state, out, out_other = fit_apply(pre, variant, train, other)
    np.testing.assert_allclose(state.mean, train.mean((0, 1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.mean(out, (0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out_other, other - train.mean((0, 1, 2)), atol=1e-5)


@pytest.mark.parametrize("per_channel", [False, True])
def test_standardize(variant, split, per_channel):
    train, val = split
    pre = data.standardize(per_channel=per_channel)
    state, out, out_val = fit_apply(pre, variant, train, val)
    axes = (0, 1, 2) if per_channel else 0
    assert state.mean.shape == ((2,) if per_channel else SHAPE)
    np.testing.assert_allclose(np.mean(out, axes), 0, atol=1e-5)
    np.testing.assert_allclose(np.std(out, axes), 1, rtol=1e-4)
    expected = (val - train.mean(axes)) / train.std(axes)
    np.testing.assert_allclose(out_val, expected, rtol=1e-4, atol=1e-4)
    # Sampling noise of 100 held-out examples (~0.04 here) dwarfs rounding (~1e-7).
    assert float(np.abs(np.mean(out_val, axes)).max()) > 1e-2
    np.testing.assert_allclose(pre.inverse(state, out_val), val, rtol=1e-5, atol=1e-5)


def test_standardize_leaves_constant_features_unscaled(split):
    train, val = split
    train, val = train.copy(), val.copy()
    train[:, 0, 0, 0] = 0.25  # a pixel that never varies in training
    val[:, 0, 0, 0] = 0.5
    pre = data.standardize()
    state = jax.device_get(pre.fit(train))
    assert state.scale[0, 0, 0] == 1.0
    np.testing.assert_allclose(np.asarray(pre.apply(state, val))[:, 0, 0, 0], 0.25, rtol=1e-6)


def fit_pca(pre, x, variant):
    return fit_apply(pre, variant, x)


def test_pca_axes_orthonormal_and_projections_decorrelated(variant, split):
    train, _ = split
    state, z = fit_pca(data.pca(K), train, variant)
    assert state.components.shape == (K, 24) and z.shape == (400, K)
    c = state.components.astype(np.float64)
    np.testing.assert_allclose(c @ c.T, np.eye(K), atol=1e-5)
    variances = state.variances
    assert np.all(np.diff(variances) < 0)
    # Projections are uncorrelated, with the principal variances on the diagonal.
    np.testing.assert_allclose(numpy_cov(z.astype(np.float64)), np.diag(variances),
                               rtol=1e-4, atol=1e-4 * variances[0])  # fmt: skip
    # The sign convention: each axis's largest-magnitude entry is positive.
    assert np.all(c[np.arange(K), np.abs(c).argmax(1)] > 0)


def test_pca_matches_numpy_svd_and_sklearn(x64, split):
    train = split[0].astype(np.float64)
    state, z = fit_pca(data.pca(6), train, jax.jit)
    assert z.dtype == np.float64
    flat = train.reshape(len(train), -1)
    centred = flat - flat.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    signs = np.sign(np.sum(vt[:6] * state.components, axis=1))
    np.testing.assert_allclose(state.components, signs[:, None] * vt[:6], atol=1e-10)
    np.testing.assert_allclose(state.variances, s[:6] ** 2 / len(train), rtol=1e-10)

    ref = PCA(n_components=6, svd_solver="full").fit(flat)
    signs = np.sign(np.sum(ref.components_ * state.components, axis=1))
    np.testing.assert_allclose(state.components, signs[:, None] * ref.components_, atol=1e-10)
    np.testing.assert_allclose(z, ref.transform(flat) * signs, atol=1e-9)
    # scikit-learn divides by N - 1, the notes' covariance by N.
    n = len(train)
    np.testing.assert_allclose(state.variances, ref.explained_variance_ * (n - 1) / n,
                               rtol=1e-10)  # fmt: skip


def test_pca_reconstruction(x64, split):
    train, val = (a.astype(np.float64) for a in split)
    full = data.pca()
    pre = data.pca(5)

    @jax.jit  # one compiled program (eagerly, each step's ops compile one by one)
    def run(train, val):
        state = full.fit(train)
        state5 = pre.fit(train)
        return (state, full.inverse(state, full.apply(state, val)),
                pre.inverse(state5, pre.apply(state5, train)))

    state, val_back, back = jax.device_get(run(train, val))
    assert state.components.shape == (24, 24)
    assert val_back.dtype == np.float64
    np.testing.assert_allclose(val_back, val, atol=1e-10)
    # Dropping axes loses exactly their variance (on the training data).
    assert back.shape == train.shape
    lost = np.sum((train - back) ** 2) / len(train)
    np.testing.assert_allclose(lost, np.sum(state.variances[5:]), rtol=1e-10)


def test_whitened_train_covariance_is_identity(variant, split):
    train, val = split
    pre = data.whiten(K)
    state, z, out_val = fit_apply(pre, variant, train, val)
    assert z.shape == (400, K)
    # eps = 1e-5 shrinks each variance by var / (var + eps); the smallest kept is ~0.1.
    np.testing.assert_allclose(numpy_cov(z.astype(np.float64)), np.eye(K), atol=1e-3)
    assert np.abs(numpy_cov(out_val.astype(np.float64)) - np.eye(K)).max() > 1e-2
    np.testing.assert_allclose(
        pre.inverse(state, out_val),
        data.pca(K).inverse(state, out_val * np.sqrt(state.variances + 1e-5)),
        rtol=1e-5, atol=1e-5,
    )  # fmt: skip


def test_zca_whitening(x64, split):
    train = split[0].astype(np.float64)
    pre = data.whiten(eps=0.0, zca=True)

    @jax.jit  # one compiled program (eagerly, each op compiles on its own)
    def run(x):
        state = pre.fit(x)
        out = pre.apply(state, x)
        return out, pre.inverse(state, out)

    out, back = run(train)
    assert out.shape == train.shape and out.dtype == np.float64
    flat = np.asarray(out).reshape(len(train), -1)
    np.testing.assert_allclose(numpy_cov(flat), np.eye(24), atol=1e-9)
    # ZCA is the symmetric whitening: Xc @ Cov^(-1/2).
    x = train.reshape(len(train), -1)
    w, v = np.linalg.eigh(numpy_cov(x))
    expected = (x - x.mean(0)) @ (v / np.sqrt(w)) @ v.T
    np.testing.assert_allclose(flat, expected, atol=1e-8)
    np.testing.assert_allclose(back, train, atol=1e-10)


def test_preprocessing_on_digits():
    train, val, _, _ = data.load_digits()
    pre = data.whiten(30)
    _, z, z_val = fit_apply(pre, jax.jit, train.x, val.x)
    assert z.dtype == np.float32
    np.testing.assert_allclose(numpy_cov(z.astype(np.float64)), np.eye(30), atol=2e-3)
    assert z_val.shape == (300, 30)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: data.pca(0), ValueError, "k must be >= 1"),
        (lambda: data.pca(2.5), TypeError, "k must be an int"),
        (lambda: data.whiten(True), TypeError, "k must be an int"),
        (lambda: data.whiten(eps=-1.0), ValueError, "eps"),
        (lambda: data.standardize(eps=float("nan")), ValueError, "eps"),
    ],
)
def test_bad_hyperparameters(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    "pre", [data.mean_image(), data.channel_mean(), data.standardize(), data.pca(K),
            data.whiten(K, zca=True)],
)  # fmt: skip
def test_bad_data(split, pre):
    train, _ = split
    with pytest.raises(ValueError, match="rank"):
        pre.fit(train[0, 0, 0])
    with pytest.raises(TypeError, match="floating"):
        pre.fit(train.astype(np.int32))
    with pytest.raises(ValueError, match="at least one"):
        pre.fit(train[:0])
    state = pre.fit(train)
    with pytest.raises(ValueError, match="x must have"):
        pre.apply(state, train[:, :, :, :1])
    with pytest.raises(TypeError, match="x must be an array"):
        pre.apply(state, "images")


def test_pca_k_larger_than_features(split):
    with pytest.raises(ValueError, match="k must be <= 24"):
        data.pca(25).fit(split[0])


def test_pca_inverse_checks_codes(split):
    pre = data.pca(K)
    state = pre.fit(split[0])
    with pytest.raises(ValueError, match=rf"z must have shape \(N, {K}\)"):
        pre.inverse(state, jnp.zeros((5, 4)))
