"""Composition beyond ``serial``: branches that run side by side and are joined again.

The lecture's later architectures are not chains. GoogLeNet's Inception module runs
several convolutions on the same input and concatenates their outputs on the channel
axis (``concat``); a ResNet block adds its input back to what its layers computed,
``H(x) = F(x) + x`` (``residual``), so the layers only learn the residual ``F`` and the
addition hands the gradient to earlier layers undiminished (the add gate distributes its
gradient). ``fan_out`` and ``parallel`` are the general plumbing: one input copied to
several branches, and one branch per element of a tuple of inputs.

Every combinator is a ``Layer`` like ``serial``: its params and state are tuples with one
entry per branch (``sublayers[i]`` owns ``params[i]`` and ``state[i]``), ``init`` splits
its key into one sub-key per branch, ``apply`` threads each branch's state and hands a
sub-key only to the branches that draw random numbers (``sublayer_keys``), and an error
inside a branch names the branch.
"""

import jax
import numpy as np

from fdl._config import configured
from fdl.layers._core import (
    Layer,
    check_entries,
    check_input_shape,
    check_layers,
    check_train,
    init_sublayer,
    located_call,
    ops,
    parameter_free,
    positive_int,
    stateless,
    sublayer_keys,
)


def is_shape(value):
    """True for one array's shape (a tuple or list of ints), False for a tuple of shapes."""
    return isinstance(value, (tuple, list)) and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in value
    )


@configured
def Identity():
    """The identity, ``out = x``, shape unchanged: a residual block's default shortcut
    (``residual(block)`` computes ``block(x) + x``)."""
    return stateless(lambda x: x, "Identity")


def _branching(name, kind, layers, labels, join, output_shape):
    """The ``Layer`` of a combinator whose ``layers`` run side by side.

    ``kind == "parallel"``: layer ``i`` takes element ``i`` of a tuple input; otherwise
    every layer takes the same input. ``join`` maps the tuple of branch outputs to the
    output; ``labels[i]`` names branch ``i`` in error messages; ``output_shape``
    validates the input shape and gives the output shape (shape errors before any draw).
    """
    split = kind == "parallel"

    def branch_inputs(x, n, what):
        if not split:
            return (x,) * n
        if not isinstance(x, (tuple, list)) or len(x) != n:
            got = type(x).__name__
            if isinstance(x, (tuple, list)):
                got += f" of length {len(x)}"
            raise ValueError(f"{name}: {what} must be a tuple of {n}, one per branch, got {got}")
        return tuple(x)

    def init(key, input_shape, dtype=np.float32):
        output_shape(input_shape)
        keys = jax.random.split(key, len(layers))
        shapes = branch_inputs(input_shape, len(layers), "input_shape")
        params, state = [], []
        for label, layer, k, shape in zip(labels, layers, keys, shapes):
            p, s = located_call(label, layer, init_sublayer, layer, k, shape, dtype)
            params.append(p)
            state.append(s)
        return tuple(params), tuple(state)

    def apply(params, state, x, *, train=False, key=None):
        check_train(train, name)
        check_entries(params, state, len(layers), name, "per-branch")
        xs = branch_inputs(x, len(layers), "x")
        keys = sublayer_keys(layers, key)
        outs, new_state = [], []
        for label, layer, p, s, xi, k in zip(labels, layers, params, state, xs, keys):
            out, s = located_call(label, layer, layer.apply, p, s, xi, train=train, key=k)
            outs.append(out)
            new_state.append(s)
        try:
            out = join(tuple(outs))
        except (ValueError, TypeError) as err:
            raise type(err)(f"{name}: {err}") from err
        return out, tuple(new_state)

    return Layer(init, apply, output_shape, name,
                 needs_key=any(layer.needs_key for layer in layers), sublayers=layers,
                 kind=kind, join=join)


def _branch_output(label, layer, input_shape):
    """``layer.output_shape(input_shape)``, errors located at ``label``."""
    return located_call(label, layer, layer.output_shape, input_shape)


