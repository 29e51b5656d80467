"""Hand-written gradients of the regularisation penalties, leaf by leaf.

``d/dW sum W^2 = 2 W``; ``d/dW sum |W| = sign(W)``; elastic net ``2 beta W + sign(W)``.
The regularised loss ``L = data loss + lambda R(W)`` adds ``lambda dR/dW`` to ``dW``.
"""

import jax
import jax.numpy as jnp

from fdl import _checks, regularizers
from fdl.manual._custom import Cache, custom_op


def _scaled(dout, tree, local):
    return jax.tree_util.tree_map(lambda w: dout * local(w), tree)


def l2_regularizer_forward(params):
    return regularizers.l2(params), Cache(params=params)


def l2_regularizer_backward(dout, cache):
    """``dW = 2 W dout`` for every leaf."""
    return _scaled(dout, cache.params, lambda w: 2 * w)


def l2_regularizer(params):
    """``fdl.regularizers.l2`` with the hand-written backward pass."""
    regularizers.check_params(params)
    return custom_op(l2_regularizer_forward, l2_regularizer_backward, (params,))


def l1_regularizer_forward(params):
    return regularizers.l1(params), Cache(params=params)


def l1_regularizer_backward(dout, cache):
    """``dW = sign(W) dout`` (the subgradient 0 at W = 0)."""
    return _scaled(dout, cache.params, jnp.sign)


def l1_regularizer(params):
    """``fdl.regularizers.l1`` with the hand-written backward pass."""
    regularizers.check_params(params)
    return custom_op(l1_regularizer_forward, l1_regularizer_backward, (params,))


def elastic_net_forward(params, beta):
    return regularizers.elastic_net(params, beta), Cache({"beta": beta}, params=params)


def elastic_net_backward(dout, cache):
    """``dW = (2 beta W + sign(W)) dout``."""
    return _scaled(dout, cache.params, lambda w: 2 * cache.beta * w + jnp.sign(w))


def elastic_net(params, beta):
    """``fdl.regularizers.elastic_net`` with the hand-written backward pass."""
    regularizers.check_params(params)
    _checks.real_scalar(beta, "beta", low=0.0)
    return custom_op(elastic_net_forward, elastic_net_backward, (params,), {"beta": beta})
