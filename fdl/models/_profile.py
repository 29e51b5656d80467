"""What a model costs per example: parameters, activation memory and forward FLOPs.

The notes size up an architecture three ways (their VGG-16 table): how many
parameters it has (memory that stays: 138M for VGG-16, mostly in the first FC layer),
how many values its forward pass writes for one image (memory that grows with the
batch: most of it in the early, high-resolution CONV layers) and how much arithmetic
it does. ``profile`` walks a model once -- every single layer and every combinator --
and counts all three from shapes alone (``jax.eval_shape``: nothing is run or
allocated, so VGG-16 at 224x224x3 is counted in well under a second);
``fdl.models.summary`` prints the same walk as a table.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from fdl.layers._activations import Elu, Flatten, LeakyRelu, Relu, Sigmoid, Tanh
from fdl.layers._combinators import Identity
from fdl.layers._core import Layer, init_sublayer, wiring
from fdl.layers._dropout import Dropout


def _size(leaf):
    shape = getattr(leaf, "shape", None)
    return math.prod(shape) if shape is not None else int(np.size(leaf))


def _nbytes(leaf):
    dtype = getattr(leaf, "dtype", None)
    itemsize = np.dtype(dtype).itemsize if dtype is not None else np.asarray(leaf).itemsize
    return _size(leaf) * itemsize


def count_params(params):
    """Number of scalars in a params pytree (e.g. a conv's ``KH*KW*C_in*C_out + C_out``).

    Works on arrays and on ``jax.ShapeDtypeStruct`` leaves (``jax.eval_shape(model.init,
    ...)``), so a model can be counted without allocating it.
    """
    return sum(_size(leaf) for leaf in jax.tree.leaves(params))


def _builder_key(builder):
    return builder.__module__, builder.__qualname__


# Layers whose output needs no memory of its own: elementwise maps whose backward pass
# needs only their output or nothing at all (so a framework computes them in place, as
# the notes' table assumes for the ReLUs), and re-labellings of the same values.
# Recognised by the builder that made them (``Layer.config``), not by their names.
_IN_PLACE = frozenset(_builder_key(b) for b in (Relu, Tanh, Sigmoid, LeakyRelu, Elu,
                                                  Dropout, Flatten, Identity))


def _in_place(layer):
    return layer.config is not None and tuple(layer.config[:2]) in _IN_PLACE


@dataclasses.dataclass(frozen=True)
class LayerCost:
    """One row of a model's profile, per example.

    Attributes:
      name: the layer's name, a branch heading (``"block:"``, ``"branch 0:"``) or a
        join (``"= block + shortcut"``, ``"= concatenate"``, ``"= tuple"``); ``"Input"``
        for the first row.
      indent: nesting level (a branch's layers sit two levels below their combinator).
      role: ``"input"``, ``"layer"``, ``"title"`` (a branching combinator's own row),
        ``"heading"`` (a branch) or ``"join"``. Title and heading rows count nothing
        and have no shape.
      output_shape: the output's shape without the batch axis (a tuple of shapes for a
        tuple output); None for title and heading rows.
      params: trainable parameters; ``param_bytes`` their bytes.
      state: non-trainable values (batch norm's running statistics).
      activations: values this step writes to new memory (0 for in-place steps, see
        ``profile``); ``activation_bytes`` their bytes at the model's dtype.
      flops: forward floating-point operations (2 per multiply-add; convolution and
        dense layers only).
    """

    name: str
    indent: int
    role: str
    output_shape: tuple | None = None
    params: int = 0
    param_bytes: int = 0
    state: int = 0
    activations: int = 0
    activation_bytes: int = 0
    flops: int = 0


@dataclasses.dataclass(frozen=True)
class Profile:
    """A model's costs for one example (``profile``'s result).

    Attributes:
      params, param_bytes: trainable parameters and their bytes.
      state: non-trainable values (running statistics), not in ``params``.
      activations, activation_bytes: values written by the forward pass, input
        included, and their bytes at the model's dtype (the notes' "memory / image,
        only forward"; about twice that with the backward pass's gradients).
      flops: forward FLOPs, ``2 x`` the multiply-adds of the convolution and dense
        layers; ``flops // 2`` is the multiply-add count papers often quote as "FLOPs".
      depth: weight layers (convolution and dense) on the longest path from input to
        output, the way the papers count depth: VGG-16's 16, GoogLeNet's 22, ResNet-50's
        50 (a projection shortcut is beside its block, not on the longest path).
      dtype: the dtype the model was profiled at.
      layers: the rows (``LayerCost``), in the order ``summary`` prints them.
    """

    params: int
    param_bytes: int
    state: int
    activations: int
    activation_bytes: int
    flops: int
    depth: int
    dtype: np.dtype
    layers: tuple


def _values(shape):
    """Number of values of a shape, or the sum over a tuple of shapes."""
    if isinstance(shape, (tuple, list)) and shape and not all(
            isinstance(d, (int, np.integer)) for d in shape):
        return sum(_values(s) for s in shape)
    return math.prod(shape)


def _tupled(shape):
    """A shape, or a tuple of shapes, as nested tuples."""
    if isinstance(shape, (tuple, list)):
        return tuple(_tupled(s) for s in shape)
    return shape


def _weight_fan_in(params):
    """The multiply-adds per output value of a convolution or dense layer, or 0.

    A layer is recognised by the shape of its ``w`` (from ``jax.eval_shape``): rank 4 is
    an HWIO kernel, each output value a sum of ``KH*KW*C_in`` products; rank 2 a dense
    ``(D_in, D_out)`` matrix, each output a sum of ``D_in`` products. Either way that is
    ``w.size / w.shape[-1]``.
    """
    w = params.get("w") if isinstance(params, dict) else None
    shape = getattr(w, "shape", None)
    if shape is None or len(shape) not in (2, 4):
        return 0
    return math.prod(shape[:-1])


# How a branching combinator's branches are titled, and the row of its join.
_JOINS = {"residual": "= block + shortcut", "concat": "= concatenate", "parallel": "= tuple"}


def _branch_titles(layer):
    if layer.kind == "residual":
        return ("block:", "shortcut:")
    return tuple(f"branch {i}:" for i in range(len(layer.sublayers)))


def _walk(layer, params, state, input_shape, indent, itemsize, rows):
    """Appends the rows of ``layer`` to ``rows``; returns ``(output shape, depth)``.

    A serial model lists its layers at ``indent`` (a serial nested in a serial one level
    deeper). A branching combinator (``residual``, ``concat``, ``parallel``) gets a
    title row, then each branch under a heading with its layers two levels deeper,
    then a join row with the combinator's output shape, so every count column adds up
    to the total. A hand-made combinator without a ``join`` is one opaque row.
    """
    kind = wiring(layer)
    if kind == "serial":
        shape, depth = input_shape, 0
        for sub, p, s in zip(layer.sublayers, params, state):
            sub_indent = indent + 1 if wiring(sub) == "serial" else indent
            shape, d = _walk(sub, p, s, shape, sub_indent, itemsize, rows)
            depth += d
        return shape, depth
    if kind is None or layer.join is None:
        out = _tupled(layer.output_shape(input_shape))
        fan_in = _weight_fan_in(params)
        values = 0 if _in_place(layer) else _values(out)
        rows.append(LayerCost(
            layer.name, indent, "layer", out, count_params(params),
            sum(_nbytes(leaf) for leaf in jax.tree.leaves(params)), count_params(state),
            values, values * itemsize, 2 * _values(out) * fan_in))
        return out, int(fan_in > 0)
    rows.append(LayerCost(layer.name, indent, "title"))
    inputs = input_shape if kind == "parallel" else (input_shape,) * len(layer.sublayers)
    depth = 0
    for title, sub, p, s, x in zip(_branch_titles(layer), layer.sublayers, params, state,
                                   inputs):
        rows.append(LayerCost(title, indent + 1, "heading"))
        depth = max(depth, _walk(sub, p, s, x, indent + 2, itemsize, rows)[1])
    out = _tupled(layer.output_shape(input_shape))
    # The residual addition can overwrite the block's output (its backward pass needs
    # neither term) and a parallel's tuple holds its branches' arrays; concatenation
    # copies the branches into a new array.
    values = _values(out) if kind == "concat" else 0
    rows.append(LayerCost(_JOINS.get(kind, "= join"), indent + 1, "join", out,
                          activations=values, activation_bytes=values * itemsize))
    return out, depth


def profile(model, input_shape, *, dtype=jnp.float32):
    """Parameters, activation memory and forward FLOPs of ``model`` for one example.

    One walk over the model, every single layer and every combinator (the branches of a
    ``residual``, ``concat`` or ``parallel`` and their join), from shapes alone:
    parameters come from ``jax.eval_shape(model.init, ...)`` and output shapes from
    ``layer.output_shape``, so nothing is run or allocated. Counting rules:

    * **Activations** (values per example, forward): the input, plus the output of every
      step that writes new memory -- convolutions, dense layers, pooling, batch norm,
      the concatenation of branches, subsampling, padding. The notes' VGG-16 table
      counts exactly these (INPUT, every CONV3, POOL2 and FC output; no ReLU rows).
      Steps that need no memory of their own count 0: activation functions (ReLU, tanh,
      sigmoid, leaky ReLU, ELU), dropout (its mask aside) and the residual addition,
      elementwise steps a framework runs in place because their backward pass needs
      only their output or nothing; and ``Flatten``, ``Identity`` and a ``parallel``'s
      tuple, which only re-label values. Batch norm is counted: its backward pass needs
      its input, so it cannot overwrite it. Bytes are values x the itemsize of
      ``dtype``. The backward pass stores about as much again (a gradient per value).
    * **FLOPs**: ``2 x`` multiply-adds (one multiply and one add each) of the
      convolution and dense layers, which are nearly all of a CNN's arithmetic: a conv
      with kernel ``(KH, KW, C_in, C_out)`` and output ``(Ho, Wo, C_out)`` costs
      ``2 Ho Wo KH KW C_in C_out`` (per-side padding and strides are in ``Ho, Wo``), a
      dense ``(D_in, D_out)`` layer ``2 D_in D_out``. A layer is recognised by its
      params' ``w``: rank 4 is a conv kernel, rank 2 a dense matrix. Not counted:
      biases, batch norm, activation functions, pooling, residual additions and the
      loss (each at most a few operations per activation value: a few percent of the
      total for the ImageNet networks), nor the backward pass (about 2x the forward).
      A hand-made combinator without a ``join`` is one opaque layer: its inner
      convolutions are not seen.

    Args:
      model: a ``fdl.layers.Layer``.
      input_shape: one example's shape, without the batch axis (e.g. ``(224, 224, 3)``).
      dtype: the dtype the model computes in (``init``'s ``dtype``); sets the bytes.
    Returns:
      A ``Profile``: totals (``params``, ``param_bytes``, ``state``, ``activations``,
      ``activation_bytes``, ``flops``, ``depth``) and the per-layer rows ``layers``.
      VGG-16 on ``(224, 224, 3)``: 138,357,544 parameters, 15,237,608 activations
      (61 MB in float32), 30.94 GFLOPs (15.47 G multiply-adds), depth 16. The notes'
      rows for VGG-16 add up to the same 15.2M values; the "24M * 4 bytes ~= 93MB" of
      their TOTAL line is not the sum of their rows.
    Raises:
      TypeError: ``model`` is not a ``Layer`` or ``dtype`` is not a floating dtype.
      ValueError: ``input_shape`` does not suit the model (the layer's message).
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a fdl.layers.Layer, got {type(model).__name__}")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a floating dtype (e.g. jnp.float32), got {dtype!r}") \
            from None
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype must be a floating dtype (e.g. jnp.float32), got {dtype}")
    shape = _tupled(input_shape)
    params, state = jax.eval_shape(lambda key: init_sublayer(model, key, shape, dtype),
                                   jax.random.key(0))
    input_values = _values(shape)
    rows = [LayerCost("Input", 0, "input", shape, activations=input_values,
                      activation_bytes=input_values * dtype.itemsize)]
    _, depth = _walk(model, params, state, shape, 0, dtype.itemsize, rows)
    return Profile(
        params=count_params(params),
        param_bytes=sum(_nbytes(leaf) for leaf in jax.tree.leaves(params)),
        state=count_params(state),
        activations=sum(r.activations for r in rows),
        activation_bytes=sum(r.activation_bytes for r in rows),
        flops=sum(r.flops for r in rows),
        depth=depth,
        dtype=dtype,
        layers=tuple(rows),
    )
