"""First-layer convolution filters as images (lecture: "visualise the first-layer weights").

A first-layer filter is applied directly to pixels, so it can be looked at as a small
image: a trained network's first layer shows oriented edges and colour blobs, while
noisy, structureless filters point to too little training or too little regularisation.
"""

import math

import numpy as np

from fdl.viz._files import pyplot, save_figure


def _unit_range(tile):
    """``tile`` linearly rescaled to [0, 1] (a constant tile becomes mid-grey)."""
    low, high = float(tile.min()), float(tile.max())
    if high - low <= 0.0:
        return np.full_like(tile, 0.5)
    return (tile - low) / (high - low)


def filter_tiles(w):
    """The images ``plot_conv_filters`` draws, one per tile, each rescaled to [0, 1].

    Args:
      w: an HWIO conv kernel ``(KH, KW, C_in, C_out)``.
    Returns:
      ``(C_out, KH, KW, 3)`` RGB tiles when ``C_in == 3`` (each filter's three input
      channels as one colour image); otherwise ``(C_out * C_in, KH, KW)`` grayscale
      tiles, filter by filter and, within a filter, input channel by input channel.
    """
    try:
        w = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"w must be a numeric array, got {type(w).__name__}") from err
    if w.ndim != 4:
        raise ValueError(
            f"w must be an HWIO conv kernel of shape (KH, KW, C_in, C_out), got shape {w.shape}"
        )
    if w.size == 0:
        raise ValueError(f"w must not be empty, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("w holds NaN or infinite values")
    tiles = np.moveaxis(w, 3, 0)  # (C_out, KH, KW, C_in)
    if w.shape[2] == 3:
        return np.stack([_unit_range(t) for t in tiles])
    gray = np.moveaxis(tiles, 3, 1).reshape(-1, w.shape[0], w.shape[1])
    return np.stack([_unit_range(t) for t in gray])


def plot_conv_filters(w, path, *, ncols=None, title=None):
    """Draws the filters of a conv kernel as a grid of small images, saved as a PNG.

    Each tile is rescaled to [0, 1] on its own (only the pattern matters, not the
    scale). With three input channels (an RGB first layer) each filter is one colour
    tile; otherwise every (filter, input channel) pair is a grayscale tile.

    Args:
      w: HWIO kernel ``(KH, KW, C_in, C_out)``, e.g. ``params[0]["w"]`` of a convnet.
      path: the PNG file to write (atomically).
      ncols: tiles per row (default: about a square grid).
      title: the figure title (default describes ``w``'s shape).
    Returns:
      ``path``.
    """
    tiles = filter_tiles(w)
    kh, kw, c_in, c_out = np.shape(w)
    n = tiles.shape[0]
    if ncols is None:
        ncols = math.ceil(math.sqrt(n))
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    plt = pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.1 * ncols, 1.1 * nrows + 0.5),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k < n:
            # nearest: a 5x5 filter is 25 numbers, not a smooth picture.
            ax.imshow(tiles[k], cmap=None if tiles.ndim == 4 else "gray", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
    fig.suptitle(title or f"{c_out} filters {kh}x{kw}x{c_in}")
    return save_figure(fig, path)
