"""Data preprocessing fitted on the training set and applied to every split.

Each preprocessor is a ``Preprocessor(fit, apply, inverse)`` of pure functions, the
``init``/``apply`` shape of fdl's layers and optimizers::

    pre = fdl.data.standardize()
    state = pre.fit(train.x)          # statistics of the training data only
    x_train = pre.apply(state, train.x)
    x_val = pre.apply(state, val.x)   # the *training* statistics, never val's own
    x_back = pre.inverse(state, x_val)

The statistics come from training data alone, as the notes insist: fitting them on
validation or test data leaks information about those sets into the model. ``state``
is a NamedTuple of arrays, so ``jax.jit(pre.fit)`` and ``jax.jit(pre.apply)`` work and
the state can be saved with the model. Hyperparameters (``k``, ``eps``) are fixed when
the preprocessor is made.

Inputs are float arrays ``(N, ...)`` with the examples on the first axis: images
``(N, H, W, C)`` or feature rows ``(N, D)``. A feature is one entry of an example (a
pixel's value in one channel); a channel is the last axis.

The notes' advice: for images, only centring is common in practice, either subtracting
the mean image (``mean_image``, as AlexNet) or the mean of each colour channel
(``channel_mean``, as VGGNet); normalisation, PCA and whitening are rarer for images.
"""

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fdl import _checks

HIGHEST = jax.lax.Precision.HIGHEST


class Preprocessor(NamedTuple):
    """A preprocessing step as three pure functions.

    Attributes:
      fit: ``fit(x) -> state``: statistics of the training data ``x`` ``(N, ...)``.
      apply: ``apply(state, x) -> x'``: transforms any data whose examples have the
        shape the state was fitted on.
      inverse: ``inverse(state, x') -> x``: undoes ``apply`` (to view preprocessed
        images, or PCA reconstructions); exact unless dimensions were dropped.
    """

    fit: Callable
    apply: Callable
    inverse: Callable


class MeanState(NamedTuple):
    """Attributes: mean: the training mean, example-shaped (``mean_image``) or ``(C,)``
    (``channel_mean``)."""

    mean: jax.Array


class StandardizeState(NamedTuple):
    """Attributes:
    mean: the training mean, example-shaped (per feature) or ``(C,)`` (per channel).
    scale: the divisor, same shape: the training standard deviation, or 1 where that
      is at most ``eps``.
    """

    mean: jax.Array
    scale: jax.Array


class PCAState(NamedTuple):
    """Attributes:
    mean: the training mean, example-shaped.
    components: ``(k, D)`` principal axes, orthonormal rows in order of decreasing
      variance (``D`` the number of features), each with its largest-magnitude entry
      positive so the signs are the same on every backend.
    variances: ``(k,)`` variance of the training data along each axis (eigenvalues of
      the covariance ``Xc^T Xc / N``), decreasing.
    """

    mean: jax.Array
    components: jax.Array
    variances: jax.Array


def check_data(x, name="x"):
    x = _checks.float_array(x, name)
    _checks.check_min_rank(x, name, 2, "(N, ...) with examples on the first axis")
    return x


def check_train(x):
    x = check_data(x)
    if x.shape[0] < 1:
        raise ValueError(f"x must hold at least one example to fit on, got shape {x.shape}")
    return x


def check_example_shape(x, shape, name="x"):
    if tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(
            f"{name} must have examples of shape {tuple(shape)} (the shape fitted on), "
            f"got {tuple(x.shape)}"
        )


def check_channels(x, channels, name="x"):
    if x.shape[-1] != channels:
        raise ValueError(
            f"{name} must have {channels} channels on its last axis (as fitted), "
            f"got shape {tuple(x.shape)}"
        )


def check_eps(eps):
    return _checks.real_scalar(eps, "eps", low=0.0)


