import jax
import jax.numpy as jnp
import numpy as np
import pytest
from compilations import count_compilations as _compilations
from programs import compiled_once
from scipy.spatial.distance import cdist

import fdl.classic

SCIPY_NAMES = {"l2": "euclidean", "sqeuclidean": "sqeuclidean", "l1": "cityblock"}
EPS32 = float(np.finfo(np.float32).eps)
distances = fdl.classic.pairwise_distances


def _points(n, d, seed, offset=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, d)) * scale + offset).astype(np.float32)


# Float32 tests share these shapes of a and b (and chunk sizes), so that each compiled
# distance program serves several of them.
N, M, D = 37, 45, 50


def test_l1_lecture_example():
    # The worked example of the lecture notes: pixel-wise |test - train|, summed.
    test = np.array(
        [[56, 32, 10, 18], [90, 23, 128, 133], [24, 26, 178, 200], [2, 0, 255, 220]],
        dtype=np.uint8,
    )
    train = np.array(
        [[10, 20, 24, 17], [8, 10, 89, 100], [12, 16, 178, 170], [4, 32, 233, 112]],
        dtype=np.uint8,
    )
    d = distances(test[None], train[None], "l1")
    assert d.dtype == jnp.float32  # integer pixels are cast to float32
    assert d.shape == (1, 1)
    assert float(d[0, 0]) == 456.0
    # The same images as NHWC (1, 4, 4, 1): every non-leading axis is a feature axis.
    d_nhwc = distances(test[None, ..., None], train[None, ..., None], "l1")
    assert float(d_nhwc[0, 0]) == 456.0


@pytest.mark.parametrize("metric", ["l2", "sqeuclidean", "l1"])
def test_matches_scipy_float32(metric):
    a, b = _points(N, D, 0), _points(M, D, 1)
    got = np.asarray(distances(a, b, metric), dtype=np.float64)
    ref = cdist(a.astype(np.float64), b.astype(np.float64), SCIPY_NAMES[metric])
    if metric == "l1":
        # A float32 sum of D = 50 non-negative terms: relative error <= D * eps.
        np.testing.assert_allclose(got, ref, rtol=50 * EPS32)
        return
    # The matrix-product form makes an error in d^2 of about eps times the size of
    # the terms it adds, ||a||^2 + 2|a.b| + ||b||^2 <= 2 (||a||^2 + ||b||^2), with a
    # factor D for the accumulation in the worst case. That bounds d^2; for d, the
    # error of sqrt(x) is at most sqrt of the error of x.
    a_sq, b_sq = (np.sum(x.astype(np.float64) ** 2, axis=1) for x in (a, b))
    terms = 2 * (a_sq[:, None] + b_sq[None, :])
    bound = 50 * EPS32 * terms
    if metric == "l2":
        assert np.all(np.abs(got - ref) <= np.sqrt(bound))
        assert np.abs(got - ref).max() < 1e-4  # what it is in practice, d ~ 10
    else:
        assert np.all(np.abs(got - ref) <= bound)


@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_matches_scipy_float64(metric):
    with jax.enable_x64(True):
        rng = np.random.default_rng(2)
        a, b = rng.standard_normal((20, 30)), rng.standard_normal((25, 30))
        got = distances(a, b, metric)
        assert got.dtype == jnp.float64
        # Float64: the same bounds as float32 with eps = 2.2e-16; 1e-12 is ample.
        np.testing.assert_allclose(
            np.asarray(got), cdist(a, b, SCIPY_NAMES[metric]), rtol=1e-12, atol=1e-12
        )


@pytest.mark.parametrize("metric", ["l2", "sqeuclidean", "l1"])
def test_chunked_equals_unchunked(metric):
    a, b = _points(N, D, 3), _points(M, D, 4)
    whole = np.asarray(distances(a, b, metric))
    # One row; 7, which leaves a last chunk that overlaps the one before (37 = 5 * 7 + 2);
    # all rows; more than all rows.
    for chunk in (1, 7, N, 100):
        chunked = np.asarray(distances(a, b, metric, chunk_size=chunk))
        # Each entry is computed by the same per-row arithmetic; only the blocking of
        # the matrix product may change, so allow float32 rounding.
        np.testing.assert_allclose(chunked, whole, rtol=1e-6, atol=1e-5)
    # A budget that fits only a few rows at a time chooses chunks by itself: 7 rows, the
    # program compiled above.
    budget = 3 * 4 * M * 7
    assert _compilations(lambda: distances(a, b, metric, memory_budget_bytes=budget)) == 0
    small = distances(a, b, metric, memory_budget_bytes=budget)
    np.testing.assert_allclose(np.asarray(small), whole, rtol=1e-6, atol=1e-5)


