"""The layer type and ``serial``: composition of ``(init, apply)`` pairs.

A layer is a frozen, hashable record of pure functions (the idea of stax's
``(init_fun, apply_fun)`` pairs, with named parameters and explicit state):

* ``init(key, input_shape, dtype=float32) -> (params, state)``: ``input_shape`` is
  the shape of ONE example, without the batch axis (``(28, 28, 1)`` for NHWC digits,
  ``(64,)`` for vectors). ``params`` are the trainable arrays, a dict of named arrays
  (``{"w", "b"}``, ``{"gamma", "beta"}``, ``{}``); ``state`` holds what is updated in
  the forward pass but not by gradients (batch norm's running statistics), ``{}`` for
  most layers.
* ``apply(params, state, x, *, train=False, key=None) -> (out, state)``: ``x`` carries
  the batch axis. ``train`` selects batch statistics (batch norm) and random masks
  (dropout); ``key`` is needed only by random layers in training.
* ``output_shape(input_shape) -> shape``: computed analytically, no arrays built; it
  also validates ``input_shape`` with the same messages as ``init``.
* ``name``: a readable description used by ``fdl.models.summary``.

A model built by ``serial`` is itself a ``Layer``: its params and state are tuples with
one entry per sublayer, so ``params[0]["w"]`` is the first layer's weights. The other
combinators (``fdl.layers._combinators``: ``parallel``, ``residual``, ``concat``) keep the
same rule: ``params[i]`` and ``state[i]`` belong to ``sublayers[i]``; ``kind`` says how the
sublayers are wired.

``Layer`` is a frozen dataclass, not a NamedTuple, so that JAX does not treat it as a
pytree: it can be closed over or passed as a static argument of ``jax.jit``
(``jax.jit(model.apply, static_argnames="train")``), and it is hashable. Layers made by
fdl's builders compare and hash by the call that built them (``Dense(10) == Dense(10)``,
see ``fdl._config``), so identically built models share their compiled training loops;
a hand-made ``Layer(init, apply, ...)`` is equal only to itself.
"""

import dataclasses
from collections.abc import Callable

import jax
import numpy as np

from fdl import manual as _manual
from fdl import nn as _nn
from fdl._config import configured


@dataclasses.dataclass(frozen=True, eq=False)
class Layer:
    """A layer: ``init``, ``apply``, ``output_shape`` and a ``name``.

    Attributes:
      init: ``(key, input_shape, dtype=float32) -> (params, state)``.
      apply: ``(params, state, x, *, train=False, key=None) -> (out, state)``.
      output_shape: ``input_shape -> shape`` (both without the batch axis).
      name: readable description, e.g. ``"Conv(16, 3x3, stride 1, pad 1)"``.
      needs_key: True if ``apply`` draws random numbers in training (dropout); ``serial``
        and the other combinators hand a fresh sub-key only to such layers.
      sublayers: the layers a combinator is made of (empty for a single layer);
        ``params[i]`` and ``state[i]`` are those of ``sublayers[i]``.
      config: the builder call that made the layer (``fdl._config``), or None; layers
        with equal configs are equal.
      kind: how ``sublayers`` are wired: ``"serial"`` (each feeds the next),
        ``"parallel"`` (sublayer ``i`` takes input ``i`` of a tuple), ``"residual"`` and
        ``"concat"`` (every sublayer takes the same input, then ``join``); None for a
        single layer (a hand-made layer with sublayers and no kind is taken as serial).
      join: for ``"parallel"``, ``"residual"`` and ``"concat"``, the function from the
        tuple of sublayer outputs to the layer's output (the residual addition, the
        concatenation); ``fdl.models.intermediates`` uses it to follow ``apply`` step by
        step.
    """

    init: Callable
    apply: Callable
    output_shape: Callable
    name: str
    needs_key: bool = False
    sublayers: tuple = ()
    config: object = None
    kind: str | None = None
    join: Callable | None = None

    def _identity(self):
        if self.config is None:  # hand-made: its functions are what it is
            return (self.init, self.apply, self.output_shape, self.name, self.needs_key,
                    self.sublayers, self.kind, self.join)
        return self.config, self.sublayers

    def __eq__(self, other):
        if not isinstance(other, Layer):
            return NotImplemented
        return self is other or self._identity() == other._identity()

    def __hash__(self):
        return hash(self._identity())

    def __repr__(self):
        if self.sublayers:
            inner = ", ".join(repr(layer) for layer in self.sublayers)
            kind = wiring(self)
            return f"{kind}({inner})" if kind == "serial" else f"{self.name}[{inner}]"
        return self.name


