"""Weight initialisation (lecture: "Weights Initialization").

Every initialiser has the signature ``init(key, shape, dtype=float32, **options)``.
Fans are computed from the shape: a dense weight ``(D_in, D_out)`` has
``fan_in = D_in, fan_out = D_out``; an HWIO conv kernel ``(KH, KW, C_in, C_out)`` has
``fan_in = KH*KW*C_in, fan_out = KH*KW*C_out`` (in general the receptive field is the
product of all but the last two axes). Shapes of rank < 2 have no fan and raise.

* ``normal(std=0.01)``: the notes' ``0.01 * randn``: fine for small nets, collapses the
  activations of deep ones to zero.
* Xavier/Glorot (2010): ``Var[W] = gain^2 * 2 / (fan_in + fan_out)``; keeps tanh nets
  alive. The notes' ``randn / sqrt(fan_in)`` is ``mode="fan_in"``.
* Kaiming/He (2015): ``Var[W] = gain^2 / fan_in`` with ``gain = sqrt(2)`` for ReLU,
  the notes' ``randn / sqrt(fan_in / 2)``; compensates ReLU halving the variance.

Normals are plain Gaussians by default. ``truncated=True`` draws from a normal
truncated at two standard deviations and rescales it (by 1/0.8796) so the variance is
still the target one. Uniform variants use ``U(-a, a)`` with ``a = sqrt(3) * std``.
"""

import math

import jax
import jax.numpy as jnp

from fdl import _checks, _random

# Standard deviation of a unit normal truncated to [-2, 2].
_TRUNCATED_STD = 0.87962566103423978


def _check_shape(shape):
    if isinstance(shape, int):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise TypeError(f"shape must be a tuple of non-negative ints, got {shape!r}")
    return tuple(shape)


def _check_dtype(dtype):
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    return dtype


def fans(shape):
    """``(fan_in, fan_out)`` of a dense ``(D_in, D_out)`` or HWIO conv shape."""
    shape = _check_shape(shape)
    if len(shape) < 2:
        raise ValueError(
            f"shape {shape} has no fan-in/fan-out: expected a dense (D_in, D_out) or "
            "conv (KH, KW, C_in, C_out) shape"
        )
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(key, shape, dtype=jnp.float32):
    """All zeros. Right for biases; for weights every unit computes (and learns) the same."""
    del key
    return jnp.zeros(_check_shape(shape), _check_dtype(dtype))


def _gaussian(key, shape, dtype, std, truncated):
    if truncated:
        z = _random.truncated_normal(key, -2.0, 2.0, shape, dtype) / _TRUNCATED_STD
    else:
        z = _random.normal(key, shape, dtype)
    return (z * std).astype(dtype)


def normal(key, shape, dtype=jnp.float32, std=0.01, truncated=False):
    """``N(0, std^2)`` samples (the notes' ``0.01 * np.random.randn(D, H)``)."""
    shape, dtype = _check_shape(shape), _check_dtype(dtype)
    _checks.real_scalar(std, "std", low=0.0)
    return _gaussian(key, shape, dtype, std, truncated)


def _fan(shape, mode):
    fan_in, fan_out = fans(shape)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2
    raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")


def _scaled_std(shape, gain, mode):
    _checks.real_scalar(gain, "gain", low=0.0)
    fan = _fan(shape, mode)
    if fan == 0:
        raise ValueError(f"shape {shape} has a zero fan")
    return gain / math.sqrt(fan)


def xavier_normal(key, shape, dtype=jnp.float32, gain=1.0, mode="fan_avg", truncated=False):
    """Xavier/Glorot normal: ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    shape, dtype = _check_shape(shape), _check_dtype(dtype)
    return _gaussian(key, shape, dtype, _scaled_std(shape, gain, mode), truncated)


def xavier_uniform(key, shape, dtype=jnp.float32, gain=1.0, mode="fan_avg"):
    """Xavier/Glorot uniform: ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    shape, dtype = _check_shape(shape), _check_dtype(dtype)
    limit = math.sqrt(3.0) * _scaled_std(shape, gain, mode)
    return _random.uniform(key, shape, dtype, -limit, limit)


RELU_GAIN = math.sqrt(2.0)  # He et al.: ReLU halves the variance, so double it back


def kaiming_normal(key, shape, dtype=jnp.float32, gain=RELU_GAIN, mode="fan_in",
                   truncated=False):
    """Kaiming/He normal: ``std = gain / sqrt(fan_in)``, ``gain = sqrt(2)`` for ReLU."""
    shape, dtype = _check_shape(shape), _check_dtype(dtype)
    return _gaussian(key, shape, dtype, _scaled_std(shape, gain, mode), truncated)


def kaiming_uniform(key, shape, dtype=jnp.float32, gain=RELU_GAIN, mode="fan_in"):
    """Kaiming/He uniform: ``U(-a, a)``, ``a = gain * sqrt(3 / fan_in)``."""
    shape, dtype = _check_shape(shape), _check_dtype(dtype)
    limit = math.sqrt(3.0) * _scaled_std(shape, gain, mode)
    return _random.uniform(key, shape, dtype, -limit, limit)


def activation_statistics(key, weight_init, activation, *, layers=10, width=500, batch=1000,
                          dtype=jnp.float32):
    """The notes' initialisation experiment: push unit-Gaussian data through a deep net.

    ``layers`` fully connected layers of ``width`` units (no biases), weights drawn with
    ``weight_init(key, (width, width), dtype)``, each followed by ``activation``. With
    ``normal`` (std 0.01) the activations shrink to zero layer after layer; Xavier keeps
    tanh nets alive; ReLU needs Kaiming's factor of 2.

    Args:
      key: PRNG key for the data and every layer's weights.
      weight_init: an initialiser, e.g. ``fdl.init.xavier_normal``.
      activation: e.g. ``fdl.nn.tanh`` or ``fdl.nn.relu``.
    Returns:
      ``(means, stds, activations)``: per-layer mean and standard deviation (NumPy
      arrays of length ``layers``) and the list of each layer's ``(batch, width)`` output.
    """
    import numpy as np

    if layers < 1 or width < 1 or batch < 1:
        raise ValueError("layers, width and batch must be >= 1")
    data_key, *layer_keys = jax.random.split(key, layers + 1)
    h = _random.normal(data_key, (batch, width), dtype)
    outputs = []
    for k in layer_keys:
        h = activation(h @ weight_init(k, (width, width), dtype))
        outputs.append(h)
    means = np.array([float(jnp.mean(o)) for o in outputs])
    stds = np.array([float(jnp.std(o)) for o in outputs])
    return means, stds, outputs
