"""Inverted dropout (lecture: "Regularization: Dropout", Srivastava et al. 2014).

In training every unit is zeroed independently with probability ``rate`` and the
survivors are scaled by ``1 / (1 - rate)``, so the expected activation is unchanged and
test time needs no rescaling: at test time dropout is the identity.

``rate`` is the probability of DROPPING a unit. The notes write ``p`` for the
probability of KEEPING one (``p = 0.5``, ``mask = (rand < p) / p``): ``rate = 1 - p``.
"""

import jax.numpy as jnp

from fdl import _checks, _random


def check_dropout(x, key, rate, train):
    x = _checks.float_array(x, "x")
    _checks.real_scalar(rate, "rate", low=0.0, high=1.0, high_open=True)
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, got {train!r}")
    if not is_identity(rate, train) and key is None:
        raise ValueError("dropout in training needs a PRNG key: pass key=jax.random.key(...)")
    return x


def is_identity(rate, train):
    """Dropout changes nothing at test time, or in training with a (static) rate of 0."""
    return not train or (_checks.is_concrete(rate) and float(rate) == 0.0)


def dropout_mask(key, shape, rate, dtype):
    """``mask = bernoulli(1 - rate) / (1 - rate)``: 0 or ``1/(1-rate)`` per unit."""
    keep = 1.0 - rate
    return _random.bernoulli(key, keep, shape).astype(dtype) / jnp.asarray(keep, dtype)


def dropout(x, key, *, rate, train):
    """Inverted dropout: ``x * mask`` in training, ``x`` at test time.

    Args:
      x: activations of any shape.
      key: a ``jax.random`` key (required when ``train`` and ``rate > 0``).
      rate: probability of dropping a unit, in ``[0, 1)`` (``= 1 - p`` of the notes).
      train: apply the mask if True; identity if False.
    Returns:
      An array shaped like ``x``.
    """
    x = check_dropout(x, key, rate, train)
    if is_identity(rate, train):
        return x
    return x * dropout_mask(key, x.shape, rate, x.dtype)
