"""Bag of visual words and the spatial pyramid: histograms of k-means codewords of
dense image patches."""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fdl import _checks
from fdl.features._base import Feature
from fdl.features._kmeans import kmeans, nearest


class CodebookState(NamedTuple):
    """Attributes:
    codebook: ``(k, size * size * C)`` visual words, the k-means centres of training
      patch descriptors.
    image_shape: ``(H, W, C)`` of the training images (NumPy, for checks).
    """

    codebook: jax.Array
    image_shape: tuple


def patch_grid(height, width, size, stride):
    """Top-left corners ``(P, 2)`` of the ``size x size`` patches at ``stride``, row by row."""
    rows = np.arange(0, height - size + 1, stride)
    cols = np.arange(0, width - size + 1, stride)
    return np.stack(np.meshgrid(rows, cols, indexing="ij"), -1).reshape(-1, 2)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def descriptors(x, size, stride, normalize):
    """``(N, P, size * size * C)``: each patch flattened (row, column, channel), and with
    ``normalize`` centred and scaled to unit norm, so a word describes a local pattern
    whatever its brightness and contrast."""
    corners = patch_grid(x.shape[1], x.shape[2], size, stride)
    offsets = np.arange(size)
    rows = corners[:, 0, None, None] + offsets[None, :, None]  # (P, size, 1)
    cols = corners[:, 1, None, None] + offsets[None, None, :]  # (P, 1, size)
    patches = x[:, rows, cols, :].reshape(x.shape[0], corners.shape[0], -1)
    if normalize:
        patches = patches - jnp.mean(patches, axis=-1, keepdims=True)
        # The floor keeps flat patches (zero contrast) at zero instead of dividing by 0.
        norm = jnp.sqrt(jnp.sum(patches**2, axis=-1, keepdims=True))
        patches = patches / jnp.maximum(norm, 1e-3)
    return patches


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5))
def pyramid_histograms(x, codebook, size, stride, normalize, levels):
    """Word histograms of every cell of every level, weighted and concatenated."""
    n, h, w, _ = x.shape
    k = codebook.shape[0]
    d = descriptors(x, size, stride, normalize)
    words = nearest(d.reshape(-1, d.shape[-1]), codebook).reshape(n, -1)  # (N, P)
    centres = patch_grid(h, w, size, stride) + (size - 1) / 2
    total = words.shape[1]
    blocks = []
    for level in range(levels + 1):
        cells = 2**level
        # The cell holding each patch's centre (its row band, then column band).
        cell = (np.floor(centres[:, 0] * cells / h) * cells + np.floor(centres[:, 1] * cells / w))
        length = cells * cells * k
        bins = jnp.asarray(cell.astype(np.int32)) * k + words  # (N, P) in [0, length)
        # One bincount for all images: image i's bins are shifted to [i L, (i + 1) L).
        shifted = bins + (jnp.arange(n, dtype=bins.dtype) * length)[:, None]
        counts = jnp.bincount(shifted.ravel(), length=n * length).reshape(n, length)
        weight = 1 / 2**levels if level == 0 else 1 / 2 ** (levels - level + 1)
        blocks.append(weight * counts.astype(x.dtype) / total)
    return jnp.concatenate(blocks, axis=1)


def check_images(x, name="x"):
    x = _checks.float_array(x, name)
    _checks.check_rank(x, name, 4, "(N, H, W, C) images")
    return x


def spatial_pyramid(k, *, levels=2, patch_size=4, stride=2, normalize=True, iters=50):
    """Spatial pyramid of visual-word histograms (Lazebnik, Schmid and Ponce, 2006).

    ``fit`` learns a codebook: dense ``patch_size x patch_size`` patches every
    ``stride`` pixels of the training images, each flattened (and, with ``normalize``,
    centred and scaled to unit norm), clustered by ``kmeans`` into ``k`` visual words.
    ``apply`` replaces each patch of an image by its nearest word and counts the words
    in every cell of a pyramid: level ``l`` splits the image into ``2^l x 2^l`` cells
    (a patch belongs to the cell of its centre). Each cell's counts are divided by the
    image's number of patches and weighted by ``1 / 2^L`` at level 0 and
    ``1 / 2^(L - l + 1)`` at level ``l >= 1`` (finer levels, which match more
    precisely, count more), then all are concatenated: ``k * sum_l 4^l`` features. With
    ``levels=0`` this is the plain bag of words (``bag_of_words``): an orderless
    histogram that says which local patterns occur, not where.

    Args:
      k: int >= 1, the codebook size.
      levels: int >= 0, ``L``, the finest level.
      patch_size: int >= 1, the patch side in pixels.
      stride: int >= 1, pixels between neighbouring patches.
      normalize: contrast-normalise each patch before clustering and assignment.
      iters: int >= 1, the most Lloyd steps of the codebook's k-means.

    Returns:
      A ``Feature(fit, apply)``: ``fit(x, key) -> CodebookState`` with ``x`` float
      ``(N, H, W, C)`` training images and a ``jax.random`` key for k-means++;
      ``apply(state, x) -> (N, k * sum_l 4^l)`` for images of the training shape.
    """
    k = _checks.count(k, "k", 1)
    levels = _checks.count(levels, "levels", 0)
    patch_size = _checks.count(patch_size, "patch_size", 1)
    stride = _checks.count(stride, "stride", 1)
    iters = _checks.count(iters, "iters", 1)
    normalize = bool(normalize)

    def fit(x, key):
        x = check_images(x)
        h, w = x.shape[1:3]
        if patch_size > min(h, w):
            raise ValueError(f"patch_size must be <= the image's height and width {(h, w)}, got {patch_size}")
        d = descriptors(x, patch_size, stride, normalize)
        rows = d.reshape(-1, d.shape[-1])
        if k > rows.shape[0]:
            raise ValueError(f"k must be <= {rows.shape[0]}, the number of training patches, got {k}")
        result = kmeans(key, rows, k, iters=iters)
        return CodebookState(result.centers, tuple(x.shape[1:]))

    def apply(state, x):
        x = check_images(x)
        if tuple(x.shape[1:]) != tuple(state.image_shape):
            raise ValueError(
                f"x must hold images of shape {tuple(state.image_shape)} (the shape fitted on), "
                f"got {tuple(x.shape)}"
            )
        return pyramid_histograms(x, state.codebook, patch_size, stride, normalize, levels)

    return Feature(fit, apply)


def bag_of_words(k, *, patch_size=4, stride=2, normalize=True, iters=50):
    """Bag of visual words: each image as the normalised histogram ``(N, k)`` of the
    k-means codewords of its dense patches (``spatial_pyramid`` with ``levels=0``; see
    there for the arguments). The histogram of an image sums to 1.
    """
    return spatial_pyramid(k, levels=0, patch_size=patch_size, stride=stride,
                           normalize=normalize, iters=iters)
