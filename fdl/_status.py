"""Progress for long work: a rewritten status line on a terminal, plain lines when piped.

``StatusLine`` is the one progress display of fdl (``fit``'s epochs and steps,
``fdl gradcheck``'s cases). On a terminal ``update`` redraws one transient line (``\\r``
and clear-to-end-of-line) at most every ``interval`` seconds and ``line`` replaces it
with a permanent one; on a pipe or file, transient updates are dropped and only
``line``'s output appears, one plain line each, with no control characters.
"""

import math
import sys
import time


def isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def format_seconds(seconds):
    """``"42 s"``, ``"3 min 05 s"`` or ``"1 h 02 min"``; ``"?"`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def eta(done, total, elapsed):
    """Seconds left for ``total - done`` more units at the rate seen so far (or None)."""
    if done <= 0 or elapsed <= 0 or total < done:
        return None
    return elapsed / done * (total - done)


class StatusLine:
    """Writes progress to ``stream`` (``None``: silent).

    ``tty`` defaults to whether the stream is a terminal; only then are transient
    updates drawn.
    """

    def __init__(self, stream, *, tty=None, interval=0.25, clock=time.monotonic):
        self.stream = stream
        self.tty = isatty(stream) if tty is None and stream is not None else bool(tty)
        self.interval = interval
        self._clock = clock
        self._last = None
        self._shown = False  # a transient line is on the screen

    def due(self):
        """Whether an ``update`` now would be drawn (so callers can skip building it)."""
        if self.stream is None or not self.tty:
            return False
        return self._last is None or self._clock() - self._last >= self.interval

    def update(self, text, force=False):
        """Redraws the transient line (terminal only, rate-limited unless ``force``)."""
        if not (force and self.tty and self.stream is not None) and not self.due():
            return
        self._last = self._clock()
        self.stream.write("\r" + text + "\x1b[K")
        self._shown = True
        self._flush()

    def line(self, text):
        """A permanent line (replacing the transient one on a terminal)."""
        if self.stream is None:
            return
        prefix = "\r\x1b[K" if self._shown else ""
        self._shown = False
        self.stream.write(prefix + text + "\n")
        self._flush()

    def clear(self):
        """Removes the transient line, if one is shown."""
        if self._shown and self.stream is not None:
            self.stream.write("\r\x1b[K")
            self._shown = False
            self._flush()

    def _flush(self):
        try:
            self.stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


def stderr_status(**options):
    """A ``StatusLine`` on ``sys.stderr``."""
    return StatusLine(sys.stderr, **options)
