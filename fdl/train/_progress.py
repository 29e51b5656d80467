"""A one-line-per-epoch progress display, with no third-party dependency."""

import math
import sys


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Progress:
    """Writes one line per epoch to a stream.

    ``progress=None`` means ``sys.stderr``, but only when it is a terminal (so logs and
    captured output stay clean); ``progress=False`` is silent; a file-like object given
    explicitly always receives one plain line per epoch.
    """

    def __init__(self, progress):
        if progress is False:
            self.stream, self.enabled = None, False
        elif progress is None or progress is True:
            self.stream = sys.stderr
            self.enabled = progress is True or _isatty(self.stream)
        elif hasattr(progress, "write"):
            self.stream, self.enabled = progress, True
        else:
            raise TypeError(
                f"fit: progress must be None, True, False or a file-like object with a "
                f"write method, got {progress!r}"
            )
        self.tty = self.enabled and _isatty(self.stream)

    def epoch(self, epoch, epochs, history):
        if not self.enabled:
            return
        parts = [f"epoch {epoch + 1}/{epochs}", f"loss {_num(history['epoch_loss'][-1])}"]
        if history["train_accuracy"]:
            parts.append(f"train_acc {history['train_accuracy'][-1]:.4f}")
        if history["val_accuracy"]:
            parts.append(f"val_acc {history['val_accuracy'][-1]:.4f}")
        parts.append(f"lr {history['lr'][-1]:.3g}")
        parts.append(f"{history['examples_per_sec'][-1]:,.0f} ex/s")
        parts.append(f"{history['epoch_time'][-1]:.2f} s")
        line = "  ".join(parts)
        if self.tty:
            line = "\r\x1b[K" + line
        self.stream.write(line + "\n")
        try:
            self.stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


def _num(value):
    return f"{value:.4f}" if math.isfinite(value) else str(value)
