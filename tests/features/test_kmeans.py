"""k-means: Lloyd's iterations against scikit-learn's from the same seeds; k-means++."""

import jax
import numpy as np
import pytest
from sklearn.cluster import KMeans

import fdl.features

K = 4


@pytest.fixture(scope="module")
def points():
    """300 points in 3-D around four overlapping centres (so Lloyd needs several steps)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=2.0, size=(K, 3))
    return (centres[rng.integers(0, K, 300)] + rng.normal(size=(300, 3))).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1])
def test_same_seeds_same_result_as_scikit_learn(points, seed):
    init = points[np.random.default_rng(seed).choice(300, K, replace=False)]
    ours = fdl.features.kmeans(jax.random.key(0), points, K, init=init)
    ref = KMeans(K, init=init.astype(np.float64), n_init=1, algorithm="lloyd", tol=0.0,
                 max_iter=100).fit(points.astype(np.float64))
    assert 1 < int(ours.iterations) < 100  # it moved, and converged
    np.testing.assert_array_equal(np.asarray(ours.labels), ref.labels_)
    # Same fixed point: float32 means of ~75 points carry relative rounding ~1e-7; the
    # inertia is a sum of 300 float32 squares (relative error ~ u log N < 1e-6).
    np.testing.assert_allclose(np.asarray(ours.centers), ref.cluster_centers_, atol=1e-5)
    np.testing.assert_allclose(float(ours.inertia), ref.inertia_, rtol=1e-5)


def test_kmeans_plus_plus_finds_well_separated_clusters():
    """Seeds drawn with probability ~ D^2 land in distinct far-apart blobs (a uniform
    draw of 4 of 4 blobs would do so only 4!/4^4 = 9% of the time)."""
    centres = np.array([[0, 0, 0], [50, 0, 0], [0, 50, 0], [0, 0, 50]], np.float32)
    truth = np.repeat(np.arange(K), 75)
    x = centres[truth] + np.random.default_rng(1).normal(size=(300, 3)).astype(np.float32)
    for seed in range(3):
        result = fdl.features.kmeans(jax.random.key(seed), x, K)
        # Each found cluster is exactly one true blob.
        pairs = set(zip(np.asarray(result.labels).tolist(), truth.tolist()))
        assert len(pairs) == K and len({a for a, _ in pairs}) == K
        # The seeds are data points and the answer is the blobs' means.
        found = np.asarray(result.centers)[np.argsort(np.asarray(result.centers) @ [1, 2, 3])]
        means = np.stack([x[truth == c].mean(0) for c in range(K)])[np.argsort(centres @ [1, 2, 3])]
        np.testing.assert_allclose(found, means, atol=1e-4)  # float32 means of 75 points near 50


def test_same_key_same_clustering(points):
    a = fdl.features.kmeans(jax.random.key(3), points, K)
    b = fdl.features.kmeans(jax.random.key(3), points, K)
    np.testing.assert_array_equal(np.asarray(a.centers), np.asarray(b.centers))
    # Lloyd's result is a local minimum no worse than scikit-learn's k-means++ with ten
    # restarts by more than a few percent on this easy data.
    best = KMeans(K, n_init=10, random_state=0).fit(points).inertia_
    assert float(a.inertia) < 1.05 * best


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(key=0), TypeError, "key must be a JAX random key"),
    (dict(k=0), ValueError, "k must be in \\[1, 300\\]"),
    (dict(k=301), ValueError, "k must be in \\[1, 300\\]"),
    (dict(iters=0), ValueError, "iters must be >= 1"),
    (dict(init=np.zeros((3, 3), np.float32)), ValueError, "init must have shape \\(4, 3\\)"),
    (dict(x=np.zeros((300, 3), np.int32)), TypeError, "x must have a floating dtype"),
    (dict(x=np.zeros(300, np.float32)), ValueError, "x must have rank 2"),
])
def test_bad_input(points, kwargs, error, match):
    args = dict(key=jax.random.key(0), x=points, k=K)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        fdl.features.kmeans(args.pop("key"), args.pop("x"), args.pop("k"), **args)
