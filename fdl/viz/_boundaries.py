"""A classifier's decision regions in the plane, with the data drawn on top.

For 2-D inputs a classifier is a colouring of the plane: each point gets the class its
scores rank highest. A linear classifier's regions are convex polygons bounded by
straight lines (the lecture's picture of ``W x + b`` cutting the input space with
hyperplanes); a neural network's can bend around the data, as on the spiral.
"""

import numbers

import numpy as np

from fdl.viz._files import pyplot, save_figure


def check_points(x, y):
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] < 1:
        raise ValueError(f"x must be (N, 2) points in the plane, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating) and not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"x must hold real numbers, got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must hold finite coordinates")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},), one label per point, got {y.shape}")
    if y.min() < 0:
        raise ValueError(f"y must hold class indices >= 0, got {int(y.min())}")
    return x.astype(np.float64), y


def decision_grid(predict_fn, x, *, resolution=200, margin=0.1):
    """The class ``predict_fn`` gives every point of a regular grid covering ``x``.

    The grid spans each coordinate's range in ``x`` widened by ``margin`` times that
    range on both sides (or by 0.5 where the range is 0), with ``resolution`` points per
    axis. ``predict_fn`` is called once, on all ``resolution**2`` grid points as one
    float32 ``(resolution**2, 2)`` batch.

    Args:
      predict_fn: ``f(points) -> labels (M,)`` int, or ``-> scores (M, C)`` (argmax taken).
      x: ``(N, 2)`` points the grid must cover.
      resolution: int >= 2, grid points per axis.
      margin: float >= 0, the padding as a fraction of the data's range.

    Returns:
      ``(gx, gy, labels)``: the grid's coordinates ``(resolution,)`` along each axis and
      the int ``(resolution, resolution)`` labels, ``labels[i, j]`` at ``(gx[j], gy[i])``.
    """
    if not callable(predict_fn):
        raise TypeError(f"predict_fn must be callable, got {type(predict_fn).__name__}")
    if isinstance(resolution, bool) or not isinstance(resolution, numbers.Integral):
        raise TypeError(f"resolution must be an int, got {type(resolution).__name__}")
    if resolution < 2:
        raise ValueError(f"resolution must be >= 2 grid points per axis, got {resolution}")
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or not margin >= 0:
        raise ValueError(f"margin must be a number >= 0, got {margin!r}")
    x = np.asarray(x, np.float64)
    low, high = x.min(axis=0), x.max(axis=0)
    pad = np.where(high > low, margin * (high - low), 0.5)
    gx, gy = (np.linspace(lo, hi, resolution) for lo, hi in zip(low - pad, high + pad))
    mx, my = np.meshgrid(gx, gy)
    points = np.stack([mx.ravel(), my.ravel()], axis=1).astype(np.float32)
    out = np.asarray(predict_fn(points))
    m = points.shape[0]
    if out.ndim == 2 and out.shape[0] == m:
        out = np.argmax(out, axis=1)
    elif out.shape != (m,):
        raise ValueError(
            f"predict_fn must return labels ({m},) or scores ({m}, C) for {m} points, "
            f"got shape {out.shape}"
        )
    elif not np.issubdtype(out.dtype, np.integer):
        raise TypeError(f"predict_fn's labels must be integers, got dtype {out.dtype}")
    return gx, gy, out.reshape(resolution, resolution).astype(np.int64)


def plot_decision_boundary(predict_fn, x, y, path, *, resolution=200, title=None, class_names=None):
    """Writes a PNG of ``predict_fn``'s decision regions with the labelled points on top.

    The plane around the data is coloured by the predicted class (``decision_grid``: one
    batched call of ``predict_fn`` on a ``resolution x resolution`` grid), lightly, and
    each point is drawn in its true class's colour, so misclassified points stand out
    as dots of one colour inside another's region.

    Args:
      predict_fn: ``f(points) -> labels (M,)`` int, or ``-> scores (M, C)``, for float32
        ``(M, 2)`` points (e.g. ``lambda p: fdl.train.predict(model, params, state, p)``).
      x: ``(N, 2)`` points; y: ``(N,)`` int labels.
      path: the PNG file to write (atomically).
      resolution: int >= 2, grid points per axis.
      title: optional figure title.
      class_names: optional names, one per class (at least ``max label + 1``).

    Returns:
      ``path``.

    Raises:
      ValueError, TypeError: points not ``(N, 2)``, labels not ``(N,)`` ints, a
        ``predict_fn`` output that is neither labels nor scores for the grid, or too few
        ``class_names``. Nothing is written then.
    """
    x, y = check_points(x, y)
    gx, gy, grid = decision_grid(predict_fn, x, resolution=resolution)
    count = int(max(y.max(), grid.max())) + 1
    if class_names is not None:
        class_names = [str(name) for name in class_names]
        if len(class_names) < count:
            raise ValueError(
                f"class_names must name all {count} classes (labels 0..{count - 1}), "
                f"got {len(class_names)}"
            )
        count = len(class_names)
    else:
        class_names = [str(c) for c in range(count)]
    if grid.min() < 0:
        raise ValueError(f"predict_fn must return class indices >= 0, got {int(grid.min())}")

    plt = pyplot()
    from matplotlib.colors import BoundaryNorm, ListedColormap

    palette = plt.get_cmap("tab10" if count <= 10 else "tab20")
    colours = [palette(c % palette.N) for c in range(count)]
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(np.arange(count + 1) - 0.5, count)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.pcolormesh(gx, gy, grid, cmap=cmap, norm=norm, alpha=0.3, shading="nearest")
    for c in range(count):
        chosen = y == c
        if chosen.any():
            ax.scatter(x[chosen, 0], x[chosen, 1], s=12, color=colours[c], edgecolors="black",
                       linewidths=0.4, label=class_names[c])
    ax.set_xlim(gx[0], gx[-1])
    ax.set_ylim(gy[0], gy[-1])
    spans = (gx[-1] - gx[0], gy[-1] - gy[0])
    if max(spans) < 3 * min(spans):  # true geometry (rings look round) unless it squashes a plot
        ax.set_aspect("equal")
    ax.legend(loc="best", fontsize=8, framealpha=0.8)
    if title is not None:
        ax.set_title(str(title))
    return save_figure(fig, path)
