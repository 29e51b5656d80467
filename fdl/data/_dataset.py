"""The containers every loader returns: ``Dataset(x, y)`` and ``Splits(train, val, test,
class_names)``.

Arrays are NumPy arrays in host memory: a loader does not decide which device the data
lives on. ``jax.device_put(splits.train)`` (or ``jnp.asarray``) moves them when wanted.
"""

from typing import NamedTuple

import numpy as np


class Dataset(NamedTuple):
    """Images and their labels; unpacks as ``x, y = dataset``.

    Attributes:
      x: ``(N, H, W, C)`` images, NHWC.
      y: ``(N,)`` int32 class indices.
    """

    x: np.ndarray
    y: np.ndarray


class Splits(NamedTuple):
    """The three disjoint parts of a dataset and the names of its classes.

    Attributes:
      train: the data to fit on (parameters and preprocessing statistics).
      val: held out from ``train`` to choose hyperparameters.
      test: touched once, at the end.
      class_names: ``class_names[c]`` names class index ``c``.
    """

    train: Dataset
    val: Dataset
    test: Dataset
    class_names: tuple[str, ...]


def check_size(value, name):
    """A split size: a non-negative Python/NumPy int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)
