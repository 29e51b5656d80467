"""Classification losses on class scores (lecture: "Loss Functions").

Scores ``s`` are ``(N, C)`` unnormalised (one row per example), labels ``y`` are
integer class indices ``(N,)``. Every loss returns the mean over the batch, the notes'
``L = 1/N sum_i L_i``; ``reduction="none"`` returns the per-example ``L_i``
(``"sum"`` the sum).
"""

import jax
import jax.numpy as jnp
import numpy as np

from fdl import _checks
from fdl.nn._activations import positive_part


def check_scores_labels(scores, y):
    scores = _checks.float_array(scores, "scores")
    _checks.check_rank(scores, "scores", 2, "(N, C)")
    y = _checks.labels(y, "y", scores.shape[1], scores.shape[0])
    return scores, y


def correct_class_scores(scores, y):
    """``s[i, y_i]`` for every row: ``(N, C), (N,) -> (N,)``."""
    return jnp.take_along_axis(scores, y[:, None], axis=1)[:, 0]


def svm_margins(scores, y, margin):
    """``max(0, s_j - s_{y_i} + margin)`` for ``j != y_i`` and 0 at ``j = y_i``: ``(N, C)``."""
    correct = correct_class_scores(scores, y)
    hinge = positive_part(scores - correct[:, None] + margin)
    return jnp.where(jax.nn.one_hot(y, scores.shape[1], dtype=bool), 0, hinge)


def svm(scores, y, margin=1.0, squared=False, reduction="mean"):
    """Multiclass SVM loss (Weston-Watkins, the notes' sum over wrong classes).

    ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``; with ``squared=True`` each
    term is squared (the L2-SVM). This is the sum form taught in the notes, not the
    Crammer-Singer max over classes. At initialisation (all scores ~equal) ``L ~ C - 1``.

    Args:
      scores: ``(N, C)``. y: ``(N,)`` int in ``[0, C)``. margin: the ``Delta`` (1.0).
    Returns:
      scalar (mean), or ``(N,)`` with ``reduction="none"``.
    """
    scores, y = check_scores_labels(scores, y)
    _checks.real_scalar(margin, "margin", low=0.0)
    how = _checks.reduction(reduction)
    margins = svm_margins(scores, y, margin)
    per_example = jnp.sum(jnp.square(margins) if squared else margins, axis=1)
    return _checks.reduce(per_example, how)


def softmax_cross_entropy(scores, y, reduction="mean"):
    """Softmax (cross-entropy) loss: ``L_i = -log(e^{s_{y_i}} / sum_j e^{s_j})``.

    Computed as ``logsumexp(s) - s_{y_i}`` with the row max subtracted first, so logits
    of +-1e4 give a finite loss and gradient. At initialisation ``L ~ ln C``.

    Args:
      scores: ``(N, C)`` unnormalised log-probabilities. y: ``(N,)`` int in ``[0, C)``.
    Returns:
      scalar (mean), or ``(N,)`` with ``reduction="none"``.
    """
    scores, y = check_scores_labels(scores, y)
    how = _checks.reduction(reduction)
    shifted = scores - jax.lax.stop_gradient(jnp.max(scores, axis=1, keepdims=True))
    lse = jnp.log(jnp.sum(jnp.exp(shifted), axis=1))
    return _checks.reduce(lse - correct_class_scores(shifted, y), how)


def zero_one(scores, y, reduction="mean"):
    """Zero-one loss ``1[argmax_j s_j != y_i]``: the error rate. Piecewise constant,
    so its gradient is zero almost everywhere (why we train on surrogate losses)."""
    scores, y = check_scores_labels(scores, y)
    how = _checks.reduction(reduction)
    wrong = (jnp.argmax(scores, axis=1) != y).astype(scores.dtype)
    return _checks.reduce(wrong, how)


def check_binary(score, y_pm1):
    score = _checks.float_array(score, "score")
    _checks.check_rank(score, "score", 1, "(N,)")
    host = _checks.host_values(y_pm1)
    y = _checks.as_array(y_pm1, "y_pm1")
    if y.shape != score.shape:
        raise ValueError(f"y_pm1 must have shape {tuple(score.shape)} like score, got {tuple(y.shape)}")
    if host is not None and host.size and not np.all(np.isin(host, (-1, 1))):
        raise ValueError("y_pm1 must hold labels -1 or +1")
    return score, y.astype(score.dtype)


def binary_hinge(score, y_pm1, reduction="mean"):
    """Binary hinge loss ``L_i = max(0, 1 - y_i s_i)`` with labels ``y_i`` in {-1, +1}.

    Args:
      score: ``(N,)`` one score per example. y_pm1: ``(N,)`` of -1/+1.
    """
    score, y = check_binary(score, y_pm1)
    how = _checks.reduction(reduction)
    return _checks.reduce(positive_part(1 - y * score), how)