def mean_image():
    """Centring by the mean training example (the notes' "mean image", AlexNet).

    ``fit`` averages over the examples only, so the state has one value per pixel and
    channel: ``(H, W, C)`` for images. ``apply`` subtracts it.

    Returns:
      A ``Preprocessor`` with ``MeanState`` states.

    Examples:
      >>> import numpy as np
      >>> pre = mean_image()
      >>> state = pre.fit(np.ones((5, 4, 4, 3), np.float32))
      >>> state.mean.shape
      (4, 4, 3)
    """

    def fit(x):
        return MeanState(jnp.mean(check_train(x), axis=0))

    def apply(state, x):
        x = check_data(x)
        check_example_shape(x, state.mean.shape)
        return x - state.mean

    def inverse(state, x):
        x = check_data(x)
        check_example_shape(x, state.mean.shape)
        return x + state.mean

    return Preprocessor(fit, apply, inverse)


def channel_mean():
    """Centring by the mean of each channel over all training pixels (VGGNet).

    ``fit`` averages over every axis but the last, so the state is ``(C,)``: three
    numbers for RGB images. ``apply`` subtracts them from every pixel, so it accepts
    images of any size with the same channels.

    Returns:
      A ``Preprocessor`` with ``MeanState`` states.
    """

    def fit(x):
        x = check_train(x)
        return MeanState(jnp.mean(x, axis=tuple(range(x.ndim - 1))))

    def apply(state, x):
        x = check_data(x)
        check_channels(x, state.mean.shape[0])
        return x - state.mean

    def inverse(state, x):
        x = check_data(x)
        check_channels(x, state.mean.shape[0])
        return x + state.mean

    return Preprocessor(fit, apply, inverse)


def standardize(*, per_channel=False, eps=1e-6):
    """Zero mean and unit standard deviation: ``(x - mean) / std``.

    Per feature (the notes' ``X -= X.mean(0); X /= X.std(0)``) or, with
    ``per_channel=True``, one mean and std per channel over all pixels. A feature whose
    training std is at most ``eps`` (a pixel that never changes, such as the blank
    border of the 8x8 digits) is centred but not scaled: dividing by a near-zero std
    would turn the smallest difference on new data into a huge value.

    Args:
      per_channel: statistics per channel (shape ``(C,)``) instead of per feature
        (example-shaped).
      eps: float >= 0, the smallest standard deviation that is divided by.

    Returns:
      A ``Preprocessor`` with ``StandardizeState`` states.
    """
    eps = check_eps(eps)

    def fit(x):
        x = check_train(x)
        axes = tuple(range(x.ndim - 1)) if per_channel else 0
        mean = jnp.mean(x, axis=axes)
        std = jnp.std(x, axis=axes)
        return StandardizeState(mean, jnp.where(std > eps, std, jnp.ones_like(std)))

    def check(state, x):
        x = check_data(x)
        if per_channel:
            check_channels(x, state.mean.shape[0])
        else:
            check_example_shape(x, state.mean.shape)
        return x

    def apply(state, x):
        return (check(state, x) - state.mean) / state.scale

    def inverse(state, x):
        return check(state, x) * state.scale + state.mean

    return Preprocessor(fit, apply, inverse)


def check_k(k, name="k"):
    return None if k is None else _checks.count(k, name, 1)


def fit_pca(x, k):
    """Mean, top-``k`` principal axes and their variances of the training data ``x``."""
    x = check_train(x)
    d = int(np.prod(x.shape[1:]))
    k = d if k is None else k
    if k > d:
        raise ValueError(f"k must be <= {d} (the number of features per example), got {k}")
    return principal_axes(x, k)


@functools.partial(jax.jit, static_argnums=1)
def principal_axes(x, k):
    """The notes' recipe: centre, form the covariance ``Xc^T Xc / N`` (``D x D``), and
    decompose it. The covariance is symmetric positive semi-definite, so its SVD is its
    eigendecomposition; ``eigh`` computes that directly, faster and more accurately.
    Jitted as a whole: eagerly, each of these steps would be compiled on its own.
    """
    n = x.shape[0]
    mean = jnp.mean(x, axis=0)
    xc = (x - mean).reshape(n, -1)
    cov = jnp.matmul(xc.T, xc, precision=HIGHEST) / n
    eigvals, eigvecs = jnp.linalg.eigh(cov)
    order = jnp.argsort(-eigvals)[:k]
    # Rounding can leave the eigenvalues of a singular covariance slightly negative.
    variances = jnp.maximum(eigvals[order], 0)
    components = eigvecs[:, order].T
    # An eigenvector's sign is arbitrary; fix it (as scikit-learn's svd_flip does) so
    # every backend gives the same projection.
    pivot = jnp.take_along_axis(components, jnp.argmax(jnp.abs(components), axis=1)[:, None], 1)
    components = components * jnp.where(pivot < 0, -1, 1).astype(components.dtype)
    return PCAState(mean, components, variances)


