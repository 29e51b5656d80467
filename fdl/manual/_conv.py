"""Hand-written backward pass of the convolution layer.

With the patch matrix ``X = im2col(x)`` of shape ``(N*Ho*Wo, KH*KW*C)`` and the
filters reshaped to ``W (KH*KW*C, O)``, the layer is ``out = X W + b``: an affine
layer. Its backward pass is therefore the affine one, ``dW = X^T dout``,
``dX = dout W^T``, ``db = sum dout``, followed by ``col2im``, which adds every patch
gradient back onto the pixels the patch was cut from (overlapping windows add up).
"""

import jax.numpy as jnp

from fdl.manual._custom import Cache, custom_op
from fdl.nn import _conv


def conv2d_forward(x, w, b, stride=1, padding=0, *, impl="auto"):
    """``(conv2d(x, w, b), cache)``; the forward runs on ``impl``, the backward is im2col."""
    x, w, b, stride_hw, pads, out_hw = _conv.check_conv(x, w, b, stride, padding)
    out = _conv.conv2d(x, w, b, stride, padding, impl=impl)
    static = {"stride": stride_hw, "pads": pads, "out_hw": out_hw}
    return out, Cache(static, x=x, w=w)


def conv2d_backward(dout, cache):
    """``(dx, dw, db)`` from ``dout`` of shape ``(N, Ho, Wo, O)``."""
    x, w = cache.x, cache.w
    kh, kw, c, o = w.shape
    patches = _conv.im2col(x, (kh, kw), cache.stride, cache.pads, cache.out_hw)
    patches = patches.reshape(-1, kh * kw * c)
    dout2 = dout.reshape(-1, o)
    dw = (patches.T @ dout2).reshape(w.shape)
    db = jnp.sum(dout2, axis=0)
    dpatches = (dout2 @ w.reshape(kh * kw * c, o).T).reshape(
        x.shape[0], cache.out_hw[0], cache.out_hw[1], kh * kw * c
    )
    dx = _conv.col2im(dpatches, x.shape, (kh, kw), cache.stride, cache.pads)
    return dx, dw, db


def conv2d(x, w, b, stride=1, padding=0, *, impl="auto"):
    """``fdl.nn.conv2d`` with the hand-written backward pass."""
    x, w, b, _, _, _ = _conv.check_conv(x, w, b, stride, padding)
    _conv.check_impl(impl)
    static = {"stride": stride, "padding": padding, "impl": impl}
    return custom_op(conv2d_forward, conv2d_backward, (x, w, b), static)
