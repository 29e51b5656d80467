"""Features computed from each example alone (nothing to fit): polar coordinates of 2-D
points, raw pixels, pixels with their positions."""

import jax
import jax.numpy as jnp

from fdl import _checks


def polar(x):
    """Polar coordinates of 2-D points: the notes' ``f(x, y) = (r, theta)``.

    ``r = sqrt(x^2 + y^2)`` and ``theta = atan2(y, x)`` in ``(-pi, pi]``. Points on two
    concentric circles are not linearly separable in ``(x, y)`` but are in ``(r,
    theta)``, where the threshold ``r = c`` is a straight line: the lecture's example of
    a feature transform doing what a linear classifier cannot.

    Args:
      x: float ``(N, 2)`` points, columns ``(x, y)``.

    Returns:
      float ``(N, 2)``, columns ``(r, theta)``.

    Examples:
      >>> import numpy as np
      >>> np.asarray(polar(np.array([[0.0, 2.0]], np.float32))).round(4)
      array([[2.    , 1.5708]], dtype=float32)
    """
    x = _checks.float_array(x, "x")
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must be (N, 2) points (x, y), got shape {tuple(x.shape)}")
    return polar_coordinates(x)


@jax.jit  # one compiled program rather than one per eager op
def polar_coordinates(x):
    return jnp.stack([jnp.hypot(x[:, 0], x[:, 1]), jnp.arctan2(x[:, 1], x[:, 0])], axis=1)


def raw_pixels(x):
    """Each example's values as one vector, ``(N, ...) -> (N, D)`` (``D`` the product of
    the example's shape): the "feature" a linear classifier on raw images uses.

    For NHWC images the order is row by row, each pixel's channels together, as
    ``fdl.nn.flatten`` and ``fdl.nn.affine`` flatten.

    Args:
      x: ``(N, ...)`` array with at least one axis after the examples.

    Returns:
      ``(N, D)``, the same dtype.
    """
    x = _checks.as_array(x, "x")
    _checks.check_min_rank(x, "x", 2, "(N, ...) with examples on the first axis")
    return x.reshape(x.shape[0], -1)


def coordinate_grid(height, width, dtype):
    """``(height, width, 2)``: each pixel's ``(u, v)``, both from -1 to 1 inclusive."""
    u = jnp.linspace(-1.0, 1.0, width, dtype=dtype) if width > 1 else jnp.zeros(1, dtype)
    v = jnp.linspace(-1.0, 1.0, height, dtype=dtype) if height > 1 else jnp.zeros(1, dtype)
    return jnp.stack(jnp.broadcast_arrays(u[None, :], v[:, None]), axis=-1)


def with_coordinates(x):
    """Images with each pixel's normalised position appended as two more channels.

    Pixel ``(i, j)`` (row ``i`` of ``H``, column ``j`` of ``W``) gets
    ``u = -1 + 2 j / (W - 1)`` (its horizontal position, -1 at the left edge, 1 at the
    right) and ``v = -1 + 2 i / (H - 1)`` (vertical, -1 at the top, 1 at the bottom), 0
    along an axis of size 1; the same grid as CoordConv (Liu et al., 2018). A pixel then
    describes *where* it is as well as what colour, so per-pixel methods (k-means on
    ``(r, g, b, u, v)`` rows to segment an image into compact regions) or a linear
    model on ``raw_pixels`` of the result can use location.

    Args:
      x: float ``(N, H, W, C)`` NHWC images.

    Returns:
      ``(N, H, W, C + 2)``: the ``C`` input channels, then ``u``, then ``v``. For one row
      per pixel, ``.reshape(-1, C + 2)``; for one vector per image, ``raw_pixels``.
    """
    x = _checks.float_array(x, "x")
    _checks.check_rank(x, "x", 4, "(N, H, W, C)")
    return append_coordinates(x)


@jax.jit
def append_coordinates(x):
    n, h, w, _ = x.shape
    grid = jnp.broadcast_to(coordinate_grid(h, w, x.dtype), (n, h, w, 2))
    return jnp.concatenate([x, grid], axis=-1)
