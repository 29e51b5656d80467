"""Hand-written backward pass of batch normalisation.

Training mode, per feature, with ``m`` values in the batch, ``xhat = (x - mu) / sigma``
and ``sigma = sqrt(var + eps)``, the chain rule through the mean and the variance
collapses to

    dx = gamma / (m sigma) * (m dy - sum(dy) - xhat * sum(dy * xhat))
    dgamma = sum(dy * xhat),   dbeta = sum(dy)

(sums over every axis but the last). In eval mode the statistics are constants:
``dx = gamma dy / sigma``.
"""

import jax.numpy as jnp
from jax import lax

from fdl.manual._custom import Cache, custom_op
from fdl.nn import _batchnorm as bn


def _axes(x):
    return tuple(range(x.ndim - 1))


def _normalize_forward(x, gamma, beta, mean, var, eps):
    inv_std = lax.rsqrt(var + eps)
    xhat = (x - mean) * inv_std
    return gamma * xhat + beta, xhat, inv_std


def _train_forward(x, gamma, beta, eps=1e-5):
    mean, var = bn.batch_stats(x)
    y, xhat, inv_std = _normalize_forward(x, gamma, beta, mean, var, eps)
    return y, Cache({"train": True}, xhat=xhat, gamma=gamma, inv_std=inv_std)


def _eval_forward(x, gamma, beta, mean, var, eps=1e-5):
    y, xhat, inv_std = _normalize_forward(x, gamma, beta, mean, var, eps)
    return y, Cache({"train": False}, xhat=xhat, gamma=gamma, inv_std=inv_std)


def batch_norm_backward(dout, cache):
    """``(dx, dgamma, dbeta)`` from ``dout`` shaped like ``x``."""
    axes = _axes(dout)
    xhat = cache.xhat
    dgamma = jnp.sum(dout * xhat, axis=axes)
    dbeta = jnp.sum(dout, axis=axes)
    if not cache.train:
        return dout * cache.gamma * cache.inv_std, dgamma, dbeta
    m = dout.size // dout.shape[-1]
    dx = (cache.gamma * cache.inv_std / m) * (m * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def batch_norm_forward(x, gamma, beta, state, *, train, momentum=0.9, eps=1e-5):
    """``((y, new_state), cache)``, as ``fdl.nn.batch_norm`` returns ``(y, new_state)``."""
    x, gamma, beta = bn.check_batch_norm(x, gamma, beta, state, momentum, eps)
    if train:
        y, cache = _train_forward(x, gamma, beta, eps)
        mean, var = bn.batch_stats(x)
        return (y, bn.update_running_stats(state, mean, var, momentum)), cache
    y, cache = _eval_forward(x, gamma, beta, state["mean"], state["var"], eps)
    return (y, state), cache


def batch_norm(x, gamma, beta, state, *, train, momentum=0.9, eps=1e-5):
    """``fdl.nn.batch_norm`` with the hand-written backward pass; returns ``(y, state)``."""
    x, gamma, beta = bn.check_batch_norm(x, gamma, beta, state, momentum, eps)
    if train:
        y = custom_op(_train_forward, batch_norm_backward, (x, gamma, beta), {"eps": eps})
        # Running statistics are bookkeeping, not part of the differentiated graph.
        mean, var = bn.batch_stats(lax.stop_gradient(x))
        return y, bn.update_running_stats(state, mean, var, momentum)
    y = custom_op(
        _eval_forward, batch_norm_backward, (x, gamma, beta, state["mean"], state["var"]),
        {"eps": eps}, diff=(True, True, True, False, False),
    )
    return y, state
