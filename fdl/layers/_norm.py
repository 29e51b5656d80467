"""Batch normalisation as a layer (lecture: "Batch Normalization")."""

import jax.numpy as jnp

from fdl import _checks
from fdl import nn as _nn
from fdl._config import configured
from fdl.layers._core import Layer, check_input_shape, check_train, ops


@configured
def BatchNorm(momentum=0.9, eps=1e-5, *, manual=False):
    """Batch norm over every axis but the last (spatial batch norm for NHWC maps).

    Training (``train=True``) normalises with the batch mean and variance and returns
    updated running statistics, ``running = momentum * running + (1 - momentum) *
    batch`` (``momentum`` weights the OLD value; PyTorch's 0.1 means our 0.9). At
    evaluation (``train=False``) the running statistics are used and the state is
    returned unchanged. Usually placed after a Dense/Conv layer, before the nonlinearity.

    Args:
      momentum: weight of the old running value, in ``[0, 1]``.
      eps: added to the variance, > 0.
      manual: compute with ``fdl.manual.batch_norm`` (hand-written backward pass).
    Params:
      ``{"gamma": ones (C,), "beta": zeros (C,)}``; state ``{"mean": zeros (C,),
      "var": ones (C,)}`` (``fdl.nn.batch_norm_state``), ``C`` the last axis.
    """
    name = f"BatchNorm(momentum={momentum})"
    try:
        _checks.real_scalar(momentum, "momentum", low=0.0, high=1.0)
        _checks.real_scalar(eps, "eps", low=0.0, low_open=True)
    except (TypeError, ValueError) as err:
        raise type(err)(f"BatchNorm: {err}") from None
    op = ops(manual)

    def output_shape(input_shape):
        return check_input_shape(input_shape, name)

    def init(key, input_shape, dtype=jnp.float32):
        del key
        c = check_input_shape(input_shape, name)[-1]
        params = {"gamma": jnp.ones((c,), dtype), "beta": jnp.zeros((c,), dtype)}
        return params, _nn.batch_norm_state(c, dtype)

    def apply(params, state, x, *, train=False, key=None):
        del key
        check_train(train, name)
        return op.batch_norm(
            x, params["gamma"], params["beta"], state, train=train, momentum=momentum, eps=eps
        )

    return Layer(init, apply, output_shape, name)
