import os

import jax
import numpy as np
import pytest
from sklearn.datasets import load_digits

import fdl.classic
import fdl.tune


# Even and uneven folds, one example per fold and a large n. The shuffle of range(n)
# compiles once per n: every test below folds n = 10 or n = 1000 examples.
@pytest.mark.parametrize("n, folds", [(10, 2), (10, 3), (10, 4), (10, 10), (1000, 7)])
def test_folds_partition_the_data(n, folds):
    splits = fdl.tune.kfold(n, folds, jax.random.key(0))
    assert len(splits) == folds
    vals = [val for _, val in splits]
    # Validation folds are disjoint and cover range(n): each example validated once.
    np.testing.assert_array_equal(np.sort(np.concatenate(vals)), np.arange(n))
    sizes = [len(v) for v in vals]
    assert max(sizes) - min(sizes) <= 1
    for train, val in splits:
        assert train.dtype.kind == "i" and val.dtype.kind == "i"
        assert np.intersect1d(train, val).size == 0
        everything = np.sort(np.concatenate([train, val]))
        np.testing.assert_array_equal(everything, np.arange(n))


def test_folds_are_reproducible_and_shuffled():
    a = fdl.tune.kfold(1000, 5, jax.random.key(1))
    b = fdl.tune.kfold(1000, 5, jax.random.key(1))
    c = fdl.tune.kfold(1000, 5, jax.random.key(2))
    for (ta, va), (tb, vb) in zip(a, b):
        np.testing.assert_array_equal(ta, tb)
        np.testing.assert_array_equal(va, vb)
    assert any(not np.array_equal(va, vc) for (_, va), (_, vc) in zip(a, c))
    # Shuffled: the first fold is not simply the first fifth of the examples.
    assert not np.array_equal(a[0][1], np.arange(200))


def test_kfold_bad_input():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="folds must be >= 2"):
        fdl.tune.kfold(10, 1, key)
    with pytest.raises(ValueError, match="more than the number of examples"):
        fdl.tune.kfold(4, 5, key)
    with pytest.raises(TypeError, match="key must be a JAX random key"):
        fdl.tune.kfold(10, 2, 0)
    with pytest.raises(TypeError, match="folds must be an int"):
        fdl.tune.kfold(10, 2.5, key)


def test_cross_validate_scores_and_statistics():
    n = 10  # folds of 3, 3, 2 and 2
    x = np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    y = np.arange(n)
    seen = []

    def train_and_score(train, val):
        (x_train, y_train), (x_val, y_val) = train, val
        assert x_train.shape[1:] == (3,) and len(x_train) == len(y_train)
        np.testing.assert_array_equal(x_val[:, 0], y_val)  # rows stay aligned
        seen.append(y_val)
        return float(np.mean(y_val)) + len(y_train)

    key = jax.random.key(3)
    result = fdl.tune.cross_validate(train_and_score, (x, y), folds=4, key=key)
    assert isinstance(result, fdl.tune.CVResult)
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(n))
    splits = fdl.tune.kfold(n, 4, key)
    expected = [np.mean(val) + len(train) for train, val in splits]
    np.testing.assert_allclose(result.scores, expected)
    assert result.scores.shape == (4,)
    assert result.mean == pytest.approx(np.mean(expected))
    assert result.std == pytest.approx(np.std(expected))


def test_cross_validate_single_array_and_errors():
    x = np.arange(10.0)
    result = fdl.tune.cross_validate(
        lambda train, val: float(val.sum()), x, folds=3, key=jax.random.key(0)
    )
    assert result.scores.sum() == pytest.approx(x.sum())
    with pytest.raises(ValueError, match="leading"):
        fdl.tune.cross_validate(
            lambda t, v: 0.0, (np.ones(5), np.ones(6)), key=jax.random.key(0)
        )
    with pytest.raises(TypeError, match="real number"):
        fdl.tune.cross_validate(lambda t, v: "good", x, folds=2, key=jax.random.key(0))
    with pytest.raises(ValueError, match="folds must be >= 2"):
        fdl.tune.cross_validate(lambda t, v: 0.0, x, folds=1, key=jax.random.key(0))


def test_cross_validate_knn_matches_knn_predict_per_fold():
    x, y = load_digits(return_X_y=True)
    # 1000 examples: the shuffle compiled above. The Euclidean search: knn_predict
    # compiles one search per k, and the L1 one (a loop over features) compiles about
    # five times slower; fdl knn's tests cross-validate with both.
    x, y = x[:1000], y[:1000]
    ks = (1, 8)
    key = jax.random.key(4)
    result = fdl.tune.cross_validate_knn(x, y, ks, folds=4, key=key, metric="l2")
    assert result.accuracies.shape == (2, 4)
    for j, (train, val) in enumerate(fdl.tune.kfold(1000, 4, key)):
        for i, k in enumerate(ks):
            pred = fdl.classic.knn_predict(x[train], y[train], x[val], k, "l2")
            assert result.accuracies[i, j] == np.mean(np.asarray(pred) == y[val])
    np.testing.assert_allclose(result.mean, result.accuracies.mean(axis=1))
    np.testing.assert_allclose(result.std, result.accuracies.std(axis=1))
    assert result.best_k == ks[int(np.argmax(result.mean))]
    assert result.mean.min() > 0.9


def test_cross_validate_knn_bad_input():
    x, y = np.random.default_rng(0).standard_normal((10, 3)), np.arange(10) % 2
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="larger than the smallest training split"):
        fdl.tune.cross_validate_knn(x, y, [1, 9], folds=5, key=key)  # splits of 8
    with pytest.raises(ValueError, match="at least one"):
        fdl.tune.cross_validate_knn(x, y, [], key=key)
    with pytest.raises(ValueError, match=">= 1"):
        fdl.tune.cross_validate_knn(x, y, [0, 1], key=key)
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        fdl.tune.cross_validate_knn(x, y[:9], [1], key=key)
    with pytest.raises(ValueError, match="metric"):
        fdl.tune.cross_validate_knn(x, y, [1], key=key, metric="cosine")


def test_plot_cv_accuracy_writes_a_png(tmp_path):
    accuracies = np.array([[0.9, 0.92, 0.91], [0.93, 0.94, 0.95]])
    path = tmp_path / "cv.png"
    assert fdl.tune.plot_cv_accuracy([1, 3], accuracies, path) == os.fspath(path)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.listdir(tmp_path) == ["cv.png"]  # no temporary file left behind
    with pytest.raises(ValueError, match="len\\(ks\\), folds"):
        fdl.tune.plot_cv_accuracy([1, 3, 5], accuracies, tmp_path / "bad.png")


@pytest.mark.parametrize("folds,match", [
    (1, "folds must be >= 2"),
    (11, "more than the number of examples"),
])
def test_cross_validate_knn_fold_count_out_of_range(folds, match):
    x, y = np.random.default_rng(0).standard_normal((10, 3)), np.arange(10) % 2
    with pytest.raises(ValueError, match=match):
        fdl.tune.cross_validate_knn(x, y, [1], folds=folds, key=jax.random.key(0))