@configured
def parallel(*layers):
    """Branches side by side on a tuple of inputs: ``(x_0, ..., x_{n-1}) -> (f_0(x_0), ...,
    f_{n-1}(x_{n-1}))`` (stax's ``parallel``).

    The input is a tuple of ``n`` batches (each with its batch axis first) and
    ``input_shape`` the tuple of their per-example shapes, e.g. ``((8,), (4, 4, 3))``;
    the output is the tuple of the branch outputs and ``output_shape`` the tuple of
    their shapes. ``serial(fan_out(2), parallel(f, g))`` runs ``f`` and ``g`` on one
    input.

    Args:
      *layers: one ``Layer`` per branch (or one list of them).
    Returns:
      A ``Layer`` with ``kind="parallel"``; params and state are tuples with one entry
      per branch.
    """
    layers = check_layers(layers, "parallel")
    name = "parallel"
    labels = tuple(f"parallel branch {i}" for i in range(len(layers)))

    def output_shape(input_shape):
        n = len(layers)
        if (not isinstance(input_shape, (tuple, list)) or len(input_shape) != n
                or is_shape(input_shape)):
            raise ValueError(
                f"{name}: input_shape must be a tuple of {n} per-example shapes, one per "
                f"branch (e.g. ((8,), (4, 4, 3)) for two branches), got {input_shape!r}"
            )
        return tuple(_branch_output(label, layer, shape)
                     for label, layer, shape in zip(labels, layers, input_shape))

    return _branching(name, "parallel", layers, labels, lambda outs: outs, output_shape)


@configured
def fan_out(n):
    """Copies one input to ``n`` branches: ``x -> (x, ..., x)``.

    ``output_shape`` is the tuple of ``n`` copies of the input shape. Followed by
    ``parallel`` with ``n`` branches it runs each branch on the same input, e.g.
    ``serial(fan_out(2), parallel(f, g))`` gives ``(f(x), g(x))``; the gradients of the
    copies add up (the lecture's rule for a value used twice).

    Args:
      n: the number of copies, a positive int.
    """
    name = f"fan_out({n!r})"
    n = positive_int(n, "n", name)

    def output_shape(input_shape):
        shape = check_input_shape(input_shape, name)
        return tuple(shape for _ in range(n))

    return parameter_free(name, output_shape, lambda x: tuple(x for _ in range(n)))


@configured
def residual(block, shortcut=None, *, manual=False):
    """A residual connection (He et al., ResNet): ``out = block(x) + shortcut(x)``.

    The shortcut is the identity by default, so the block learns the residual
    ``F(x) = H(x) - x``. Where the block changes the shape (a stride, more channels)
    the shortcut must change it the same way: a projection such as ``serial(Subsample(2),
    Conv(C, 1))`` (option B), or the parameter-free ``serial(Subsample(2),
    PadChannels(p, p))`` (option A). The addition is ``ops(manual).add``: its backward
    pass hands ``dout`` unchanged to both terms (the add gate distributes the gradient).
    No activation follows the addition here; put one after the ``residual`` layer.

    Args:
      block: the ``Layer`` computing ``F`` (usually a ``serial``).
      shortcut: a ``Layer``, or None for the identity.
      manual: add with ``fdl.manual.add`` (hand-written backward pass).
    Returns:
      A ``Layer`` with ``kind="residual"`` and ``sublayers == (block, shortcut)``
      (``Identity()`` when None); params ``(block_params, shortcut_params)`` and state
      likewise (``{}`` for the identity). Per-example shapes: ``input_shape -> S`` where
      ``S`` is the shape both block and shortcut give.
    Raises:
      ValueError at ``init``/``output_shape`` when the two shapes differ, naming both
      (``"residual: block gives (8, 8, 32), shortcut (16, 16, 16)"``).
    """
    name = "residual"
    op = ops(manual)
    for argname, layer in (("block", block), ("shortcut", shortcut)):
        if not isinstance(layer, Layer) and not (argname == "shortcut" and layer is None):
            hint = " (did you forget the parentheses?)" if callable(layer) else ""
            raise TypeError(
                f"{name}: {argname} must be a Layer"
                + (" or None (identity)" if argname == "shortcut" else "")
                + f", got {type(layer).__name__}{hint}"
            )
    layers = (block, Identity() if shortcut is None else shortcut)
    labels = ("residual block", "residual shortcut")

    def output_shape(input_shape):
        out = [_branch_output(label, layer, input_shape) for label, layer in zip(labels, layers)]
        if not (is_shape(out[0]) and is_shape(out[1])) or tuple(out[0]) != tuple(out[1]):
            raise ValueError(
                f"{name}: block gives {_show(out[0])}, shortcut {_show(out[1])}; the two must "
                "have one shape to be added (change the shortcut the way the block changes "
                "the shape, e.g. serial(Subsample(2), Conv(C, 1)) or serial(Subsample(2), "
                "PadChannels(p, p)))"
            )
        return tuple(out[0])

    def join(outs):
        return op.add(outs[0], outs[1])

    return _branching(name, "residual", layers, labels, join, output_shape)


