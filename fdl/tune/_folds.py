"""k-fold cross-validation: choosing hyperparameters on folds of the training data.

Hyperparameters (the ``k`` and the distance of a nearest-neighbour classifier, a
learning rate, a regularisation strength) are set, not learned. Choosing them on the
test set tells nothing about new data; the lecture's remedy is to hold part of the
training data out as validation data, or, for small data sets, to split the training
data into folds, use each fold once as validation data while training on the others,
and average the scores. The test set is used once, at the very end.
"""

import numbers
import os
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fdl import _checks
from fdl.classic._distances import DEFAULT_MEMORY_BUDGET, as_points, check_metric
from fdl.classic._knn import check_labels, majority_vote, nearest, validate_query


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def kfold(n, folds, key):
    """Splits ``range(n)`` into ``folds`` shuffled folds for cross-validation.

    The indices are permuted with ``key`` (same key, same folds) and cut into
    ``folds`` parts whose sizes differ by at most one. Fold ``i`` is the validation
    set of split ``i``; the other folds together are its training set. The
    validation sets partition ``range(n)``: every example is validated on exactly
    once.

    Args:
      n: number of examples, ``>= folds``.
      folds: number of folds, ``2 <= folds <= n``.
      key: a JAX random key.

    Returns:
      A list of ``folds`` pairs ``(train_idx, val_idx)`` of sorted int64 NumPy
      arrays.

    Raises:
      ValueError: ``folds < 2`` or ``folds > n``.

    Examples:
      >>> import jax, fdl.tune
      >>> splits = fdl.tune.kfold(10, 5, jax.random.key(0))
      >>> len(splits), [len(v) for _, v in splits]
      (5, [2, 2, 2, 2, 2])
    """
    n = _check_int(n, "n", 1)
    folds = _check_int(folds, "folds", 2)
    if folds > n:
        raise ValueError(
            f"folds={folds} is more than the number of examples n={n}: every fold "
            "needs at least one example"
        )
    order = np.asarray(jax.random.permutation(_checks.prng_key(key), n), dtype=np.int64)
    parts = np.array_split(order, folds)
    splits = []
    for i, val in enumerate(parts):
        train = np.concatenate(parts[:i] + parts[i + 1 :])
        splits.append((np.sort(train), np.sort(val)))
    return splits


class CVResult(NamedTuple):
    """Scores of a cross-validation: one per fold, with their mean and std."""

    scores: np.ndarray  # (folds,) float64, fold i's validation score
    mean: float  # np.mean(scores)
    std: float  # np.std(scores), the population standard deviation (ddof=0)


def _as_data(data):
    """A tuple of arrays sharing their leading size, and that size."""
    single = hasattr(data, "shape")
    arrays = (data,) if single else data
    if not isinstance(arrays, (tuple, list)) or not arrays:
        raise TypeError(
            "data must be an array or a non-empty tuple of arrays such as (x, y), "
            f"got {type(data).__name__}"
        )
    arrays = tuple(a if hasattr(a, "shape") else np.asarray(a) for a in arrays)
    sizes = [a.shape[0] if a.ndim else None for a in arrays]
    if None in sizes or len(set(sizes)) != 1:
        shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
        raise ValueError(
            f"data arrays must share their leading (example) axis, got shapes {shapes}"
        )
    return arrays, sizes[0], single


