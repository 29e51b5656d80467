"""``fdl.models``: ready-made networks (each a ``fdl.layers.Layer``) and their summaries.

``mlp``, ``convnet`` (the notes' ``[(CONV-RELU)*N - POOL?]*M - (FC-RELU)*K - FC``),
``lenet5``, ``linear``; the notes' landmark architectures ``alexnet``, ``vgg``,
``googlenet``, ``resnet`` and the CIFAR nets ``resnet_cifar``, ``resnet9`` (with their
blocks ``basic_block``, ``bottleneck_block``, ``inception``);
``count_params(params)`` and ``summary(model, input_shape)``; ``profile(model,
input_shape)``: parameters, activation memory and forward FLOPs per example, in total
and per layer (a ``Profile`` of ``LayerCost`` rows);
``intermediates(model, params, state, x)``: every layer's output for a batch.
"""

from fdl.models._architectures import alexnet as alexnet
from fdl.models._architectures import basic_block as basic_block
from fdl.models._architectures import bottleneck_block as bottleneck_block
from fdl.models._architectures import googlenet as googlenet
from fdl.models._architectures import inception as inception
from fdl.models._architectures import resnet as resnet
from fdl.models._architectures import resnet9 as resnet9
from fdl.models._architectures import resnet_cifar as resnet_cifar
from fdl.models._architectures import vgg as vgg
from fdl.models._builders import convnet as convnet
from fdl.models._builders import lenet5 as lenet5
from fdl.models._builders import linear as linear
from fdl.models._builders import mlp as mlp
from fdl.models._intermediates import intermediates as intermediates
from fdl.models._intermediates import layer_labels as layer_labels
from fdl.models._profile import LayerCost as LayerCost
from fdl.models._profile import Profile as Profile
from fdl.models._profile import profile as profile
from fdl.models._summary import count_params as count_params
from fdl.models._summary import summary as summary
