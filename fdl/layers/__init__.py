"""``fdl.layers``: layers as ``(init, apply)`` pairs with explicit params, state and keys.

``layer.init(key, input_shape) -> (params, state)`` with ``input_shape`` one example's
shape (no batch axis); ``layer.apply(params, state, x, *, train=False, key=None) ->
(out, state)``; ``layer.output_shape(input_shape)``; ``layer.name``. ``serial`` composes
layers into a model, which is itself a ``Layer``. Every constructor takes
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
from fdl.layers._conv import Conv as Conv
from fdl.layers._core import Layer as Layer
from fdl.layers._core import serial as serial
from fdl.layers._dense import Dense as Dense
from fdl.layers._dropout import Dropout as Dropout
from fdl.layers._norm import BatchNorm as BatchNorm
from fdl.layers._pool import AvgPool as AvgPool
from fdl.layers._pool import MaxPool as MaxPool
