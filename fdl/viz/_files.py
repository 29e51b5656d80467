"""Writing figures to PNG files atomically (a crash never leaves half a file)."""

from fdl._io import atomic_open


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend; a clear error if missing."""
    try:
        import matplotlib
    except ImportError as err:  # the plot extra is optional
        raise ImportError("plots need matplotlib: pip install 'fdl[plot]'") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path):
    """Saves ``fig`` as a PNG at ``path`` via a temporary file and an atomic rename."""
    try:
        with atomic_open(path, "wb") as f:
            fig.savefig(f, format="png", dpi=100, bbox_inches="tight")
    finally:
        pyplot().close(fig)
    return path
