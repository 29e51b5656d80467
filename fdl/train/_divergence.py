"""The one divergence rule of fdl: when a training run's loss has exploded.

The lecture's rule for babysitting a run: stop it once its cost exceeds 3 times the
initial cost. Minibatch losses are noisy (a small or unlucky batch can spike), so the
loss is compared as a moving mean over ``window`` consecutive steps; a NaN or infinite
loss has exploded at once. ``fdl.train.fit``, ``fdl tune`` and ``fdl.tune.diverged`` all
ask this module, so a run stopped by one is stopped by the others.
"""

import math

import numpy as np

FACTOR = 3.0
# One noisy minibatch (small batches, a lucky first batch) must not stop a healthy run.
WINDOW = 10


def explosion(losses, initial_loss, factor=FACTOR, window=WINDOW):
    """A description of the first sign of divergence in ``losses``, or None.

    Args:
      losses: consecutive step losses ``(T,)`` (one epoch, or a whole run).
      initial_loss: the run's first loss, the reference.
      factor: the moving mean may not exceed ``factor * |initial_loss|``; None checks
        only for NaN/inf.
      window: the moving mean's length (shortened to ``T`` for shorter runs); 1 compares
        every single step.
    """
    losses = np.asarray(losses, dtype=np.float64).reshape(-1)
    finite = np.isfinite(losses)
    if not finite.all():
        i = int(np.argmin(finite))
        return f"the loss became {losses[i]} at step {i + 1}"
    if factor is None or not math.isfinite(initial_loss) or losses.size == 0:
        return None
    w = min(window, losses.size)
    smooth = np.convolve(losses, np.ones(w) / w, mode="valid")
    over = smooth > factor * abs(initial_loss)
    if not over.any():
        return None
    i = int(np.argmax(over))
    measured = (f"the loss was {smooth[i]:.4g} at step {i + 1}" if w == 1 else
                f"the loss averaged {smooth[i]:.4g} over steps {i + 1}-{i + w}")
    return f"{measured}, more than {factor:g}x the initial loss"
