"""Writing figures to PNG files atomically (a crash never leaves half a file)."""

import os
import tempfile


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
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".png.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=100, bbox_inches="tight")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        pyplot().close(fig)
    return path