def cross_validate(train_and_score, data, *, folds=5, key):
    """Scores a training procedure by k-fold cross-validation.

    For each split ``(train_idx, val_idx)`` of ``kfold(n, folds, key)`` calls
    ``train_and_score(train_data, val_data)``, where ``train_data`` and
    ``val_data`` are ``data`` with every array indexed by those rows. The procedure
    trains a model on the first and returns a score on the second (an accuracy, a
    loss: whatever the caller compares).

    Args:
      train_and_score: ``(train_data, val_data) -> float``.
      data: a tuple of arrays with the same leading size ``n``, e.g. ``(x, y)``, or
        one array (then the callback receives arrays, not tuples).
      folds: number of folds, ``2 <= folds <= n``.
      key: a JAX random key that shuffles the examples into folds.

    Returns:
      ``CVResult(scores, mean, std)``: scores float64 ``(folds,)``.

    Raises:
      ValueError: arrays of different leading sizes, ``folds < 2`` or ``> n``.
      TypeError: a score that is not a real number.
    """
    arrays, n, single = _as_data(data)
    scores = []
    for train_idx, val_idx in kfold(n, folds, key):
        train = tuple(a[train_idx] for a in arrays)
        val = tuple(a[val_idx] for a in arrays)
        if single:
            train, val = train[0], val[0]
        score = train_and_score(train, val)
        try:
            scores.append(float(score))
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"train_and_score must return a real number, got {type(score).__name__}"
            ) from err
    scores = np.asarray(scores, dtype=np.float64)
    return CVResult(scores, mean=float(np.mean(scores)), std=float(np.std(scores)))


class KnnCVResult(NamedTuple):
    """Validation accuracies of a k-nearest-neighbour classifier for several ``k``."""

    ks: tuple  # the candidate k, as given
    accuracies: np.ndarray  # (len(ks), folds): accuracy of each k on each fold
    mean: np.ndarray  # (len(ks),) mean over folds
    std: np.ndarray  # (len(ks),) population std over folds
    best_k: int  # the k with the highest mean accuracy (the smallest such k on ties)


@jax.jit
def _split(x, y, train_idx, val_idx):
    """``(x_train, x_val, y_train, y_val)``: the rows of one fold, gathered in one
    compiled program (indexing eagerly compiles a handful of small ones per shape)."""
    return x[train_idx], x[val_idx], y[train_idx], y[val_idx]


@partial(jax.jit, static_argnames=("ks", "num_classes"))
def _correct_counts(y_train, indices, y_val, ks, num_classes):
    """Correct votes of the first ``k`` neighbours, for every ``k`` in ``ks``."""
    neighbour_labels = y_train[indices]
    return jnp.stack(
        [
            jnp.sum(majority_vote(neighbour_labels[:, :k], num_classes) == y_val)
            for k in ks
        ]
    )


def cross_validate_knn(
    x,
    y,
    ks,
    *,
    folds=5,
    key,
    metric="l2",
    memory_budget_bytes=DEFAULT_MEMORY_BUDGET,
):
    """Chooses ``k`` for ``knn_predict`` by k-fold cross-validation.

    The lecture's experiment: for each fold, classify its examples with the other
    folds as training data, for every candidate ``k``, and compare mean accuracies.
    Distances are computed once per fold, and one ``top_k`` with ``max(ks)`` gives the
    neighbours for every ``k``: the ``k`` nearest are the first ``k`` of the
    ``max(ks)`` nearest. Each accuracy equals that of ``knn_predict`` on the same
    split.

    Args:
      x: ``(n, ...)`` examples.
      y: int ``(n,)`` labels.
      ks: candidate values of ``k`` (ints ``>= 1``), at most the size of the
        smallest training split (``n - ceil(n / folds)``).
      folds: number of folds.
      key: a JAX random key that shuffles the examples into folds.
      metric: ``"l2"``, ``"sqeuclidean"`` or ``"l1"``.
      memory_budget_bytes: bytes of temporaries one chunk of queries may use.

    Returns:
      ``KnnCVResult(ks, accuracies (len(ks), folds), mean, std, best_k)``.

    Raises:
      ValueError: an empty ``ks``, a ``k`` below 1 or above the training split, a
        label count other than ``n``, ``folds`` out of range, an unknown metric.
    """
    metric = check_metric(metric)  # before any work
    x = as_points(x, "x")
    n = x.shape[0]
    y, num_classes = check_labels(y, n, None)
    if isinstance(ks, numbers.Integral):
        ks = (ks,)
    ks = tuple(_check_int(k, "each k in ks", 1) for k in ks)
    if not ks:
        raise ValueError("ks must hold at least one candidate k")
    splits = kfold(n, folds, key)
    smallest_train = min(len(train) for train, _ in splits)
    if max(ks) > smallest_train:
        raise ValueError(
            f"k={max(ks)} is larger than the smallest training split ({smallest_train} "
            f"of {n} examples with {folds} folds)"
        )
    accuracies = []
    for train_idx, val_idx in splits:
        x_train, x_val, y_train, y_val = _split(x, y, train_idx, val_idx)
        x_train, x_val, k_max, metric_, rows = validate_query(
            x_train, x_val, max(ks), metric, memory_budget_bytes
        )
        _, indices = nearest(x_train, x_val, k_max, metric_, rows)
        correct = _correct_counts(y_train, indices, y_val, ks, num_classes)
        # Divided on the host in float64: the exact fraction of the fold.
        accuracies.append(np.asarray(correct, dtype=np.float64) / len(val_idx))
    accuracies = np.stack(accuracies, axis=1)
    mean = accuracies.mean(axis=1)
    # argmax: the first, i.e. the smallest k listed first, among equal means.
    best_k = ks[int(np.argmax(mean))]
    return KnnCVResult(ks, accuracies, mean, accuracies.std(axis=1), best_k)


