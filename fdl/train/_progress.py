"""``fit``'s progress display: one line per epoch, a step line within long epochs.

Built on ``fdl._status.StatusLine``: on a terminal the current epoch's step, loss and
ETA are redrawn in place (for the loop of jitted steps; a scanned epoch is one compiled
call and reports when it ends), and the first epoch announces that it compiles; on a
pipe or file only the plain lines appear.
"""

import math
import sys
import time

from fdl._status import StatusLine, eta, format_seconds, isatty


class Progress:
    """Writes ``fit``'s progress.

    ``progress=None`` means ``sys.stderr``, but only when it is a terminal (so logs and
    captured output stay clean); ``progress=False`` is silent; ``True`` is stderr always;
    a file-like object given explicitly always receives one plain line per epoch.
    """

    def __init__(self, progress):
        if progress is False:
            stream = None
        elif progress is None or progress is True:
            stream = sys.stderr if progress is True or isatty(sys.stderr) else None
        elif hasattr(progress, "write"):
            stream = progress
        else:
            raise TypeError(
                f"fit: progress must be None, True, False or a file-like object with a "
                f"write method, got {progress!r}"
            )
        self.enabled = stream is not None
        self.status = StatusLine(stream)
        self._epoch_start = None

    @property
    def tty(self):
        return self.status.tty

    def compiling(self, what):
        """Says once, before the first epoch, that it includes compilation."""
        if self.enabled:
            self.status.line(f"compiling {what}… (the first epoch includes it)")

    def start_epoch(self):
        self._epoch_start = time.perf_counter()

    def step(self, epoch, epochs, done, steps, loss=None):
        """A transient line ``epoch e/E  step i/S  loss  ETA`` (terminal only).

        ``loss`` is a zero-argument function, called only when the line is drawn (it
        waits for the device).
        """
        if not self.status.due():
            return
        elapsed = time.perf_counter() - (self._epoch_start or time.perf_counter())
        parts = [f"epoch {epoch + 1}/{epochs}", f"step {done}/{steps}"]
        if loss is not None:
            parts.append(f"loss {_num(float(loss()))}")
        parts.append(f"ETA {format_seconds(eta(done, steps, elapsed))}")
        self.status.update("  ".join(parts))

    def epoch(self, epoch, epochs, history, compiled=False):
        if not self.enabled:
            return
        parts = [f"epoch {epoch + 1}/{epochs}", f"loss {_num(history['epoch_loss'][-1])}"]
        if history["train_accuracy"]:
            parts.append(f"train_acc {history['train_accuracy'][-1]:.4f}")
        if history["val_accuracy"]:
            parts.append(f"val_acc {history['val_accuracy'][-1]:.4f}")
        parts.append(f"lr {history['lr'][-1]:.3g}")
        parts.append(f"{history['examples_per_sec'][-1]:,.0f} ex/s")
        seconds = f"{history['epoch_time'][-1]:.2f} s"
        parts.append(seconds + (" incl. compilation" if compiled else ""))
        self.status.line("  ".join(parts))


def _num(value):
    return f"{value:.4f}" if math.isfinite(value) else str(value)
