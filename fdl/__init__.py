"""fdl: a functional deep-learning toolkit on JAX.

Pure functions over arrays and pytrees, jit-compiled, each op with a hand-written
backward pass (``fdl.manual``) that is checked against ``jax.grad`` and finite
differences (``fdl.gradcheck``).
"""

from importlib import metadata as _metadata

from fdl import _allocator, _compiler

# Before any submodule can run a JAX computation: see fdl/_allocator.py and
# fdl/_compiler.py (XLA:CPU's faster convolution path).
ALLOCATOR_TUNED = _allocator.tune_on_import()
XLA_FLAGS_TUNED = _compiler.tune_on_import()
tune_cpu_allocator = _allocator.tune_cpu_allocator

from fdl import classic as classic
from fdl import commands as commands
from fdl import data as data
from fdl import features as features
from fdl import gradcheck as gradcheck
from fdl import init as init
from fdl import kernels as kernels
from fdl import layers as layers
from fdl import losses as losses
from fdl import manual as manual
from fdl import models as models
from fdl import nn as nn
from fdl import optim as optim
from fdl import regularizers as regularizers
from fdl import train as train
from fdl import tune as tune
from fdl import viz as viz

try:
    __version__ = _metadata.version("fdl")
except _metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
