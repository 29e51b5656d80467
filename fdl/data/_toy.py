"""Toy two-dimensional classification data: spirals, concentric circles, Gaussian blobs.

Points in the plane can be drawn together with a classifier's decision regions
(``fdl.viz.plot_decision_boundary``), which makes them the lecture's test bed for what
a linear classifier can and cannot separate: the spiral arms and the two rings are not
linearly separable, blobs usually are.

Each generator takes an explicit ``jax.random`` key (same key, same data) and returns a
``Dataset(x, y)``, as the image loaders' splits are: ``x`` float32 ``(N, 2)`` points and
``y`` int32 ``(N,)`` labels, NumPy arrays in host memory, in a random order (so a slice
``x[:m]`` holds every class in about its proportion). For a train/test pair, call the
generator twice with two keys.

The draws are made on the host by NumPy's PCG64 seeded with the key's bits
(``generator``): a few hundred points need no device, and drawing them through XLA
would compile anew for every data size (about half a second each on a CPU).
"""

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from fdl import _checks
from fdl.data._dataset import Dataset


def generator(key):
    """A NumPy ``Generator`` determined by the bits of the JAX key ``key``."""
    key = _checks.prng_key(key)
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.random.default_rng(np.asarray(key, np.uint32).ravel().tolist())


def check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def check_real(value, name, *, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}, got {value}")
    return value


def shuffled(rng, x, y):
    """The points and labels in one random order (the classes were generated in turn)."""
    order = rng.permutation(x.shape[0])
    return Dataset(np.asarray(x, np.float32)[order], np.asarray(y, np.int32)[order])


def spirals(key, n_per_class, num_classes=3, *, noise=0.2):
    """Points along ``num_classes`` interleaved spiral arms (CS231n's spiral case study).

    Class ``j``'s ``i``-th point (``i = 0..n-1``) has radius ``r_i = i / (n - 1)`` and
    angle ``t_i = 4 (j + r_i) + noise * eps_i`` (``eps_i ~ N(0, 1)``), and lies at
    ``(r_i sin t_i, r_i cos t_i)``: each arm turns through 4 radians from the centre
    outwards, and the arms start 4 radians apart. No straight line separates one arm
    from the others, so a linear classifier stays far below a small neural network here.

    Args:
      key: a ``jax.random`` key.
      n_per_class: int >= 2, points per arm.
      num_classes: int >= 2, the number of arms (labels ``0..num_classes-1``).
      noise: float >= 0, the standard deviation of the angle's noise, in radians.

    Returns:
      ``Dataset(x, y)``: ``x`` float32 ``(num_classes * n_per_class, 2)`` inside the
      unit disc, ``y`` int32 labels, in random order.

    Examples:
      >>> import jax
      >>> x, y = spirals(jax.random.key(0), 100)
      >>> x.shape, y.shape, sorted(set(y.tolist()))
      ((300, 2), (300,), [0, 1, 2])
    """
    rng = generator(key)
    n = check_int(n_per_class, "n_per_class", 2)
    k = check_int(num_classes, "num_classes", 2)
    noise = check_real(noise, "noise")
    r = np.linspace(0.0, 1.0, n)
    eps = rng.standard_normal((k, n))
    t = 4.0 * (np.arange(k)[:, None] + r) + noise * eps
    x = np.stack([r * np.sin(t), r * np.cos(t)], axis=-1).reshape(k * n, 2)
    y = np.repeat(np.arange(k), n)
    return shuffled(rng, x, y)


def circles(key, n, factor=0.5, *, noise=0.05):
    """Two concentric rings: label 0 on the unit circle, label 1 on radius ``factor``.

    Each ring's points sit at evenly spaced angles ``2 pi i / m`` (as scikit-learn's
    ``make_circles``: the outer ring gets ``n // 2`` points, the inner one the rest),
    plus isotropic Gaussian noise of standard deviation ``noise`` on both coordinates.
    The classes differ only in radius, so no line separates them in ``(x, y)``, while
    in polar coordinates ``(r, theta)`` (``fdl.features.polar``) a threshold on ``r``
    does: the lecture's example of a feature transform making data linearly separable.

    Args:
      key: a ``jax.random`` key.
      n: int >= 2, the total number of points.
      factor: float in ``(0, 1)``, the inner ring's radius.
      noise: float >= 0, the standard deviation of the Gaussian noise.

    Returns:
      ``Dataset(x, y)``: ``x`` float32 ``(n, 2)``, ``y`` int32 ``(n,)`` in ``{0, 1}``,
      in random order.
    """
    rng = generator(key)
    n = check_int(n, "n", 2)
    factor = check_real(factor, "factor", positive=True)
    if factor >= 1:
        raise ValueError(f"factor must lie in (0, 1) (the inner ring's radius), got {factor}")
    noise = check_real(noise, "noise")
    n_out = n // 2
    parts = []
    for count, radius in ((n_out, 1.0), (n - n_out, factor)):
        angle = 2 * np.pi * np.arange(count) / count
        parts.append(radius * np.stack([np.cos(angle), np.sin(angle)], axis=-1))
    x = np.concatenate(parts) + noise * rng.standard_normal((n, 2))
    y = np.repeat([0, 1], [n_out, n - n_out])
    return shuffled(rng, x, y)


def blobs(key, n, centers=3, *, std=1.0, box=(-10.0, 10.0)):
    """Isotropic Gaussian clusters, one class each: ``x ~ N(mu_c, std^2 I)``.

    The ``n`` points are shared out evenly (the first ``n % C`` classes get one more).

    Args:
      key: a ``jax.random`` key.
      n: int >= 1, the total number of points.
      centers: an int ``C >= 1`` (centres drawn uniformly in the square ``box`` x ``box``)
        or a ``(C, 2)`` array of centres.
      std: float > 0, the standard deviation of each coordinate around its centre.
      box: ``(low, high)``, the range random centres are drawn from.

    Returns:
      ``Dataset(x, y)``: ``x`` float32 ``(n, 2)``, ``y`` int32 ``(n,)`` in ``[0, C)``
      (label ``c`` for centre ``c``), in random order.
    """
    rng = generator(key)
    n = check_int(n, "n", 1)
    std = check_real(std, "std", positive=True)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        count = check_int(centers, "centers", 1)
        try:
            low, high = (float(b) for b in box)
        except (TypeError, ValueError):
            raise TypeError(f"box must be a pair of numbers (low, high), got {box!r}") from None
        if not low < high:
            raise ValueError(f"box must have low < high, got {box!r}")
        mu = rng.uniform(low, high, (count, 2))
    else:
        try:
            mu = np.asarray(centers, np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"centers must be an int or a (C, 2) array, got {centers!r}") from None
        if mu.ndim != 2 or mu.shape[1] != 2 or mu.shape[0] < 1:
            raise ValueError(f"centers must be an int or a (C, 2) array, got shape {mu.shape}")
        count = mu.shape[0]
    sizes = np.full(count, n // count) + (np.arange(count) < n % count)
    y = np.repeat(np.arange(count), sizes)
    x = mu[y] + std * rng.standard_normal((n, 2))
    return shuffled(rng, x, y)
