"""A linear classifier's weights drawn as images (lecture: "interpreting the weights").

The score of class ``c`` is the dot product of the image with column ``c`` of ``W``, so
that column, reshaped to the image's shape, is a template the classifier matches
against: a horse template shows a brownish blob with two heads, a car template a red
front, a digit template a faint stroke of the digit.
"""

import numpy as np

from fdl.viz._files import pyplot, save_figure


def rescale_templates(templates):
    """Each template mapped linearly onto ``[0, 1]``: ``(t - min t) / (max t - min t)``.

    Per template, as in the notes' visualisation: weights have arbitrary sign and
    scale, and each class's own range is what shows its pattern. A constant template
    becomes all 0.5.

    Args:
      templates: ``(C, H, W, channels)``.

    Returns:
      float64 NumPy ``(C, H, W, channels)`` in ``[0, 1]``.
    """
    t = np.asarray(templates, dtype=np.float64)
    axes = tuple(range(1, t.ndim))
    low = t.min(axis=axes, keepdims=True)
    span = t.max(axis=axes, keepdims=True) - low
    flat = span == 0
    return np.where(flat, 0.5, (t - low) / np.where(flat, 1.0, span))


def plot_weight_templates(w_or_classifier, image_shape, path, *, class_names=None):
    """Writes a PNG with each class's weights drawn as an image
    (``weight_templates_figure``, saved atomically).

    Args:
      w_or_classifier: a ``fdl.classic.LinearClassifier`` or its ``(D, C)`` weights.
      image_shape: ``(H, W)`` or ``(H, W, channels)`` with ``H * W * channels = D``.
      path: the PNG file to write (atomically: through a temporary file and a rename).
      class_names: optional ``C`` titles (default the class indices).

    Returns:
      ``path``.

    Raises:
      ValueError: ``image_shape`` not matching ``D``, ``class_names`` not of length ``C``,
        a ``channels`` other than 1 or 3 (only grey or RGB images can be drawn).
    """
    return save_figure(
        weight_templates_figure(w_or_classifier, image_shape, class_names=class_names), path)


def weight_templates_figure(w_or_classifier, image_shape, *, class_names=None):
    """The figure ``plot_weight_templates`` writes: one titled image per class, at most
    10 per row, under a figure title laid out clear of the class titles."""
    from fdl.classic import weight_templates  # fdl.classic needs no matplotlib; viz does

    templates = weight_templates(w_or_classifier, image_shape)
    count, channels = templates.shape[0], templates.shape[-1]
    if channels not in (1, 3):
        raise ValueError(
            f"image_shape must have 1 (grey) or 3 (RGB) channels to be drawn, got {channels}"
        )
    if class_names is None:
        class_names = [str(c) for c in range(count)]
    else:
        class_names = [str(name) for name in class_names]
        if len(class_names) != count:
            raise ValueError(
                f"class_names must hold {count} names, one per class, got {len(class_names)}"
            )
    images = rescale_templates(templates)

    plt = pyplot()
    columns = min(count, 10)
    rows = -(-count // columns)
    # Constrained layout places the figure title above the class titles (a plain
    # suptitle sits at a fixed height and overlaps the first row's titles).
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.5 * rows + 0.4),
                             squeeze=False, layout="constrained")
    for ax in axes.ravel():
        ax.axis("off")
    for c, (ax, name) in enumerate(zip(axes.ravel(), class_names)):
        image = images[c, ..., 0] if channels == 1 else images[c]
        ax.imshow(image, cmap="gray" if channels == 1 else None, vmin=0.0, vmax=1.0,
                  interpolation="nearest")
        ax.set_title(name, fontsize=9)
    fig.suptitle("Linear classifier weights as templates", fontsize=10)
    return fig
