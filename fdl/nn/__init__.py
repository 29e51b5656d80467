"""``fdl.nn``: layers as pure functions over arrays (NHWC images, HWIO kernels)."""

from fdl.nn._activations import elu as elu
from fdl.nn._activations import leaky_relu as leaky_relu
from fdl.nn._activations import log_softmax as log_softmax
from fdl.nn._activations import maxout as maxout
from fdl.nn._activations import relu as relu
from fdl.nn._activations import sigmoid as sigmoid
from fdl.nn._activations import softmax as softmax
from fdl.nn._activations import tanh as tanh
from fdl.nn._batchnorm import batch_norm as batch_norm
from fdl.nn._batchnorm import batch_norm_state as batch_norm_state
from fdl.nn._conv import conv2d as conv2d
from fdl.nn._conv import conv2d_im2col as conv2d_im2col
from fdl.nn._conv import conv2d_xla as conv2d_xla
from fdl.nn._conv import conv_output_size as conv_output_size
from fdl.nn._conv import im2col as im2col
from fdl.nn._dropout import dropout as dropout
from fdl.nn._linear import affine as affine
from fdl.nn._linear import flatten as flatten
from fdl.nn._merge import add as add
from fdl.nn._merge import concatenate as concatenate
from fdl.nn._merge import global_avg_pool2d as global_avg_pool2d
from fdl.nn._merge import global_max_pool2d as global_max_pool2d
from fdl.nn._merge import pad_channels as pad_channels
from fdl.nn._merge import subsample2d as subsample2d
from fdl.nn._pool import avg_pool2d as avg_pool2d
from fdl.nn._pool import max_pool2d as max_pool2d
