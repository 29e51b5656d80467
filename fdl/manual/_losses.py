"""Hand-written backward passes of the losses.

A loss reduces ``(N, C)`` scores to per-example ``L_i`` and then (by default) to the
mean. Backward runs the other way: the upstream gradient ``dout`` (a scalar, or
``(N,)`` with ``reduction="none"``) becomes a per-example weight ``dL_i`` (``dout / N``
for the mean), which multiplies each example's local gradient.
"""

import jax
import jax.numpy as jnp

from fdl import _checks
from fdl.losses import _classification as cls
from fdl.losses import _regression as reg
from fdl.manual._custom import Cache, custom_op


def _per_example(dout, n, reduction):
    """``dL_i`` for each example from the gradient of the reduced loss."""
    if reduction == "mean":
        return jnp.broadcast_to(dout / n, (n,))
    if reduction == "sum":
        return jnp.broadcast_to(dout, (n,))
    return dout


def _expand(dper, like):
    return dper.reshape((-1,) + (1,) * (like.ndim - 1))


# -- multiclass SVM -----------------------------------------------------------------

def svm_forward(scores, y, margin=1.0, squared=False, reduction="mean"):
    scores, y = cls.check_scores_labels(scores, y)
    margins = cls.svm_margins(scores, y, margin)
    per_example = jnp.sum(jnp.square(margins) if squared else margins, axis=1)
    static = {"squared": squared, "reduction": reduction}
    return _checks.reduce(per_example, reduction), Cache(static, margins=margins, y=y)


def svm_backward(dout, cache):
    """``ds_j = dL_i * c_j`` for each wrong class with a positive margin and
    ``ds_{y_i} = -dL_i * sum_j c_j``, where ``c_j = 1`` (or ``2 margin_j`` if squared)."""
    margins, y = cache.margins, cache.y
    n, c = margins.shape
    dper = _per_example(dout, n, cache.reduction)
    coef = 2 * margins if cache.squared else (margins > 0).astype(margins.dtype)
    onehot = jax.nn.one_hot(y, c, dtype=margins.dtype)
    local = coef - onehot * jnp.sum(coef, axis=1, keepdims=True)
    return dper[:, None] * local


def svm(scores, y, margin=1.0, squared=False, reduction="mean"):
    """``fdl.losses.svm`` with the hand-written backward pass."""
    scores, y = cls.check_scores_labels(scores, y)
    _checks.real_scalar(margin, "margin", low=0.0)
    static = {"margin": margin, "squared": bool(squared), "reduction": _checks.reduction(reduction)}
    return custom_op(svm_forward, svm_backward, (scores, y), static, diff=(True, False))


# -- softmax cross-entropy ------------------------------------------------------------

def softmax_cross_entropy_forward(scores, y, reduction="mean"):
    scores, y = cls.check_scores_labels(scores, y)
    shifted = scores - jnp.max(scores, axis=1, keepdims=True)
    log_norm = jnp.log(jnp.sum(jnp.exp(shifted), axis=1, keepdims=True))
    log_probs = shifted - log_norm
    per_example = -cls.correct_class_scores(log_probs, y)
    cache = Cache({"reduction": reduction}, probs=jnp.exp(log_probs), y=y)
    return _checks.reduce(per_example, reduction), cache


def softmax_cross_entropy_backward(dout, cache):
    """``ds = dL_i (p - onehot(y_i))`` (lecture: ``-1 + p_k`` for the correct class)."""
    probs = cache.probs
    n, c = probs.shape
    dper = _per_example(dout, n, cache.reduction)
    return dper[:, None] * (probs - jax.nn.one_hot(cache.y, c, dtype=probs.dtype))


def softmax_cross_entropy(scores, y, reduction="mean"):
    """``fdl.losses.softmax_cross_entropy`` with the hand-written backward pass."""
    scores, y = cls.check_scores_labels(scores, y)
    static = {"reduction": _checks.reduction(reduction)}
    return custom_op(
        softmax_cross_entropy_forward, softmax_cross_entropy_backward, (scores, y), static,
        diff=(True, False),
    )


# -- zero-one -------------------------------------------------------------------------

def zero_one_forward(scores, y, reduction="mean"):
    out = cls.zero_one(scores, y, reduction)
    return out, Cache({"shape": tuple(jnp.shape(scores)), "dtype": out.dtype})


