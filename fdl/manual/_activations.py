"""Hand-written backward passes of the activations and the softmax.

Elementwise ops have diagonal Jacobians (lecture: the 4096 x 4096 Jacobian of ReLU is
diagonal), so each backward is an elementwise product with the local derivative.
"""

import jax.numpy as jnp

from fdl import _checks
from fdl.manual._custom import Cache, custom_op
from fdl.nn import _activations as act


def relu_forward(x):
    return act.relu(x), Cache(x=x)


def relu_backward(dout, cache):
    """``dx = dout * 1[x > 0]``: the gradient is routed only through active units."""
    return dout * (cache.x > 0).astype(dout.dtype)


def leaky_relu_forward(x, negative_slope=0.01):
    return act.leaky_relu(x, negative_slope), Cache({"negative_slope": negative_slope}, x=x)


def leaky_relu_backward(dout, cache):
    """``dx = dout * (1 if x > 0 else a)``."""
    return dout * jnp.where(cache.x > 0, 1.0, cache.negative_slope).astype(dout.dtype)


def elu_forward(x, alpha=1.0):
    out = act.elu(x, alpha)
    return out, Cache({"alpha": alpha}, x=x, out=out)


def elu_backward(dout, cache):
    """``dx = dout * (1 if x > 0 else alpha e^x)``, and ``alpha e^x = out + alpha``."""
    return dout * jnp.where(cache.x > 0, 1.0, cache.out + cache.alpha).astype(dout.dtype)


def sigmoid_forward(x):
    out = act.sigmoid(x)
    return out, Cache(out=out)


def sigmoid_backward(dout, cache):
    """``dsigma/dx = (1 - sigma) sigma`` (lecture: the sigmoid gate's local gradient)."""
    return dout * cache.out * (1 - cache.out)


def tanh_forward(x):
    out = act.tanh(x)
    return out, Cache(out=out)


def tanh_backward(dout, cache):
    """``dtanh/dx = 1 - tanh^2``."""
    return dout * (1 - jnp.square(cache.out))


def softmax_forward(s):
    out = act.softmax(s)
    return out, Cache(out=out)


def softmax_backward(dout, cache):
    """``ds_k = p_k (dout_k - sum_j dout_j p_j)`` (Jacobian ``diag(p) - p p^T``)."""
    p = cache.out
    return p * (dout - jnp.sum(dout * p, axis=-1, keepdims=True))


def log_softmax_forward(s):
    out = act.log_softmax(s)
    return out, Cache(out=out)


def log_softmax_backward(dout, cache):
    """``ds_k = dout_k - p_k sum_j dout_j`` with ``p = exp(log_softmax(s))``."""
    return dout - jnp.exp(cache.out) * jnp.sum(dout, axis=-1, keepdims=True)


def maxout_forward(x, w, b):
    x_shape = jnp.shape(x)
    x2, w, b = act.check_maxout(x, w, b)
    pieces = jnp.einsum("nd,kdm->knm", x2, w) + b[:, None, :]
    winner = jnp.argmax(pieces, axis=0)
    return jnp.max(pieces, axis=0), Cache({"x_shape": tuple(x_shape)}, x=x2, w=w, winner=winner)


def maxout_backward(dout, cache):
    """A max routes its gradient to the winning piece only (lecture: "gradient routing")."""
    k = cache.w.shape[0]
    routed = (jnp.arange(k)[:, None, None] == cache.winner[None]).astype(dout.dtype) * dout[None]
    dx = jnp.einsum("knm,kdm->nd", routed, cache.w).reshape(cache.x_shape)
    dw = jnp.einsum("nd,knm->kdm", cache.x, routed)
    db = jnp.sum(routed, axis=1)
    return dx, dw, db


def _unary(forward, backward, x, **static):
    x = _checks.float_array(x, "x")
    return custom_op(forward, backward, (x,), static)


def relu(x):
    """``fdl.nn.relu`` with the hand-written backward pass."""
    return _unary(relu_forward, relu_backward, x)


def leaky_relu(x, negative_slope=0.01):
    """``fdl.nn.leaky_relu`` with the hand-written backward pass."""
    _checks.real_scalar(negative_slope, "negative_slope", low=0.0, high=1.0, high_open=True)
    return _unary(leaky_relu_forward, leaky_relu_backward, x, negative_slope=negative_slope)


def elu(x, alpha=1.0):
    """``fdl.nn.elu`` with the hand-written backward pass."""
    _checks.real_scalar(alpha, "alpha", low=0.0)
    return _unary(elu_forward, elu_backward, x, alpha=alpha)


def sigmoid(x):
    """``fdl.nn.sigmoid`` with the hand-written backward pass."""
    return _unary(sigmoid_forward, sigmoid_backward, x)


def tanh(x):
    """``fdl.nn.tanh`` with the hand-written backward pass."""
    return _unary(tanh_forward, tanh_backward, x)


def softmax(s):
    """``fdl.nn.softmax`` with the hand-written backward pass."""
    s = act.check_scores(s)
    return custom_op(softmax_forward, softmax_backward, (s,))


def log_softmax(s):
    """``fdl.nn.log_softmax`` with the hand-written backward pass."""
    s = act.check_scores(s)
    return custom_op(log_softmax_forward, log_softmax_backward, (s,))


def maxout(x, w, b):
    """``fdl.nn.maxout`` with the hand-written backward pass."""
    x = _checks.float_array(x, "x")
    _, w, b = act.check_maxout(x, w, b)
    return custom_op(maxout_forward, maxout_backward, (x, w, b))
