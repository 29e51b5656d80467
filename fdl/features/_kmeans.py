"""k-means clustering (Lloyd's algorithm) with k-means++ initialisation, in jax.numpy."""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from fdl import _checks

HIGHEST = jax.lax.Precision.HIGHEST


class KMeans(NamedTuple):
    """Attributes:
    centers: ``(k, D)`` cluster centres.
    labels: int32 ``(N,)``, the index of each point's nearest centre.
    inertia: scalar, ``sum_i ||x_i - centers[labels_i]||^2``.
    iterations: int32 scalar, the Lloyd steps taken (< ``iters`` when it converged).
    """

    centers: jax.Array
    labels: jax.Array
    inertia: jax.Array
    iterations: jax.Array


def squared_distances(x, centers):
    """``(N, k)`` squared distances by ``|x|^2 - 2 x.c + |c|^2`` (one matmul, not an
    ``(N, k, D)`` difference tensor); clipped at 0 against rounding."""
    cross = jnp.matmul(x, centers.T, precision=HIGHEST)
    d2 = jnp.sum(x * x, axis=1)[:, None] - 2 * cross + jnp.sum(centers * centers, axis=1)
    return jnp.maximum(d2, 0)


def nearest(x, centers):
    return jnp.argmin(squared_distances(x, centers), axis=1).astype(jnp.int32)


@functools.partial(jax.jit, static_argnums=2)
def kmeans_plus_plus(key, x, k):
    """k-means++ seeding (Arthur & Vassilvitskii, 2007): the first centre is a uniformly
    drawn point; each next one is point ``i`` with probability ``D(x_i)^2 / sum D^2``,
    ``D`` the distance to the nearest centre chosen so far. Far points are favoured, so
    the seeds spread over the clusters and Lloyd's algorithm starts near a good optimum
    (expected inertia within ``O(log k)`` of the best).
    """
    keys = jax.random.split(key, k)
    first = x[jax.random.randint(keys[0], (), 0, x.shape[0])]
    centers = jnp.zeros((k, x.shape[1]), x.dtype).at[0].set(first)
    d2 = jnp.sum((x - first) ** 2, axis=1)

    def add(i, carry):
        centers, d2 = carry
        total = jnp.sum(d2)
        # Every point already a centre (fewer distinct points than k): draw uniformly.
        logits = jnp.where(total > 0, jnp.log(d2), 0.0)
        chosen = x[jax.random.categorical(keys[i], logits)]
        return centers.at[i].set(chosen), jnp.minimum(d2, jnp.sum((x - chosen) ** 2, axis=1))

    centers, _ = jax.lax.fori_loop(1, k, add, (centers, d2))
    return centers


@functools.partial(jax.jit, static_argnums=2)
def lloyd(x, centers, iters):
    """Alternates assignment (each point to its nearest centre) and update (each centre
    to the mean of its points) until the centres stop moving or ``iters`` steps. A
    centre left without points stays where it is. Each step can only lower the inertia,
    so this ends at a local minimum (a fixed point of both steps)."""
    k = centers.shape[0]

    def step(carry):
        i, centers, _ = carry
        onehot = (nearest(x, centers)[:, None] == jnp.arange(k)).astype(x.dtype)
        counts = jnp.sum(onehot, axis=0)
        sums = jnp.matmul(onehot.T, x, precision=HIGHEST)
        new = jnp.where(counts[:, None] > 0, sums / jnp.maximum(counts, 1)[:, None], centers)
        return i + 1, new, jnp.any(new != centers)

    def running(carry):
        i, _, moved = carry
        return (i < iters) & moved

    steps, centers, _ = jax.lax.while_loop(running, step, (jnp.int32(0), centers, jnp.bool_(True)))
    labels = nearest(x, centers)
    # The inertia from explicit differences: the matmul expansion loses digits to
    # cancellation when points are far from the origin.
    inertia = jnp.sum((x - centers[labels]) ** 2)
    return KMeans(centers, labels, inertia, steps)


def kmeans(key, x, k, *, iters=100, init=None):
    """k-means: ``k`` centres minimising the inertia ``sum_i min_j ||x_i - c_j||^2``.

    Seeds with k-means++ (``kmeans_plus_plus``; or takes the given ``init``), then runs
    Lloyd's algorithm (``lloyd``) to convergence or ``iters`` steps. The result is a local
    minimum that depends on the seeds; run several keys and keep the lowest inertia for
    a better one. It is the codebook learner of bag-of-words features and, on rows of
    ``(r, g, b, u, v)`` (``with_coordinates``), a simple image segmenter.

    Args:
      key: a ``jax.random`` key (used by k-means++; unused when ``init`` is given).
      x: float ``(N, D)`` points.
      k: int in ``[1, N]``, the number of clusters.
      iters: int >= 1, the most Lloyd steps.
      init: optional float ``(k, D)`` initial centres, instead of k-means++.

    Returns:
      ``KMeans(centers (k, D), labels (N,), inertia, iterations)``.

    Examples:
      >>> import jax, numpy as np
      >>> x = np.array([[0.0, 0], [0, 1], [10, 0], [10, 1]], np.float32)
      >>> result = kmeans(jax.random.key(0), x, 2)
      >>> float(result.inertia)
      1.0
    """
    key = _checks.prng_key(key)
    x = _checks.float_array(x, "x")
    _checks.check_rank(x, "x", 2, "(N, D) points")
    if x.shape[0] < 1:
        raise ValueError("x must hold at least one point, got shape (0, D)")
    k = _checks.count(k, "k", 1, x.shape[0])
    iters = _checks.count(iters, "iters", 1)
    if init is None:
        centers = kmeans_plus_plus(key, x, k)
    else:
        centers = _checks.float_array(init, "init").astype(x.dtype)
        if centers.shape != (k, x.shape[1]):
            raise ValueError(f"init must have shape ({k}, {x.shape[1]}), got {tuple(centers.shape)}")
    return lloyd(x, centers, iters)
