"""Per-layer activation histograms (lecture: weight initialisation and activation statistics).

Pushing a batch through a deep net and plotting each layer's activations shows whether
the initialisation is right: with weights too small the histograms shrink to a spike at
zero layer after layer; too large and ``tanh`` units pile up at -1 and +1 (saturated,
so their gradients vanish); with Xavier (tanh) or Kaiming (ReLU) every layer keeps a
similar spread.
"""

import numpy as np

from fdl.viz._files import pyplot, save_figure


def _labelled(activations):
    """``[(label, flat float64 array)]`` from a list, a list of pairs, or a mapping."""
    if isinstance(activations, dict):
        items = list(activations.items())
    elif isinstance(activations, (list, tuple)):
        items = [a if isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], str)
                 else (f"layer {i + 1}", a) for i, a in enumerate(activations)]
    else:
        raise TypeError(
            "activations must be a list of arrays, a list of (label, array) pairs or a "
            f"dict of label -> array, got {type(activations).__name__}"
        )
    if not items:
        raise ValueError("activations is empty: nothing to plot")
    out = []
    for label, values in items:
        try:
            values = np.asarray(values, dtype=np.float64).ravel()
        except (TypeError, ValueError) as err:
            raise TypeError(f"activations[{label!r}] must be a numeric array") from err
        if values.size == 0:
            raise ValueError(f"activations[{label!r}] is empty")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"activations[{label!r}] holds NaN or infinite values")
        out.append((str(label), values))
    return out


def plot_activation_histograms(activations, path, *, bins=50, value_range=None, ncols=None,
                               title=None):
    """One histogram per layer, its mean and standard deviation in the title, as a PNG.

    Args:
      activations: each layer's activations (any shape; all entries are counted): a
        list of arrays (labelled "layer 1", "layer 2", ...), a list of ``(label,
        array)`` pairs such as ``fdl.models.intermediates`` returns, or a dict.
      path: the PNG file to write (atomically).
      bins: histogram bins per layer.
      value_range: ``(low, high)`` shared by every histogram (e.g. ``(-1, 1)`` for
        tanh); default each layer's own range.
      ncols: histograms per row (default: all in one row, up to 5).
      title: the figure title.
    Returns:
      ``path``.
    """
    layers = _labelled(activations)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    if value_range is not None:
        if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
                or not float(value_range[0]) < float(value_range[1])):
            raise ValueError(f"value_range must be a pair (low, high) with low < high, "
                             f"got {value_range!r}")
        value_range = (float(value_range[0]), float(value_range[1]))
    n = len(layers)
    ncols = min(n, 5) if ncols is None else ncols
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    plt = pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.2 * nrows + 0.4),
                             squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    for ax, (label, values) in zip(axes.flat, layers):
        # One filled outline per layer rather than ax.hist's one patch per bin: the same
        # picture at a fraction of the drawing time (figures hold many layers).
        counts, edges = np.histogram(values, bins=bins, range=value_range)
        ax.stairs(counts, edges, fill=True, color="tab:blue")
        ax.set_title(f"{label}\nmean {values.mean():.3g}, std {values.std():.3g}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path)
