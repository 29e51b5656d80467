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
"""

import dataclasses
import functools
import inspect


class Configured:
    """A function together with the configuration that built it; equal by configuration.

    ``Configured(fn, config)(*args)`` is ``fn(*args)``. Two of them are equal when their
    configurations are, whatever their functions' identities.
    """

    def __init__(self, fn, config):
        self.fn = fn
        self.config = config
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


def configuration(builder, args, kwargs):
    """``(module, qualname, ((argument, typed value), ...))`` of a call, or None when an
    argument cannot be hashed (then the result keeps comparing by identity)."""
    try:
        bound = inspect.signature(builder).bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    config = (builder.__module__, builder.__qualname__,
              tuple((name, _typed(value)) for name, value in bound.arguments.items()))
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


def attach(made, config):
    """``made`` (an optimizer, a layer, a function) made equal by ``config``."""
    from fdl.layers._core import Layer
    from fdl.optim._base import Optimizer

    if isinstance(made, Optimizer):
        return Optimizer(Configured(made.init, config + ("init",)),
                         Configured(made.update, config + ("update",)))
    if isinstance(made, Layer):
        return dataclasses.replace(made, config=config)
    if callable(made):
        return Configured(made, config)
    return made


def configured(builder):
    """Decorates a builder so that its results compare and hash by the call that made them."""

    @functools.wraps(builder)
    def build(*args, **kwargs):
        made = builder(*args, **kwargs)
        if any(made is arg for arg in (*args, *kwargs.values())):
            return made  # handed back unchanged (a warmup of 0 steps): keep its identity
        config = configuration(builder, args, kwargs)
        return made if config is None else attach(made, config)

    return build
