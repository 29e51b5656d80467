"""load_digits: shapes, dtypes, a reproducible stratified split that covers every image once."""

import numpy as np
import pytest

from fdl import data


@pytest.fixture(scope="module")
def splits():
    return data.load_digits()


@pytest.fixture(scope="module")
def raw():
    from sklearn import datasets

    bunch = datasets.load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int32)


def rows(x, y):
    """Each example as bytes, sorted: the multiset of (image, label) pairs."""
    x = np.asarray(x, np.float32).reshape(len(y), -1)
    return sorted(xi.tobytes() + np.int32(yi).tobytes() for xi, yi in zip(x, y))


def test_default_split_sizes_shapes_and_dtypes(splits):
    train, val, test, names = splits
    assert train.x.shape == (1197, 8, 8, 1)
    assert val.x.shape == test.x.shape == (300, 8, 8, 1)
    for part in (train, val, test):
        assert part.x.dtype == np.float32 and part.y.dtype == np.int32
        assert part.y.shape == (part.x.shape[0],)
        assert part.x.min() == 0.0 and part.x.max() == 1.0
        assert set(np.unique(part.y)) == set(range(10))
    assert names == tuple("0123456789")


def test_splits_are_disjoint_and_cover_every_image(splits, raw):
    x, y = raw
    got = np.concatenate([p.x for p in splits[:3]]) * 16
    labels = np.concatenate([p.y for p in splits[:3]])
    assert rows(got, labels) == rows(x, y)


def test_split_is_stratified(splits, raw):
    share = np.bincount(raw[1]) / len(raw[1])
    for part in (splits.val, splits.test):
        counts = np.bincount(part.y, minlength=10)
        # Every prefix of the stratified order is within one example per class of the
        # proportional share; val is a difference of two prefixes, hence two.
        np.testing.assert_array_less(np.abs(counts - share * len(part.y)), 2)


def test_split_is_fixed_across_calls_and_machines(splits):
    again = data.load_digits()
    for a, b in zip(splits[:3], again[:3]):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)
    # Pinned: NumPy's PCG64 stream is the same on every platform, so this must not move.
    np.testing.assert_array_equal(splits.test.y[:12], [3, 5, 1, 6, 4, 9, 7, 0, 2, 8, 3, 1])


def test_seed_changes_the_split(splits):
    other = data.load_digits(seed=1)
    assert not np.array_equal(other.test.y, splits.test.y)


def test_unscaled_pixels_keep_raw_values(raw):
    train = data.load_digits(scale=False).train
    assert train.x.dtype == np.float32 and train.x.max() == 16.0
    np.testing.assert_array_equal(train.x, np.round(train.x))


def test_custom_sizes():
    train, val, test, _ = data.load_digits(val_size=0, test_size=97)
    assert (len(train.y), len(val.y), len(test.y)) == (1700, 0, 97)
    assert val.x.shape == (0, 8, 8, 1)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"val_size": -1}, ValueError, "val_size"),
        ({"test_size": 2.5}, TypeError, "test_size"),
        ({"val_size": True}, TypeError, "val_size"),
        ({"val_size": 1000, "test_size": 797}, ValueError, "training"),
        ({"seed": "0"}, TypeError, "seed"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.load_digits(**kwargs)
