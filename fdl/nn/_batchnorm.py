"""Batch normalisation (lecture: "Batch Normalization", Ioffe & Szegedy 2015).

"Do you want unit gaussian activations? Just make them so": in training each feature
is normalised with the mean and (biased, 1/m) variance of the current batch, then
scaled and shifted by learned ``gamma`` and ``beta``. At test time the running
averages collected during training are used instead.

Statistics are taken over every axis but the last, so the same function is ordinary
batch norm for ``(N, D)`` activations and spatial batch norm for NHWC feature maps.

Running statistics: ``running = momentum * running + (1 - momentum) * batch`` (the
CS231n convention: ``momentum`` weights the OLD value; PyTorch's ``momentum=0.1``
weights the new batch and means the same as fdl's ``0.9``). The running variance is
fed the same biased batch variance that normalises the batch.
"""

import jax.numpy as jnp
from jax import lax

from fdl import _checks


def batch_norm_state(num_features, dtype=jnp.float32):
    """Fresh running statistics: ``{"mean": zeros(C), "var": ones(C)}``."""
    if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
        raise ValueError(f"num_features must be a positive int, got {num_features!r}")
    return {"mean": jnp.zeros((num_features,), dtype), "var": jnp.ones((num_features,), dtype)}


def check_batch_norm(x, gamma, beta, state, momentum, eps):
    x = _checks.float_array(x, "x")
    _checks.check_min_rank(x, "x", 2, "(N, ..., C)")
    c = x.shape[-1]
    gamma = _checks.float_array(gamma, "gamma")
    beta = _checks.float_array(beta, "beta")
    for name, arr in (("gamma", gamma), ("beta", beta)):
        if arr.shape != (c,):
            raise ValueError(f"{name} must have shape ({c},) for {c} features, got {tuple(arr.shape)}")
    if not isinstance(state, dict) or set(state) != {"mean", "var"}:
        raise TypeError(
            "state must be a dict {'mean': (C,), 'var': (C,)}; make one with batch_norm_state(C)"
        )
    for key in ("mean", "var"):
        if jnp.shape(state[key]) != (c,):
            raise ValueError(
                f"state['{key}'] must have shape ({c},) for {c} features, "
                f"got {tuple(jnp.shape(state[key]))}"
            )
    _checks.real_scalar(momentum, "momentum", low=0.0, high=1.0)
    _checks.real_scalar(eps, "eps", low=0.0, low_open=True)
    return x, gamma, beta


def batch_stats(x):
    """Per-feature mean and biased variance over every axis but the last."""
    axes = tuple(range(x.ndim - 1))
    mean = jnp.mean(x, axis=axes)
    var = jnp.mean(jnp.square(x - mean), axis=axes)
    return mean, var


def update_running_stats(state, mean, var, momentum):
    """``running = momentum * running + (1 - momentum) * batch``; no gradient flows here."""
    mean, var = lax.stop_gradient(mean), lax.stop_gradient(var)
    return {
        "mean": momentum * state["mean"] + (1 - momentum) * mean.astype(state["mean"].dtype),
        "var": momentum * state["var"] + (1 - momentum) * var.astype(state["var"].dtype),
    }


def batch_norm(x, gamma, beta, state, *, train, momentum=0.9, eps=1e-5):
    """Batch norm: ``y = gamma * (x - mu) / sqrt(var + eps) + beta``.

    Args:
      x: ``(N, ..., C)``; statistics over all axes but the last.
      gamma, beta: ``(C,)`` scale and shift.
      state: ``{"mean": (C,), "var": (C,)}`` running statistics.
      train: batch statistics (and a state update) if True, running ones if False.
      momentum: weight of the old running value. eps: added to the variance.
    Returns:
      ``(y, new_state)``; in eval mode ``new_state is state``.
    """
    x, gamma, beta = check_batch_norm(x, gamma, beta, state, momentum, eps)
    if train:
        mean, var = batch_stats(x)
        y = gamma * (x - mean) * lax.rsqrt(var + eps) + beta
        return y, update_running_stats(state, mean, var, momentum)
    y = gamma * (x - state["mean"]) * lax.rsqrt(state["var"] + eps) + beta
    return y, state
