"""The confusion matrix as an image (lecture: judging a classifier per class).

Row-normalised, the diagonal shows each class's accuracy (its recall) and the brightest
off-diagonal cells the confusions behind the low ones: a 2-layer net on CIFAR-10
classifies trucks best and horses worst, and the horse row shows where they go.
"""

import numpy as np

from fdl.viz._files import pyplot, save_figure

# Up to this many classes every cell is annotated with its value; beyond it the numbers
# would not fit their cells.
ANNOTATE_MAX_CLASSES = 10


def normalize_rows(cm):
    """Each row divided by its sum, ``M[i, j] / sum_k M[i, k]``: the fraction of the
    examples of true class ``i`` predicted as ``j``; a row without examples stays 0.

    Args:
      cm: ``(C, C)`` counts, rows true class.

    Returns:
      float64 NumPy ``(C, C)``, rows summing to 1 (or 0).
    """
    m = np.asarray(cm, dtype=np.float64)
    rows = m.sum(axis=1, keepdims=True)
    return np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)


def _check_matrix(cm):
    m = np.asarray(cm)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"cm must be a square (C, C) confusion matrix, got shape {m.shape}")
    if not (np.issubdtype(m.dtype, np.integer) or np.issubdtype(m.dtype, np.floating)):
        raise TypeError(f"cm must hold numbers (counts), got dtype {m.dtype}")
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise ValueError("cm must hold finite counts >= 0")
    return m


def _names(class_names, c):
    if class_names is None:
        return [str(i) for i in range(c)]
    if isinstance(class_names, str) or not all(isinstance(n, str) for n in class_names):
        raise TypeError("class_names must be a sequence of strings, one per class")
    if len(class_names) != c:
        raise ValueError(f"class_names must have {c} entries (one per row of cm), "
                         f"got {len(class_names)}")
    return list(class_names)


def plot_confusion_matrix(cm, path, class_names=None, normalize=True):
    """Writes ``confusion_figure(cm, ...)`` as a PNG at ``path`` (atomically: through a
    temporary file and a rename).

    Args:
      cm: ``(C, C)`` counts, rows true class and columns predicted (as
        ``fdl.train.confusion_matrix`` returns them).
      path: the PNG file to write.
      class_names: optional ``C`` strings for both axes (default the class indices).
      normalize: divide each row by its sum (``normalize_rows``), so the diagonal is
        each class's accuracy; ``False`` draws the raw counts.

    Returns:
      ``path``.

    Raises:
      ValueError: ``cm`` not square or holding negative or non-finite values,
        ``class_names`` not of length ``C``.
      TypeError: ``cm`` not numeric, ``class_names`` not strings.
      ImportError: matplotlib is not installed.
    """
    return save_figure(confusion_figure(cm, class_names=class_names, normalize=normalize), path)


def confusion_figure(cm, *, class_names=None, normalize=True):
    """The figure ``plot_confusion_matrix`` writes: the (row-normalised) matrix as an
    image, true class down the rows, predicted class along the columns, class names on
    both axes, each cell annotated with its value when ``C <= 10``."""
    m = _check_matrix(cm)
    c = m.shape[0]
    names = _names(class_names, c)
    values = normalize_rows(m) if normalize else m.astype(np.float64)
    plt = pyplot()
    size = min(12.0, 2.0 + 0.55 * c)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    # A fixed [0, 1] scale for fractions, so figures of different runs compare by eye.
    top = 1.0 if normalize else max(float(values.max()), 1.0)
    image = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=top)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                 label="fraction of the true class" if normalize else "examples")
    ax.set_xticks(np.arange(c))
    ax.set_yticks(np.arange(c))
    long_names = max(len(n) for n in names) > 3
    ax.set_xticklabels(names, rotation=45 if long_names else 0, ha="right" if long_names else "center")
    ax.set_yticklabels(names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    what = "rows normalised: the diagonal is each class's accuracy" if normalize else "counts"
    ax.set_title(f"confusion matrix ({what})", fontsize=10)
    if c <= ANNOTATE_MAX_CLASSES:
        for i in range(c):
            for j in range(c):
                v = values[i, j]
                text = f"{v:.2f}" if normalize else f"{int(round(v))}"
                # White text on the dark half of the colour map stays readable.
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if v > 0.5 * top else "black")
    fig.tight_layout()
    return fig
