"""Training curves (lecture: "Babysitting the learning process").

The loss curve shows whether the learning rate is too low (slow linear decay), too high
(loss explodes or plateaus early) or good; the gap between training and validation
accuracy shows overfitting.
"""

import numpy as np

from fdl.viz._files import pyplot, save_figure


def plot_loss(history, path, *, smooth=None):
    """Writes ``loss_figure(history, smooth=smooth)`` as a PNG at ``path`` (atomically)."""
    return save_figure(loss_figure(history, smooth=smooth), path)


def loss_figure(history, *, smooth=None):
    """The figure of the loss per step (and its moving average) of a ``fit`` history, with
    the validation loss of every epoch (when recorded) at the step that ends the epoch.

    The training curve is the objective (data loss plus the L2 penalty); the validation
    points are the data loss alone, as ``fit`` records them, and are labelled so.

    Args:
      history: a mapping with ``"loss"`` (one float per step) and optionally
        ``"val_loss"`` (one float per epoch, evenly dividing the steps).
      smooth: moving-average window in steps (default: about 1/50 of the run).
    """
    loss = np.asarray(history["loss"], dtype=float)
    if loss.size == 0:
        raise ValueError("history has no 'loss' values to plot")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    steps = np.arange(1, loss.size + 1)
    ax.plot(steps, loss, lw=0.6, alpha=0.5, label="training loss per step")
    window = smooth or max(1, loss.size // 50)
    if window > 1 and loss.size > window:
        avg = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], avg, lw=1.5, label=f"moving average ({window} steps)")
    val = np.asarray([v for v in history.get("val_loss", []) if v is not None], dtype=float)
    if val.size and loss.size % val.size == 0:
        ends = np.arange(1, val.size + 1) * (loss.size // val.size)
        ax.plot(ends, val, marker="o", lw=1.2, color="tab:red",
                label="validation data loss (per epoch)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    shown = np.concatenate([loss, val])
    ax.set_yscale("log" if np.all(shown > 0) and shown.max() / shown.min() > 20 else "linear")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def plot_accuracy(history, path):
    """Training and validation accuracy per epoch from a ``fit`` history, as a PNG."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    plotted = False
    for key, label in (("train_accuracy", "training"), ("val_accuracy", "validation")):
        values = [v for v in history.get(key, []) if v is not None]
        if values:
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=label)
            plotted = True
    if not plotted:
        plt.close(fig)
        raise ValueError("history has no accuracy values to plot")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)
