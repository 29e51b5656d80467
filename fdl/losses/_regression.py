"""Regression and divergence losses (lecture: L1, L2 losses; KL divergence).

Per example, the loss sums over every non-batch axis, so a vector prediction gets the
L1 / squared-L2 distance to its target; the batch mean is taken by default.
"""

import jax.numpy as jnp

from fdl import _checks


def check_pair(a, b, names):
    a = _checks.float_array(a, names[0])
    b = _checks.float_array(b, names[1])
    _checks.check_min_rank(a, names[0], 1, "(a leading batch axis)")
    if a.shape != b.shape:
        raise ValueError(
            f"{names[1]} must have the shape of {names[0]} {tuple(a.shape)}, got {tuple(b.shape)}"
        )
    return a, b


def _per_example_sum(values):
    return jnp.sum(values.reshape(values.shape[0], -1), axis=1)


def l1(pred, target, reduction="mean"):
    """L1 loss ``L_i = sum_k |pred_ik - target_ik|``; robust to outliers."""
    pred, target = check_pair(pred, target, ("pred", "target"))
    return _checks.reduce(_per_example_sum(jnp.abs(pred - target)), _checks.reduction(reduction))


def l2(pred, target, reduction="mean"):
    """Squared-error loss ``L_i = sum_k (pred_ik - target_ik)^2`` (no 1/2)."""
    pred, target = check_pair(pred, target, ("pred", "target"))
    return _checks.reduce(_per_example_sum(jnp.square(pred - target)), _checks.reduction(reduction))


def kl_divergence(p, q, reduction="mean"):
    """``D_KL(P || Q) = sum_y P(y) log(P(y) / Q(y))`` over the last axis, with 0 log 0 = 0.

    Args:
      p: ``(N, C)`` target distributions (e.g. one-hot ground truth).
      q: ``(N, C)`` model distributions, positive where ``p`` is.
    Returns:
      scalar (mean over rows), or ``(N,)``. With one-hot ``p`` it is ``-log q_{y}``:
      the softmax loss.
    """
    p, q = check_pair(p, q, ("p", "q"))
    _checks.check_min_rank(p, "p", 2, "(N, C)")
    # p log(p/q) with 0 log 0 = 0; the inner where keeps the gradient at p = 0 finite
    # (xlogy's derivative there is 0/0).
    positive = p > 0
    safe_p = jnp.where(positive, p, 1)
    per_example = jnp.sum(jnp.where(positive, p * (jnp.log(safe_p) - jnp.log(q)), 0), axis=-1)
    return _checks.reduce(_per_example_sum(per_example), _checks.reduction(reduction))
