"""``fdl.manual``: every op and loss with a backward pass written by hand.

For an op ``name`` of ``fdl.nn``/``fdl.losses`` (and the penalties of
``fdl.regularizers``):

* ``name_forward(...) -> (out, cache)`` computes the output and keeps what the
  backward pass needs;
* ``name_backward(dout, cache)`` returns the gradient of each floating input (a tuple
  when there are several), written from the chain rule with no ``jax.grad`` inside;
* ``name(...)`` has the signature and output of the ``fdl.nn``/``fdl.losses``
  function, but its VJP is the hand-written rule (``jax.custom_vjp``), so a whole
  model can be trained on manual gradients and compared step by step with ``jax.grad``.

``counterpart(fn)`` maps an ``fdl.nn``/``fdl.losses``/``fdl.regularizers`` function to
its manual twin; each manual function's ``.reference`` is the automatic one.
"""

from fdl import losses as _auto_losses
from fdl import nn as _auto_nn
from fdl import regularizers as _auto_regularizers
from fdl.manual._activations import elu as elu
from fdl.manual._activations import elu_backward as elu_backward
from fdl.manual._activations import elu_forward as elu_forward
from fdl.manual._activations import leaky_relu as leaky_relu
from fdl.manual._activations import leaky_relu_backward as leaky_relu_backward
from fdl.manual._activations import leaky_relu_forward as leaky_relu_forward
from fdl.manual._activations import log_softmax as log_softmax
from fdl.manual._activations import log_softmax_backward as log_softmax_backward
from fdl.manual._activations import log_softmax_forward as log_softmax_forward
from fdl.manual._activations import maxout as maxout
from fdl.manual._activations import maxout_backward as maxout_backward
from fdl.manual._activations import maxout_forward as maxout_forward
from fdl.manual._activations import relu as relu
from fdl.manual._activations import relu_backward as relu_backward
from fdl.manual._activations import relu_forward as relu_forward
from fdl.manual._activations import sigmoid as sigmoid
from fdl.manual._activations import sigmoid_backward as sigmoid_backward
from fdl.manual._activations import sigmoid_forward as sigmoid_forward
from fdl.manual._activations import softmax as softmax
from fdl.manual._activations import softmax_backward as softmax_backward
from fdl.manual._activations import softmax_forward as softmax_forward
from fdl.manual._activations import tanh as tanh
from fdl.manual._activations import tanh_backward as tanh_backward
from fdl.manual._activations import tanh_forward as tanh_forward
from fdl.manual._batchnorm import batch_norm as batch_norm
from fdl.manual._batchnorm import batch_norm_backward as batch_norm_backward
from fdl.manual._batchnorm import batch_norm_forward as batch_norm_forward
from fdl.manual._conv import conv2d as conv2d
from fdl.manual._conv import conv2d_backward as conv2d_backward
from fdl.manual._conv import conv2d_forward as conv2d_forward
from fdl.manual._custom import Cache as Cache
from fdl.manual._custom import custom_op as custom_op
from fdl.manual._dropout import dropout as dropout
from fdl.manual._dropout import dropout_backward as dropout_backward
from fdl.manual._dropout import dropout_forward as dropout_forward
from fdl.manual._linear import affine as affine
from fdl.manual._linear import affine_backward as affine_backward
from fdl.manual._linear import affine_forward as affine_forward
from fdl.manual._linear import flatten as flatten
from fdl.manual._linear import flatten_backward as flatten_backward
from fdl.manual._linear import flatten_forward as flatten_forward
from fdl.manual._losses import binary_hinge as binary_hinge
from fdl.manual._losses import binary_hinge_backward as binary_hinge_backward
from fdl.manual._losses import binary_hinge_forward as binary_hinge_forward
from fdl.manual._losses import kl_divergence as kl_divergence
from fdl.manual._losses import kl_divergence_backward as kl_divergence_backward
from fdl.manual._losses import kl_divergence_forward as kl_divergence_forward
from fdl.manual._losses import l1 as l1
from fdl.manual._losses import l1_backward as l1_backward
from fdl.manual._losses import l1_forward as l1_forward
from fdl.manual._losses import l2 as l2
from fdl.manual._losses import l2_backward as l2_backward
from fdl.manual._losses import l2_forward as l2_forward
from fdl.manual._losses import softmax_cross_entropy as softmax_cross_entropy
from fdl.manual._losses import softmax_cross_entropy_backward as softmax_cross_entropy_backward
from fdl.manual._losses import softmax_cross_entropy_forward as softmax_cross_entropy_forward
from fdl.manual._losses import svm as svm
from fdl.manual._losses import svm_backward as svm_backward
from fdl.manual._losses import svm_forward as svm_forward
from fdl.manual._losses import zero_one as zero_one
from fdl.manual._losses import zero_one_backward as zero_one_backward
from fdl.manual._losses import zero_one_forward as zero_one_forward
from fdl.manual._merge import add as add
from fdl.manual._merge import add_backward as add_backward
from fdl.manual._merge import add_forward as add_forward
from fdl.manual._merge import concatenate as concatenate
from fdl.manual._merge import concatenate_backward as concatenate_backward
from fdl.manual._merge import concatenate_forward as concatenate_forward
from fdl.manual._merge import global_avg_pool2d as global_avg_pool2d
from fdl.manual._merge import global_avg_pool2d_backward as global_avg_pool2d_backward
from fdl.manual._merge import global_avg_pool2d_forward as global_avg_pool2d_forward
from fdl.manual._merge import global_max_pool2d as global_max_pool2d
from fdl.manual._merge import global_max_pool2d_backward as global_max_pool2d_backward
from fdl.manual._merge import global_max_pool2d_forward as global_max_pool2d_forward
from fdl.manual._merge import pad_channels as pad_channels
from fdl.manual._merge import pad_channels_backward as pad_channels_backward
from fdl.manual._merge import pad_channels_forward as pad_channels_forward
from fdl.manual._merge import subsample2d as subsample2d
from fdl.manual._merge import subsample2d_backward as subsample2d_backward
from fdl.manual._merge import subsample2d_forward as subsample2d_forward
from fdl.manual._pool import avg_pool2d as avg_pool2d
from fdl.manual._pool import avg_pool2d_backward as avg_pool2d_backward
from fdl.manual._pool import avg_pool2d_forward as avg_pool2d_forward
from fdl.manual._pool import max_pool2d as max_pool2d
from fdl.manual._pool import max_pool2d_backward as max_pool2d_backward
from fdl.manual._pool import max_pool2d_forward as max_pool2d_forward
from fdl.manual._regularizers import elastic_net as elastic_net
from fdl.manual._regularizers import elastic_net_backward as elastic_net_backward
from fdl.manual._regularizers import elastic_net_forward as elastic_net_forward
from fdl.manual._regularizers import l1_regularizer as l1_regularizer
from fdl.manual._regularizers import l1_regularizer_backward as l1_regularizer_backward
from fdl.manual._regularizers import l1_regularizer_forward as l1_regularizer_forward
from fdl.manual._regularizers import l2_regularizer as l2_regularizer
from fdl.manual._regularizers import l2_regularizer_backward as l2_regularizer_backward
from fdl.manual._regularizers import l2_regularizer_forward as l2_regularizer_forward