def project(state, x):
    x = check_data(x)
    check_example_shape(x, state.mean.shape)
    xc = (x - state.mean).reshape(x.shape[0], -1)
    return jnp.matmul(xc, state.components.T, precision=HIGHEST)


def check_codes(state, z, name="z"):
    z = check_data(z, name)
    k = state.components.shape[0]
    if z.ndim != 2 or z.shape[1] != k:
        raise ValueError(f"{name} must have shape (N, {k}), got {tuple(z.shape)}")
    return z


def rotate_back(state, z):
    x = jnp.matmul(z, state.components, precision=HIGHEST)
    return x.reshape(z.shape[0], *state.mean.shape)


def reconstruct(state, z):
    return rotate_back(state, z) + state.mean


def pca(k=None):
    """Principal component analysis: the centred data in the basis of the covariance's
    top-``k`` eigenvectors.

    ``apply`` flattens each example, subtracts the training mean and projects onto the
    ``k`` principal axes, giving ``(N, k)`` decorrelated features whose training
    variances decrease (``state.variances``). ``inverse`` maps ``(N, k)`` back to
    example-shaped data: the best rank-``k`` reconstruction.

    Args:
      k: int in ``[1, D]`` (``D`` the features per example), or ``None`` for all ``D``.

    Returns:
      A ``Preprocessor`` with ``PCAState`` states; ``fit`` raises ``ValueError`` when
      ``k > D``.

    Examples:
      >>> import numpy as np
      >>> x = np.random.default_rng(0).normal(size=(100, 8, 8, 1)).astype(np.float32)
      >>> pre = pca(10)
      >>> pre.apply(pre.fit(x), x).shape
      (100, 10)
    """
    k = check_k(k)

    def fit(x):
        return fit_pca(x, k)

    def apply(state, x):
        return project(state, x)

    def inverse(state, z):
        return reconstruct(state, check_codes(state, z))

    return Preprocessor(fit, apply, inverse)


def whiten(k=None, *, eps=1e-5, zca=False):
    """PCA whitening: project on the top-``k`` principal axes and divide each by
    ``sqrt(variance + eps)``, so the training covariance becomes (nearly) the identity.

    The notes' ``Xwhite = Xrot / sqrt(S + 1e-5)``: ``eps`` keeps directions of tiny
    variance (mostly noise) from being blown up. With ``zca=True`` the whitened
    coordinates are rotated back into pixel space (ZCA whitening: the whitening closest
    to the original data), so ``apply`` returns example-shaped data rather than
    ``(N, k)``.

    Args:
      k: int in ``[1, D]``, or ``None`` for all ``D`` features.
      eps: float >= 0 added to each variance before the square root.
      zca: rotate back to the original space.

    Returns:
      A ``Preprocessor`` with ``PCAState`` states.
    """
    k = check_k(k)
    eps = check_eps(eps)

    def fit(x):
        return fit_pca(x, k)

    def apply(state, x):
        z = project(state, x) / jnp.sqrt(state.variances + eps)
        return rotate_back(state, z) if zca else z

    def inverse(state, z):
        if zca:
            z = check_data(z, "z")
            check_example_shape(z, state.mean.shape, "z")
            z = jnp.matmul(z.reshape(z.shape[0], -1), state.components.T, precision=HIGHEST)
        else:
            z = check_codes(state, z)
        return reconstruct(state, z * jnp.sqrt(state.variances + eps))

    return Preprocessor(fit, apply, inverse)
