"""Training curves (lecture: "Babysitting the learning process").

The loss curve shows whether the learning rate is too low (slow linear decay), too high
(loss explodes or plateaus early) or good; the gap between training and validation
accuracy shows overfitting.
"""

import numpy as np

from fdl.viz._files import pyplot, save_figure


def plot_loss(history, path, *, smooth=None):
    """Loss per step (and its moving average) from a ``fit`` history, as a PNG.

    Args:
      history: a mapping with ``"loss"`` (one float per step).
      path: the PNG file to write.
      smooth: moving-average window in steps (default: about 1/50 of the run).
    """
    loss = np.asarray(history["loss"], dtype=float)
    if loss.size == 0:
        raise ValueError("history has no 'loss' values to plot")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    steps = np.arange(1, loss.size + 1)
    ax.plot(steps, loss, lw=0.6, alpha=0.5, label="loss per step")
    window = smooth or max(1, loss.size // 50)
    if window > 1 and loss.size > window:
        avg = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], avg, lw=1.5, label=f"moving average ({window} steps)")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_yscale("log" if np.all(loss > 0) and loss.max() / loss.min() > 20 else "linear")
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


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
