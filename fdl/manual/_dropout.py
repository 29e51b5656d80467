"""Hand-written backward pass of inverted dropout: ``dx = dout * mask``.

The same mask that scaled the forward activations (0 or ``1/(1 - rate)``) scales the
gradient; dropped units pass no gradient. At test time dropout is the identity.
"""

from fdl.manual._custom import Cache, custom_op
from fdl.nn import _dropout


def _masked_forward(x, key, rate):
    mask = _dropout.dropout_mask(key, x.shape, rate, x.dtype)
    return x * mask, Cache(mask=mask)


def dropout_forward(x, key, *, rate, train):
    """``(dropout(x), cache)``; the cache holds the mask (all ones when not training)."""
    x = _dropout.check_dropout(x, key, rate, train)
    if _dropout.is_identity(rate, train):
        return x, Cache(mask=None)
    return _masked_forward(x, key, rate)


def dropout_backward(dout, cache):
    """``dx = dout * mask``."""
    return dout if cache.mask is None else dout * cache.mask


def dropout(x, key, *, rate, train):
    """``fdl.nn.dropout`` with the hand-written backward pass."""
    x = _dropout.check_dropout(x, key, rate, train)
    if _dropout.is_identity(rate, train):
        return x
    return custom_op(_masked_forward, dropout_backward, (x, key), {"rate": rate}, diff=(True, False))
