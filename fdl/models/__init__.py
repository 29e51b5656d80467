"""``fdl.models``: ready-made networks (each a ``fdl.layers.Layer``) and their summaries.

``mlp``, ``convnet`` (the notes' ``[(CONV-RELU)*N - POOL?]*M - (FC-RELU)*K - FC``),
``lenet5``, ``linear``; ``count_params(params)`` and ``summary(model, input_shape)``;
``intermediates(model, params, state, x)``: every layer's output for a batch.
"""

from fdl.models._builders import convnet as convnet
from fdl.models._builders import lenet5 as lenet5
from fdl.models._builders import linear as linear
from fdl.models._builders import mlp as mlp
from fdl.models._intermediates import intermediates as intermediates
from fdl.models._intermediates import layer_labels as layer_labels
from fdl.models._summary import count_params as count_params
from fdl.models._summary import summary as summary