def _show(shape):
    return tuple(shape) if is_shape(shape) else shape


@configured
def concat(*branches, axis=-1, manual=False):
    """Runs every branch on the same input and joins the outputs along ``axis``:
    ``out = [f_0(x) | f_1(x) | ...]`` (GoogLeNet's Inception module, whose 1x1, 3x3, 5x5
    and pooling branches are concatenated on the channel axis).

    ``axis`` counts like NumPy's on the batched arrays, batch axis included: for NHWC
    images ``-1`` (the default) and ``3`` are the channels, ``1`` the height, ``2`` the
    width; axis ``0`` (the batch) cannot be joined. On per-example shapes, the
    output's size on that axis is the sum of the branches' sizes, every other size must
    agree: Inception branches giving ``(28, 28, 64)``, ``(28, 28, 128)``, ``(28, 28, 32)``
    and ``(28, 28, 32)`` make ``(28, 28, 256)``. The join is
    ``ops(manual).concatenate``; its backward pass splits ``dout`` back into the pieces.

    Args:
      *branches: one ``Layer`` per branch (or one list of them).
      axis: int, the axis of the batched outputs to join on (not 0).
      manual: concatenate with ``fdl.manual.concatenate`` (hand-written backward pass).
    Returns:
      A ``Layer`` with ``kind="concat"``; params and state are tuples with one entry per
      branch.
    Raises:
      ValueError at ``init``/``output_shape`` when branch outputs disagree off the axis
      (the branch's index and shape are named) or ``axis`` is out of range.
    """
    branches = check_layers(branches, "concat")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"concat: axis must be an int (of the batched arrays), got {axis!r}")
    axis = int(axis)
    name = "concat" if axis == -1 else f"concat(axis={axis})"
    if axis == 0:
        raise ValueError(
            "concat: axis 0 is the batch axis and cannot be joined; axis counts on the "
            "batched arrays (-1 or 3 = channels of NHWC images)"
        )
    op = ops(manual)
    labels = tuple(f"concat branch {i}" for i in range(len(branches)))

    def output_shape(input_shape):
        outs = [_branch_output(label, layer, input_shape)
                for label, layer in zip(labels, branches)]
        for i, out in enumerate(outs):
            if not is_shape(out):
                raise ValueError(f"{name}: branch {i} gives {out!r}, not the shape of one array")
        first = tuple(outs[0])
        rank = len(first) + 1  # the batched arrays'
        if not -rank <= axis < rank or axis == -rank:
            raise ValueError(
                f"{name}: axis {axis} is out of range for branch outputs {first} per "
                f"example (rank {rank} with the batch axis): expected 1..{rank - 1} or "
                f"-{rank - 1}..-1"
            )
        per_example = axis % rank - 1
        for i, out in enumerate(outs[1:], start=1):
            out = tuple(out)
            if len(out) != len(first) or any(
                    a != b for d, (a, b) in enumerate(zip(out, first)) if d != per_example):
                raise ValueError(
                    f"{name}: branch {i} gives {out} but branch 0 gives {first}; every axis "
                    f"but the concatenation axis ({axis}) must agree"
                )
        joined = sum(out[per_example] for out in outs)
        return first[:per_example] + (joined,) + first[per_example + 1:]

    def join(outs):
        return op.concatenate(outs, axis=axis)

    return _branching(name, "concat", branches, labels, join, output_shape)