def wiring(layer):
    """How ``layer``'s sublayers are wired: its ``kind``, ``"serial"`` for a hand-made
    layer with sublayers and no kind, None for a single layer."""
    if not layer.sublayers:
        return None
    return layer.kind or "serial"


def ops(manual):
    """The op namespace a layer computes with: ``fdl.manual`` (hand-written VJPs) or ``fdl.nn``."""
    if not isinstance(manual, bool):
        raise TypeError(f"manual must be True or False, got {manual!r}")
    return _manual if manual else _nn


def check_train(train, name):
    if not isinstance(train, bool):
        raise TypeError(
            f"{name}: train must be True or False (a Python bool; mark it static under "
            f"jax.jit), got {train!r}"
        )


def check_input_shape(input_shape, name, rank=None, what=None, min_rank=1):
    """Validates the per-example ``input_shape`` of layer ``name``; returns it as a tuple.

    ``rank``: the exact rank expected (``what`` describes it, e.g. ``"(H, W, C)"``).
    A shape one axis too long is reported as the batch axis included by mistake.
    """
    if isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    if not isinstance(input_shape, (tuple, list)) or not all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in input_shape
    ):
        raise TypeError(
            f"{name}: input_shape must be a tuple of ints (one example, without the batch "
            f"axis), got {input_shape!r}"
        )
    shape = tuple(int(d) for d in input_shape)
    if any(d < 1 for d in shape):
        raise ValueError(f"{name}: input_shape must have positive sizes, got {shape}")
    if rank is not None and len(shape) != rank:
        hint = ""
        if len(shape) == rank + 1:
            hint = (
                f"; it looks like the batch axis is included: pass x.shape[1:] = {shape[1:]}"
            )
        raise ValueError(
            f"{name}: input_shape must be {what or f'of rank {rank}'}, one example "
            f"(input_shape excludes the batch axis), got {shape}{hint}"
        )
    if len(shape) < min_rank:
        raise ValueError(
            f"{name}: input_shape must have rank >= {min_rank} (one example, without the "
            f"batch axis), got {shape}"
        )
    return shape


def positive_int(value, argname, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: {argname} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name}: {argname} must be a positive int, got {value!r}")
    return int(value)


def parameter_free(name, output_shape, fn):
    """A layer without params or state computing ``fn(x)``; ``output_shape`` validates the
    per-example input shape (at ``init`` too, before anything is built) and maps it to the
    output's."""

    def init(key, input_shape, dtype=None):
        del key, dtype
        output_shape(input_shape)
        return {}, {}

    def apply(params, state, x, *, train=False, key=None):
        del params, key
        check_train(train, name)
        return fn(x), state

    return Layer(init, apply, output_shape, name)


def stateless(fn, name, output_shape=None):
    """A parameterless, stateless layer computing ``fn(x)`` (activations, flatten)."""

    def shape_fn(input_shape):
        shape = check_input_shape(input_shape, name)
        return output_shape(shape) if output_shape else shape

    return parameter_free(name, shape_fn, fn)


def check_layers(layers, name="serial"):
    """``layers`` (varargs, or one list of them) as a non-empty tuple of ``Layer``."""
    if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
        layers = tuple(layers[0])
    if not layers:
        raise ValueError(f"{name} needs at least one layer")
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            hint = " (did you forget the parentheses, e.g. Relu()?)" if callable(layer) else ""
            raise TypeError(
                f"{name}: layer {i} must be a Layer, got {type(layer).__name__}{hint}"
            )
    return tuple(layers)


def _located(err, where, layer):
    """``err`` with ``where`` (e.g. ``"layer 2"``, ``"concat branch 1"``) in front of its
    message, and the failing layer's name unless the message already starts with it."""
    if type(err) not in (ValueError, TypeError) or len(err.args) != 1:
        return err
    if isinstance(where, int):
        where = f"layer {where}"
    message = str(err)
    where = where if message.startswith(layer.name) else f"{where} ({layer.name})"
    return type(err)(f"{where}: {message}")


