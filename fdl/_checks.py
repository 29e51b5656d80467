"""Input validation shared by every public function.

A user mistake must surface as a ``ValueError``/``TypeError`` that names the argument
and says what was expected, at trace time where the information exists (shapes,
dtypes), and at call time for values when they are concrete (label ranges). Under
``jit`` the values are tracers and value checks are skipped: shapes are still checked.
"""

import numbers
import operator

import jax
import jax.numpy as jnp
import numpy as np


def as_array(x, name):
    """Converts ``x`` to a JAX array, or raises ``TypeError`` naming ``name``."""
    if isinstance(x, (jax.Array, np.ndarray, np.generic, numbers.Number)):
        return jnp.asarray(x)
    if isinstance(x, (list, tuple)):
        try:
            return jnp.asarray(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be an array, got {type(x).__name__}") from err
    if hasattr(x, "__jax_array__") or hasattr(x, "__array__"):
        return jnp.asarray(x)
    raise TypeError(f"{name} must be an array, got {type(x).__name__}")


def float_array(x, name):
    """An array with a floating dtype; integer input is rejected, not silently cast."""
    x = as_array(x, name)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{name} must have a floating dtype, got {x.dtype}")
    return x


def host_values(x):
    """``x`` as a NumPy array when its values are known now, else None.

    Read before any ``jnp`` conversion: inside a ``jit`` trace, ``jnp.asarray`` turns
    even a NumPy constant into a tracer, and its values could no longer be checked.
    """
    if isinstance(x, jax.core.Tracer):
        return None
    try:
        return np.asarray(x)
    except (TypeError, ValueError, jax.errors.ConcretizationTypeError):
        return None


def is_concrete(x):
    """True when the values of ``x`` are known now (not a tracer inside jit/grad/vmap)."""
    return not isinstance(x, jax.core.Tracer)


def check_rank(x, name, ranks, what=None):
    ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    if x.ndim not in ranks:
        expected = " or ".join(str(r) for r in ranks)
        extra = f" {what}" if what else ""
        raise ValueError(
            f"{name} must have rank {expected}{extra}, got shape {tuple(x.shape)}"
        )


def check_min_rank(x, name, rank, what=""):
    if x.ndim < rank:
        raise ValueError(
            f"{name} must have rank >= {rank}{' ' + what if what else ''}, "
            f"got shape {tuple(x.shape)}"
        )


def labels(y, name, num_classes, batch):
    """Integer class labels of shape ``(batch,)`` in ``[0, num_classes)``."""
    host = host_values(y)
    y = as_array(y, name)
    if not jnp.issubdtype(y.dtype, jnp.integer):
        raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if y.ndim != 1 or y.shape[0] != batch:
        raise ValueError(
            f"{name} must have shape ({batch},) to match the scores, got {tuple(y.shape)}"
        )
    if host is not None and host.size:
        lo, hi = int(host.min()), int(host.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(
                f"{name} must lie in [0, {num_classes}) for {num_classes} classes, "
                f"got values in [{lo}, {hi}]"
            )
    return y


def pair(value, name, positive=True):
    """An int or a pair of ints, returned as a pair; ``positive`` requires >= 1."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value
    ):
        value = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if positive and min(value) < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def reduction(value):
    if value not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {value!r}")
    return value


def reduce(per_example, how):
    """Applies a loss reduction: ``mean`` over the batch (the notes' 1/N sum), ``sum`` or ``none``."""
    if how == "mean":
        return jnp.mean(per_example)
    if how == "sum":
        return jnp.sum(per_example)
    return per_example


def real_scalar(value, name, *, low=None, high=None, low_open=False, high_open=False):
    """A Python/NumPy real number within bounds; tracers are accepted unchecked."""
    if isinstance(value, jax.core.Tracer):
        return value
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.ndarray, jax.Array)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if low is not None and (v < low or (low_open and v == low)):
        bound = f"> {low}" if low_open else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {v}")
    if high is not None and (v > high or (high_open and v == high)):
        bound = f"< {high}" if high_open else f"<= {high}"
        raise ValueError(f"{name} must be {bound}, got {v}")
    return value


def prng_key(key):
    """Returns ``key`` if it is a JAX PRNG key (typed, or a raw ``uint32[2]``).

    Raises ``TypeError`` otherwise: randomness comes only from explicit keys.
    """
    if isinstance(key, jax.Array):
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ():
            return key
        if key.dtype == jnp.uint32 and key.shape == (2,):
            return key
    raise TypeError(
        "key must be a JAX random key, e.g. jax.random.key(0), got "
        f"{type(key).__name__}{getattr(key, 'shape', '')}"
    )


def count(value, name, low, high=None):
    """``value`` as an int in ``[low, high]`` (``high=None``: no upper bound); a bool or a
    non-integer is a ``TypeError``, an int out of range a ``ValueError``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got bool")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(value).__name__}") from None
    if value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value
