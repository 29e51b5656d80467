"""Equality by configuration: two identically built layers, optimizers or schedules are equal.

fdl's building blocks are closures: ``adam(1e-3)`` returns fresh ``init``/``update``
functions on every call, and functions compare by identity. The compiled training
programs are cached on these objects, so without more, every freshly built but identical
model or optimizer would compile its training loop again.

A builder decorated with ``configured`` remembers the call that made its result -- the
builder and its arguments, defaults filled in -- and the result compares and hashes by
that call: ``adam(1e-3) == adam(1e-3)``, ``Dense(10) == Dense(10)``, ``adam(1e-3) !=
adam(3e-3)``. Arguments compare by value and by type (``1`` and ``1.0`` differ), nested
layers and optimizers by their own configuration, functions (an initialiser, a user's
mask) by identity. A call with an argument that cannot be hashed (an array, a traced
value) gives a result that is equal only to itself, as before.

``open_argument`` turns such a result back into its builder with one number left open
(``adam`` at ``lr``): ``fit`` passes the learning rate into its compiled epoch as an
argument, so ``adam(1e-3)`` and ``adam(3e-3)`` train with one compiled program.
"""

import dataclasses
import functools
import inspect
import numbers


class Configured:
    """A function together with the configuration that built it; equal by configuration.

    ``Configured(fn, config)(*args)`` is ``fn(*args)``. Two of them are equal when their
    configurations are, whatever their functions' identities.
    """

    def __init__(self, fn, config, call=None):
        self.fn = fn
        self.config = config
        # (undecorated builder, {argument: value}) of the call that made fn, or None.
        self.call = call
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __eq__(self, other):
        if not isinstance(other, Configured):
            return NotImplemented
        return self is other or self.config == other.config

    def __hash__(self):
        return hash(self.config)

    def __repr__(self):
        return f"<{describe(self.config)}>"


def _typed(value):
    """``value`` as a hashable key that also records its type (``1`` is not ``1.0``)."""
    if isinstance(value, (tuple, list)):
        return type(value), tuple(_typed(v) for v in value)
    if isinstance(value, dict):
        return dict, tuple((k, _typed(v)) for k, v in value.items())
    return type(value), value


def bound_arguments(builder, args, kwargs):
    """``{argument: value}`` of the call ``builder(*args, **kwargs)``, defaults filled in,
    or None when the arguments do not fit the signature."""
    try:
        bound = inspect.signature(builder).bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    return dict(bound.arguments)


def configuration(builder, arguments):
    """``(module, qualname, ((argument, typed value), ...))`` of a call, or None when an
    argument cannot be hashed (then the result keeps comparing by identity)."""
    config = (builder.__module__, builder.__qualname__,
              tuple((name, _typed(value)) for name, value in arguments.items()))
    try:
        hash(config)
    except TypeError:  # an array, a traced value, a list inside a dict, ...
        return None
    return config


def _plain(typed):
    kind, value = typed
    if kind in (tuple, list):
        return kind(_plain(v) for v in value)
    if kind is dict:
        return {k: _plain(v) for k, v in value}
    return value


def describe(config):
    """``"adam(lr=0.001, ...)"``: a configuration, readable."""
    _, name, arguments, *part = config
    call = f"{name}({', '.join(f'{k}={_plain(v)!r}' for k, v in arguments)})"
    return ".".join([call, *part])


def attach(made, config, call=None):
    """``made`` (an optimizer, a layer, a function) made equal by ``config``; ``call``,
    the builder and its arguments, is kept on optimizers and functions (``open_argument``)."""
    from fdl.layers._core import Layer
    from fdl.optim._base import Optimizer

    if isinstance(made, Optimizer):
        return Optimizer(Configured(made.init, config + ("init",), call),
                         Configured(made.update, config + ("update",), call))
    if isinstance(made, Layer):
        return dataclasses.replace(made, config=config)
    if callable(made):
        return Configured(made, config, call)
    return made


def configured(builder):
    """Decorates a builder so that its results compare and hash by the call that made them."""

    @functools.wraps(builder)
    def build(*args, **kwargs):
        made = builder(*args, **kwargs)
        if any(made is arg for arg in (*args, *kwargs.values())):
            return made  # handed back unchanged (a warmup of 0 steps): keep its identity
        arguments = bound_arguments(builder, args, kwargs)
        config = None if arguments is None else configuration(builder, arguments)
        return made if config is None else attach(made, config, (builder, arguments))

    return build


class OpenArgument:
    """A configured builder's call with one real-valued argument left open.

    ``OpenArgument(...)(value)`` is the builder called with the other arguments as they
    were and ``name=value``; ``value`` may be a traced array. Two are equal when the rest
    of their configurations are: ``adam(1e-3)`` and ``adam(3e-3)`` open at ``lr`` are one
    builder, so a program traced with the learning rate as an argument compiles once for
    both.
    """

    def __init__(self, builder, arguments, name, config):
        self.builder, self.arguments, self.name = builder, arguments, name
        module, qualname, typed = config[:3]
        self.key = (module, qualname, name, tuple(a for a in typed if a[0] != name))

    def __call__(self, value):
        return self.builder(**{**self.arguments, self.name: value})

    def __eq__(self, other):
        if not isinstance(other, OpenArgument):
            return NotImplemented
        return self.key == other.key

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        return f"<{self.key[1]} with {self.name} open>"


def open_argument(made, name):
    """``(OpenArgument, value)`` when ``made`` (an optimizer or function) came from a
    ``configured`` builder whose argument ``name`` was a real number; else ``None`` (a
    schedule given as ``lr``, a hand-made optimizer, a wrapper without ``name``)."""
    from fdl.optim._base import Optimizer

    part = made.init if isinstance(made, Optimizer) else made
    call = getattr(part, "call", None) if isinstance(part, Configured) else None
    if call is None:
        return None
    builder, arguments = call
    value = arguments.get(name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    kinds = {p.kind for p in inspect.signature(builder).parameters.values()}
    if kinds & {inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL,
                inspect.Parameter.VAR_KEYWORD}:
        return None  # not callable back by keyword
    return OpenArgument(builder, arguments, name, part.config), value
