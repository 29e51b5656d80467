"""Activation functions (lecture: "Activation Functions") and the softmax.

Each is elementwise on an array of any shape, except ``softmax``/``log_softmax``
(over the last axis) and ``maxout`` (an affine layer followed by a max over pieces).
"""

import jax
import jax.numpy as jnp

from fdl import _checks
from fdl.nn._linear import flatten


def positive_part(z):
    """``max(0, z)`` whose derivative is the notes' ``1[z > 0]``, 0 at ``z = 0``.

    ``jnp.maximum(z, 0)`` differentiates to 1/2 at a tie, a different subgradient from
    the hand-written backward passes (``dout * 1[z > 0]``); at ``z = 0`` exactly, which
    is common (a zero pixel times any weight, plus a zero-initialised bias), the two
    gradients would disagree. NaN stays NaN; ``-inf`` gives 0.
    """
    return jnp.where(z <= 0, jnp.zeros((), z.dtype), z)


def relu(x):
    """ReLU, ``max(0, x)``. Cheap and non-saturating for x > 0; units can "die".

    Its derivative is ``1[x > 0]`` (0 at ``x = 0``), as the hand-written one.
    """
    x = _checks.float_array(x, "x")
    return positive_part(x)


def leaky_relu(x, negative_slope=0.01):
    """Leaky ReLU, ``max(a x, x)`` for ``0 <= a < 1`` (``a = negative_slope``, 0.01 in the notes)."""
    x = _checks.float_array(x, "x")
    _checks.real_scalar(negative_slope, "negative_slope", low=0.0, high=1.0, high_open=True)
    return jnp.where(x > 0, x, negative_slope * x)


def elu(x, alpha=1.0):
    """ELU: ``x`` for ``x > 0`` and ``alpha (e^x - 1)`` otherwise."""
    x = _checks.float_array(x, "x")
    _checks.real_scalar(alpha, "alpha", low=0.0)
    # expm1 of a clamped argument: exact near 0 and no overflow in the unused branch.
    # where, not minimum: at x = 0 minimum's tie derivative is 1/2; the left branch's is 1.
    return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.where(x > 0, jnp.zeros((), x.dtype), x)))


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + e^-x)``; squashes to (0, 1), saturates at both ends."""
    x = _checks.float_array(x, "x")
    return jax.nn.sigmoid(x)


def tanh(x):
    """Hyperbolic tangent; zero-centred, saturates at +-1."""
    x = _checks.float_array(x, "x")
    return jnp.tanh(x)


def check_scores(s):
    s = _checks.float_array(s, "s")
    _checks.check_min_rank(s, "s", 1, "(scores on the last axis)")
    return s


def softmax(s):
    """Softmax over the last axis: ``p_k = e^{s_k} / sum_j e^{s_j}``.

    Scores are unnormalised log-probabilities; the max is subtracted first, which
    leaves the result unchanged and keeps ``exp`` from overflowing.
    """
    s = check_scores(s)
    z = s - jax.lax.stop_gradient(jnp.max(s, axis=-1, keepdims=True))
    e = jnp.exp(z)
    return e / jnp.sum(e, axis=-1, keepdims=True)


def log_softmax(s):
    """``log softmax(s) = s - logsumexp(s)`` over the last axis, computed stably."""
    s = check_scores(s)
    z = s - jax.lax.stop_gradient(jnp.max(s, axis=-1, keepdims=True))
    return z - jnp.log(jnp.sum(jnp.exp(z), axis=-1, keepdims=True))


def check_maxout(x, w, b):
    x = flatten(_checks.float_array(x, "x"))
    w = _checks.float_array(w, "w")
    b = _checks.float_array(b, "b")
    _checks.check_rank(w, "w", 3, "(pieces, D_in, D_out)")
    _checks.check_rank(b, "b", 2, "(pieces, D_out)")
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"w must have shape (pieces, {x.shape[1]}, D_out) for x with "
            f"{x.shape[1]} features, got {tuple(w.shape)}"
        )
    if b.shape != (w.shape[0], w.shape[2]):
        raise ValueError(
            f"b must have shape {(w.shape[0], w.shape[2])} to match w, got {tuple(b.shape)}"
        )
    return x, w, b


def maxout(x, w, b):
    """Maxout unit: ``max_k (x W_k + b_k)`` (Goodfellow et al. 2013).

    Args:
      x: ``(N, ...)``, flattened to ``(N, D)``.
      w: ``(K, D, M)`` -- ``K`` linear pieces on the leading axis.
      b: ``(K, M)``.
    Returns:
      ``(N, M)``; ReLU is the special case ``K = 2`` with one piece fixed at zero.
    """
    x, w, b = check_maxout(x, w, b)
    pieces = jnp.einsum("nd,kdm->knm", x, w) + b[:, None, :]
    # The first winning piece takes the whole gradient, as the hand-written backward pass
    # routes it (jnp.max would split it among tied pieces, e.g. equal zero-initialised
    # biases on a zero input).
    winner = jnp.argmax(pieces, axis=0)
    return jnp.take_along_axis(pieces, winner[None], axis=0)[0]
