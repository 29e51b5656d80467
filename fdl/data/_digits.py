"""scikit-learn's bundled 8x8 handwritten digits, split into train/val/test.

The 1,797 images ship inside scikit-learn (the UCI "optical recognition of handwritten
digits" test set), so nothing is downloaded. scikit-learn is imported only when the
loader is called: ``import fdl`` does not need it.
"""

import numpy as np

from fdl.data._dataset import Dataset, Splits, check_size

DIGITS_SIZE = 1797


def stratified_order(y, seed):
    """A random order of ``range(len(y))`` in which every prefix is class-balanced.

    Each class is shuffled, its ``r``-th member gets the key ``(r + 0.5) / n_class``,
    and examples are sorted by key (ties in the shuffled order): cutting the sequence
    anywhere gives each class its share of the cut, within one example. Only NumPy's
    ``default_rng(seed).permutation`` (PCG64, the same on every platform) and exact
    float arithmetic are involved, so the order is the same on every machine.
    """
    perm = np.random.default_rng(seed).permutation(len(y))
    labels = y[perm]
    by_class = np.argsort(labels, kind="stable")
    counts = np.bincount(labels)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(y), np.int64)
    rank[by_class] = np.arange(len(y)) - np.repeat(starts, counts)
    key = (rank + 0.5) / counts[labels]
    return perm[np.argsort(key, kind="stable")]


def load_digits(*, val_size=300, test_size=300, seed=0, scale=True):
    """The 8x8 digits as NHWC images, with a fixed stratified train/val/test split.

    Of the 1,797 images, ``test_size`` go to test, the next ``val_size`` to validation
    and the rest to training: by default 1,197 / 300 / 300. The split is stratified
    (each part holds every digit in proportion, within one image) and depends only on
    ``seed``, so it is the same on every machine; see ``stratified_order``.

    Args:
      val_size: int, number of validation images (>= 0).
      test_size: int, number of test images (>= 0); ``val_size + test_size`` must leave
        at least one training image.
      seed: int, seed of the shuffle behind the split.
      scale: if True, pixels are divided by 16 (the raw maximum) into ``[0, 1]``;
        otherwise they keep their raw values ``0..16``.

    Returns:
      ``Splits(train, val, test, class_names)``: each part a ``Dataset`` with ``x``
      float32 ``(N, 8, 8, 1)`` and ``y`` int32 ``(N,)`` in ``[0, 10)``; ``class_names``
      is ``("0", ..., "9")``.

    Raises:
      TypeError, ValueError: a size that is not a non-negative int, or sizes that leave
        no training data.

    Examples:
      >>> train, val, test, names = load_digits()
      >>> train.x.shape, val.x.shape, test.x.shape
      ((1197, 8, 8, 1), (300, 8, 8, 1), (300, 8, 8, 1))
    """
    val_size = check_size(val_size, "val_size")
    test_size = check_size(test_size, "test_size")
    if val_size + test_size >= DIGITS_SIZE:
        raise ValueError(
            f"val_size + test_size must be < {DIGITS_SIZE} (the number of digit images) "
            f"to leave training data, got {val_size} + {test_size}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")

    from sklearn import datasets  # lazy: only this loader needs scikit-learn

    bunch = datasets.load_digits()
    x = np.asarray(bunch.images, np.float32)[..., None]
    if scale:
        x /= 16.0
    y = np.asarray(bunch.target, np.int32)
    order = stratified_order(y, int(seed))
    test = order[:test_size]
    val = order[test_size : test_size + val_size]
    train = order[test_size + val_size :]
    return Splits(
        train=Dataset(x[train], y[train]),
        val=Dataset(x[val], y[val]),
        test=Dataset(x[test], y[test]),
        class_names=tuple(str(c) for c in range(10)),
    )