# How plot titles name each distance of ``fdl.classic.METRICS``.
METRIC_TITLES = {"l2": "L2 (Euclidean) distance", "sqeuclidean": "squared L2 distance",
                 "l1": "L1 (Manhattan) distance"}


def plot_cv_accuracy(ks, accuracies, path, *, metric=None):
    """Writes a PNG of cross-validation accuracy against ``k``.

    Each fold's accuracy is a dot; the line joins the means, with error bars of one
    standard deviation, as in the lecture's plot of the cross-validation on ``k``.
    Written atomically (``fdl.viz.save_figure``): a reader never sees half a file.

    Args:
      ks: ``(K,)`` candidate values of ``k``.
      accuracies: ``(K, folds)`` accuracy of each ``k`` on each fold (e.g.
        ``KnnCVResult.accuracies``).
      path: where to write the PNG.
      metric: the distance the accuracies were measured with (one of
        ``fdl.classic.METRICS``), named in the title; ``None`` leaves it out.

    Returns:
      ``path``.

    Raises:
      ValueError: ``accuracies`` whose shape is not ``(len(ks), folds)``, an unknown
        ``metric``.
      ImportError: matplotlib is not installed.
    """
    ks = np.asarray(ks)
    accuracies = np.asarray(accuracies, dtype=np.float64)
    if ks.ndim != 1 or accuracies.ndim != 2 or accuracies.shape[0] != ks.shape[0]:
        raise ValueError(
            f"accuracies must have shape (len(ks), folds) = ({ks.shape[0]}, folds), "
            f"got {accuracies.shape}"
        )
    if metric is not None and metric not in METRIC_TITLES:
        raise ValueError(f"metric must be one of {', '.join(METRIC_TITLES)}, got {metric!r}")
    # Imported here: matplotlib is an optional dependency, and slow to import.
    from fdl.viz._files import pyplot, save_figure

    fig, ax = pyplot().subplots(figsize=(6, 4))
    for column in accuracies.T:
        ax.scatter(ks, column, color="tab:gray", s=12)
    ax.errorbar(
        ks, accuracies.mean(axis=1), yerr=accuracies.std(axis=1), color="tab:blue",
        capsize=3, marker="o",
    )
    title = "Cross-validation on k"
    ax.set_title(title if metric is None else f"{title}, {METRIC_TITLES[metric]}")
    ax.set_xlabel("k")
    ax.set_ylabel("Cross-validation accuracy")
    return save_figure(fig, os.fspath(path))