# (automatic function, manual function) for every op with a hand-written backward pass.
PAIRS = (
    (_auto_nn.affine, affine), (_auto_nn.flatten, flatten),
    (_auto_nn.relu, relu), (_auto_nn.leaky_relu, leaky_relu), (_auto_nn.elu, elu),
    (_auto_nn.sigmoid, sigmoid), (_auto_nn.tanh, tanh), (_auto_nn.maxout, maxout),
    (_auto_nn.softmax, softmax), (_auto_nn.log_softmax, log_softmax),
    (_auto_nn.conv2d, conv2d), (_auto_nn.max_pool2d, max_pool2d), (_auto_nn.avg_pool2d, avg_pool2d),
    (_auto_nn.batch_norm, batch_norm), (_auto_nn.dropout, dropout),
    (_auto_nn.add, add), (_auto_nn.concatenate, concatenate),
    (_auto_nn.global_avg_pool2d, global_avg_pool2d), (_auto_nn.global_max_pool2d, global_max_pool2d),
    (_auto_nn.subsample2d, subsample2d), (_auto_nn.pad_channels, pad_channels),
    (_auto_losses.svm, svm), (_auto_losses.softmax_cross_entropy, softmax_cross_entropy),
    (_auto_losses.l1, l1), (_auto_losses.l2, l2), (_auto_losses.zero_one, zero_one),
    (_auto_losses.binary_hinge, binary_hinge), (_auto_losses.kl_divergence, kl_divergence),
    (_auto_regularizers.l2, l2_regularizer), (_auto_regularizers.l1, l1_regularizer),
    (_auto_regularizers.elastic_net, elastic_net),
)

for _auto, _hand in PAIRS:
    _hand.reference = _auto

_COUNTERPART = {auto: hand for auto, hand in PAIRS}


def counterpart(fn):
    """The manual twin of an ``fdl.nn``/``fdl.losses``/``fdl.regularizers`` function.

    Returns ``fn`` itself if it already is a manual function, and None if there is none.
    """
    if getattr(fn, "reference", None) is not None and fn in _COUNTERPART.values():
        return fn
    return _COUNTERPART.get(fn)
