"""Random draws for fdl's initialisers and masks: drawn flat, then reshaped.

With JAX's default (partitionable) threefry, a draw's bits are a function of each
element's linear index, so ``jax.random.normal(key, (n,)).reshape(shape)`` holds exactly
the values of ``jax.random.normal(key, shape)``. XLA:CPU, though, compiles the shaped
draw's multi-dimensional index arithmetic slowly: a (3, 3, 8, 16) conv kernel's draw
took 3.5 s to compile against 0.3 s flat, and a dropout mask of a (128, 8, 8, 16)
activation added 4 s to a training step's compilation against 0.4 s. Every fdl draw
of an array therefore goes through here.
"""

import math

import jax


def _flat(shape):
    return (math.prod(shape),)


def normal(key, shape, dtype):
    """Standard normal samples of ``shape`` (the values of ``jax.random.normal``)."""
    return jax.random.normal(key, _flat(shape), dtype).reshape(shape)


def truncated_normal(key, lower, upper, shape, dtype):
    """Standard normal samples restricted to ``[lower, upper]``."""
    return jax.random.truncated_normal(key, lower, upper, _flat(shape), dtype).reshape(shape)


def uniform(key, shape, dtype, minval, maxval):
    """``U(minval, maxval)`` samples of ``shape``."""
    return jax.random.uniform(key, _flat(shape), dtype, minval, maxval).reshape(shape)


def bernoulli(key, p, shape):
    """Booleans of ``shape``, each True with probability ``p``."""
    return jax.random.bernoulli(key, p, _flat(shape)).reshape(shape)