def zero_one_backward(dout, cache):
    """Piecewise constant: the gradient is zero."""
    return jnp.zeros(cache.shape, cache.dtype)


def zero_one(scores, y, reduction="mean"):
    """``fdl.losses.zero_one`` with the (zero) hand-written backward pass."""
    scores, y = cls.check_scores_labels(scores, y)
    static = {"reduction": _checks.reduction(reduction)}
    return custom_op(zero_one_forward, zero_one_backward, (scores, y), static, diff=(True, False))


# -- binary hinge ---------------------------------------------------------------------

def binary_hinge_forward(score, y_pm1, reduction="mean"):
    score, y = cls.check_binary(score, y_pm1)
    per_example = jnp.maximum(0, 1 - y * score)
    return _checks.reduce(per_example, reduction), Cache({"reduction": reduction}, score=score, y=y)


def binary_hinge_backward(dout, cache):
    """``ds_i = -y_i dL_i`` where ``1 - y_i s_i > 0``, else 0."""
    dper = _per_example(dout, cache.score.shape[0], cache.reduction)
    active = (1 - cache.y * cache.score) > 0
    return jnp.where(active, -cache.y * dper, 0)


def binary_hinge(score, y_pm1, reduction="mean"):
    """``fdl.losses.binary_hinge`` with the hand-written backward pass."""
    score, y = cls.check_binary(score, y_pm1)
    static = {"reduction": _checks.reduction(reduction)}
    return custom_op(binary_hinge_forward, binary_hinge_backward, (score, y), static, diff=(True, False))


# -- L1, L2 ---------------------------------------------------------------------------

def l1_forward(pred, target, reduction="mean"):
    out = reg.l1(pred, target, reduction)
    return out, Cache({"reduction": reduction}, diff=jnp.asarray(pred) - jnp.asarray(target))


def l1_backward(dout, cache):
    """``dpred = dL_i sign(pred - target)``, ``dtarget = -dpred``."""
    diff = cache.diff
    dpred = _expand(_per_example(dout, diff.shape[0], cache.reduction), diff) * jnp.sign(diff)
    return dpred, -dpred


def l1(pred, target, reduction="mean"):
    """``fdl.losses.l1`` with the hand-written backward pass."""
    pred, target = reg.check_pair(pred, target, ("pred", "target"))
    return custom_op(l1_forward, l1_backward, (pred, target), {"reduction": _checks.reduction(reduction)})


def l2_forward(pred, target, reduction="mean"):
    out = reg.l2(pred, target, reduction)
    return out, Cache({"reduction": reduction}, diff=jnp.asarray(pred) - jnp.asarray(target))


def l2_backward(dout, cache):
    """``dpred = 2 dL_i (pred - target)``, ``dtarget = -dpred``."""
    diff = cache.diff
    dpred = 2 * _expand(_per_example(dout, diff.shape[0], cache.reduction), diff) * diff
    return dpred, -dpred


def l2(pred, target, reduction="mean"):
    """``fdl.losses.l2`` with the hand-written backward pass."""
    pred, target = reg.check_pair(pred, target, ("pred", "target"))
    return custom_op(l2_forward, l2_backward, (pred, target), {"reduction": _checks.reduction(reduction)})


# -- KL divergence --------------------------------------------------------------------

def kl_divergence_forward(p, q, reduction="mean"):
    out = reg.kl_divergence(p, q, reduction)
    return out, Cache({"reduction": reduction}, p=jnp.asarray(p), q=jnp.asarray(q))


def kl_divergence_backward(dout, cache):
    """``dp = dL_i (log p - log q + 1)`` (for ``p > 0``), ``dq = -dL_i p / q``."""
    p, q = cache.p, cache.q
    dper = _expand(_per_example(dout, p.shape[0], cache.reduction), p)
    dp = dper * jnp.where(p > 0, jnp.log(jnp.where(p > 0, p, 1)) - jnp.log(q) + 1, 0)
    dq = -dper * p / q
    return dp, dq


def kl_divergence(p, q, reduction="mean"):
    """``fdl.losses.kl_divergence`` with the hand-written backward pass."""
    p, q = reg.check_pair(p, q, ("p", "q"))
    _checks.check_min_rank(p, "p", 2, "(N, C)")
    static = {"reduction": _checks.reduction(reduction)}
    return custom_op(kl_divergence_forward, kl_divergence_backward, (p, q), static)