def located_call(where, layer, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, a ValueError/TypeError from it re-raised with ``where``
    and ``layer``'s name in front (``_located``), so an error deep in a model says where."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as err:
        located = _located(err, where, layer)
        if located is err:
            raise
        raise located from err


def init_sublayer(layer, key, input_shape, dtype):
    """``layer.init`` with ``dtype`` passed on only when it is not the default float32,
    so a hand-written layer may follow the bare ``(key, input_shape)`` signature."""
    if np.dtype(dtype) == np.float32:
        return layer.init(key, input_shape)
    return layer.init(key, input_shape, dtype)


def sublayer_keys(layers, key):
    """One key per layer of ``layers``: None for those that draw nothing
    (``needs_key`` False) or when ``key`` is None; otherwise ``split(key, m)[j]`` for the
    ``j``-th of the ``m`` layers that need one, in order. Every combinator splits this
    way, and ``fdl.models.intermediates`` too, so both draw the same dropout masks."""
    keys = [None] * len(layers)
    keyed = [i for i, layer in enumerate(layers) if layer.needs_key]
    if key is not None and keyed:
        for i, k in zip(keyed, jax.random.split(key, len(keyed))):
            keys[i] = k
    return keys


def check_entries(params, state, n, name, what="per-layer"):
    """``params`` and ``state`` of a combinator: tuples of ``n`` entries, one per sublayer."""
    if not isinstance(params, (tuple, list)) or len(params) != n:
        raise ValueError(
            f"{name}: params must be a tuple of {n} {what} entries (as returned by init), "
            f"got {type(params).__name__}"
            + (f" of length {len(params)}" if isinstance(params, (tuple, list)) else "")
        )
    if not isinstance(state, (tuple, list)) or len(state) != n:
        raise ValueError(
            f"{name}: state must be a tuple of {n} {what} entries (as returned by init)"
        )


@configured
def serial(*layers):
    """Composes layers in sequence: ``serial(f, g, h)`` computes ``h(g(f(x)))``.

    ``init`` splits its key into one sub-key per layer and threads the shape through;
    ``apply`` threads ``x`` and each layer's state, and when ``key`` is given splits it
    into one sub-key per layer that needs one (dropout), in order. Params and state are
    tuples with one entry per layer (``{}`` for layers without any).

    Args:
      *layers: ``Layer`` objects (or one list of them).
    Returns:
      A ``Layer`` whose ``sublayers`` are ``layers``.

    Example::

        model = serial(Conv(8, 3, padding=1), Relu(), MaxPool(), Flatten(), Dense(10))
        params, state = model.init(jax.random.key(0), (28, 28, 1))
        scores, state = model.apply(params, state, x)            # x: (N, 28, 28, 1)
        scores, state = model.apply(params, state, x, train=True, key=key)
    """
    layers = check_layers(layers)
    name = "serial"

    def output_shape(input_shape):
        shape = input_shape
        for layer in layers:
            shape = layer.output_shape(shape)
        return shape

    def init(key, input_shape, dtype=np.float32):
        output_shape(input_shape)  # every shape error before any random draw
        keys = jax.random.split(key, len(layers))
        params, state, shape = [], [], input_shape
        for layer, k in zip(layers, keys):
            p, s = init_sublayer(layer, k, shape, dtype)
            shape = layer.output_shape(shape)
            params.append(p)
            state.append(s)
        return tuple(params), tuple(state)

    def apply(params, state, x, *, train=False, key=None):
        check_train(train, name)
        check_entries(params, state, len(layers), name)
        new_state = []
        for i, (layer, p, s, k) in enumerate(zip(layers, params, state,
                                                 sublayer_keys(layers, key))):
            x, s = located_call(i, layer, layer.apply, p, s, x, train=train, key=k)
            new_state.append(s)
        return x, tuple(new_state)

    return Layer(init, apply, output_shape, name, needs_key=any(la.needs_key for la in layers),
                 sublayers=layers, kind="serial")
