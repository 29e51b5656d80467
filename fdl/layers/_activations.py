"""Activation layers (lecture: "Activation Functions") and ``Flatten``.

Each is parameterless and stateless and keeps the shape (``Flatten`` excepted).
"""

import functools
import math

from fdl import _checks
from fdl._config import configured
from fdl.layers._core import ops, stateless


@configured
def Relu(*, manual=False):
    """ReLU, ``max(0, x)``."""
    return stateless(ops(manual).relu, "Relu")


@configured
def Tanh(*, manual=False):
    """Hyperbolic tangent."""
    return stateless(ops(manual).tanh, "Tanh")


@configured
def Sigmoid(*, manual=False):
    """Logistic sigmoid ``1 / (1 + e^-x)``."""
    return stateless(ops(manual).sigmoid, "Sigmoid")


@configured
def LeakyRelu(negative_slope=0.01, *, manual=False):
    """Leaky ReLU, ``max(a x, x)`` with ``a = negative_slope`` in ``[0, 1)``."""
    name = f"LeakyRelu({negative_slope})"
    try:
        _checks.real_scalar(negative_slope, "negative_slope", low=0.0, high=1.0, high_open=True)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{name}: {err}") from None
    fn = functools.partial(ops(manual).leaky_relu, negative_slope=negative_slope)
    return stateless(fn, name)


@configured
def Elu(alpha=1.0, *, manual=False):
    """ELU: ``x`` for ``x > 0``, ``alpha (e^x - 1)`` otherwise."""
    name = f"Elu({alpha})"
    try:
        _checks.real_scalar(alpha, "alpha", low=0.0)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{name}: {err}") from None
    return stateless(functools.partial(ops(manual).elu, alpha=alpha), name)


@configured
def Flatten(*, manual=False):
    """Flattens each example: ``(N, d1, d2, ...) -> (N, d1*d2*...)``."""
    return stateless(ops(manual).flatten, "Flatten", output_shape=lambda shape: (math.prod(shape),))


ACTIVATIONS = {
    "relu": Relu,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "leaky_relu": LeakyRelu,
    "elu": Elu,
}


@configured
def activation(name, *, manual=False):
    """The activation layer called ``name`` (``"relu"``, ``"tanh"``, ``"sigmoid"``,
    ``"leaky_relu"``, ``"elu"``), with default options."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {', '.join(map(repr, ACTIVATIONS))}"
        )
    return ACTIVATIONS[name](manual=manual)
