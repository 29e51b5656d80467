"""``fdl._random``: flat draws reshaped hold exactly the values of JAX's shaped draws."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import _random

# Small shapes: the shaped reference draws are the slow compilations fdl avoids.
SHAPES = [(7,), (3, 5), (2, 3, 1, 2)]


@pytest.mark.parametrize("partitionable", [True, False])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_draws_equal_jax_random_of_the_shape(shape, partitionable):
    def draws(key):
        return [
            (_random.normal(key, shape, jnp.float32), jax.random.normal(key, shape, jnp.float32)),
            (_random.truncated_normal(key, -2.0, 2.0, shape, jnp.float32),
             jax.random.truncated_normal(key, -2.0, 2.0, shape, jnp.float32)),
            (_random.uniform(key, shape, jnp.float32, -0.5, 0.5),
             jax.random.uniform(key, shape, jnp.float32, -0.5, 0.5)),
            (_random.bernoulli(key, 0.7, shape), jax.random.bernoulli(key, 0.7, shape)),
        ]

    with jax.threefry_partitionable(partitionable):
        pairs = jax.jit(draws)(jax.random.key(3))  # one compilation for all eight draws
    for ours, theirs in pairs:
        assert ours.shape == shape and ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)  # bit for bit: same bits, same order


def test_draws_keep_the_dtype(x64):
    key = jax.random.key(0)
    assert _random.normal(key, (2, 3), jnp.float64).dtype == jnp.float64
    assert _random.uniform(key, (2, 3), jnp.bfloat16, 0.0, 1.0).dtype == jnp.bfloat16
    assert _random.bernoulli(key, 0.5, (2, 3)).dtype == jnp.bool_