def test_integer_data_is_exact_whatever_the_chunks():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 17, (N, D)).astype(np.float32)
    b = rng.integers(0, 17, (M, D)).astype(np.float32)
    ref = cdist(a, b, "sqeuclidean")
    for chunk in (None, 7):
        got = distances(a, b, "sqeuclidean", chunk_size=chunk)
        np.testing.assert_array_equal(np.asarray(got), ref)
        got = distances(a + 1e3, b + 1e3, "sqeuclidean", chunk_size=chunk)
        np.testing.assert_array_equal(np.asarray(got), ref)


def test_far_from_origin_ranks_like_the_direct_form():
    a = _points(N, D, 6, offset=1e3)
    b = _points(M, D, 7, offset=1e3)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    direct = np.sqrt(((a64[:, None, :] - b64[None, :, :]) ** 2).sum(-1))
    got = np.asarray(distances(a, b, "l2"))
    # Centring keeps float32 accuracy relative to the distances themselves (~10).
    assert np.abs(got - direct).max() < 1e-4 * direct.mean()
    nearest = np.argsort(got, axis=1, kind="stable")[:, :5]
    expected = np.argsort(direct, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(nearest, expected)
    # Without centring, float32 ||a||^2 ~ 5e7 swamps d^2 ~ 100: the ranking breaks.
    # This is what the test guards against.
    a_sq = (a * a).sum(1)
    naive = a_sq[:, None] - 2 * (a @ b.T) + (b * b).sum(1)[None, :]
    agree = np.mean(np.argmin(naive, axis=1) == np.argmin(direct, axis=1))
    assert agree < 0.9


def test_nhwc_images_are_flattened():
    # 5 x 5 x 2 = D pixels: the flattened images have the shapes of the tests above.
    rng = np.random.default_rng(8)
    a = rng.integers(0, 256, (N, 5, 5, 2), dtype=np.uint8)
    b = rng.integers(0, 256, (M, 5, 5, 2), dtype=np.uint8)
    for metric in ("l2", "l1"):
        got = distances(a, b, metric)
        a_flat, b_flat = a.reshape(N, -1), b.reshape(M, -1)
        flat = distances(a_flat, b_flat, metric)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(flat))
        ref = cdist(a_flat.astype(float), b_flat.astype(float), SCIPY_NAMES[metric])
        np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-6)


def test_each_point_is_its_own_nearest_neighbour():
    # b is a followed by M - N other points (the shapes of the tests above): row i of
    # the distances has its zero at column i.
    a = _points(N, D, 9, offset=50.0)
    b = np.concatenate([a, _points(M - N, D, 12, offset=50.0)])
    d = np.asarray(distances(a, b, "l2"))
    assert np.all(d >= 0)  # clamped: rounding never gives a negative square
    np.testing.assert_array_equal(np.argmin(d, axis=1), np.arange(N))
    # The matrix-product form is not exactly 0 on the diagonal: ||a||^2 and a.a are
    # summed in different orders, so d^2 is off by up to ~D * eps * ||a_c||^2 (~3e-4
    # with ||a_c||^2 ~ D = 50; 1e-4 measured), and its square root by ~2e-2 (1e-2
    # measured). Distinct points here are more than 6 apart.
    assert np.abs(np.diag(d)).max() < 5e-2
    # The L1 form is exact.
    np.testing.assert_array_equal(np.diag(np.asarray(distances(a, b, "l1"))), 0.0)


def test_works_under_jit():
    a, b = _points(N, D, 10), _points(M, D, 11)
    for metric in ("l2", "l1"):
        # Compiled the cheap way fdl gradcheck compiles (a program run once).
        f = compiled_once(lambda x, y, m=metric: distances(x, y, m, chunk_size=3), a, b)
        expected = np.asarray(distances(a, b, metric))
        np.testing.assert_allclose(np.asarray(f(a, b)), expected, rtol=1e-6, atol=1e-6)


def test_empty_inputs():
    assert distances(np.zeros((0, 3)), np.ones((4, 3))).shape == (0, 4)
    assert distances(np.ones((2, 3)), np.zeros((0, 3)), "l1").shape == (2, 0)


def test_bad_input():
    a = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="rank >= 2"):
        distances(np.ones(4), a)
    with pytest.raises(ValueError, match=r"D=4 features.*D=5"):
        distances(a, np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"'l2', 'sqeuclidean', 'l1'"):
        distances(a, a, "cosine")
    with pytest.raises(ValueError, match="chunk_size"):
        distances(a, a, chunk_size=0)
    with pytest.raises(ValueError, match="memory_budget_bytes"):
        distances(a, a, memory_budget_bytes=0)
    with pytest.raises(TypeError, match="a must be an array"):
        distances("abc", a)
    with pytest.raises(TypeError, match="real"):
        distances(a.astype(np.complex64), a)
