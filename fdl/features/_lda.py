"""Fisher's linear discriminant analysis: the projection that best separates classes."""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from fdl import _checks
from fdl.features._base import Feature

HIGHEST = jax.lax.Precision.HIGHEST


class LDAState(NamedTuple):
    """Attributes:
    mean: the training mean, example-shaped.
    components: ``(k, D)`` discriminant directions ``w_1..w_k`` as rows, in order of
      decreasing Fisher ratio, scaled so that ``w^T S_W w = 1`` (unit within-class
      variance of every projected coordinate) and sign-fixed (largest-magnitude entry
      positive).
    ratios: ``(k,)`` the Fisher ratios ``w^T S_B w / w^T S_W w`` (generalised
      eigenvalues), decreasing.
    """

    mean: jax.Array
    components: jax.Array
    ratios: jax.Array


def check_n_components(value):
    return None if value is None else _checks.count(value, "n_components", 1)


@functools.partial(jax.jit, static_argnums=2)
def discriminant_axes(x, y, num_classes, eps):
    """Scatter matrices of ``(N, D)`` data, then the generalised symmetric eigenproblem
    ``S_B w = lambda S_W w`` reduced to a standard one through the Cholesky factor
    ``S_W = L L^T``: ``(L^-1 S_B L^-T) v = lambda v``, ``w = L^-T v``. All ``D``
    directions, best first: the caller keeps ``k`` (one compilation for every ``k``)."""
    n, d = x.shape
    onehot = (y[:, None] == jnp.arange(num_classes)).astype(x.dtype)
    counts = jnp.sum(onehot, axis=0)
    means = jnp.matmul(onehot.T, x, precision=HIGHEST) / counts[:, None]
    mean = jnp.mean(x, axis=0)
    within = x - means[y]
    s_w = jnp.matmul(within.T, within, precision=HIGHEST) / n
    between = (means - mean) * jnp.sqrt(counts / n)[:, None]
    s_b = jnp.matmul(between.T, between, precision=HIGHEST)
    # A feature constant within every class (a digit's blank border pixel) makes S_W
    # singular; a ridge of eps times the mean within-class variance keeps the Cholesky
    # factor finite without changing the directions of well-determined features.
    ridge = eps * jnp.maximum(jnp.trace(s_w) / d, jnp.finfo(x.dtype).tiny)
    chol = jnp.linalg.cholesky(s_w + ridge * jnp.eye(d, dtype=x.dtype))
    half = jsl.solve_triangular(chol, s_b, lower=True)
    reduced = jsl.solve_triangular(chol, half.T, lower=True)
    ratios, vecs = jnp.linalg.eigh((reduced + reduced.T) / 2)
    order = jnp.argsort(-ratios)
    w = jsl.solve_triangular(chol.T, vecs[:, order], lower=False).T
    pivot = jnp.take_along_axis(w, jnp.argmax(jnp.abs(w), axis=1)[:, None], 1)
    w = w * jnp.where(pivot < 0, -1, 1).astype(w.dtype)
    return mean, w, jnp.maximum(ratios[order], 0)


def lda(n_components=None, *, eps=1e-6):
    """Fisher's multi-class linear discriminant analysis, fitted on labelled training data.

    With class means ``mu_c``, counts ``N_c`` and overall mean ``mu`` of the flattened
    examples, the within-class and between-class scatter are

        S_W = 1/N sum_i (x_i - mu_{y_i})(x_i - mu_{y_i})^T
        S_B = sum_c (N_c / N)(mu_c - mu)(mu_c - mu)^T

    and the discriminant directions maximise the Fisher ratio ``w^T S_B w / w^T S_W w``:
    the top ``k`` solutions of the generalised eigenproblem ``S_B w = lambda S_W w``.
    ``S_B`` has rank at most ``C - 1``, so at most ``C - 1`` directions carry class
    information. ``apply`` centres by the training mean and projects: ``(N, k)``
    coordinates in which the classes' means are far apart relative to their spread.
    Unlike PCA (which keeps the directions of largest variance whatever the labels),
    LDA uses the labels.

    Args:
      n_components: ``k``, an int in ``[1, min(C - 1, D)]``; ``None`` for
        ``min(C - 1, D)``.
      eps: float >= 0, a ridge ``eps * trace(S_W) / D`` added to ``S_W`` so that
        features constant within every class do not make it singular.

    Returns:
      A ``Feature(fit, apply)``: ``fit(x, y) -> LDAState`` with ``x`` float ``(N, ...)``
      and ``y`` int ``(N,)`` in ``[0, C)`` (concrete labels: the class count sizes the
      problem; every class needs an example; ``C >= 2``), and ``apply(state, x) -> (N, k)``.

    Raises:
      ValueError: ``n_components`` outside ``[1, min(C - 1, D)]`` (at ``fit``), labels
        not matching ``x``, a class without examples.
    """
    n_components = check_n_components(n_components)
    eps = _checks.real_scalar(eps, "eps", low=0.0)

    def fit(x, y):
        x = _checks.float_array(x, "x")
        _checks.check_min_rank(x, "x", 2, "(N, ...) with examples on the first axis")
        host = _checks.host_values(y)
        if host is None:
            raise TypeError("lda's fit needs concrete labels y (not traced): the classes size the fit")
        if not np.issubdtype(host.dtype, np.integer):
            raise TypeError(f"y must hold integer class labels, got dtype {host.dtype}")
        if host.shape != (x.shape[0],):
            raise ValueError(f"y must have shape ({x.shape[0]},), one label per example, got {host.shape}")
        if host.size == 0 or host.min() < 0:
            raise ValueError("y must hold class indices >= 0 for at least one example")
        counts = np.bincount(host)
        c = counts.size
        if c < 2:
            raise ValueError(f"lda needs at least 2 classes in y, got {c}")
        if np.any(counts == 0):
            missing = np.flatnonzero(counts == 0).tolist()
            raise ValueError(f"y must hold every class 0..{c - 1} at least once; missing {missing}")
        d = int(np.prod(x.shape[1:]))
        limit = min(c - 1, d)
        k = limit if n_components is None else n_components
        if k > limit:
            raise ValueError(
                f"n_components must be <= min(C - 1, D) = {limit} for C = {c} classes and "
                f"D = {d} features (S_B has rank at most C - 1), got {k}"
            )
        mean, w, ratios = discriminant_axes(x.reshape(x.shape[0], d), jnp.asarray(host), c, float(eps))
        return LDAState(mean.reshape(x.shape[1:]), w[:k], ratios[:k])

    def apply(state, x):
        x = _checks.float_array(x, "x")
        if tuple(x.shape[1:]) != tuple(state.mean.shape) or x.ndim < 2:
            raise ValueError(
                f"x must have examples of shape {tuple(state.mean.shape)} (the shape fitted on), "
                f"got {tuple(x.shape)}"
            )
        xc = (x - state.mean).reshape(x.shape[0], -1)
        return jnp.matmul(xc, state.components.T, precision=HIGHEST)

    return Feature(fit, apply)
