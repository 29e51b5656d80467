"""``fdl.layers``: layers as ``(init, apply)`` pairs with explicit params, state and keys.

``layer.init(key, input_shape) -> (params, state)`` with ``input_shape`` one example's
shape (no batch axis); ``layer.apply(params, state, x, *, train=False, key=None) ->
(out, state)``; ``layer.output_shape(input_shape)``; ``layer.name``. ``serial`` composes
layers into a model, which is itself a ``Layer``; ``residual`` (ResNet's ``F(x) + x``),
``concat`` (Inception's branches joined on the channels), ``fan_out`` and ``parallel``
compose them side by side. Every constructor that computes with an op takes
``manual=False``; ``manual=True`` computes with the ``fdl.manual`` twins, so the model
backpropagates through hand-written rules with the same params and forward values.
"""

from fdl.layers._activations import ACTIVATIONS as ACTIVATIONS
from fdl.layers._activations import Elu as Elu
from fdl.layers._activations import Flatten as Flatten
from fdl.layers._activations import LeakyRelu as LeakyRelu
from fdl.layers._activations import Relu as Relu
from fdl.layers._activations import Sigmoid as Sigmoid
from fdl.layers._activations import Tanh as Tanh
from fdl.layers._activations import activation as activation
from fdl.layers._combinators import Identity as Identity
from fdl.layers._combinators import concat as concat
from fdl.layers._combinators import fan_out as fan_out
from fdl.layers._combinators import parallel as parallel
from fdl.layers._combinators import residual as residual
from fdl.layers._conv import Conv as Conv
from fdl.layers._core import Layer as Layer
from fdl.layers._core import serial as serial
from fdl.layers._dense import Dense as Dense
from fdl.layers._dropout import Dropout as Dropout
from fdl.layers._global_pool import GlobalAvgPool as GlobalAvgPool
from fdl.layers._global_pool import GlobalMaxPool as GlobalMaxPool
from fdl.layers._lambda import Lambda as Lambda
from fdl.layers._norm import BatchNorm as BatchNorm
from fdl.layers._pool import AvgPool as AvgPool
from fdl.layers._pool import MaxPool as MaxPool
from fdl.layers._shortcut import PadChannels as PadChannels
from fdl.layers._shortcut import Subsample as Subsample
