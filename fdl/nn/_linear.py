"""The linear score function of the notes, ``f(x, W) = x W + b``, and flattening."""

import jax.numpy as jnp

from fdl import _checks


def flatten(x):
    """Flattens every axis but the batch axis: ``(N, d1, d2, ...) -> (N, d1*d2*...)``."""
    x = _checks.as_array(x, "x")
    _checks.check_min_rank(x, "x", 1, "(a leading batch axis)")
    return jnp.reshape(x, (x.shape[0], -1))


def check_affine(x, w, b):
    x = _checks.float_array(x, "x")
    w = _checks.float_array(w, "w")
    b = _checks.float_array(b, "b")
    _checks.check_min_rank(x, "x", 2, "(N, D) or (N, ...)")
    _checks.check_rank(w, "w", 2, "(D_in, D_out)")
    _checks.check_rank(b, "b", 1, "(D_out,)")
    x = flatten(x)
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"w must have shape ({x.shape[1]}, D_out) for x with {x.shape[1]} features "
            f"per example, got {tuple(w.shape)}"
        )
    if b.shape[0] != w.shape[1]:
        raise ValueError(
            f"b must have shape ({w.shape[1]},) to match w's {w.shape[1]} outputs, "
            f"got {tuple(b.shape)}"
        )
    return x, w, b


def affine(x, w, b):
    """Linear scores ``s = x W + b`` (the notes' ``f(x, W) = Wx + b``, batch-first).

    Args:
      x: ``(N, ...)``, flattened to ``(N, D)`` (an image becomes a row of pixels).
      w: ``(D, M)``.
      b: ``(M,)``.
    Returns:
      ``(N, M)`` scores, one row per example, one column per class or unit.

    This is the plain reference, differentiated by plain ``jax.grad``; ``fdl.layers.Dense``
    trains with the equal but faster ``fdl.kernels.affine`` on CPU.
    """
    x, w, b = check_affine(x, w, b)
    return x @ w + b
