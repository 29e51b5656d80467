"""k-nearest-neighbour classification.

Training a nearest-neighbour classifier is remembering the training set (O(1));
predicting compares each test point with every training point (O(N)) and lets the
``k`` closest vote on the label. ``k`` and the distance are hyperparameters, chosen
on validation data or by cross-validation (``fdl.tune.cross_validate_knn``).
"""

import numbers
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from fdl.classic._distances import (
    DEFAULT_MEMORY_BUDGET,
    as_point_pair,
    centre_and_norms,
    check_metric,
    l1_block,
    map_chunks,
    rows_per_chunk,
    squared_l2_block,
)

# A chunk of c queries keeps about this many (c, N) buffers: the distance block,
# its negation, and top_k's working copies.
_BUFFERS_PER_QUERY = 5


def check_k(k, n_train):
    """``k`` as an int in ``[1, n_train]``, else ``TypeError``/``ValueError``."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"k must be an int, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k > n_train:
        raise ValueError(
            f"k={k} is larger than the training set ({n_train} points); k must be "
            f"at most the number of training points"
        )
    return int(k)


def check_labels(y_train, n_train, num_classes):
    """Checks labels ``(n_train,)``: integers, non-negative, below ``num_classes``.

    Returns ``(labels as int32, num_classes)``, the latter ``max + 1`` by default.
    """
    try:
        y = jnp.asarray(y_train)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"y_train must be an array of integer labels, got {type(y_train).__name__}"
        ) from err
    if y.dtype == jnp.bool_ or not jnp.issubdtype(y.dtype, jnp.integer):
        raise TypeError(f"y_train must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1 or y.shape[0] != n_train:
        raise ValueError(
            f"y_train must have shape ({n_train},), one label per row of x_train, "
            f"got shape {tuple(y.shape)}"
        )
    concrete = not isinstance(y, jax.core.Tracer)
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(
            num_classes, numbers.Integral
        ):
            kind = type(num_classes).__name__
            raise TypeError(f"num_classes must be an int, got {kind}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    elif not concrete:
        raise ValueError("num_classes must be given when y_train is traced (under jit)")
    if concrete and n_train:
        # On the host: eager reductions would compile two programs per label count.
        labels = np.asarray(y)
        low, high = int(labels.min()), int(labels.max())
        if low < 0:
            raise ValueError(f"y_train must be non-negative class labels, got {low}")
        if num_classes is None:
            num_classes = high + 1
        elif high >= num_classes:
            raise ValueError(
                f"y_train holds label {high}, outside [0, {num_classes}) for "
                f"num_classes={num_classes}"
            )
    return y.astype(jnp.int32), int(num_classes or 1)


def validate_query(x_train, x_test, k, metric, memory_budget_bytes):
    """Checks a neighbour query; returns it flattened, with the queries per chunk."""
    metric = check_metric(metric)
    x_train, x_test = as_point_pair(x_train, x_test, "x_train", "x_test")
    n_train, n_test = x_train.shape[0], x_test.shape[0]
    k = check_k(k, n_train)
    rows = rows_per_chunk(
        n_test,
        n_train,
        x_train.dtype.itemsize,
        None,
        memory_budget_bytes,
        buffers=_BUFFERS_PER_QUERY,
    )
    return x_train, x_test, k, metric, rows


def _smallest(d, k):
    """The ``k`` smallest entries of each row of ``d``, smallest first.

    ``top_k`` of the negated distances. On equal distances it puts the lower
    training index first: the same order as a stable sort of the distances.
    """
    neg, idx = lax.top_k(-d, k)
    return -neg, idx


@partial(jax.jit, static_argnames=("k", "rows", "root"))
def _nearest_l2(a_c, a_sq, b_c, b_sq, k, rows, root):
    def chunk_nearest(x, x_sq):
        return _smallest(squared_l2_block(x, x_sq, b_c, b_sq), k)

    d2, idx = map_chunks(chunk_nearest, rows, a_c, a_sq)
    return (jnp.sqrt(d2) if root else d2), idx


@partial(jax.jit, static_argnames=("k", "rows"))
def _nearest_l1(x_train, x_test, k, rows):
    b_t = x_train.T
    return map_chunks(lambda x: _smallest(l1_block(x, b_t), k), rows, x_test)


def nearest(x_train, x_test, k, metric, rows):
    """``(distances (Q, k), indices (Q, k))`` of the k nearest, nearest first.

    Euclidean neighbours are ranked on squared distances: the same order, exact for
    integer data, and no square root can merge two distinct values into one.
    """
    if metric == "l1":
        return _nearest_l1(x_train, x_test, k, rows)
    a_c, a_sq, b_c, b_sq = centre_and_norms(x_test, x_train)
    return _nearest_l2(a_c, a_sq, b_c, b_sq, k, rows, metric == "l2")


def vote_counts(neighbour_labels, num_classes):
    """Votes per class: ``(Q, k)`` int labels -> ``(Q, num_classes)`` int32 counts."""
    one_hot = jax.nn.one_hot(neighbour_labels, num_classes, dtype=jnp.int32)
    return jnp.sum(one_hot, axis=1)


def majority_vote(neighbour_labels, num_classes):
    """The most frequent label of each row, the smallest label among equal counts.

    ``argmax`` returns the first maximum, i.e. the smallest label on a tied vote,
    the rule scikit-learn's ``KNeighborsClassifier`` follows.
    """
    counts = vote_counts(neighbour_labels, num_classes)
    return jnp.argmax(counts, axis=1).astype(jnp.int32)


@partial(jax.jit, static_argnames=("num_classes",))
def _vote(y_train, indices, num_classes):
    return majority_vote(y_train[indices], num_classes)


@partial(jax.jit, static_argnames=("num_classes",))
def _proba(y_train, indices, num_classes):
    counts = vote_counts(y_train[indices], num_classes)
    return counts.astype(jnp.float32) / indices.shape[1]


def kneighbors(
    x_train, x_test, k=1, metric="l2", *, memory_budget_bytes=DEFAULT_MEMORY_BUDGET
):
    """The ``k`` training points nearest to each test point, nearest first.

    Distances as in ``pairwise_distances``; equal distances keep the lower training
    index first. Test points are processed in chunks whose distance block fits the
    memory budget, one compiled program per shape.

    Args:
      x_train: ``(N, ...)`` training points.
      x_test: ``(Q, ...)`` query points with the same number of features.
      k: neighbours per query, ``1 <= k <= N``.
      metric: ``"l2"`` (default), ``"sqeuclidean"`` or ``"l1"``.
      memory_budget_bytes: bytes of temporaries one chunk of queries may use.

    Returns:
      ``(distances, indices)``: float ``(Q, k)`` and int32 ``(Q, k)``.

    Raises:
      ValueError: ``k`` out of range, feature counts that differ, unknown metric.
    """
    x_train, x_test, k, metric, rows = validate_query(
        x_train, x_test, k, metric, memory_budget_bytes
    )
    if x_test.shape[0] == 0:
        return jnp.zeros((0, k), x_train.dtype), jnp.zeros((0, k), jnp.int32)
    return nearest(x_train, x_test, k, metric, rows)


def _neighbour_indices(x_train, y_train, x_test, k, metric, num_classes, budget):
    """Validated labels, the ``(Q, k)`` neighbour indices (None for no queries) and the
    class count: the part ``knn_predict`` and ``knn_predict_proba`` share."""
    x_train, x_test, k, metric, rows = validate_query(x_train, x_test, k, metric, budget)
    y, num_classes = check_labels(y_train, x_train.shape[0], num_classes)
    if x_test.shape[0] == 0:
        return y, None, num_classes
    _, indices = nearest(x_train, x_test, k, metric, rows)
    return y, indices, num_classes


def knn_predict(
    x_train,
    y_train,
    x_test,
    k=1,
    metric="l2",
    *,
    num_classes=None,
    memory_budget_bytes=DEFAULT_MEMORY_BUDGET,
):
    """Predicts labels by a majority vote of the ``k`` nearest training points.

    ``prediction_i = argmax_c #{j in kNN(x_i) : y_j = c}``, ties in the vote going to
    the smallest label. With ``k = 1`` this is the nearest-neighbour classifier.

    When several training points lie at the same distance as the k-th nearest, the
    ones with the lower training index are kept (the order of a stable sort). With
    that, predictions equal scikit-learn's
    ``KNeighborsClassifier(n_neighbors=k, algorithm="brute")`` with ``p=2``
    (``"l2"``) or ``p=1`` (``"l1"``), smallest label on a tied vote included,
    wherever the k nearest are well defined. Where they are not, scikit-learn keeps
    whichever tied points its internal heap happens to retain (its documentation:
    the result "depends on the ordering of the training data"); on the digits data
    that changes 0-2 of ~400 predictions.

    Args:
      x_train: ``(N, ...)`` training points (images are flattened; integer pixels are
        cast to float32).
      y_train: int ``(N,)`` labels in ``[0, num_classes)``.
      x_test: ``(Q, ...)`` points to classify, with the same number of features.
      k: number of neighbours that vote, ``1 <= k <= N``.
      metric: ``"l2"`` (Euclidean, default), ``"sqeuclidean"`` (same ranking) or
        ``"l1"`` (Manhattan).
      num_classes: number of classes; default ``max(y_train) + 1``. Required under
        ``jit``.
      memory_budget_bytes: bytes of temporaries one chunk of queries may use.

    Returns:
      int32 ``(Q,)`` predicted labels.

    Raises:
      ValueError: ``k < 1`` or larger than the training set, feature counts that
        differ, a label count other than ``N``, negative labels, unknown metric.
      TypeError: labels that are not integers.

    Examples:
      >>> import jax.numpy as jnp, fdl.classic
      >>> x_train = jnp.array([[0.0], [1.0], [10.0]])
      >>> fdl.classic.knn_predict(x_train, jnp.array([0, 0, 1]), jnp.array([[9.0]]))
      Array([1], dtype=int32)
    """
    y, indices, num_classes = _neighbour_indices(
        x_train, y_train, x_test, k, metric, num_classes, memory_budget_bytes
    )
    if indices is None:
        return jnp.zeros((0,), jnp.int32)
    return _vote(y, indices, num_classes)


def knn_predict_proba(
    x_train,
    y_train,
    x_test,
    k=1,
    metric="l2",
    *,
    num_classes=None,
    memory_budget_bytes=DEFAULT_MEMORY_BUDGET,
):
    """Fraction of the ``k`` nearest neighbours in each class.

    Same arguments as ``knn_predict``. Returns float32 ``(Q, num_classes)`` rows that
    sum to one; the argmax of a row is ``knn_predict``'s prediction.
    """
    y, indices, num_classes = _neighbour_indices(
        x_train, y_train, x_test, k, metric, num_classes, memory_budget_bytes
    )
    if indices is None:
        return jnp.zeros((0, num_classes), jnp.float32)
    return _proba(y, indices, num_classes)
